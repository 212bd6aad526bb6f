"""The times a transparency report publishes, and where they came from (private to
:mod:`~riskscore.moderation.transparency`).

Times to first review and to decision are measured from when the queue received an item
(:attr:`~riskscore.moderation.cases.QueueItem.received_time`) to the review or decision,
over the items whose review or decision came before the period's end; a time set by a
simulation (a caller-given time, :meth:`ReviewQueue.simulated_items`) is counted as such.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from riskscore.moderation.cases import QueueItem

__all__ = ["counted", "simulation_section", "times"]


def counted(item: QueueItem, field: str, end: int) -> bool:
    """Whether ``item``'s review or decision time (``field``) is counted (before ``end``)."""
    at = getattr(item, field)
    return at is not None and at < end


def times(
    items: list[QueueItem], field: str, end: int, simulated: frozenset[int]
) -> dict[str, Any]:
    """``n``, ``median``, ``p90`` hours from receipt to ``field``, and ``n_simulated``: how
    many of the ``n`` times were given by the caller (simulation mode)."""
    done = [i for i in items if counted(i, field, end)]
    n_simulated = sum(i.item_id in simulated for i in done)
    if not done:
        return {"n": 0, "n_simulated": 0, "median": None, "p90": None}
    arr = np.asarray([(getattr(i, field) - i.received_time) / 3600 for i in done])
    return {
        "n": len(done),
        "n_simulated": int(n_simulated),
        "median": round(float(np.median(arr)), 2),
        "p90": round(float(np.quantile(arr, 0.9)), 2),
    }


def simulation_section(
    simulated_queue: bool, items: list[QueueItem], end: int, simulated: frozenset[int]
) -> dict[str, Any]:
    """Where the report's decisions and their times come from.

    ``decision_times`` is ``"measured"`` (every counted review and decision time from the
    clock, or none counted), ``"simulated"`` (all given by the caller) or ``"mixed"``.
    """
    timed = [
        i for i in items if counted(i, "first_reviewed_at", end) or counted(i, "decided_at", end)
    ]
    n_sim = sum(i.item_id in simulated for i in timed)
    n_clock = len(timed) - n_sim
    source = "measured" if n_sim == 0 else ("simulated" if n_clock == 0 else "mixed")
    if simulated_queue and source == "measured" and not timed:
        note = "the queue was created in simulation mode; no review or decision is counted"
    elif source == "measured" and simulated_queue:
        note = (
            "the queue was created in simulation mode (its alerts and reports may be "
            "simulated); the review and decision times counted came from the clock"
        )
    elif source == "measured":
        note = "review and decision times come from the clock"
    elif source == "simulated":
        note = (
            "decisions and their times were set by a simulation (simulated moderators), "
            "not measured: time-to-review, time-to-decision and precision figures describe "
            "the simulation, not a platform"
        )
    else:
        note = (
            f"{n_sim} of {n_sim + n_clock} reviewed or decided items have simulated times "
            "(set by a simulation) and the rest clock times: time-to-review, "
            "time-to-decision and precision figures mix simulated and measured decisions "
            "and are not measured figures"
        )
    return {
        "simulated_queue": bool(simulated_queue),
        "decision_times": source,
        "items_with_simulated_times": int(n_sim),
        "items_with_clock_times": int(n_clock),
        "note": note,
    }
