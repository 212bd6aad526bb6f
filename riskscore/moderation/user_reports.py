"""User reports: a report a user filed about another account (a ``report`` event of
schema v1), and the reports of a table of events or of one event a scorer applied. The
review queue files them (:meth:`~riskscore.moderation.ReviewQueue.add_reports`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from riskscore.io.raw import as_python_value
from riskscore.io.schema import CHANNEL_NAMES, Channel, EventType, is_declared_minor

__all__ = ["UserReport", "iter_reports", "report_of_event"]


@dataclass(frozen=True, slots=True)
class UserReport:
    """A report a user filed about another account (a ``report`` event of schema v1).

    Attributes
    ----------
    conversation_id : int or str
        The conversation reported.
    reporter_id, reported_id : int or str
        Who reported (the event's sender) and whom (its recipient).
    reporter_age : float
        Reporter's age in years (NaN if unknown). A reporter under 18 makes the
        report one that concerns a child, which jumps the queue.
    timestamp : int
        Epoch seconds when the report was filed.
    channel : str or Channel, optional
        Channel of the report: a schema v1 name or a :class:`~riskscore.Channel` member
        (queued as its name).
    risk : float, default 0
        The conversation's current risk, when it has been scored.
    reported_age : float, default NaN
        The reported account's declared age in years (the event's ``recipient_age``; NaN
        if unknown), kept for the queue's ``adult_age`` and the CyberTipline draft.
    """

    conversation_id: Any
    reporter_id: Any
    reported_id: Any
    reporter_age: float
    timestamp: int
    channel: str | Channel | None = None
    risk: float = 0.0
    reported_age: float = math.nan

    @property
    def from_child(self) -> bool:
        """Whether the reporter is a child (age known and under 18; None is unknown)."""
        return is_declared_minor(self.reporter_age)


def iter_reports(messages: Any) -> Iterator[UserReport]:
    """User reports (``report`` events) of a :class:`~riskscore.MessageTable`, in time order.

    Examples
    --------
    >>> import riskscore as rs
    >>> data = rs.synthetic.generate(2000, prevalence=0.05, seed=3)
    >>> reports = list(iter_reports(data.messages))
    >>> n_report_events = int((data.messages.event == rs.EventType.REPORT).sum())
    >>> len(reports) == n_report_events
    True
    """
    cols = messages.columns(decoded=True)
    idx = [int(i) for i in (messages.event == int(EventType.REPORT)).nonzero()[0]]
    idx.sort(key=lambda i: (int(cols["timestamp"][i]), i))
    for i in idx:
        yield UserReport(
            conversation_id=as_python_value(cols["conversation_id"][i]),
            reporter_id=as_python_value(cols["sender_id"][i]),
            reported_id=as_python_value(cols["recipient_id"][i]),
            reporter_age=float(cols["sender_age"][i]),
            timestamp=int(cols["timestamp"][i]),
            channel=str(cols["channel"][i]),
            reported_age=float(cols["recipient_age"][i]),
        )


def report_of_event(event: tuple[Any, ...], cid: Any, timestamp: int, risk: float) -> UserReport:
    """The user report a ``report`` event (``OnlineScorer.last_event``) files in conversation
    ``cid`` (a group room's pair): its sender reports its recipient (serve, stream)."""
    channel = CHANNEL_NAMES[event[6]]
    return UserReport(cid, event[2], event[3], event[4], timestamp, channel, risk, event[5])
