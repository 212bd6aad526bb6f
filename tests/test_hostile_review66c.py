"""Hostile review 66c: what the hr66a/hr66b stop changed, re-checked across views.

All data is synthetic (the grooming-like pattern of ``tests/test_hostile_hr66a.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from reason_helpers import batch_and_online_reasons, groom_events

from riskscore import OnlineScorer
from riskscore.model import load_model
from riskscore.model.scores import ASSUMED_ROLES, is_reason_text


@pytest.mark.parametrize(("a_age", "c_age", "assumed"), [(None, None, True), (35.0, 12.0, False)])
def test_the_childs_local_time_is_marked_assumed_as_the_older_participant_is(
    a_age: float | None, c_age: float | None, assumed: bool, tmp_path: Path
) -> None:
    """Was: with no age declared, ``share of contact on private channels at night in the
    child's local time: at least 72 %`` called an account of undeclared age the child as
    a fact, beside ``share of the older participant's messages that are media sent at night
    in the child's local time (who is older is assumed: ...)`` in the same alert: the mark
    went by "older" alone. Every description that names a role says it is assumed, in
    batch and online scoring alike."""
    events = groom_events(a_age, c_age)
    batch, online = batch_and_online_reasons(events, tmp_path / "events.jsonl")
    child = [t for t in batch if "the child" in t.split(". Why it can matter")[0]]
    assert child, batch
    assert all((ASSUMED_ROLES in t) == assumed for t in child), child
    assert all(is_reason_text(t) for t in batch)
    assert set(online) <= set(batch), (online, batch)


# ------------------------------- online: a pair id held by what an event finds idle past expiry

IDLE = 1_000  # idle_expiry_s of these tests
T0 = 1_714_521_600


def _ev(cid: str, t: int, sender: str, recipient: str, size: int | None = 3) -> dict[str, Any]:
    event = {"conversation_id": cid, "timestamp": T0 + t, "sender_id": sender,
             "recipient_id": recipient, "channel": "group" if size else "direct"}  # fmt: skip
    return event | ({"room_size": size} if size else {})


#: Events, then (``late``) events more than IDLE after some of them: the late ones name a
#: pair id that only those idle ones hold.
IDLE_HOLDERS = {
    "a pair id given as an id, its room idle": (
        [_ev("g", 0, "a", "b"), _ev("g", 1, "a", "c")],
        [_ev("g|a|b", 2 + IDLE, "a", "b", None)],
    ),
    "a room opened, its pair id an idle conversation's id": (
        [_ev("g|a|b", 0, "x", "y", None), _ev("g|a|b", 1, "y", "x", None), _ev("g", 500, "a", "b")],
        [_ev("g", 2 + IDLE, "a", "c")],
    ),
    "a room opened, its pair id an idle room's id": (
        [_ev("g|a|b", 0, "x", "y"), _ev("g|a|b", 1, "x", "z"), _ev("g", 500, "a", "b")],
        [_ev("g", 2 + IDLE, "a", "c")],
    ),
    "a room's new pair, its pair id an idle room's id": (
        [
            _ev("g", 0, "a", "c"),
            _ev("g", 1, "a", "d"),
            _ev("g|a|b", 1, "x", "y"),
            _ev("g|a|b", 1, "x", "z"),
            _ev("g", 1 + IDLE, "a", "c"),
        ],
        [_ev("g", 2 + IDLE, "a", "b")],
    ),
}


@pytest.mark.parametrize("case", IDLE_HOLDERS)
def test_a_pair_id_held_only_by_what_idled_past_expiry_is_no_clash_whatever_came_first(
    case: str, tmp_path: Path
) -> None:
    """Was: an event whose (pair) id was held only by a conversation or group room idle
    for longer than ``idle_expiry_s`` was refused as a clash when it moved the clock
    itself, and accepted when another event had moved it first (expiring the holder): the
    same events refused or scored by arrival order. What an event finds idle is forgotten
    before it is applied, its ids too: accepted in either order, the same state after,
    which a checkpoint restores."""
    history, late = IDLE_HOLDERS[case]
    other = _ev("z", late[0]["timestamp"] - T0, "p", "q", None)
    model = load_model()
    got = []
    for first in ([*late, other], [other, *late]):
        scorer = OnlineScorer(model, idle_expiry_s=IDLE, time_source="events", max_future_s=1e9)
        scorer.update_many(history)
        scorer.update_many(first)
        scorer.checkpoint(tmp_path / f"{len(first)}.sqlite")
        ids = sorted(map(str, scorer.conversation_ids))
        restored = OnlineScorer.restore(tmp_path / f"{len(first)}.sqlite", model)
        assert sorted(map(str, restored.conversation_ids)) == ids
        got.append({cid: scorer.features_of(cid).tolist() for cid in scorer.conversation_ids})
        scorer.release_checkpoints()
        restored.release_checkpoints()
    assert got[0].keys() == got[1].keys()
    for cid, values in got[0].items():
        np.testing.assert_array_equal(values, got[1][cid])
