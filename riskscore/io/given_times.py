"""A time a person gives (a command-line option, a query parameter of the console), read
as epoch seconds within the range of the events' times that riskscore reads: the one rule
of every such time, so that none names a time no event can have (a period from 1970)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

from riskscore.io.schema import EARLIEST_EVENT_TIMESTAMP, MAX_TIMESTAMP
from riskscore.io.text import is_number_text

__all__ = ["TIME_RANGE", "is_day", "parse_time"]

#: The first and the last day a given time takes: the event readers' range
#: (:data:`~riskscore.io.schema.EARLIEST_EVENT_TIMESTAMP` up to
#: :data:`~riskscore.io.schema.MAX_TIMESTAMP`).
FIRST_DAY: Final = datetime.fromtimestamp(EARLIEST_EVENT_TIMESTAMP, UTC).date()
END_DAY: Final = datetime.fromtimestamp(MAX_TIMESTAMP, UTC).date()
#: The range of a given time, as a help text states it.
TIME_RANGE: Final = f"{FIRST_DAY.year} to {END_DAY.year}"


def parse_time(text: str, *, end_of_day: bool = False) -> int:
    """Epoch seconds from ``text``: an integer, a day ``YYYY-MM-DD`` (UTC), or ISO 8601
    with a UTC offset, within the range of the events' times that riskscore reads
    (2000-01-01 up to 2200-01-01: :data:`TIME_RANGE`).

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
    if not (first >= EARLIEST_EVENT_TIMESTAMP and value <= MAX_TIMESTAMP):
        last = END_DAY - timedelta(days=1)
        included = f"; a day given as the end is included, so the last day is {last}"
        raise ValueError(
            f"{text!r} is out of range: times are from {FIRST_DAY} ({EARLIEST_EVENT_TIMESTAMP}, "
            f"the earliest event time riskscore reads) to {END_DAY} ({MAX_TIMESTAMP})"
            f"{included if end_of_day and is_day(text) else ''}"
        )
    return value


def is_day(text: str) -> bool:
    """Whether ``text`` is read as a day ``YYYY-MM-DD`` (by :func:`parse_time`).

    Examples
    --------
    >>> is_day("2026-01-01"), is_day("1767225600")
    (True, False)
    """
    return len(text) == 10 and not is_number_text(text)


def _epoch(text: str, end_of_day: bool) -> int:
    if not text.isascii():  # Python reads other scripts' digits; the data's rule does not
        raise ValueError(
            f"{text!r} is neither epoch seconds, YYYY-MM-DD nor ISO 8601 (ASCII digits only)"
        )
    if is_number_text(text):
        try:
            return int(text)
        except ValueError:
            pass
    try:
        if is_day(text):
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            return int((day + timedelta(days=1 if end_of_day else 0)).timestamp())
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        if _names_no_date(text):
            raise ValueError(
                f"{text!r} is no time: {text[:10]} is not a date of the calendar"
            ) from None
        raise ValueError(f"{text!r} is neither epoch seconds, YYYY-MM-DD nor ISO 8601") from None
    if stamp.tzinfo is None:
        raise ValueError(f"{text!r} needs a UTC offset (e.g. Z or +01:00)")
    return int(stamp.timestamp())


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
