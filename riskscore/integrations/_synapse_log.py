"""Warnings about single events, rate-limited per kind (private, no Synapse import).

Remote servers and users choose the events that reach the module: a warning per refused
or odd event let them write the homeserver's log as fast as they send. Each kind of
warning is logged for the first :data:`FIRST_LOGGED` events of that kind; later ones are
counted and logged as one count at most once per interval (and whatever is left at
shutdown). Every event is still counted (:attr:`EventWarnings.seen`, and the module's own
counters), and so is every warning not logged (:attr:`EventWarnings.suppressed`, the
module's ``stats()``): nothing is dropped without a number saying so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

__all__ = ["FIRST_LOGGED", "EventWarnings"]

#: Events of each kind logged one by one.
FIRST_LOGGED: Final = 5
#: Least time between two counts of one kind's warnings not logged.
SUMMARY_INTERVAL_S: Final = 60.0


class EventWarnings:
    """Log warnings about single events, at most ``first`` of each kind one by one, then
    a count at most once per ``interval_s``.

    Parameters
    ----------
    logger : logging.Logger
        Where lines go.
    first : int, default FIRST_LOGGED
        Events of each kind logged one by one.
    interval_s : float, default SUMMARY_INTERVAL_S
        Least time between two counts of one kind.
    clock : callable, default time.monotonic
        Seconds, for the interval.

    Attributes
    ----------
    seen, suppressed : dict of str to int
        Per kind: events warned about, and those of them not logged one by one.

    Examples
    --------
    >>> now = [0.0]
    >>> warnings = EventWarnings(logging.getLogger("demo"), first=2, clock=lambda: now[0])
    >>> for i in range(10):
    ...     warnings.warn("refused", logging.WARNING, "event %d refused", i)
    >>> warnings.seen["refused"], warnings.suppressed["refused"]
    (10, 8)
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        first: int = FIRST_LOGGED,
        interval_s: float = SUMMARY_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.first = first
        self.interval_s = interval_s
        self.clock = clock
        self.seen: dict[str, int] = {}
        self.suppressed: dict[str, int] = {}
        self._pending: dict[str, int] = {}  # not logged since the last count
        self._counted_at: dict[str, float] = {}
        self._lock = threading.Lock()  # the reactor and the scoring thread both warn

    def warn(self, kind: str, level: int, msg: str, *args: object, exc_info: bool = False) -> None:
        """Count one event of ``kind``; log ``msg % args`` if it is among the first, else
        a count of those not logged if the last count is ``interval_s`` old."""
        with self._lock:
            self._warn(kind, level, msg, *args, exc_info=exc_info)

    def _warn(self, kind: str, level: int, msg: str, *args: object, exc_info: bool) -> None:
        n = self.seen[kind] = self.seen.get(kind, 0) + 1
        if n <= self.first:
            self.logger.log(level, msg, *args, exc_info=exc_info)
            if n == self.first:  # the first count comes an interval later, not at once
                self._counted_at[kind] = self.clock()
                self.logger.warning(
                    "riskscore: %d %s logged; more are counted and logged as a count at "
                    "most every %g s",
                    n,
                    kind,
                    self.interval_s,
                )
            return
        self.suppressed[kind] = self.suppressed.get(kind, 0) + 1
        self._pending[kind] = self._pending.get(kind, 0) + 1
        self._count(kind, force=False)

    def flush(self, *, force: bool = False) -> None:
        """Log the count of each kind whose last count is ``interval_s`` old (every kind
        with ``force``, as at shutdown), so that a flood that stopped is still told."""
        with self._lock:
            for kind in list(self._pending):
                self._count(kind, force=force)

    def _count(self, kind: str, *, force: bool) -> None:
        pending = self._pending.get(kind, 0)
        now = self.clock()
        if not pending or (not force and now - self._counted_at[kind] < self.interval_s):
            return
        self._pending[kind] = 0
        self._counted_at[kind] = now
        self.logger.warning(
            "riskscore: %d more %s not logged one by one (%d in all since start-up)",
            pending,
            kind,
            self.seen[kind],
        )
