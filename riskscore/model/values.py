"""The values of reasons in words: :func:`format_value`, by a feature's unit (counts with a
singular for one, shares as percentages or the bounds they are, ages, delays, multiples, channel
names), the one wording of a reason's value in every view (:class:`~riskscore.model.scores.Reason`).
"""

from __future__ import annotations

import math

from riskscore._units import DAY_S, HOUR_S, MINUTE_S
from riskscore._words import (
    at_least_percent,
    duration_text,
    number_text,
    plural,
    toward_half_percent,
)
from riskscore.io.schema import channel_at_level

__all__ = ["format_value"]

#: Units written after the number as they are (a multiple, a rate per minor).
_AFTER_NUMBER = frozenset({"times", "per minor contacted"})
#: Count units and the words for one of each.
_COUNTS = {
    "events": "event",
    "messages": "message",
    "accounts": "account",
    "minors": "minor",
    "requests": "request",
    "moves": "move",
    "channels": "channel",
    "links or handles": "link or handle",
    "blocks or reports": "block or report",
}


#: The unit of a share of evidence: a count over its events plus
#: :data:`~riskscore.features.constants.SHARE_PRIOR_EVENTS` (``docs/features.md``), never
#: above the share a moderator counts in the conversation's events.
SHARE_OF_EVIDENCE = "share of evidence"
#: The unit of a recent share: an exponentially weighted average starting from 0, never above
#: the weighted share of the recent events (its weights sum to ``1 - 0.9 ** n``).
RECENT_SHARE = "recent share"
#: The unit of a share pulled toward one half ((count + 2) / (events + 4)): never further
#: from one half than the share counted in the events.
SHARE_TOWARD_HALF = "share toward half"


def format_value(unit: str, value: float) -> str:
    """A feature value in words, by unit: counts with a singular for one, shares as
    percentages (never ``0 %`` or ``100 %`` for a share in between; a share of evidence,
    a count over its events plus 4, and a recent share, an average starting from 0, as the
    lower bounds they are: ``at least 20 %``; a share pulled toward one half as the bound on
    its side), ages in years, delays
    in minutes, hours or days, multiples and rates with their unit, never scientific
    notation (:mod:`riskscore._words`). Every registered feature's unit is worded; a bare
    number only for a name the registry does not hold (``unit`` empty).

    Examples
    --------
    >>> format_value("fraction", 0.004), format_value("events", 1.0)
    ('under 1 %', '1 event')
    >>> format_value("share of evidence", 1 / 5)  # 1 message of 1: 1 / (1 + 4)
    'at least 20 %'
    >>> format_value("exp(-days)", math.exp(-0.5 / 24)), format_value("hours", 1500.0)
    ('30 minutes', '62.5 days')
    >>> format_value("times", 3.2), format_value("times", 1.0)
    ('3.2 times', 'the same rate')
    >>> format_value("per minor contacted", 0.5)
    '0.5 per minor contacted'
    """
    if not math.isfinite(value):
        return "unknown"
    if unit == "years":
        return plural(value, "year")
    if unit == "fraction":
        percent = 100.0 * value
        if 0.0 < percent < 1.0:
            return "under 1 %"
        if 99.0 < percent < 100.0:
            return "over 99 %"
        return f"{percent:.0f} %"
    if unit in (SHARE_OF_EVIDENCE, RECENT_SHARE):
        return at_least_percent(100.0 * value)
    if unit == SHARE_TOWARD_HALF:
        return toward_half_percent(100.0 * value)
    if unit == "0/1":
        return "yes" if value >= 0.5 else "no"
    if unit.startswith("level"):  # the one reading of a channel level, as alerts name it
        channel = channel_at_level(value)
        return number_text(value) if channel is None else channel
    if unit in _COUNTS:
        return plural(round(value), _COUNTS[unit], unit)
    if unit == "hours":
        return duration_text(max(value, 0.0) * HOUR_S)
    if unit == "events/day":
        return f"{plural(value, 'event')} a day"
    if unit in _AFTER_NUMBER:
        text = number_text(value)
        if unit == "times" and text == "1":
            return _near_one_multiple(value)
        return f"{text} {unit}"
    if unit == "exp(-days)":  # exp(-delay / 1 day): worded as the delay it encodes
        if not value > 0.0:
            return "no move"
        seconds = -DAY_S * math.log(min(value, 1.0))
        return "under a minute" if seconds < MINUTE_S else duration_text(seconds)
    return number_text(value)  # a feature the registry does not hold: no unit known


def _near_one_multiple(value: float) -> str:
    """A multiple that :func:`number_text` writes as ``1``: ``the same rate`` at 1 exactly
    ("1 times" reads wrong), else with two decimals, or as the bound it is, so that a rate
    above the long-run one (a reason) never reads as no change.

    Examples
    --------
    >>> _near_one_multiple(1.0), _near_one_multiple(1.04), _near_one_multiple(0.96)
    ('the same rate', '1.04 times', '0.96 times')
    >>> _near_one_multiple(1.001), _near_one_multiple(0.999)
    ('under 1.01 times', 'over 0.99 times')
    """
    if value == 1.0:
        return "the same rate"
    text = f"{value:.2f}"
    if text == "1.00":
        return "under 1.01 times" if value > 1.0 else "over 0.99 times"
    return f"{text} times"
