"""Hostile review 66b: a differential hunt across the backends (batch, threaded parts, out
of core in chunks of one or two events, online). Each test whose docstring begins "Was:"
failed before its fix. All data is synthetic."""

from __future__ import annotations

import pytest
from _groups import room_events
from conformance_refusals import assert_refused_alike, local_refusals

T1 = 1_700_000_000

#: A group room's id that is another room's pair id (``g|a|b`` beside room ``g`` with
#: accounts ``a`` and ``b``): the room's first two accounts are, online, a conversation
#: under that id until a third appears, so it is the pair id taken twice.
ROOM_NAMED_BY_A_PAIR_ID = {
    "a room, then a room named by one of its pair ids": room_events(
        "g", [("a", "b"), ("a", "c")], T1
    )
    + room_events("g|a|b", [("x", "y"), ("x", "z")], T1 + 500),
    "a room named by a pair id, then the room that derives it": room_events(
        "g|a|b", [("x", "y"), ("x", "z")], T1
    )
    + room_events("g", [("a", "b"), ("a", "c")], T1 + 500),
    "a room named by a pair id, then that pair in a room of three already": room_events(
        "g", [("a", "c"), ("a", "d")], T1
    )
    + room_events("g|a|b", [("x", "y"), ("x", "z")], T1 + 500)
    + room_events("g", [("a", "b")], T1 + 900),
}


@pytest.mark.parametrize("case", ROOM_NAMED_BY_A_PAIR_ID)
def test_a_room_named_by_another_rooms_pair_id_is_refused_alike(case: str) -> None:
    """Was: ``read_messages`` (and so ``score`` and out of core, whichever chunks held the
    two rooms) accepted it, comparing a room's pair ids with the ids of two-account
    conversations only, while online refused the room whose id came second and accepted
    the other order: the same events scored by one backend and refused by another, and
    online by arrival order. Now every backend refuses it with the error of a pair id
    given as a conversation id."""
    got = local_refusals(ROOM_NAMED_BY_A_PAIR_ID[case])
    reference = got.pop("read_messages")
    assert reference is not None
    assert "'g|a|b' is the id of a conversation and also the pair id" in str(reference)
    assert_refused_alike(reference, got, case)


def test_a_room_whose_id_holds_the_separator_and_derives_nothing_is_accepted() -> None:
    """No false clash: room ``g|a`` beside room ``g`` (pair ids ``g|a|b``, ``g|a|c``,
    ``g|a|x|y``, ``g|a|x|z``, all distinct) is scored by every backend."""
    events = room_events("g", [("a", "b"), ("a", "c")], T1) + room_events(
        "g|a", [("x", "y"), ("x", "z")], T1 + 500
    )
    got = local_refusals(events)
    assert_refused_alike(got.pop("read_messages"), got, "room g|a beside room g")
