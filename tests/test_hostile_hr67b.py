"""Hostile times (review hr67b): ISO text that has the shape of an instant and an offset in
use but is no date and time on the calendar."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

import riskscore as rs

_EVENT: dict[str, Any] = {
    "conversation_id": "c1",
    "timestamp": 1_714_595_400,
    "sender_id": "a",
    "recipient_id": "k",
    "sender_age": 40,
    "recipient_age": 12,
    "channel": "direct",
}
_CALENDAR = "is not a date and time on the calendar"


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29T21:30:00+01:00",  # February 29 of a common year
        "2024-04-31T10:00:00+05:45",  # April has 30 days
        "2024-05-01T24:00:00-05:00",  # hour 24
        "2016-12-31T23:59:60+00:00",  # a leap second
        "2016-12-31T23:59:60Z",
        "2024-13-01T00:00:00+14:00",  # month 13
    ],
)
def test_text_off_the_calendar_is_not_blamed_on_its_offset(text: str) -> None:
    # before: "has a UTC offset that no clock uses" for a +01:00 (in use), and a bare
    # "is not a timestamp" for Z; now the field out of range is named, in batch and online
    with pytest.raises(rs.SchemaError, match=rf"row 0: '{re.escape(text)}' {_CALENDAR}") as batch:
        rs.read_messages({k: [v] for k, v in {**_EVENT, "timestamp": text}.items()})
    assert "UTC offset that no clock uses" not in str(batch.value)
    scorer = rs.OnlineScorer(rs.load_model(), max_future_s=math.inf)
    with pytest.raises(rs.SchemaError, match=rf"event 7: '{re.escape(text)}' {_CALENDAR}"):
        scorer.update_one({**_EVENT, "timestamp": text}, row=7)
    assert scorer.n_events == 0


def test_an_offset_out_of_use_is_still_named_as_such() -> None:
    text = "2024-05-01T21:30:00+14:30"
    with pytest.raises(rs.SchemaError, match="has a UTC offset that no clock uses"):
        rs.read_messages({k: [v] for k, v in {**_EVENT, "timestamp": text}.items()})
