"""Validation of one event mapping for the online path (private).

The plain common case (int or printable str ids, an int timestamp in range, numeric
ages, exact channel and event names) is checked here in plain Python, in a few hundred
nanoseconds; every other event goes through
:func:`riskscore.io.validate.validate_one`, the batch validator's own rules on one row.
So there is one set of rules: whatever :func:`riskscore.read_messages` accepts, the
online scorer accepts with the same meaning, and the reverse. A refused event is named
first by :func:`riskscore.io.validate.quick_refusal` (each column's check of one value:
the same rules and words, in microseconds), and only an event it leaves undecided builds
the one-row table (about a millisecond).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Final, NamedTuple

import numpy as np

from riskscore._words import a_or_an
from riskscore.exceptions import SchemaError
from riskscore.io.columns import category_key, category_text
from riskscore.io.content_names import is_content_column
from riskscore.io.decimals import decimal_cells, one_whole_decimal
from riskscore.io.input_names import reported_as, reported_name
from riskscore.io.nested_fields import value_paths
from riskscore.io.one_value import Undecided
from riskscore.io.raw import MAX_IGNORED_NAME_CHARS, MAX_IGNORED_NAMES, OTHER_NAMES, as_python_value
from riskscore.io.schema import (
    BLANK_CHARS,
    CHANNEL_NAMES,
    EARLIEST_EVENT_TIMESTAMP,
    EVENT_NAMES,
    INT64_MAX,
    INT64_MIN,
    MAX_AGE,
    MAX_ID_LENGTH,
    MAX_ROOM_SIZE,
    MAX_TIMESTAMP,
    MIN_AGE,
    MIN_SENTENCE_WORDS,
    REQUIRED_COLUMNS,
    ROOM_SIZE_UNKNOWN,
    SCHEMA_COLUMNS,
    TZ_OFFSETS_IN_USE,
    TZ_UNKNOWN,
    Channel,
    EventType,
)
from riskscore.io.time_text import one_text_time
from riskscore.io.validate import (
    check_misspelt_names,
    content_refusal,
    quick_refusal,
    validate_one,
)

__all__ = [
    "MAX_IGNORED_NAMES",
    "MAX_IGNORED_NAME_CHARS",
    "OTHER_NAMES",
    "Event",
    "EventTuple",
    "count_ignored",
    "parse_event",
    "parse_event_fast",
    "reported_name",
]

_CHANNELS = {name: code for code, name in enumerate(CHANNEL_NAMES)}
_EVENTS = {name: code for code, name in enumerate(EVENT_NAMES)}
_SCHEMA_KEYS = frozenset(SCHEMA_COLUMNS)
_CATEGORY_FIELDS: Final = ("channel", "event")
_MEMBER_TYPES: Final = frozenset({Channel, EventType})
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
    tz_offset: float  # NaN: unknown
    room_size: int  # 0: not given


def parse_event(event: Mapping[str, object], row: int | None = None) -> Event:
    """Validate one schema v1 event mapping; raise :class:`SchemaError` naming the field.

    The values are checked by :func:`riskscore.io.validate.validate_one`, the batch
    validator's own rules applied to one row: what :func:`riskscore.read_messages` accepts
    in a cell, this accepts with the same meaning, and the reverse.
    """
    read = _decimals_read(event)
    timed = _text_time_read(event if read is None else read)
    if timed is not None:
        read = timed
    named = _names_read(event if read is None else read)
    if named is not None:
        read = named
    if read is not None:  # decimals, text times, enum members: read as batch does
        try:
            return Event(*parse_event_fast(read, row))
        except SchemaError:
            pass  # refused: named below, with the value as given
    if not isinstance(event, Mapping):
        raise SchemaError(
            f"event {row if row is not None else ''} is {a_or_an(type(event).__name__)}, not a "
            "mapping of schema v1 fields".replace("event  ", "event "),
            row=row,
        )
    for key in event:
        if not isinstance(key, str):
            raise SchemaError(  # named by its type alone: bytes may hold a message
                f"a field's name is {a_or_an(type(key).__name__)} value, not text: fields are "
                "named by text",
                row=row,
            )
        if key in _SCHEMA_KEYS:
            continue
        for path in (key, *value_paths(key, (event[key],))):
            if is_content_column(path):  # the whole path, as batch checks it
                raise content_refusal(path, "event", noun="field", row=row)
    if not _SCHEMA_KEYS.issuperset(event):
        check_misspelt_names(list(event), row)
    for column in REQUIRED_COLUMNS:
        if column not in event:
            where = f"event {row}" if row is not None else "the event"
            raise SchemaError(f"{where} lacks required field {column!r}", column=column, row=row)
    if not _SCHEMA_KEYS.issuperset(event):  # fields not read: the values by the fast path
        return Event(*parse_event_fast({k: event[k] for k in SCHEMA_COLUMNS if k in event}, row))
    refusal = quick_refusal(event, row)  # most refusals: no one-row table (a millisecond)
    if refusal is not None:
        raise refusal
    v = validate_one(event, row)
    tz = int(v["recipient_tz_offset_min"])  # type: ignore[call-overload]
    return Event(
        v["conversation_id"],
        int(v["timestamp"]),  # type: ignore[call-overload]
        v["sender_id"],
        v["recipient_id"],
        float(v["sender_age"]),  # type: ignore[arg-type]
        float(v["recipient_age"]),  # type: ignore[arg-type]
        int(v["channel"]),  # type: ignore[call-overload]
        int(v["event"]),  # type: ignore[call-overload]
        _NAN if tz == TZ_UNKNOWN else float(tz),
        int(v["room_size"]),  # type: ignore[call-overload]
    )


#: The number fields a :class:`~decimal.Decimal` of may be read before the fast path.
_NUMBER_FIELDS: Final = (
    "timestamp", "sender_age", "recipient_age", "recipient_tz_offset_min", "room_size",
)  # fmt: skip


def _decimals_read(event: object) -> dict[str, object] | None:
    """``event`` with its decimal numbers read as a column of them is
    (:func:`~riskscore.io.decimals.decimal_cells`, the first step of
    :func:`~riskscore.io.validate.validate_one` too), for the fast path: a decimal took
    the whole validator (about 1 ms, against a few microseconds); None when ``event`` is
    no dict with such a field, or one is a decimal Arrow holds no number of."""
    if type(event) is not dict:
        return None
    fields = [k for k in _NUMBER_FIELDS if type(event.get(k)) is Decimal]
    if not fields:
        return None
    read = dict(event)
    for name in fields:
        value = one_whole_decimal(event[name])
        if value is None:
            value = decimal_cells(np.array([event[name]], dtype=object), name)[0]
        if isinstance(value, Decimal):  # NaN, an infinity: refused by the rules below
            return None
        read[name] = as_python_value(value)
    return read


def _text_time_read(event: object) -> dict[str, object] | None:
    """``event`` with a timestamp given as text (ISO 8601 with an offset, or a number) read
    as a column of text times reads it (:func:`~riskscore.io.time_text.one_text_time`:
    epoch seconds, floored), for the fast path: an accepted text time took the whole
    validator (about 3 ms, against a few microseconds). None when ``event`` is no dict
    with such a field, or its text is refused or left to the table: the rules below then
    name the value as given."""
    if type(event) is not dict:
        return None
    text = event.get("timestamp")
    if type(text) is not str:
        return None
    try:
        seconds = one_text_time(text)
    except Undecided:
        return None
    if isinstance(seconds, str) or not math.isfinite(seconds):  # the rules below name it
        return None
    return {**event, "timestamp": int(seconds)}


def _names_read(event: object) -> dict[str, object] | None:
    """``event`` with a channel or event given as a member of
    :class:`~riskscore.io.schema.Channel` or :class:`~riskscore.io.schema.EventType` read
    as its name, as a column of them is (:func:`~riskscore.io.columns.category_text`), for
    the fast path: such a member took the whole validator (about 2 ms, against a few
    microseconds). None when ``event`` is no dict with such a field; a member naming no
    category of its field is refused below, quoted as given."""
    if type(event) is not dict:
        return None
    fields = [k for k in _CATEGORY_FIELDS if type(event.get(k)) in _MEMBER_TYPES]
    if not fields:
        return None
    return {**event, **{k: category_key(category_text(event[k])) for k in fields}}


def count_ignored(event: Mapping[str, object], counts: dict[str, int]) -> None:
    """Add to ``counts`` the fields of an applied event that are not schema v1, by name:
    they are not read (a misspelt schema field is refused, by :func:`parse_event`, and so
    is a content-like one), and ``riskscore stream`` and ``riskscore serve`` report them.

    Examples
    --------
    >>> counts = {}
    >>> count_ignored({"conversation_id": 1, "colour": "red"}, counts)
    >>> counts
    {'colour': 1}
    """
    if _SCHEMA_KEYS.issuperset(event):
        return
    for key in event:
        if key in _SCHEMA_KEYS:
            continue
        name = reported_as(str(key), counts)
        counts[name] = counts.get(name, 0) + 1


def _plain_id(value: object) -> bool:
    """An id the fast path takes as it is: an int within int64, or printable text within
    the length limit (anything else goes to the full rules, which decide)."""
    if type(value) is int:
        return INT64_MIN <= value <= INT64_MAX
    return (
        type(value) is str
        and len(value) <= MAX_ID_LENGTH
        and value.isprintable()
        and (value.isascii() or not any(c in value for c in BLANK_CHARS))  # printable, hidden
        and value.count(" ") < MIN_SENTENCE_WORDS - 1  # else the full rules: a sentence?
        and not value.isspace()
        and value != ""
    )


#: An event as the online scorer consumes it: the fields of :class:`Event`, in order.
EventTuple = tuple[object, int, object, object, float, float, int, int, float, int]


def parse_event_fast(event: Mapping[str, object], row: int | None = None) -> EventTuple:
    """:func:`parse_event` for the common case in a few hundred nanoseconds.

    Plain ``int``/``str`` ids, an ``int`` timestamp, numeric, NaN or missing ages, an
    ``int`` or missing offset and room size and exact lower-case names take this path;
    anything else (including every invalid event) goes through :func:`parse_event`,
    which gives the same result or raises the same error.
    """
    try:
        # ``type(...) is dict`` first: the ABC check costs more than the rest of a lookup.
        if (type(event) is not dict and not isinstance(event, Mapping)) or not (
            _SCHEMA_KEYS.issuperset(event)
        ):
            return parse_event(event, row)
        cid = event["conversation_id"]
        ts = event["timestamp"]
        sender = event["sender_id"]
        recipient = event["recipient_id"]
        channel = _CHANNELS[event["channel"]]  # type: ignore[index]
        get = event.get
        kind = _EVENTS[get("event", "message")]  # type: ignore[index]
        tz = get("recipient_tz_offset_min")
        room = get("room_size")
        sender_age = get("sender_age")
        recipient_age = get("recipient_age")
    except (KeyError, TypeError):
        return parse_event(event, row)
    if not (
        type(ts) is int
        and EARLIEST_EVENT_TIMESTAMP <= ts < MAX_TIMESTAMP
        and type(recipient) is type(sender)
        and sender != recipient
        and (
            # int ids within int64 in line (a call costs more than the test), others by rule
            INT64_MIN <= sender <= INT64_MAX and INT64_MIN <= recipient <= INT64_MAX  # type: ignore[operator]
            if type(sender) is int
            else _plain_id(sender) and _plain_id(recipient)
        )
        and (INT64_MIN <= cid <= INT64_MAX if type(cid) is int else _plain_id(cid))
    ):
        return parse_event(event, row)
    if tz is None:
        tz = _NAN
    elif type(tz) is int and tz in TZ_OFFSETS_IN_USE:
        tz = float(tz)
    else:
        return parse_event(event, row)
    if room is None:
        room = ROOM_SIZE_UNKNOWN
    elif not (type(room) is int and 2 <= room <= MAX_ROOM_SIZE):
        return parse_event(event, row)
    # An unknown age is None or NaN (as read from a table's columns).
    if type(sender_age) is float:  # kept as it is (no call), NaN as the one NaN
        if sender_age != sender_age:
            sender_age = _NAN
        elif not MIN_AGE <= sender_age <= MAX_AGE:
            return parse_event(event, row)
    elif sender_age is None:
        sender_age = _NAN
    elif type(sender_age) is int and MIN_AGE <= sender_age <= MAX_AGE:
        sender_age = float(sender_age)
    else:
        return parse_event(event, row)
    if type(recipient_age) is float:  # kept as it is (no call), NaN as the one NaN
        if recipient_age != recipient_age:
            recipient_age = _NAN
        elif not MIN_AGE <= recipient_age <= MAX_AGE:
            return parse_event(event, row)
    elif recipient_age is None:
        recipient_age = _NAN
    elif type(recipient_age) is int and MIN_AGE <= recipient_age <= MAX_AGE:
        recipient_age = float(recipient_age)
    else:
        return parse_event(event, row)
    return (cid, ts, sender, recipient, sender_age, recipient_age, channel, kind, tz, room)
