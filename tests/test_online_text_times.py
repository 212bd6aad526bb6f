"""Timestamps given as text online (ISO 8601 with an offset, or epoch seconds as text).

Was (stop 48): an accepted text time took the whole one-row validator, about 3 ms an event
against 5 µs for a number, so a producer that sends ISO times (JSON lines, most webhooks)
ran `riskscore stream` at a few hundred events a second. It now reads the text by the rule
of a column of text times (`io.time_text.one_text_time`) and takes the fast path; what it
accepts and how it reads it are unchanged, and a refused one is named as given.
"""

from __future__ import annotations

from typing import Any

import pytest

import riskscore.io.events as events
from riskscore.exceptions import SchemaError
from riskscore.io.events import parse_event
from riskscore.io.validate import validate_one

BASE: dict[str, Any] = {
    "conversation_id": "c",
    "sender_id": "a",
    "recipient_id": "b",
    "channel": "direct",
    "sender_age": 30,
    "recipient_age": 12,
}
ACCEPTED = [
    "2026-01-01T00:00:00Z",
    " 2024-05-01T21:30:00+01:00 ",
    "2026-01-01T00:00:00.999+14:00",
    "2026-01-01 00:00:00-12:00",
    "1767225600",
    "1767225600.9",
    "1.7e9",
]
REFUSED = [
    "1999-12-31T23:59:59Z",
    "2026-01-01",
    "yesterday",
    "2026-01-01T00:00:00+15:00",
    "-5",
    "1e300",
    "nan",
    "inf",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_an_accepted_text_time_is_read_as_the_validator_reads_it_without_it(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = int(validate_one({**BASE, "timestamp": text})["timestamp"])  # type: ignore[call-overload]

    def no_table(*args: object, **kwargs: object) -> dict[str, object]:
        raise AssertionError("the one-row validator was called")

    monkeypatch.setattr(events, "validate_one", no_table)
    assert parse_event({**BASE, "timestamp": text}).timestamp == expected
    assert parse_event({**BASE, "timestamp": text, "colour": "red"}).timestamp == expected


@pytest.mark.parametrize("text", REFUSED)
def test_a_refused_text_time_is_named_as_given_as_the_validator_names_it(text: str) -> None:
    event = {**BASE, "timestamp": text}
    with pytest.raises(SchemaError) as slow:
        validate_one(event)
    with pytest.raises(SchemaError) as fast:
        parse_event(event)
    assert str(fast.value) == str(slow.value)
    assert repr(text) in str(fast.value)
