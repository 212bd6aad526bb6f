"""What the console's URLs name: the adult of a case path, a whole number or a day in a
query. Anything else names nothing (None), never a guess."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from riskscore.moderation.queue_db import decode_id

__all__ = ["adult_of", "day_start", "whole_number"]


def adult_of(key: str) -> Any:
    """The adult account id a case path names (an encoded id), or None.

    Examples
    --------
    >>> adult_of('"adult-a"'), adult_of("7"), adult_of("true"), adult_of("{")
    ('adult-a', 7, None, None)
    """
    try:
        value = decode_id(key)
    except ValueError:
        return None
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def whole_number(given: str | None) -> int | None:
    """A whole number given in a query (a count, an entry id), or None for anything else.

    Examples
    --------
    >>> whole_number("12"), whole_number("-1"), whole_number("١٢"), whole_number(None)
    (12, None, None, None)
    """
    given = given or ""
    return int(given) if given.isascii() and given.isdigit() and len(given) < 19 else None


def day_start(text: str | None) -> int | None:
    """Epoch seconds of 00:00 UTC of a day given as ``YYYY-MM-DD``, or None.

    Examples
    --------
    >>> day_start("2026-01-01"), day_start("01/01/2026")
    (1767225600, None)
    """
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
