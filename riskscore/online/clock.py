"""The online scorer's reference clock (private): the latest event time it accepts now,
and the refusal of an event dated beyond it or too long before its conversation's latest
(:class:`ScorerClock`, a base of :class:`~riskscore.online.memory.ScorerMemory`). The
future rule and its wording are the batch readers' (:mod:`riskscore.io.timestamps`),
measured from the scorer's clock."""

from __future__ import annotations

import math
import time

from riskscore.exceptions import SchemaError
from riskscore.io.problems import event_at
from riskscore.io.timestamps import FutureLimit, first_event_future_s, future_reason
from riskscore.online.options import TimeSource

__all__ = ["ScorerClock"]


class ScorerClock:
    """How far ahead of its reference clock a scorer accepts an event, and how long an idle
    conversation or account is kept (the attributes are set by
    :class:`~riskscore.online.memory.ScorerMemory`)."""

    time_source: TimeSource
    max_future_s: float
    clock: int
    n_events: int
    n_refused_future: int
    n_too_late: int
    reorder_tolerance_s: float
    _within_wall_limit: float

    @property
    def idle_expiry_s(self) -> float:
        """Seconds of event time after which an idle conversation or account is forgotten."""
        return self._idle_expiry_s

    @idle_expiry_s.setter
    def idle_expiry_s(self, seconds: float) -> None:
        self._idle_expiry_s = seconds
        # Event times are whole seconds, and so is a finite expiry given in whole seconds (30
        # days): ``ts - expiry`` is then an int, compared with the held times as ints, not
        # each converted to a float (about 0.1 us of an event). Same comparisons, same bits.
        whole = math.isfinite(seconds) and seconds == math.floor(seconds)
        self._expiry_whole: float = math.floor(seconds) if whole else seconds

    def _too_late(self, ts: int, cid: object, latest: int, row: int | None) -> SchemaError:
        """The refusal of event ``row`` of conversation ``cid``, dated ``ts``: more than
        ``reorder_tolerance_s`` before the conversation's ``latest`` event (counted)."""
        self.n_too_late += 1
        return SchemaError(
            f"column 'timestamp'{event_at(row)}: {ts} is {latest - ts} s before the latest "
            f"event of conversation {cid!r} ({latest}), beyond reorder_tolerance_s="
            f"{self.reorder_tolerance_s:g}; the event was not applied",
            column="timestamp",
            row=row,
            value=ts,
        )

    def _check_future(self, ts: int, row: int | None) -> None:
        """Refuse event ``row`` if dated beyond :meth:`future_limit` (called for an event
        later than every event so far)."""
        limit = self.future_limit()
        if ts <= limit:
            if self.time_source == "wall":
                # ``ts > limit`` is ``ts > floor(limit)`` for whole seconds: kept as an int,
                # the test of each event compares two ints (a float's is slower)
                self._within_wall_limit = math.floor(limit) if math.isfinite(limit) else limit
            return
        self.n_refused_future += 1
        clock = self.time_source if isinstance(self.time_source, str) else "callable"
        first = clock == "events" and not self.n_events  # held to the batch rule
        seconds = first_event_future_s(self.max_future_s) if first else self.max_future_s
        reason = future_reason(limit - seconds, seconds, online="first event" if first else clock)
        raise SchemaError(
            f"column 'timestamp'{event_at(row)}: {ts} {reason}",
            column="timestamp",
            row=row,
            value=ts,
        )

    def future_limit(self) -> float:
        """Latest event time accepted now: the reference clock plus ``max_future_s``.

        The reference clock is the system clock (``time_source="wall"``), a callable's
        value, or with ``"events"`` the latest accepted event time (before the first: the
        batch readers' rule, the system clock plus five years or ``max_future_s`` if longer).
        A callable's value is checked as ``read_messages(now=...)`` is
        (:meth:`~riskscore.io.timestamps.FutureLimit.at`): one that is no epoch seconds
        from 1970 up to 2200 (milliseconds, NaN, a boolean, text, None) raises ``ValueError``.
        """
        source = self.time_source
        if source == "wall":
            return time.time() + self.max_future_s
        if source == "events":
            if self.n_events:
                return self.clock + self.max_future_s
            return time.time() + first_event_future_s(self.max_future_s)
        assert callable(source)
        now = source()
        try:  # the rule of every reference time (a clock in milliseconds is beyond 2200)
            if now is None:  # FutureLimit.at reads the wall clock for None: a clock gives a time
                raise ValueError(now)
            return FutureLimit.at(now, self.max_future_s).latest
        except ValueError:
            raise ValueError(
                f"time_source() gave {now!r:.80}, not epoch seconds from 1970 up to 2200 (a "
                "number): give a clock in seconds, such as time.time; the event was not applied"
            ) from None
