"""How the scoring service puts what a batch raised into the review queue, and what it does
when another process holds the queue's file locked.

Several processes may write one queue file (``riskscore score --queue``, ``riskscore stream
--queue``, the console's decisions); each write waits for the others' locks for the queue's
busy timeout (:mod:`riskscore.moderation.queue_db`). A batch's events are applied to the
scorer before its alerts are queued: when the lock outlasts the timeout, the alerts and
user reports of the batch are held here, in order, and queued before those of the next
batch and before each checkpoint. The scorer's state already counts those alerts as raised
(a resent batch raises them no more), so they are never dropped: a checkpoint is not
written while any is held (it shares the fate of the events that raised them, which a
crash before the next checkpoint loses too).
"""

from __future__ import annotations

import logging
import sqlite3
from collections import deque
from typing import Any, NamedTuple

from riskscore._words import plural
from riskscore.exceptions import one_line
from riskscore.io.sqlite import is_lock
from riskscore.moderation.cases import QueueError
from riskscore.moderation.queue import ReviewQueue
from riskscore.moderation.user_reports import UserReport
from riskscore.policy import Alert

__all__ = ["QueueWriter"]

_LOG = logging.getLogger("riskscore.serve")


class _Batch(NamedTuple):
    """What one batch raised: alerts (with the index of their event) raised at ``at``,
    and user reports."""

    at: int
    alerts: list[tuple[int, Alert]]
    reports: list[UserReport]


class QueueWriter:
    """The alerts and user reports of the service's batches, queued in order.

    Parameters
    ----------
    queue : ReviewQueue
        The service's connection to the review queue.
    """

    def __init__(self, queue: ReviewQueue) -> None:
        self.queue = queue
        self._held: deque[_Batch] = deque()

    @property
    def held(self) -> tuple[int, int]:
        """Alerts and user reports raised and not queued yet (the queue was locked)."""
        return (sum(len(b.alerts) for b in self._held), sum(len(b.reports) for b in self._held))

    def busy_text(self) -> str:
        """What a response says while alerts or reports are held."""
        alerts, reports = self.held
        return (
            "the review queue was locked by another process for longer than its busy "
            f"timeout: {plural(alerts, 'alert')} and {plural(reports, 'user report')} of this "
            "and earlier batches wait in the service and are queued before the next batch's "
            "and before the next checkpoint; the events were applied: do not send them again"
        )

    def add(
        self, at: int, alerts: list[tuple[int, Alert]], reports: list[UserReport]
    ) -> list[dict[str, Any]]:
        """Queue a batch's ``alerts`` (raised at ``at``) and ``reports`` after those held;
        return the alerts of this batch the queue refused, by the index of their event
        (none while it is held)."""
        if alerts or reports:
            self._held.append(_Batch(at, alerts, reports))
        return self.flush()

    def flush(self) -> list[dict[str, Any]]:
        """Queue the batches held, oldest first, until none is left or the queue is still
        locked; return the refusals of the last batch queued (those of earlier ones, whose
        responses were sent, are logged)."""
        refused: list[dict[str, Any]] = []
        while self._held:
            batch = self._held[0]
            try:
                # A batch queued in part before a lock is queued again whole: an alert
                # already queued, and a report already stored, change nothing.
                refused = self._queue_alerts(batch.alerts, batch.at) if batch.alerts else []
                if batch.reports:
                    self.queue.add_reports(batch.reports)
            except Exception as exc:
                if not (isinstance(exc, sqlite3.OperationalError) and is_lock(exc)):
                    # held for a lock only: any other failure is this batch's, as before
                    # (never one that every later batch would meet again)
                    self._held.popleft()
                    raise
                alerts, reports = self.held
                _LOG.error(
                    "review queue locked (%s): %s and %s held, queued with the next batch",
                    one_line(str(exc)),
                    plural(alerts, "alert"),
                    plural(reports, "user report"),
                )
                return []
            self._held.popleft()
            if self._held:  # an earlier batch's: its response has gone
                for r in refused:
                    _LOG.error("alert of an earlier batch refused by the queue: %s", r["message"])
        return refused

    def _queue_alerts(self, alerts: list[tuple[int, Alert]], at: int) -> list[dict[str, Any]]:
        """The batch's alerts queued in one transaction; when the queue refuses one (the
        open alert of its conversation id is of other accounts), each on its own, and the
        refused ones named by the index of their event."""
        try:
            self.queue.add_alerts([a for _, a in alerts], at=at)
            return []
        except QueueError:
            pass
        refused = []
        for index, alert in alerts:
            try:
                self.queue.add_alert(alert, at=at)
            except QueueError as exc:
                refused.append({"index": index, "message": one_line(str(exc))})
        return refused
