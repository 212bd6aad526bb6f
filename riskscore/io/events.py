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

import numpy as np

from riskscore.exceptions import SchemaError
from riskscore.io.schema import (
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
    SCHEMA_COLUMNS,
)

_CHANNELS = {name: code for code, name in enumerate(CHANNEL_NAMES)}
_EVENTS = {name: code for code, name in enumerate(EVENT_NAMES)}
_SCHEMA_KEYS = frozenset(SCHEMA_COLUMNS)
_NAN = math.nan


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
    if type(value) is int and MIN_TIMESTAMP <= value < MAX_TIMESTAMP:
        return value
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


def _is_blank(value: object) -> bool:
    """An empty cell as the batch reader sees one: None, NaN or whitespace-only text."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def _age(column: str, value: object, row: int | None) -> float:
    if (type(value) is float or type(value) is int) and MIN_AGE <= value <= MAX_AGE:
        return float(value)
    if _is_blank(value):
        return _NAN
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _fail(column, value, "is not a number: expected an age in years", row)
    try:
        age = float(value)
    except ValueError:
        raise _fail(column, value, "is not a number: expected an age in years", row) from None
    if math.isnan(age):  # "nan" text, as the batch reader reads it: unknown
        return age
    if not MIN_AGE <= age <= MAX_AGE:
        raise _fail(column, value, "is not a plausible age: expected years in [0, 120]", row)
    return age


def _code(column: str, value: object, codes: Mapping[str, int], row: int | None) -> int:
    if isinstance(value, str):
        code = codes.get(value)
        if code is not None:
            return code
        code = codes.get(value.strip().lower())
        if code is not None:
            return code
    raise _fail(column, value, f"is not recognised: expected one of {', '.join(codes)}", row)


def _id(column: str, value: object, row: int | None) -> object:
    if type(value) is int or type(value) is str:
        return value
    if isinstance(value, np.integer):
        return int(value)  # plain ints hash and serialize like the ids they equal
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _fail(column, value, "is not an id: expected an integer or a string", row)
    return int(value) if isinstance(value, int) else str(value)


def parse_event(event: Mapping[str, object], row: int | None = None) -> Event:
    """Validate one schema v1 event mapping; raise :class:`SchemaError` naming the field."""
    for key in event:
        if key not in _SCHEMA_KEYS and key.strip().lower() in CONTENT_COLUMNS:
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
    if type(tz) is not int or not MIN_TZ_OFFSET_MIN <= tz <= MAX_TZ_OFFSET_MIN:
        tz = _tz_offset(tz, row)
    kind = event.get("event")
    return Event(
        _id("conversation_id", event["conversation_id"], row),
        _timestamp(event["timestamp"], row),
        sender,
        recipient,
        _age("sender_age", event.get("sender_age"), row),
        _age("recipient_age", event.get("recipient_age"), row),
        _code("channel", event["channel"], _CHANNELS, row),
        _code("event", "message" if _is_blank(kind) else kind, _EVENTS, row),
        tz,
    )


def _tz_offset(tz: object, row: int | None) -> int:
    # As in read_messages: an empty cell is UTC, and text holding a number is that number.
    if _is_blank(tz):
        return 0
    if isinstance(tz, str):
        try:
            tz = float(tz)
        except ValueError:
            raise _fail(
                "recipient_tz_offset_min", tz, "is not a UTC offset in whole minutes", row
            ) from None
        if math.isnan(tz):
            return 0
    if (
        isinstance(tz, bool)
        or not isinstance(tz, (int, float))
        or not math.isfinite(tz)
        or tz != int(tz)
    ):
        raise _fail("recipient_tz_offset_min", tz, "is not a UTC offset in whole minutes", row)
    if not MIN_TZ_OFFSET_MIN <= tz <= MAX_TZ_OFFSET_MIN:
        raise _fail("recipient_tz_offset_min", tz, "is out of range [-720, 840]", row)
    return int(tz)


#: An event as the online scorer consumes it: the fields of :class:`Event`, in order.
EventTuple = tuple[object, int, object, object, float, float, int, int, int]


def parse_event_fast(event: Mapping[str, object], row: int | None = None) -> EventTuple:
    """:func:`parse_event` for the common case in a few hundred nanoseconds.

    Plain ``int``/``str`` ids, an ``int`` timestamp, numeric or missing ages and
    exact lower-case names take this path; anything else (including every
    invalid event) goes through :func:`parse_event`, which gives the same result
    or raises the same error.
    """
    try:
        if not _SCHEMA_KEYS.issuperset(event):
            return parse_event(event, row)
        cid = event["conversation_id"]
        ts = event["timestamp"]
        sender = event["sender_id"]
        recipient = event["recipient_id"]
        channel = _CHANNELS[event["channel"]]  # type: ignore[index]
        get = event.get
        kind = _EVENTS[get("event", "message")]  # type: ignore[index]
        tz = get("recipient_tz_offset_min", 0)
        sender_age = get("sender_age")
        recipient_age = get("recipient_age")
    except (KeyError, TypeError):
        return parse_event(event, row)
    if not (
        (type(cid) is int or type(cid) is str)
        and (type(sender) is int or type(sender) is str)
        and (type(recipient) is int or type(recipient) is str)
        and sender != recipient
        and type(ts) is int
        and MIN_TIMESTAMP <= ts < MAX_TIMESTAMP
        and type(tz) is int
        and MIN_TZ_OFFSET_MIN <= tz <= MAX_TZ_OFFSET_MIN
    ):
        return parse_event(event, row)
    if sender_age is None:
        sender_age = _NAN
    elif (type(sender_age) is float or type(sender_age) is int) and (
        MIN_AGE <= sender_age <= MAX_AGE
    ):
        sender_age = float(sender_age)
    else:
        return parse_event(event, row)
    if recipient_age is None:
        recipient_age = _NAN
    elif (type(recipient_age) is float or type(recipient_age) is int) and (
        MIN_AGE <= recipient_age <= MAX_AGE
    ):
        recipient_age = float(recipient_age)
    else:
        return parse_event(event, row)
    return (cid, ts, sender, recipient, sender_age, recipient_age, channel, kind, tz)
