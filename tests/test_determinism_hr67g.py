"""Same input, same bytes: online checkpoints whatever the process's string hashing, and
batch reasons of equal contributions named as online (determinism review hr67g).

All data is synthetic.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays

import riskscore as rs
from riskscore.model.scores import MIN_REASON_PUSH, top_reasons
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
    with contextlib.closing(sqlite3.connect(path)) as con:
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


def _online_order(contributions: np.ndarray, k: int) -> np.ndarray:
    """The reasons online names (riskscore.online.risk.OnlineModel.reasons): strongest
    first, equal contributions in feature order, each at least MIN_REASON_PUSH."""
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :k]
    kept = np.take_along_axis(contributions, order, axis=1) >= MIN_REASON_PUSH
    return np.where(kept, order, -1)


def test_batch_reasons_of_equal_contributions_come_in_feature_order_as_online() -> None:
    # A partition picked any of the features tied with the k-th strongest (5 before 4),
    # and kept the tied ones it picked in its own order.
    contributions = np.array(
        [
            [0.1, 0.5, 0.2, 0.5, 0.5, 0.5],
            [0.2, 0.3, 0.3, 0.1, 0.3, 0.3],
            [0.0, 0.4, 0.4, 0.4, 0.4, 0.9],
        ]
    )
    idx, _, _ = top_reasons(contributions, contributions, 3)
    np.testing.assert_array_equal(idx, _online_order(contributions, 3))
    np.testing.assert_array_equal(idx[0], [1, 3, 4])


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.int8, st.tuples(st.integers(1, 6), st.integers(1, 9)), elements=st.integers(-2, 3)),
    st.integers(1, 4),
)
def test_batch_reasons_are_the_online_reasons_on_rows_full_of_ties(
    steps: np.ndarray, k: int
) -> None:
    contributions = steps.astype(np.float64) / 4
    idx, _, contrib = top_reasons(contributions, contributions, k)
    expected = _online_order(contributions, min(k, contributions.shape[1]))
    np.testing.assert_array_equal(idx, expected)
    shown = np.take_along_axis(contributions, np.maximum(expected, 0), axis=1)
    np.testing.assert_array_equal(contrib, np.where(expected >= 0, shown, np.nan))
