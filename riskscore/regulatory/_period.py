"""The reporting period as the 2024/2835 templates write it in every row (private)."""

from __future__ import annotations

from collections.abc import Sequence

from riskscore.io.timestamps import iso_utc, iso_utc_z
from riskscore.moderation import QueueItem
from riskscore.regulatory._cases import ExportFilter

__all__ = ["period_text"]


def period_text(f: ExportFilter, items: Sequence[QueueItem]) -> str:
    """``YYYY-MM-DD/YYYY-MM-DD`` (UTC days, both included); an open side is the queue's first
    or last record (an item received, :attr:`~riskscore.moderation.cases.QueueItem.received_time`,
    or a decision), never beyond the given side (a reversed period), or ``../..`` when
    nothing says a day. A period whose given sides are not whole UTC days (a month in
    another time zone) is written as its instants in UTC, the end excluded
    (``2025-12-31T23:00:00Z/2026-01-31T23:00:00Z``; an open side ``..``): as days it would
    name a day it does not cover."""
    sides = (f.start, f.end)
    if any(t is not None and t % 86_400 for t in sides):
        return "/".join(".." if t is None else iso_utc_z(t) for t in sides)
    given = [t for t in (f.start, None if f.end is None else f.end - 1) if t is not None]
    # the times by which items are counted: received (an alert on old events queued today
    # is of today) and decided
    times = [t for i in items for t in (i.received_time, i.decided_at) if t is not None] + given
    if not times:
        return "../.."
    start = f.start if f.start is not None else min(times)
    end = f.end - 1 if f.end is not None else max(times)
    return f"{iso_utc(start)[:10]}/{iso_utc(end)[:10]}"
