"""User reports: a report a user filed about another account (a ``report`` event of
schema v1), and the reports of a table of events or of one event a scorer applied. The
review queue files them (:meth:`~riskscore.moderation.ReviewQueue.add_reports`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from riskscore.batch.reports import age_in_conversation, id_key
from riskscore.features.registry import feature_index
from riskscore.io.given_ids import as_given
from riskscore.io.raw import as_python_value
from riskscore.io.schema import CHANNEL_NAMES, Channel, EventType, is_declared_minor

if TYPE_CHECKING:
    from riskscore.online import OnlineScorer

__all__ = ["UserReport", "iter_reports", "report_of_event"]

_CHILD_AGE = feature_index("child_age")
_ADULT_AGE = feature_index("adult_age")


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
        report one that concerns a child, which jumps the queue. Filed from events
        (:func:`iter_reports`, ``riskscore score``, ``stream`` and ``serve``), it is the
        ``report`` event's ``sender_age``, or when the event declares none the age the
        reporter declared in the conversation reported
        (:func:`~riskscore.batch.reports.age_in_conversation`).
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
    """User reports (``report`` events) of a :class:`~riskscore.MessageTable`, in time order,
    with ids as given, as ``riskscore score --queue`` and the online scorer file them
    (:func:`~riskscore.io.given_ids.as_given`: integers held as decimal text are integers).

    An age a ``report`` event does not declare (its ``sender_age`` or ``recipient_age``)
    is the one that account last declared in the conversation, as the conversation's
    features read a participant's age and ``riskscore score --queue`` files the report.

    Examples
    --------
    >>> import riskscore as rs
    >>> data = rs.synthetic.generate(2000, prevalence=0.05, seed=3)
    >>> reports = list(iter_reports(data.messages))
    >>> n_report_events = int((data.messages.event == rs.EventType.REPORT).sum())
    >>> len(reports) == n_report_events
    True
    """
    # ids as given, as score --queue and the online scorer file them: the integer 6, never
    # the "6" of a column with an id beyond int64 or beside a group room's pair ids
    cols = as_given(
        messages.columns(decoded=True), messages.source_row, decimal_ids=messages.decimal_ids
    )
    idx = [int(i) for i in (messages.event == int(EventType.REPORT)).nonzero()[0]]
    idx.sort(key=lambda i: (int(cols["timestamp"][i]), i))
    unknown = [
        i for i in idx if np.isnan(cols["sender_age"][i]) or np.isnan(cols["recipient_age"][i])
    ]
    declared = _declared_ages(cols, unknown) if unknown else {}
    for i in idx:
        cid = as_python_value(cols["conversation_id"][i])
        reporter, reported = (as_python_value(cols[c][i]) for c in ("sender_id", "recipient_id"))
        yield UserReport(
            conversation_id=cid,
            reporter_id=reporter,
            reported_id=reported,
            reporter_age=_age(float(cols["sender_age"][i]), declared, cid, reporter),
            timestamp=int(cols["timestamp"][i]),
            channel=str(cols["channel"][i]),
            reported_age=_age(float(cols["recipient_age"][i]), declared, cid, reported),
        )


def _age(given: float, declared: dict[Any, float], cid: Any, account: Any) -> float:
    """A report's account age: as its event gives it, else as declared in the conversation."""
    return given if not math.isnan(given) else declared.get((id_key(cid), id_key(account)), given)


def _declared_ages(cols: dict[str, Any], reports: list[int]) -> dict[Any, float]:
    """The age each account last declared, in time order, in the conversations of the
    ``reports`` rows (``sender_age`` on events it sent, ``recipient_age`` on events it
    received), by (conversation, account) :func:`~riskscore.batch.reports.id_key`: a
    participant's age as the conversation's features read it, and as ``riskscore score
    --queue`` files a report (:func:`~riskscore.batch.reports.age_in_conversation`)."""
    conversations = cols["conversation_id"].tolist()
    wanted = {id_key(conversations[i]) for i in reports}
    # tolist() gives Python values: their key is their type and value (id_key, cheaper)
    rows = [i for i, cid in enumerate(conversations) if (type(cid), cid) in wanted]
    rows.sort(key=lambda i: (int(cols["timestamp"][i]), i))
    last: dict[Any, float] = {}
    for i in rows:
        cid = id_key(conversations[i])
        for who, age in (
            ("sender", cols["sender_age"][i]),
            ("recipient", cols["recipient_age"][i]),
        ):
            if not math.isnan(age):
                last[(cid, id_key(cols[f"{who}_id"][i]))] = float(age)
    return last


def report_of_event(
    scorer: OnlineScorer, event: tuple[Any, ...], cid: Any, timestamp: int
) -> UserReport:
    """The user report a ``report`` event (``OnlineScorer.last_event``, just applied by
    ``scorer``) files in conversation ``cid`` (a group room's pair): its sender reports its
    recipient (serve, stream), with the conversation's risk and, for an age the event does
    not declare, the age that account declared in the conversation
    (:func:`age_in_conversation`)."""
    channel = CHANNEL_NAMES[event[6]]
    live = scorer.conversation_of(cid)
    row = scorer.features_of(cid)
    roles = (live.adult_id, live.child_id, float(row[_ADULT_AGE]), float(row[_CHILD_AGE]))
    reporter_age = age_in_conversation(event[4], event[2], *roles)
    reported_age = age_in_conversation(event[5], event[3], *roles)
    risk = scorer.score_of(cid)
    return UserReport(cid, event[2], event[3], reporter_age, timestamp, channel, risk, reported_age)
