"""Hostile review 99: ids across a job. Pair ids longer than one id in riskscore's own
outputs, and a conversation named by its room online and by its pair in batch."""

from __future__ import annotations

from pathlib import Path

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


def test_integer_ids_marked_as_text_survive_pandas(tmp_path: Path) -> None:
    # pandas drops Arrow field metadata: 6 came back as the conversation "6", and a day's
    # part saved by pandas was queued as other conversations than the whole file's.
    pd = pytest.importorskip("pandas")
    room = {"conversation_id": [9, 9, 9, 6, 6], "timestamp": [1767225600 + i for i in range(5)],
            "sender_id": [1, 1, 1, 4, 5], "recipient_id": [2, 3, 2, 5, 4],
            "channel": ["group", "group", "group", "direct", "direct"],
            "room_size": [3, 3, 3, None, None]}  # fmt: skip
    written = tmp_path / "events.parquet"
    rs.write_messages(rs.read_messages(room), written)
    frame = pd.read_parquet(written)
    assert 6 in rs.read_messages(frame).to_pandas()["conversation_id"].tolist()
    part = tmp_path / "part.parquet"
    frame[frame["conversation_id"] == "6"].to_parquet(part)
    assert rs.read_messages(part).to_pandas()["conversation_id"].tolist() == [6, 6]
