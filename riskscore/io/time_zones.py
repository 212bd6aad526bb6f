"""Named time zones (IANA, such as ``Europe/London``) and the UTC offset they give at an
instant: what an integration that builds events itself (the Synapse module) writes as
``recipient_tz_offset_min``, so that the child's night follows daylight-saving time.

A name is read by the standard library's :mod:`zoneinfo` (the system's time zone database,
else the ``tzdata`` package that the ``synapse`` extra installs). An offset is held to the
schema's rule (:func:`riskscore.io.tz_offsets.one_tz_offset_problem`): a zone whose offset at an
event's time is not a whole quarter hour (a local mean time of the 19th century) is refused,
never rounded.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from riskscore.io.raw import show
from riskscore.io.tz_offsets import one_tz_offset_problem

__all__ = ["offset_min_at", "time_zone"]


@functools.lru_cache(maxsize=1024)
def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (case as the database spells it).

    Raises
    ------
    ValueError
        ``name`` is not a zone of the database (the message quotes it), or not a name at
        all (a path, an empty text).

    Examples
    --------
    >>> time_zone("Europe/London").key
    'Europe/London'
    >>> time_zone("Europe/Londn")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: time zone 'Europe/Londn' is not in the IANA time zone database (a name such ...
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        # a name that is not a key (a path, '..', an empty or NUL text) is refused as well
        raise ValueError(
            f"time zone {show(name)} is not in the IANA time zone database (a name such as "
            "'Europe/London' or 'America/New_York')"
        ) from None


def offset_min_at(zone: ZoneInfo, timestamp: int) -> int:
    """UTC offset in minutes of ``zone`` at epoch second ``timestamp`` (daylight-saving
    time included).

    Raises
    ------
    ValueError
        The offset there is not one the schema takes (not a whole quarter hour).

    Examples
    --------
    >>> london = time_zone("Europe/London")
    >>> offset_min_at(london, 1_768_000_000), offset_min_at(london, 1_783_000_000)  # Jan, Jul
    (0, 60)
    >>> offset_min_at(time_zone("Asia/Kathmandu"), 1_768_000_000)
    345
    """
    offset = zone.utcoffset(datetime.fromtimestamp(timestamp, UTC))
    minutes = 0.0 if offset is None else offset.total_seconds() / 60
    problem = one_tz_offset_problem(minutes)
    if problem is not None:
        raise ValueError(
            f"time zone {zone.key!r} at {datetime.fromtimestamp(timestamp, UTC):%Y-%m-%d %H:%M} "
            f"UTC has the offset {minutes:g} minutes, which {problem}"
        )
    return int(minutes)
