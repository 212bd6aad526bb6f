"""Hostile review 99: ids across a job. Pair ids longer than one id in riskscore's own
outputs, and a conversation named by its room online and by its pair in batch."""

from __future__ import annotations

import pytest

import riskscore as rs
from riskscore.batch.shadow import RecordAccounts
from riskscore.exceptions import SchemaError

ROOM, ADULT, CHILD = "R" * 200, "adult-" + "a" * 100, "child-" + "c" * 100


def _events(conversation_id: str) -> dict[str, list[object]]:
    return {"conversation_id": [conversation_id] * 2, "timestamp": [1767225600, 1767225660],
            "sender_id": [ADULT, CHILD], "recipient_id": [CHILD, ADULT],
            "channel": ["direct", "direct"]}  # fmt: skip


def test_a_pair_id_longer_than_one_id_is_read_back() -> None:
    # A room of 200 characters and accounts of 106 make a pair id of 414: scored, then
    # riskscore's own scores, alerts and events files were refused when read back.
    pair = f"{ROOM}|{ADULT}|{CHILD}"
    assert len(pair) > 256
    assert rs.read_messages(_events(pair)).n_conversations == 1


@pytest.mark.parametrize("conversation_id", ["x" * 257, f"{'x' * 257}|a|b", "a|b"])
def test_ids_beyond_the_limit_are_still_refused(conversation_id: str) -> None:
    if len(conversation_id) <= 256:
        assert rs.read_messages(_events(conversation_id)).n_conversations == 1
        return
    with pytest.raises(SchemaError, match="is longer than 256 characters"):
        rs.read_messages(_events(conversation_id))


def test_a_room_named_online_and_its_pair_named_in_batch_are_one_conversation() -> None:
    # `compare --alerts` counted the room 26 of stream's alert and batch's "26|a|k" as two
    # conversations: one alert gained, one lost.
    batch = RecordAccounts(["26|a|k", 258], ["a", "b"], ["k", "c"])
    online = RecordAccounts([26, 258, 26], ["a", "b", "x"], ["k", "c", "y"])
    assert online.named_as(batch) == ["26|a|k", 258, 26]  # other accounts under 26: kept
    assert batch.named_as(online) == [26, 258]
