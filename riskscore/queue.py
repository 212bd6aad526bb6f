"""Review queue: alerts and user reports ranked for moderators, with decisions and an audit log.

:class:`ReviewQueue` keeps open work in one SQLite file (stdlib ``sqlite3``), so a
queue survives restarts and several processes can add to it at once without
losing items. It de-duplicates twice:

* **per conversation**: a second alert on a conversation whose alert is still
  open updates that item (highest risk and tier kept, ``n_signals`` counted)
  instead of adding one; the same user report submitted twice is stored once;
* **per adult**: moderators see *cases*, one per adult account, listing every
  open conversation and child it concerns, so one adult reaching many children
  is one case.

Priority of an open item (documented in ``docs/transparency.md``; weights in
:class:`PriorityWeights`)::

    priority = w_risk * risk                       # calibrated risk, 0-1
             + w_tier * tier                       # 0 none (user report), 1 review, 2 urgent
             + w_youth * youth(child_age)          # 1 at or below youth_full_age, 0 at 18
             + w_child_report * concerns_child     # 1 for a user report from a child
             + w_wait * min(wait_days, max_wait_days)

    youth(age) = clip((18 - age) / (18 - youth_full_age), 0, 1); unknown age -> unknown_age_youth

A case's priority is the highest priority of its open items plus
``w_extra_child`` for each further child (at most ``max_extra_children``).
With the default weights a report from a child outranks everything without
one (``w_child_report`` exceeds the most all other terms can add), and at equal
risk and tier a younger child outranks an older one.

Moderators record decisions (:class:`Outcome`): ``actioned``, ``dismissed`` or
``escalated`` (to law enforcement). Every insert, update, review and decision
is appended to an audit log (who, what, when); nothing is ever deleted.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from riskscore import _queue_db as db
from riskscore.exceptions import RiskscoreError
from riskscore.policy import Alert, AlertPolicy
from riskscore.policy.alerts import _plain
from riskscore.schema import CHANNEL_NAMES, MINOR_AGE

__all__ = [
    "AuditEntry",
    "Case",
    "Outcome",
    "PriorityWeights",
    "QueueError",
    "QueueItem",
    "ReviewQueue",
    "UserReport",
    "iter_reports",
]

DAY_S = 86_400


class QueueError(RiskscoreError, ValueError):
    """A queue operation that cannot be done (unknown case, decision on a closed item)."""


class Outcome(StrEnum):
    """What a moderator decided about an item."""

    ACTIONED = "actioned"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"  # escalated to law enforcement

    @classmethod
    def parse(cls, value: str | Outcome) -> Outcome:
        """Accept an :class:`Outcome`, its value, or ``"escalated to law enforcement"``."""
        if isinstance(value, Outcome):
            return value
        text = str(value).strip().lower().replace("_", " ")
        if text in ("escalated to law enforcement", "escalate"):
            return cls.ESCALATED
        try:
            return cls(text)
        except ValueError:
            raise QueueError(
                f"outcome {value!r} is not one of actioned, dismissed, escalated "
                "(escalated to law enforcement)"
            ) from None


@dataclass(frozen=True, slots=True)
class PriorityWeights:
    """Weights of the queue's priority formula (see the module docstring).

    Examples
    --------
    >>> w = PriorityWeights()
    >>> young = w.item_priority(risk=0.4, tier=1, child_age=11.0, concerns_child=True, wait_s=0)
    >>> old = w.item_priority(risk=0.4, tier=1, child_age=16.0, concerns_child=True, wait_s=0)
    >>> young > old
    True
    """

    risk: float = 4.0
    tier: float = 1.0
    youth: float = 2.0
    child_report: float = 20.0
    wait_per_day: float = 0.5
    max_wait_days: float = 4.0
    extra_child: float = 0.5
    max_extra_children: int = 4
    youth_full_age: float = 8.0
    unknown_age_youth: float = 0.5

    def __post_init__(self) -> None:
        for name in (
            "risk",
            "tier",
            "youth",
            "child_report",
            "wait_per_day",
            "max_wait_days",
            "extra_child",
            "max_extra_children",
        ):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"priority weight {name!r} must be a finite number >= 0: {value!r}"
                )
        if not 0 <= self.youth_full_age < MINOR_AGE:
            raise ValueError(f"youth_full_age must be in [0, 18), got {self.youth_full_age}")
        if not 0 <= self.unknown_age_youth <= 1:
            raise ValueError(f"unknown_age_youth must be in [0, 1], got {self.unknown_age_youth}")

    def youth_of(self, child_age: float | None) -> float:
        """1 for a child at or below ``youth_full_age``, falling linearly to 0 at 18."""
        if child_age is None or math.isnan(child_age):
            return self.unknown_age_youth
        return min(max((MINOR_AGE - child_age) / (MINOR_AGE - self.youth_full_age), 0.0), 1.0)

    def item_priority(
        self,
        *,
        risk: float,
        tier: int,
        child_age: float | None,
        concerns_child: bool,
        wait_s: float,
    ) -> float:
        """Priority of one open item."""
        wait_days = min(max(wait_s, 0.0) / DAY_S, self.max_wait_days)
        return (
            self.risk * risk
            + self.tier * tier
            + self.youth * self.youth_of(child_age)
            + self.child_report * float(concerns_child)
            + self.wait_per_day * wait_days
        )


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
    channel : str, optional
        Channel name of the report (schema v1 names).
    risk : float, default 0
        The conversation's current risk, when it has been scored.
    """

    conversation_id: Any
    reporter_id: Any
    reported_id: Any
    reporter_age: float
    timestamp: int
    channel: str | None = None
    risk: float = 0.0

    @property
    def from_child(self) -> bool:
        """Whether the reporter is a child (age known and under 18)."""
        return not math.isnan(self.reporter_age) and self.reporter_age < MINOR_AGE


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One alert or user report as stored in the queue."""

    item_id: int
    kind: str
    conversation_id: Any
    adult_id: Any
    child_id: Any
    child_age: float
    age_band: str
    risk: float
    tier: int
    channel: str | None
    concerns_child: bool
    reasons: tuple[str, ...]
    created_at: int
    updated_at: int
    n_signals: int
    status: str
    first_reviewed_at: int | None
    decided_at: int | None
    decided_by: str | None

    def priority(self, weights: PriorityWeights, now: int) -> float:
        """This item's priority at time ``now``."""
        return weights.item_priority(
            risk=self.risk,
            tier=self.tier,
            child_age=self.child_age,
            concerns_child=self.concerns_child,
            wait_s=now - self.created_at,
        )


