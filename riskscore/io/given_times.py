"""A time a person gives (a command-line option, a query parameter of the console), read
as epoch seconds within the range of the events' times that riskscore reads: the one rule
of every such time, so that none names a time no event can have (a period from 1970). A
time that is not a day is read by the events' own rule of text times
(:func:`~riskscore.io.time_text.one_text_time`): the same forms and UTC offsets."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Final

from riskscore.io.one_value import Undecided
from riskscore.io.schema import EARLIEST_EVENT_TIMESTAMP, MAX_TIMESTAMP
from riskscore.io.text import is_number_text
from riskscore.io.time_text import NOT_A_TIMESTAMP, one_text_time

__all__ = ["TIME_RANGE", "is_day", "parse_time"]

#: The first and the last day a given time takes: the event readers' range
#: (:data:`~riskscore.io.schema.EARLIEST_EVENT_TIMESTAMP` up to
#: :data:`~riskscore.io.schema.MAX_TIMESTAMP`).
FIRST_DAY: Final = datetime.fromtimestamp(EARLIEST_EVENT_TIMESTAMP, UTC).date()
END_DAY: Final = datetime.fromtimestamp(MAX_TIMESTAMP, UTC).date()
#: The range of a given time, as a help text states it.
TIME_RANGE: Final = f"{FIRST_DAY.year} to {END_DAY.year}"


def parse_time(text: str, *, end_of_day: bool = False) -> int:
    """Epoch seconds from ``text``: a day ``YYYY-MM-DD`` (UTC), or epoch seconds or ISO
    8601 with a UTC offset as an event's timestamp is written (its rule, floored to the
    second: ``1.7e9``, ``2026-01-01T00:00:00+05:45``; an offset no clock uses, such as
    ``+23:00``, is refused as it is in the events), within the range of the events'
    times that riskscore reads (2000-01-01 up to 2200-01-01: :data:`TIME_RANGE`).

    A day is its first second; with ``end_of_day`` it is the first second of the next day,
    so that the day is included in a period whose end is excluded (``export --to``). The
    day itself must be in range: ``1999-12-31`` as an end is refused, as it is as a start.

    Parameters
    ----------
    text : str
        The time as given.
    end_of_day : bool, default False
        Read a day as the first second of the next day.

    Returns
    -------
    int
        Epoch seconds.

    Raises
    ------
    ValueError
        None of the forms, an ISO time without an offset, or a time out of range; the
        message quotes ``text``.

    Examples
    --------
    >>> parse_time("1767225600"), parse_time("2026-01-01T00:00:00Z")
    (1767225600, 1767225600)
    >>> parse_time("2026-01-01"), parse_time("2026-01-01", end_of_day=True)
    (1767225600, 1767312000)
    >>> parse_time("1970-01-01")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: '1970-01-01' is out of range: times are from 2000-01-01 ...
    """
    value = _epoch(text, end_of_day)
    # a day given as an end is included: its end, the next day, is what must be in range
    first = _epoch(text, False) if end_of_day else value
    if not (first >= EARLIEST_EVENT_TIMESTAMP and value <= MAX_TIMESTAMP):  # inf, NaN too
        last = END_DAY - timedelta(days=1)
        included = f"; a day given as the end is included, so the last day is {last}"
        raise ValueError(
            f"{text!r} is out of range: times are from {FIRST_DAY} ({EARLIEST_EVENT_TIMESTAMP}, "
            f"the earliest event time riskscore reads) to {END_DAY} ({MAX_TIMESTAMP})"
            f"{included if end_of_day and is_day(text) else ''}"
        )
    return int(value)


def is_day(text: str) -> bool:
    """Whether ``text`` is read as a day ``YYYY-MM-DD`` (by :func:`parse_time`).

    Examples
    --------
    >>> is_day("2026-01-01"), is_day("1767225600")
    (True, False)
    """
    return len(text) == 10 and not is_number_text(text)


def _epoch(text: str, end_of_day: bool) -> float:
    """Epoch seconds of ``text`` (floored; infinite or NaN beyond float range, which the
    range check refuses), or ``ValueError`` naming what it is not."""
    if not text.isascii():  # Python reads other scripts' digits; the data's rule does not
        raise ValueError(
            f"{text!r} is neither epoch seconds, YYYY-MM-DD nor ISO 8601 (ASCII digits only)"
        )
    if _names_no_date(text):
        raise ValueError(f"{text!r} is no time: {text[:10]} is not a date of the calendar")
    if is_day(text):
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        return (day + timedelta(days=1 if end_of_day else 0)).timestamp()
    try:  # the events' rule of a text time
        read = one_text_time(text)
    except Undecided:  # not printable (a control character)
        read = NOT_A_TIMESTAMP
    if read == NOT_A_TIMESTAMP or is_day(text.strip()):  # a day with spaces: not "no time"
        raise ValueError(f"{text!r} is neither epoch seconds, YYYY-MM-DD nor ISO 8601")
    if isinstance(read, str):  # what it lacks or gets wrong: a UTC offset, one in use
        raise ValueError(f"{text!r} {read}")
    return read if math.isfinite(read) else math.inf


def _names_no_date(text: str) -> bool:
    """Whether ``text`` starts as a day or an ISO time does (``YYYY-MM-DD``, then its end
    or ``T``) with a date that is not in the calendar (``2023-02-29``, ``2026-13-01``).

    Examples
    --------
    >>> _names_no_date("2023-02-29"), _names_no_date("2024-02-29"), _names_no_date("soon")
    (True, False, False)
    """
    if not (len(text) >= 10 and text[4] == text[7] == "-" and text[10:11] in ("", "T", " ")):
        return False
    if not (text[:4] + text[5:7] + text[8:10]).isdigit():
        return False
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return True
    return False
