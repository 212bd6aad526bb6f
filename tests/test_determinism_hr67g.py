"""Same input, same bytes, whatever the process's string hashing: determinism review hr67g.

All data is synthetic.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import riskscore as rs
from riskscore.online.state import AccountState

_EPHEMERAL, _MESSAGE = int(rs.Channel.EPHEMERAL), int(rs.EventType.MESSAGE)

# A scorer fed one adult's contacts with 40 children (text ids), checkpointed to argv[1].
_CHECKPOINT_SCRIPT = """
import sys
import riskscore as rs
scorer = rs.OnlineScorer(rs.load_model())
for i in range(40):
    scorer.update_one({"conversation_id": f"c{i}", "timestamp": 1_767_000_000 + i,
                       "sender_id": "adult", "recipient_id": f"kid{i}", "channel": "direct",
                       "sender_age": 30.0, "recipient_age": 13.0})
scorer.checkpoint(sys.argv[1])
"""


def _accounts_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as con:
        return con.execute("SELECT * FROM accounts ORDER BY 1").fetchall()


def test_checkpoint_accounts_do_not_depend_on_the_process_string_hashing(
    tmp_path: Path,
) -> None:
    # An account's contacts, minors and private minors are sets: written in set order,
    # text ids came out in the order of that process's string hashes (PYTHONHASHSEED).
    rows = []
    for hash_seed in ("1", "2"):
        path = tmp_path / f"state-{hash_seed}.sqlite"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", _CHECKPOINT_SCRIPT, str(path)], env=env, check=True)
        rows.append(_accounts_rows(path))
    assert rows[0] == rows[1]


def test_account_state_json_lists_its_ids_in_one_order_whatever_order_they_came() -> None:
    # 1 and 9 share a slot of a small set: the set keeps them in insertion order.
    first, second = AccountState(), AccountState()
    for state, ids in ((first, (9, 1, "b", "a")), (second, ("a", 1, "b", 9))):
        for i in ids:
            state.note_contact(i, 13.0, _EPHEMERAL, _MESSAGE, 0, 100)
    assert first.to_json() == second.to_json()
    restored = AccountState.from_json(first.to_json())
    assert restored.to_json() == first.to_json()