@dataclass(frozen=True, slots=True)
class Case:
    """Open work about one adult account, as a moderator sees it.

    Attributes
    ----------
    adult_id : int or str
        The adult (for user reports, the reported account).
    priority : float
        Highest item priority plus the extra-children bonus.
    items : tuple of QueueItem
        Open items, highest priority first.
    children : tuple
        Distinct children (or reporters) concerned.
    reasons : tuple of str
        Why the case ranks where it does, strongest first.
    """

    adult_id: Any
    priority: float
    items: tuple[QueueItem, ...]
    children: tuple[Any, ...]
    reasons: tuple[str, ...]

    @property
    def conversations(self) -> tuple[Any, ...]:
        """Distinct conversations of the open items."""
        return tuple(dict.fromkeys(i.conversation_id for i in self.items))

    @property
    def oldest(self) -> int:
        """Creation time of the oldest open item."""
        return min(i.created_at for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (raw ids: for moderators, not for published reports)."""
        return {
            "adult_id": self.adult_id,
            "priority": round(self.priority, 4),
            "children": list(self.children),
            "conversations": list(self.conversations),
            "reasons": list(self.reasons),
            "items": [
                {
                    "item_id": i.item_id,
                    "kind": i.kind,
                    "conversation_id": i.conversation_id,
                    "child_id": i.child_id,
                    "child_age": None if math.isnan(i.child_age) else i.child_age,
                    "risk": round(i.risk, 4),
                    "tier": i.tier,
                    "created_at": i.created_at,
                }
                for i in self.items
            ],
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log: who did what to which item, and when."""

    entry_id: int
    at: int
    actor: str
    action: str
    item_id: int
    detail: dict[str, Any] = field(default_factory=dict)


_TIER_NAMES = {0: "user report", 1: "review", 2: "urgent"}


class ReviewQueue:
    """Ranked review work for moderators, persisted in SQLite.

    Parameters
    ----------
    path : str or Path
        The database file; created when missing, reopened otherwise.
    weights : PriorityWeights, optional
        Priority formula weights.
    timeout_s : float, default 30
        How long a writer waits for a lock held by another process.
    policy : AlertPolicy, optional
        Age bands used to band user reports by the reporter's age (default policy).

    Examples
    --------
    >>> import math, tempfile
    >>> from riskscore.policy import Alert, Tier
    >>> d = tempfile.mkdtemp()
    >>> with ReviewQueue(f"{d}/q.sqlite") as q:
    ...     _ = q.add_alert(Alert(1, "a", "c11", 11.0, "under 13", 0.4, Tier.REVIEW), at=100)
    ...     _ = q.add_alert(Alert(2, "b", "c16", 16.0, "16-17", 0.4, Tier.REVIEW), at=100)
    ...     _ = q.add_report(UserReport(2, "c16", "b", 16.0, timestamp=200))
    ...     [case.adult_id for case in q.top(now=300)]
    ...     q.decide("b", "actioned", moderator="mod-1", at=400)
    ...     len(q)
    ['b', 'a']
    2
    1
    """

    def __init__(
        self,
        path: str | Path,
        *,
        weights: PriorityWeights | None = None,
        timeout_s: float = 30.0,
        policy: AlertPolicy | None = None,
    ) -> None:
        self.path = Path(path)
        self.policy = policy or AlertPolicy.default()
        self.weights = weights or PriorityWeights()
        self._con = db.connect(self.path, timeout_s)

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the database connection."""
        self._con.close()

    def __enter__(self) -> ReviewQueue:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __len__(self) -> int:
        """Number of open items."""
        row = self._con.execute("SELECT COUNT(*) FROM items WHERE status = 'open'").fetchone()
        return int(row[0])

    def __repr__(self) -> str:
        return f"ReviewQueue({str(self.path)!r}, open_items={len(self)})"

    # ----------------------------------------------------------------- adding

    def add_alert(
        self,
        alert: Alert,
        *,
        channel: str | None = None,
        at: int | None = None,
        actor: str = "riskscore",
    ) -> int:
        """Queue an alert, or update the open alert of its conversation.

        Parameters
        ----------
        alert : Alert
            From :meth:`AlertPolicy.alerts` or :meth:`OnlineScorer.update_one`.
        channel : str, optional
            Most private channel the conversation reached (schema v1 name), for
            reporting by channel.
        at : int, optional
            When the alert was raised (epoch seconds); defaults to
            ``alert.timestamp``, else the current time.
        actor : str, default "riskscore"
            Recorded in the audit log.

        Returns
        -------
        int
            The item id (the existing one when the conversation had an open alert).
        """
        return self.add_alerts([alert], channels=[channel], at=at, actor=actor)[0]

    def add_alerts(
        self,
        alerts: Sequence[Alert],
        *,
        channels: Sequence[str | None] | None = None,
        at: int | None = None,
        actor: str = "riskscore",
    ) -> list[int]:
        """Queue many alerts in one transaction; see :meth:`add_alert`."""
        if channels is None:
            channels = [None] * len(alerts)
        if len(channels) != len(alerts):
            raise ValueError(f"{len(alerts)} alerts but {len(channels)} channels")
        rows = [self._alert_row(a, c, at) for a, c in zip(alerts, channels, strict=True)]

        def insert(con: sqlite3.Connection) -> list[int]:
            return [self._upsert_alert(con, row, actor) for row in rows]

        return db.write(self._con, insert)

    def add_report(self, report: UserReport, *, actor: str = "user-report") -> int:
        """Queue a user report; the same report (conversation, reporter, time) is stored once.

        Returns
        -------
        int
            The item id.
        """
        return self.add_reports([report], actor=actor)[0]

    def add_reports(
        self, reports: Iterable[UserReport], *, actor: str = "user-report"
    ) -> list[int]:
        """Queue many user reports in one transaction; see :meth:`add_report`."""
        rows = [self._report_row(r) for r in reports]

        def insert(con: sqlite3.Connection) -> list[int]:
            out = []
            for row in rows:
                found = con.execute(
                    "SELECT item_id FROM items WHERE kind = 'user_report' AND dedup_key = ?",
                    (row["dedup_key"],),
                ).fetchone()
                if found is not None:
                    out.append(int(found[0]))
                    continue
                detail = {"kind": "user_report", "concerns_child": row["concerns_child"]}
                out.append(_enqueue(con, row, actor, detail))
            return out

        return db.write(self._con, insert)

    def _alert_row(self, alert: Alert, channel: str | None, at: int | None) -> dict[str, Any]:
        when = at if at is not None else alert.timestamp
        if when is None:
            when = int(time.time())
        _check_channel(channel)
        if not 0.0 <= alert.risk <= 1.0:
            raise ValueError(f"alert on conversation {alert.conversation_id!r}: risk {alert.risk}")
        return {
            "kind": "alert",
            "dedup_key": f"alert:{db.encode_id(alert.conversation_id)}",
            "conversation_id": db.encode_id(alert.conversation_id),
            "adult_id": db.encode_id(alert.adult_id),
            "child_id": db.encode_id(alert.child_id),
            "child_age": None if math.isnan(alert.child_age) else float(alert.child_age),
            "age_band": alert.age_band,
            "risk": float(alert.risk),
            "tier": int(alert.tier),
            "channel": channel,
            "concerns_child": 0,
            "reasons": json.dumps([str(r) for r in alert.reasons]),
            "created_at": int(when),
            "updated_at": int(when),
        }

    def _report_row(self, report: UserReport) -> dict[str, Any]:
        _check_channel(report.channel)
        if not 0.0 <= report.risk <= 1.0:
            raise ValueError(f"user report risk must be in [0, 1], got {report.risk}")
        conv = db.encode_id(report.conversation_id)
        reporter = db.encode_id(report.reporter_id)
        age = report.reporter_age
        band = self.policy.band_of(age).name
        return {
            "kind": "user_report",
            "dedup_key": f"report:{conv}:{reporter}:{int(report.timestamp)}",
            "conversation_id": conv,
            "adult_id": db.encode_id(report.reported_id),
            "child_id": reporter,
            "child_age": None if math.isnan(age) else float(age),
            "age_band": band,
            "risk": float(report.risk),
            "tier": 0,
            "channel": report.channel,
            "concerns_child": int(report.from_child),
            "reasons": json.dumps(
                ["user report from a child" if report.from_child else "user report"]
            ),
            "created_at": int(report.timestamp),
            "updated_at": int(report.timestamp),
        }

    def _upsert_alert(self, con: sqlite3.Connection, row: dict[str, Any], actor: str) -> int:
        found = con.execute(
            "SELECT item_id, risk, tier FROM items "
            "WHERE kind = 'alert' AND status = 'open' AND conversation_id = ?",
            (row["conversation_id"],),
        ).fetchone()
        if found is None:
            detail = {"kind": "alert", "risk": row["risk"], "tier": row["tier"]}
            return _enqueue(con, row, actor, detail)
        item_id = int(found["item_id"])
        raise_ = row["risk"] > found["risk"] or row["tier"] > found["tier"]
        con.execute(
            "UPDATE items SET n_signals = n_signals + 1, updated_at = MAX(updated_at, ?), "
            "risk = MAX(risk, ?), tier = MAX(tier, ?), "
            "reasons = CASE WHEN ? THEN ? ELSE reasons END, "
            "channel = COALESCE(?, channel) WHERE item_id = ?",
            (
                row["updated_at"],
                row["risk"],
                row["tier"],
                int(raise_),
                row["reasons"],
                row["channel"],
                item_id,
            ),
        )
        db.audit(
            con,
            at=row["created_at"],
            actor=actor,
            action="update",
            item_id=item_id,
            detail={"risk": row["risk"], "tier": row["tier"]},
        )
        return item_id

    # ----------------------------------------------------------------- reading

    def items(self, *, status: str | None = None) -> list[QueueItem]:
        """Every item ever queued (or those with one ``status``), oldest first."""
        if status is not None and status not in ("open", *(o.value for o in Outcome)):
            raise ValueError(f"status {status!r} is not open, actioned, dismissed or escalated")
        sql = "SELECT * FROM items"
        args: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        return [_item(r) for r in self._con.execute(sql + " ORDER BY item_id", args)]

    def audit_log(self) -> list[AuditEntry]:
        """The audit log, in the order entries were written."""
        return [
            AuditEntry(
                entry_id=int(r["entry_id"]),
                at=int(r["at"]),
                actor=str(r["actor"]),
                action=str(r["action"]),
                item_id=int(r["item_id"]),
                detail=json.loads(r["detail"]),
            )
            for r in self._con.execute("SELECT * FROM audit ORDER BY entry_id")
        ]

    def cases(self, *, now: int | None = None) -> list[Case]:
        """All open cases at ``now`` (items created later are not yet visible), ranked.

        Parameters
        ----------
        now : int, optional
            Epoch seconds; the current time when omitted.
        """
        now = int(time.time()) if now is None else int(now)
        rows = self._con.execute(
            "SELECT * FROM items WHERE status = 'open' AND created_at <= ?", (now,)
        ).fetchall()
        by_adult: dict[str, list[QueueItem]] = {}
        for r in rows:
            by_adult.setdefault(str(r["adult_id"]), []).append(_item(r))
        cases = [self._case(items, now) for items in by_adult.values()]
        cases.sort(key=lambda c: (-c.priority, c.oldest, db.encode_id(c.adult_id)))
        return cases

    def top(self, n: int = 10, *, now: int | None = None) -> list[Case]:
        """The ``n`` highest-priority open cases at ``now``."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return self.cases(now=now)[:n]

    def next_arrival(self, after: int) -> int | None:
        """Creation time of the first open item created after ``after``, if any."""
        row = self._con.execute(
            "SELECT MIN(created_at) FROM items WHERE status = 'open' AND created_at > ?", (after,)
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def _case(self, items: list[QueueItem], now: int) -> Case:
        w = self.weights
        scored = sorted(((i.priority(w, now), i) for i in items), key=lambda p: -p[0])
        children = tuple(dict.fromkeys(i.child_id for _, i in scored))
        extra = min(len(children) - 1, w.max_extra_children)
        priority = scored[0][0] + w.extra_child * extra
        reasons: list[str] = []
        if any(i.concerns_child for i in items):
            ages = [i.child_age for i in items if i.concerns_child]
            age_text = ", ".join("age unknown" if math.isnan(a) else f"age {a:g}" for a in ages)
            reasons.append(f"user report from a child ({age_text})")
        best_alert = max((i for i in items if i.kind == "alert"), key=_tier_risk, default=None)
        if best_alert is not None:
            reasons.append(
                f"{_TIER_NAMES[best_alert.tier]} alert, risk {best_alert.risk:.2f} "
                f"(band {best_alert.age_band})"
            )
        youngest = min((i.child_age for i in items if not math.isnan(i.child_age)), default=None)
        reasons.append("child age unknown" if youngest is None else f"youngest child {youngest:g}")
        if len(children) > 1:
            reasons.append(f"{len(children)} children in open conversations")
        reasons.append(f"waiting {(now - min(i.created_at for i in items)) / 3600:.1f} h")
        if best_alert is not None:
            reasons.extend(best_alert.reasons)
        return Case(
            adult_id=items[0].adult_id,
            priority=priority,
            items=tuple(i for _, i in scored),
            children=children,
            reasons=tuple(reasons),
        )

    # ----------------------------------------------------------------- decisions

    def mark_reviewed(self, adult_id: Any, *, moderator: str, at: int | None = None) -> int:
        """Record that a moderator opened a case (first review); return items touched."""
        when = int(time.time()) if at is None else int(at)
        adult = db.encode_id(adult_id)

        def review(con: sqlite3.Connection) -> int:
            ids = [
                int(r[0])
                for r in con.execute(
                    "SELECT item_id FROM items WHERE adult_id = ? AND status = 'open' "
                    "AND created_at <= ? AND first_reviewed_at IS NULL",
                    (adult, when),
                )
            ]
            for item_id in ids:
                con.execute(
                    "UPDATE items SET first_reviewed_at = ? WHERE item_id = ?", (when, item_id)
                )
                db.audit(con, at=when, actor=moderator, action="review", item_id=item_id, detail={})
            return len(ids)

        return db.write(self._con, review)

    def decide(
        self,
        adult_id: Any,
        outcome: str | Outcome,
        *,
        moderator: str,
        at: int | None = None,
        item_ids: Sequence[int] | None = None,
        note: str = "",
    ) -> int:
        """Record a moderator's decision on a case (all its open items, or ``item_ids``).

        Parameters
        ----------
        adult_id : int or str
            The case.
        outcome : {"actioned", "dismissed", "escalated"} or Outcome
            ``"escalated to law enforcement"`` is accepted for ``"escalated"``.
        moderator : str
            Who decided (kept in the audit log).
        at : int, optional
            Epoch seconds; now when omitted.
        item_ids : sequence of int, optional
            Decide only these open items of the case.
        note : str
            Free-text note for the audit log (about the decision, never message content).

        Returns
        -------
        int
            Number of items decided.

        Raises
        ------
        QueueError
            The case has no open item, or an ``item_ids`` entry is not open in it.
        """
        result = Outcome.parse(outcome)
        if not moderator:
            raise QueueError("a decision needs the moderator's name or id")
        when = int(time.time()) if at is None else int(at)
        adult = db.encode_id(adult_id)

        def apply(con: sqlite3.Connection) -> int:
            open_ids = {
                int(r[0]): r[1]
                for r in con.execute(
                    "SELECT item_id, first_reviewed_at FROM items "
                    "WHERE adult_id = ? AND status = 'open' AND created_at <= ?",
                    (adult, when),
                )
            }
            if not open_ids:
                raise QueueError(f"adult {adult_id!r} has no open item at time {when}")
            chosen = list(open_ids) if item_ids is None else [int(i) for i in item_ids]
            for item_id in chosen:
                if item_id not in open_ids:
                    raise QueueError(
                        f"item {item_id} is not an open item of adult {adult_id!r} "
                        "(decided already, or another case)"
                    )
                con.execute(
                    "UPDATE items SET status = ?, decided_at = ?, decided_by = ?, "
                    "first_reviewed_at = COALESCE(first_reviewed_at, ?) WHERE item_id = ?",
                    (result.value, when, moderator, when, item_id),
                )
                db.audit(
                    con,
                    at=when,
                    actor=moderator,
                    action="decide",
                    item_id=item_id,
                    detail={"outcome": result.value, "note": note},
                )
            return len(chosen)

        return db.write(self._con, apply)


def _tier_risk(item: QueueItem) -> tuple[int, float]:
    return (item.tier, item.risk)


def _check_channel(channel: str | None) -> None:
    if channel is not None and channel not in CHANNEL_NAMES:
        raise ValueError(f"channel {channel!r} is not one of {', '.join(CHANNEL_NAMES)}")


def _enqueue(
    con: sqlite3.Connection, row: dict[str, Any], actor: str, detail: dict[str, Any]
) -> int:
    """Insert a new item and log it as enqueued (inside the caller's transaction)."""
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    cur = con.execute(f"INSERT INTO items ({names}) VALUES ({marks})", tuple(row.values()))
    assert cur.lastrowid is not None
    item_id = int(cur.lastrowid)
    db.audit(
        con, at=row["created_at"], actor=actor, action="enqueue", item_id=item_id, detail=detail
    )
    return item_id


def _item(r: sqlite3.Row) -> QueueItem:
    return QueueItem(
        item_id=int(r["item_id"]),
        kind=str(r["kind"]),
        conversation_id=db.decode_id(r["conversation_id"]),
        adult_id=db.decode_id(r["adult_id"]),
        child_id=db.decode_id(r["child_id"]),
        child_age=math.nan if r["child_age"] is None else float(r["child_age"]),
        age_band=str(r["age_band"]),
        risk=float(r["risk"]),
        tier=int(r["tier"]),
        channel=r["channel"],
        concerns_child=bool(r["concerns_child"]),
        reasons=tuple(json.loads(r["reasons"])),
        created_at=int(r["created_at"]),
        updated_at=int(r["updated_at"]),
        n_signals=int(r["n_signals"]),
        status=str(r["status"]),
        first_reviewed_at=None if r["first_reviewed_at"] is None else int(r["first_reviewed_at"]),
        decided_at=None if r["decided_at"] is None else int(r["decided_at"]),
        decided_by=r["decided_by"],
    )


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
    from riskscore.schema import EventType

    cols = messages.columns(decoded=True)
    idx = [int(i) for i in (messages.event == int(EventType.REPORT)).nonzero()[0]]
    idx.sort(key=lambda i: (int(cols["timestamp"][i]), i))
    for i in idx:
        yield UserReport(
            conversation_id=_plain(cols["conversation_id"][i]),
            reporter_id=_plain(cols["sender_id"][i]),
            reported_id=_plain(cols["recipient_id"][i]),
            reporter_age=float(cols["sender_age"][i]),
            timestamp=int(cols["timestamp"][i]),
            channel=str(cols["channel"][i]),
        )
