"""The draws a conversation's and a room's phases share: event times and who sends how many."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore._units import DAY_S, HOUR_S
from riskscore.vignettes.specs import PhaseSpec

__all__ = ["AnyArray", "counts", "draw_times", "phase_hours", "rounded"]

AnyArray = npt.NDArray[Any]


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
