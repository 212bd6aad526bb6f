"""Validation of one event mapping for the online path (private).

The batch reader validates columns at once; here one event is checked with
plain Python so that it costs microseconds. The rules and messages are the
same as :func:`riskscore.read_messages`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

from riskscore.exceptions import SchemaError
from riskscore.schema import (
    CHANNEL_NAMES,
    CONTENT_COLUMNS,
    EVENT_NAMES,
    MAX_AGE,
    MAX_TIMESTAMP,
    MAX_TZ_OFFSET_MIN,
    MIN_AGE,
    MIN_TIMESTAMP,
    MIN_TZ_OFFSET_MIN,
    REQUIRED_COLUMNS,
)

_CHANNELS = {name: code for code, name in enumerate(CHANNEL_NAMES)}
_EVENTS = {name: code for code, name in enumerate(EVENT_NAMES)}


class Event(NamedTuple):
    """One validated event."""

    conversation_id: object
    timestamp: int
    sender_id: object
    recipient_id: object
    sender_age: float
    recipient_age: float
    channel: int
    event: int
    tz_offset: int


def _fail(column: str, value: object, why: str, row: int | None) -> SchemaError:
    where = f"event {row}" if row is not None else "event"
    return SchemaError(
        f"column {column!r}, {where}: {value!r} {why}", column=column, row=row, value=value
    )


def _timestamp(value: object, row: int | None) -> int:
    if isinstance(value, bool):
        raise _fail("timestamp", value, "is a boolean, not a timestamp", row)
    if isinstance(value, int):
        ts = value
    elif isinstance(value, float) and math.isfinite(value):
        ts = math.floor(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise _fail(
                "timestamp",
                value,
                "is not a timestamp: expected epoch seconds or ISO 8601 with a UTC offset",
                row,
            )
        ts = math.floor(parsed.timestamp())
    else:
        raise _fail("timestamp", value, "is not a timestamp: expected epoch seconds", row)
    if not MIN_TIMESTAMP <= ts < MAX_TIMESTAMP:
        raise _fail("timestamp", value, "is out of range: expected 1970 up to 2200 (UTC)", row)
    return ts


def _age(column: str, value: object, row: int | None) -> float:
    if value is None or value == "":
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _fail(column, value, "is not a number: expected an age in years", row)
    try:
        age = float(value)
    except ValueError:
        raise _fail(column, value, "is not a number: expected an age in years", row) from None
    if math.isnan(age):
        return age
    if not MIN_AGE <= age <= MAX_AGE:
        raise _fail(column, value, "is not a plausible age: expected years in [0, 120]", row)
    return age


def _code(column: str, value: object, codes: Mapping[str, int], row: int | None) -> int:
    if isinstance(value, str):
        code = codes.get(value.strip().lower())
        if code is not None:
            return code
    raise _fail(column, value, f"is not recognised: expected one of {', '.join(codes)}", row)


def _id(column: str, value: object, row: int | None) -> object:
    if value is None or isinstance(value, (bool, float)):
        raise _fail(column, value, "is not an id: expected an integer or a string", row)
    return value


def parse_event(event: Mapping[str, object], row: int | None = None) -> Event:
    """Validate one schema v1 event mapping; raise :class:`SchemaError` naming the field."""
    for key in event:
        if key.strip().lower() in CONTENT_COLUMNS:
            raise SchemaError(
                f"field {key!r} looks like message content: riskscore reads no message content",
                column=key,
                row=row,
            )
    for column in REQUIRED_COLUMNS:
        if column not in event:
            where = f"event {row}" if row is not None else "the event"
            raise SchemaError(f"{where} lacks required field {column!r}", column=column, row=row)
    sender = _id("sender_id", event["sender_id"], row)
    recipient = _id("recipient_id", event["recipient_id"], row)
    if sender == recipient:
        raise _fail("recipient_id", recipient, "is also the sender", row)
    tz = event.get("recipient_tz_offset_min", 0)
    if tz is None:
        tz = 0
    if isinstance(tz, bool) or not isinstance(tz, (int, float)) or tz != int(tz):
        raise _fail("recipient_tz_offset_min", tz, "is not a UTC offset in whole minutes", row)
    if not MIN_TZ_OFFSET_MIN <= tz <= MAX_TZ_OFFSET_MIN:
        raise _fail("recipient_tz_offset_min", tz, "is out of range [-720, 840]", row)
    kind = event.get("event", "message")
    return Event(
        conversation_id=_id("conversation_id", event["conversation_id"], row),
        timestamp=_timestamp(event["timestamp"], row),
        sender_id=sender,
        recipient_id=recipient,
        sender_age=_age("sender_age", event.get("sender_age"), row),
        recipient_age=_age("recipient_age", event.get("recipient_age"), row),
        channel=_code("channel", event["channel"], _CHANNELS, row),
        event=_code("event", "message" if kind is None else kind, _EVENTS, row),
        tz_offset=int(tz),
    )
