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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from riskscore.io.raw import show
from riskscore.io.tz_offsets import one_tz_offset_problem

__all__ = ["offset_min_at", "time_zone"]

#: Names :func:`zoneinfo.available_timezones` may list that are no zone of a person:
#: ``localtime`` (Debian's link to the server's own ``/etc/localtime``) and ``Factory``
#: (the offset 0 with the abbreviation ``-00``, "local time unknown").
_NOT_A_PLACE = frozenset({"localtime", "Factory"})


@functools.cache
def _zone_names() -> frozenset[str]:
    """The zone names of the database (system and ``tzdata``), without :data:`_NOT_A_PLACE`:
    files such as ``posixrules`` or the ``posix/`` and ``right/`` copies that
    :class:`~zoneinfo.ZoneInfo` would also open are no names of it."""
    return frozenset(available_timezones()) - _NOT_A_PLACE


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
        if name not in _zone_names():
            raise ZoneInfoNotFoundError(name)
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
    # the instant in the zone: ``zone.utcoffset(dt)`` reads dt's wall time as the zone's
    # own, so a UTC time gave the other side of a transition for |offset| hours after it
    offset = datetime.fromtimestamp(timestamp, zone).utcoffset()
    minutes = 0.0 if offset is None else offset.total_seconds() / 60
    problem = one_tz_offset_problem(minutes)
    if problem is not None:
        raise ValueError(
            f"time zone {zone.key!r} at {datetime.fromtimestamp(timestamp, UTC):%Y-%m-%d %H:%M} "
            f"UTC has the offset {minutes:g} minutes, which {problem}"
        )
    return int(minutes)
