"""How a long-running scorer (``riskscore serve``, the Synapse module) puts what it raised
into the review queue, and what it does when another process holds the queue's file locked.

Several processes may write one queue file (``riskscore score --queue``, ``riskscore stream
--queue``, the console's decisions); each write waits for the others' locks for the queue's
busy timeout (:mod:`riskscore.moderation.queue_db`). A batch's events are applied to the
scorer before its alerts are queued: when the lock outlasts the timeout, the alerts and
user reports of the batch are held here, in order, and queued before those of the next
batch and before each checkpoint. The scorer's state already counts those alerts as raised
(a resent batch raises them no more), so they are never dropped: a checkpoint is not
written while any is held (it shares the fate of the events that raised them, which a
crash before the next checkpoint loses too).

Once a lock has outlasted the busy timeout, each later try (the next batch's, a
checkpoint's, the shutdown's) waits for the lock at most :data:`HELD_WAIT_S`, until one
queues what is held: the scorer goes on scoring meanwhile (the Synapse module, whose
alerts are each a batch, waited the full timeout for each, and ``serve`` for each batch),
and the lock's end is met at the next try.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Final, NamedTuple

from riskscore._words import plural
from riskscore.exceptions import one_line
from riskscore.io.sqlite import is_lock
from riskscore.moderation.cases import QueueError
from riskscore.moderation.queue import ReviewQueue
from riskscore.moderation.user_reports import UserReport
from riskscore.policy import Alert

__all__ = ["HELD_WAIT_S", "QueueWriter"]

_LOG = logging.getLogger("riskscore.serve")

#: Seconds a try waits for the review queue's lock while batches are held (a lock already
#: outlasted the queue's busy timeout).
HELD_WAIT_S: Final = 0.05


class _Batch(NamedTuple):
    """What one batch raised: alerts (with the index of their event) raised at ``at``
    (None: each alert's own time), and user reports."""

    at: int | None
    alerts: list[tuple[int, Alert]]
    reports: list[UserReport]


class QueueWriter:
    """The alerts and user reports of a scorer's batches, queued in order.

    Parameters
    ----------
    queue : ReviewQueue, optional
        The scorer's connection to the review queue.
    opener : callable, optional
        Without ``queue``: opens the review queue for each :meth:`flush` that has something
        to queue, closed after it (the Synapse module's, in the thread that writes), given
        the busy timeout to open it with (None: the queue's default). A lock met while it
        opens holds the batches as one met while writing.
    actor : str, default "riskscore"
        The audit log's actor of the alerts queued.
    on_refused : callable, optional
        Told of every alert the queue refuses (the alert and the queue's reason in one
        line), of any batch; without it, those of a batch before the last one queued are
        logged (the last one's are returned).
    on_failed : callable, optional
        Told of the alerts of a batch dropped by a failure other than a lock (the queue's
        file unusable: a full disk, a read-only file) and of the error, in the flushing
        thread, one flush at a time; the flush then goes on without raising. Without it,
        the error is raised.
    logger : logging.Logger, optional
        Where a lock and a refusal are logged (default ``riskscore.serve``).

    Notes
    -----
    One flush runs at a time (a lock): a flush in a worker thread and one at shutdown
    never queue a batch twice or drop one. While batches are held, a flush waits for the
    queue's lock at most :data:`HELD_WAIT_S` (:attr:`wait_s`).
    """

    def __init__(
        self,
        queue: ReviewQueue | None = None,
        *,
        opener: Callable[[float | None], ReviewQueue] | None = None,
        actor: str = "riskscore",
        on_refused: Callable[[Alert, str], None] | None = None,
        on_failed: Callable[[list[Alert], Exception], None] | None = None,
        logger: logging.Logger = _LOG,
    ) -> None:
        if (queue is None) == (opener is None):
            raise ValueError("QueueWriter takes one of queue and opener")
        self.queue = queue
        self.opener = opener
        self.actor = actor
        self.on_refused = on_refused
        self.on_failed = on_failed
        self.logger = logger
        self._held: deque[_Batch] = deque()
        self._lock = threading.Lock()
        self._locked = False  # a lock outlasted the busy timeout, and batches are held

    @property
    def wait_s(self) -> float | None:
        """How long the next try waits for the queue's lock: None (the queue's busy
        timeout) unless a lock outlasted it and batches are held (:data:`HELD_WAIT_S`)."""
        return HELD_WAIT_S if self._locked and self._held else None

    @property
    def held(self) -> tuple[int, int]:
        """Alerts and user reports raised and not queued yet (the queue was locked)."""
        batches = list(self._held)
        return (sum(len(b.alerts) for b in batches), sum(len(b.reports) for b in batches))

    def held_alerts(self) -> list[Alert]:
        """The alerts held, oldest first (what a log names when they cannot wait)."""
        return [alert for batch in list(self._held) for _, alert in batch.alerts]

    def busy_text(self) -> str:
        """What a response says while alerts or reports are held."""
        alerts, reports = self.held
        return (
            "the review queue was locked by another process for longer than its busy "
            f"timeout: {plural(alerts, 'alert')} and {plural(reports, 'user report')} of this "
            "and earlier batches wait in the service and are queued before the next batch's "
            "and before the next checkpoint; the events were applied: do not send them again"
        )

    def hold(
        self, at: int | None, alerts: list[tuple[int, Alert]], reports: list[UserReport]
    ) -> None:
        """Keep a batch's ``alerts`` (raised at ``at``) and ``reports`` after those held,
        for the next :meth:`flush` (at once: one at shutdown queues them too)."""
        if alerts or reports:
            self._held.append(_Batch(at, alerts, reports))

    def add(
        self, at: int | None, alerts: list[tuple[int, Alert]], reports: list[UserReport]
    ) -> list[dict[str, Any]]:
        """Queue a batch's ``alerts`` (raised at ``at``) and ``reports`` after those held;
        return the alerts of this batch the queue refused, by the index of their event
        (none while it is held)."""
        self.hold(at, alerts, reports)
        return self.flush()

    def flush(self) -> list[dict[str, Any]]:
        """Queue the batches held, oldest first, until none is left or the queue is still
        locked; return the refusals of the last batch queued (those of earlier ones, whose
        responses were sent, are logged or told to ``on_refused``)."""
        with self._lock:
            if not self._held:
                return []
            wait_s = self.wait_s
            if self.queue is not None:
                if wait_s is None:
                    return self._flush(self.queue)
                with self.queue.waiting(wait_s):
                    return self._flush(self.queue)
            assert self.opener is not None
            try:
                queue = self.opener(wait_s)
            except Exception as exc:
                self._failed(exc)
                return []
            with queue:
                return self._flush(queue)

    def _flush(self, queue: ReviewQueue) -> list[dict[str, Any]]:
        refused: list[dict[str, Any]] = []
        while self._held:
            batch = self._held[0]
            try:
                # A batch queued in part before a lock is queued again whole: an alert
                # already queued, and a report already stored, change nothing.
                refused = self._queue_alerts(queue, batch) if batch.alerts else []
                if batch.reports:
                    queue.add_reports(batch.reports)
            except Exception as exc:
                self._failed(exc)
                return []
            self._held.popleft()
            self._locked = self._locked and bool(self._held)
            # an earlier batch's refusals: its response has gone
            if self._held and self.on_refused is None:
                for r in refused:
                    self.logger.error(
                        "alert of an earlier batch refused by the queue: %s", r["message"]
                    )
        return refused

    def _failed(self, exc: Exception) -> None:
        """The oldest batch held could not be queued: a lock holds it (and logs it in one
        line); any other failure is this batch's, as before (never one that every later
        batch would meet again), raised or told to ``on_failed``."""
        if not (isinstance(exc, sqlite3.OperationalError) and is_lock(exc)):
            dropped = [alert for _, alert in self._held.popleft().alerts]
            if self.on_failed is None:
                raise exc
            self.on_failed(dropped, exc)
            return
        self._locked = True
        alerts, reports = self.held
        self.logger.error(
            "review queue locked (%s): %s and %s held, queued before the next batch's and "
            "before the next checkpoint",
            one_line(str(exc)),
            plural(alerts, "alert"),
            plural(reports, "user report"),
        )

    def _queue_alerts(self, queue: ReviewQueue, batch: _Batch) -> list[dict[str, Any]]:
        """The batch's alerts queued in one transaction; when the queue refuses one (the
        open alert of its conversation id is of other accounts, a time too far ahead),
        each on its own, and the refused ones named by the index of their event."""
        try:
            queue.add_alerts([a for _, a in batch.alerts], at=batch.at, actor=self.actor)
            return []
        except QueueError:
            pass
        refused = []
        for index, alert in batch.alerts:
            try:
                queue.add_alert(alert, at=batch.at, actor=self.actor)
            except QueueError as exc:
                refused.append({"index": index, "message": one_line(str(exc))})
                if self.on_refused is not None:
                    self.on_refused(alert, one_line(str(exc)))
        return refused
