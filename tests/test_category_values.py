"""Category cells (channel, event): how a value is compared with the names, the same rule
for a table read in batch and for one event online."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from _models import random_model

import riskscore as rs
from riskscore.online.scorer import OnlineScorer

MODEL = random_model(1)
T0 = 1_700_000_000

#: Values that only look like a name: a NUL character is no whitespace (numpy's
#: fixed-width strings drop trailing NULs, and so read "direct\0" as "direct").
REFUSED = ["direct\x00", "direct\x00\x00", "\x00direct", "dir\x00ect", "\x00"]
#: Values a name is read from: surrounding whitespace dropped, any case.
ACCEPTED = ["direct", " Direct ", "DIRECT\t"]


def _table(channel: pa.Array) -> pa.Table:
    return pa.table(
        {
            "conversation_id": [1, 1],
            "timestamp": [T0, T0 + 60],
            "sender_id": ["a", "b"],
            "recipient_id": ["b", "a"],
            "sender_age": [30, 12],
            "recipient_age": [12, 30],
            "channel": channel,
        }
    )


def _event(**fields: Any) -> dict[str, Any]:
    event = {"conversation_id": 1, "timestamp": T0, "sender_id": "a", "recipient_id": "b"}
    return {**event, "sender_age": 30, "recipient_age": 12, "channel": "direct", **fields}


@pytest.mark.parametrize("dictionary", [False, True], ids=["text", "dictionary"])
@pytest.mark.parametrize("value", REFUSED)
def test_a_channel_with_a_nul_character_is_refused_naming_column_row_and_value(
    value: str, dictionary: bool
) -> None:
    channel = pa.array(["public", value])
    table = _table(channel.dictionary_encode() if dictionary else channel)
    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(table)
    assert (info.value.column, info.value.row, info.value.value) == ("channel", 1, value)
    assert repr(value) in str(info.value)
    msgs = rs.read_messages(table, errors="quarantine")
    assert len(msgs) == 1
    assert msgs.quarantined.row.tolist() == [1]
    assert msgs.quarantined.value == (value,)


def test_an_event_type_with_a_nul_character_is_not_read_as_the_default() -> None:
    # "\0" alone was read as "", an empty cell, which the optional event column fills in
    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(_table(pa.array(["direct"] * 2)).append_column("event", [["\x00"] * 2]))
    assert (info.value.column, info.value.row) == ("event", 0)
    with pytest.raises(rs.SchemaError) as online:
        OnlineScorer(MODEL).update_one(_event(event="message\x00"))
    assert online.value.column == "event"


@pytest.mark.parametrize("value", REFUSED + ACCEPTED)
def test_batch_and_online_take_the_same_decision_on_a_channel(value: str) -> None:
    scorer = OnlineScorer(MODEL)
    if value in REFUSED:
        with pytest.raises(rs.SchemaError) as batch:
            rs.read_messages(_table(pa.array([value, "direct"])))
        with pytest.raises(rs.SchemaError) as online:
            scorer.update_one(_event(channel=value))
        for info in (batch, online):
            assert (info.value.column, info.value.value) == ("channel", value)
    else:
        direct = int(rs.read_messages(_table(pa.array([value, "direct"]))).channel[0])
        scorer.update_one(_event(channel=value))
        assert scorer.last_event is not None
        assert int(scorer.last_event[6]) == direct  # the channel's code
