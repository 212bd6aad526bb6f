"""A restored scorer expires what the uninterrupted one expires.

Expiry walks conversations, accounts and rooms least recently active first and stops at
the first live one; a scorer remembers the time it stopped at (``_oldest``) and looks
again only once the horizon passes it. Entries are not in time order (a room's first pair
moves to the end when the room opens, a late event's conversation too), so when it looks
decides what goes. Checkpoints did not store that time: a restored scorer looked at the
next event and kept a conversation the uninterrupted one expired later, and the two
scored its next events apart. The file now holds it (meta ``expiry_oldest``). Synthetic.
"""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from checkpoint_helpers import reseal

import riskscore as rs

T0 = 1_714_521_600


def _event(cid: int, t: int, sender: str, recipient: str) -> dict[str, object]:
    return {"conversation_id": cid, "timestamp": T0 + t, "sender_id": sender,
            "recipient_id": recipient, "channel": "group", "sender_age": 35,
            "recipient_age": 13}  # fmt: skip


BEFORE = [
    _event(1, 0, "a", "b"),
    _event(3, 3_600, "a", "c"),
    _event(4, 3_650, "b", "f"),
    _event(1, 3_700, "c", "a"),  # a third account: room 1; its pair a-b moves to the end
]
AFTER = [
    _event(2, 3_800, "d", "e"),
    _event(3, 3_900, "a", "c"),
    _event(4, 3_950, "b", "f"),  # the pair a-b, idle since T0, is first again
    _event(2, 5_500, "d", "e"),
]


def _scorer() -> rs.OnlineScorer:
    return rs.OnlineScorer(rs.load_model(), time_source="events", idle_expiry_s=5_000)


def test_a_restored_scorer_expires_as_the_uninterrupted_one(tmp_path: Path) -> None:
    kept, path = _scorer(), tmp_path / "state.sqlite"
    kept.update_many(BEFORE)
    kept.checkpoint(path)
    restored = rs.OnlineScorer.restore(path, rs.load_model())
    for event in AFTER:
        kept.update_one(event)
        restored.update_one(event)
        assert list(restored._conversations) == list(kept._conversations)
        assert restored.n_expired == kept.n_expired
    assert "1|a|b" not in restored._conversations  # idle since T0, expired by both


def test_the_time_is_kept_and_a_file_without_it_looks_at_the_next_event(
    tmp_path: Path,
) -> None:
    scorer, path = _scorer(), tmp_path / "state.sqlite"
    scorer.update_many(BEFORE)
    scorer.checkpoint(path)
    assert rs.OnlineScorer.restore(path, rs.load_model())._oldest == scorer._oldest
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("DELETE FROM meta WHERE key = 'expiry_oldest'")  # as written before
    reseal(path)
    assert rs.OnlineScorer.restore(path, rs.load_model())._oldest == -math.inf


@pytest.mark.parametrize(
    ("stored", "match"),
    [
        ('"soon"', "meta 'expiry_oldest' is malformed"),
        # was (hostile review): 1e300 restored, and idle conversations never expired; it is
        # the time of an entry the scorer held, never after its clock
        ("1e300", "earlier than the latest event time it holds"),
    ],
)
def test_a_changed_time_is_refused(tmp_path: Path, stored: str, match: str) -> None:
    scorer, path = _scorer(), tmp_path / "state.sqlite"
    scorer.update_many(BEFORE)
    scorer.checkpoint(path)
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'expiry_oldest'", (stored,))
    reseal(path)
    with pytest.raises(rs.CheckpointError, match=match):
        rs.OnlineScorer.restore(path, rs.load_model())
