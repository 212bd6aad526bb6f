"""What a conversation's and a room's phases share: their local clock, the draws of event
times, of who sends how many and of media, and the schema's range of event times."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore._units import DAY_S, HOUR_S
from riskscore.io.schema import EARLIEST_EVENT_TIMESTAMP, MAX_TIMESTAMP, EventType
from riskscore.vignettes.errors import VignetteFileError
from riskscore.vignettes.specs import PhaseSpec

__all__ = [
    "AnyArray",
    "IntArray",
    "check_event_times",
    "counts",
    "draw_times",
    "local_midnight",
    "media_events",
    "phase_hours",
    "rounded",
]

AnyArray = npt.NDArray[Any]
IntArray = npt.NDArray[np.int64]

_EPOCH: Final = dt.date(1970, 1, 1)


def local_midnight(start: dt.date, tz_min: int) -> int:
    """Epoch seconds of the local midnight that begins ``start`` at UTC offset ``tz_min``
    minutes (the clock a conversation's or room's hours are read on)."""
    return (start - _EPOCH).days * DAY_S - tz_min * 60


def check_event_times(time: IntArray, what: str, source: str, key: str) -> None:
    """Refuse sorted event times ``time`` outside the schema's range, naming ``what`` they
    are the times of, the file and its key."""
    if len(time) and not (time[0] >= EARLIEST_EVENT_TIMESTAMP and time[-1] < MAX_TIMESTAMP):
        raise VignetteFileError(
            f"{what} fall outside 2000-01-01 to 2199-12-31 UTC, the schema's range of event "
            "times: move its start or shorten it",
            source=source,
            key=key,
        )


def phase_hours(phase: PhaseSpec) -> tuple[float, float]:
    """The phase's first and last local hour, the last past 24 when it runs past midnight."""
    h0, h1 = phase.hours
    return h0, h1 + 24.0 if h1 <= h0 else h1


def draw_times(
    phase: PhaseSpec, rep: int, midnight: int, lo_first: float, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Times of repetition ``rep``'s message and media events, uniform over the phase's days
    and hours (on its first day none before the local hour ``lo_first``), in draw order."""
    h0, h1 = phase_hours(phase)
    day = phase.day + rep * phase.every
    n = phase.events
    days = rng.integers(day, day + phase.days, size=n)
    lo = np.where(days == day, lo_first, h0)
    hours = lo + rng.random(n) * (h1 - lo)
    return np.floor(midnight + days * DAY_S + hours * HOUR_S).astype(np.int64)


def media_events(
    phase: PhaseSpec, name_of: IntArray, names: tuple[str, ...], rng: np.random.Generator
) -> IntArray:
    """The event type of each drawn event whose sender's name is ``names[name_of[i]]``: a
    message, or media for the phase's share of each name's events."""
    event = np.full(len(name_of), int(EventType.MESSAGE), dtype=np.int64)
    for name, fraction in phase.media:
        mine = np.flatnonzero(name_of == names.index(name))
        chosen = rng.choice(mine, size=rounded(fraction * len(mine)), replace=False)
        event[chosen] = int(EventType.MEDIA)
    return event


def rounded(x: float) -> int:
    """``x`` rounded half up."""
    return math.floor(x + 0.5)


def counts(n: int, shares: tuple[tuple[str, float], ...], names: tuple[str, ...]) -> list[int]:
    """How many of ``n`` events each name sends: shares rounded by largest remainders."""
    share = dict(shares)
    quota = [share.get(name, 0.0) * n for name in names]
    out = [math.floor(q) for q in quota]
    by_remainder = sorted(range(len(names)), key=lambda i: -(quota[i] - out[i]))
    for i in by_remainder[: n - sum(out)]:
        out[i] += 1
    return out
