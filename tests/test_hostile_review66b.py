"""Hostile review 66b: a differential hunt across the backends (batch, threaded parts, out
of core in chunks of one or two events, online). Each test whose docstring begins "Was:"
failed before its fix. All data is synthetic."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from _groups import room_events
from conformance_refusals import assert_refused_alike, local_refusals

import riskscore as rs

T1 = 1_700_000_000

# A group room's id that is another room's pair id (``g|a|b`` beside room ``g``): its
# cases are conformance cases (tests/conformance_cases.py, ROOM_IDS_AS_PAIR_IDS), refused
# alike by every backend, and on Spark in every layout.


def test_a_room_whose_id_holds_the_separator_and_derives_nothing_is_accepted() -> None:
    """No false clash: room ``g|a`` beside room ``g`` (pair ids ``g|a|b``, ``g|a|c``,
    ``g|a|x|y``, ``g|a|x|z``, all distinct) is scored by every backend."""
    events = room_events("g", [("a", "b"), ("a", "c")], T1) + room_events(
        "g|a", [("x", "y"), ("x", "z")], T1 + 500
    )
    got = local_refusals(events)
    assert_refused_alike(got.pop("read_messages"), got, "room g|a beside room g")


# ------------------------------------------------ online: what an event finds idle past expiry

IDLE = 1_000  # idle_expiry_s of these tests
T0 = 1_714_521_600


def _event(cid: object, t: int, sender: str, recipient: str, **more: object) -> dict[str, object]:
    return {"conversation_id": cid, "timestamp": T0 + t, "sender_id": sender,
            "recipient_id": recipient, "sender_age": 35.0, "recipient_age": 12.0,
            "channel": "direct", **more}  # fmt: skip


def _scorer() -> rs.OnlineScorer:
    return rs.OnlineScorer(
        rs.load_model(), idle_expiry_s=IDLE, time_source="events", max_future_s=math.inf
    )


def _batch(events: list[dict[str, object]], cid: object) -> np.ndarray:
    features = rs.extract_features(pa.Table.from_pylist(events))
    return features.values[features.conversation_id.tolist().index(cid)]


@pytest.mark.parametrize("first", ["X", "Y"])
def test_an_event_after_its_conversation_idled_past_expiry_starts_afresh_whatever_came_first(
    first: str,
) -> None:
    """Was: expiry ran after an event was applied, so of two conversations idle for longer
    than ``idle_expiry_s``, the one whose event came first went on with its history (its
    event moved the clock) and the other started afresh: the same two conversations,
    features that depended on which of two events of the same second arrived first. Now
    each event's conversation and accounts idle past expiry are forgotten before it is
    applied: both start afresh, in either order."""
    history = [_event("X", 0, "a", "b"), _event("X", 5, "b", "a", sender_age=12.0,
               recipient_age=35.0), _event("Y", 0, "c", "d"), _event("Y", 5, "d", "c")]  # fmt: skip
    late = {c: _event(c, 5 + IDLE + 1, *pair) for c, pair in (("X", "ab"), ("Y", "cd"))}
    scorer = _scorer()
    scorer.update_many(history)
    scorer.update_many([late[first], late["Y" if first == "X" else "X"]])
    assert scorer.n_expired == 2
    for cid in ("X", "Y"):
        np.testing.assert_array_equal(scorer.features_of(cid), _batch([late[cid]], cid))


@pytest.mark.parametrize(("gap", "kept"), [(IDLE, True), (IDLE + 1, False)])
def test_a_conversation_alone_expires_at_its_own_event_past_expiry(gap: int, kept: bool) -> None:
    """Was: a conversation whose own event moved the clock kept its history after any gap
    (no other event expired it). Now an event more than ``idle_expiry_s`` after the
    conversation's latest starts afresh; exactly ``idle_expiry_s`` after, it is kept (the
    boundary of every expiry)."""
    history = [_event("X", 0, "a", "b"), _event("X", 5, "b", "a")]
    late = _event("X", 5 + gap, "a", "b", channel="ephemeral")
    scorer = _scorer()
    scorer.update_many([*history, late])
    expected = _batch([*history, late] if kept else [late], "X")
    np.testing.assert_array_equal(scorer.features_of("X"), expected)
    assert scorer.n_expired == (0 if kept else 1)


def test_a_group_room_idle_past_expiry_starts_afresh_at_its_own_event() -> None:
    """Was: an event of a group room idle for longer than ``idle_expiry_s`` went to its
    pair's conversation with the history of the room (``g|a|b``). Now the room and its
    pairs are forgotten first, and the event is a new conversation ``g`` of two
    accounts, as batch reads the events held."""
    room = [_event("g", 0, "a", "b", channel="group"), _event("g", 1, "a", "c", channel="group")]
    late = _event("g", 1 + IDLE + 1, "a", "b", channel="group")
    scorer = _scorer()
    scorer.update_many([*room, late])
    assert list(scorer.conversation_ids) == ["g"]
    assert scorer.n_expired == 2
    np.testing.assert_array_equal(scorer.features_of("g"), _batch([late], "g"))
