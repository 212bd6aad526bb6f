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

Priority: see :mod:`riskscore.moderation.cases` (:class:`PriorityWeights`).

Moderators record decisions (:class:`Outcome`): ``actioned``, ``dismissed`` or
``escalated`` (to law enforcement). Every insert, update, review and decision
is appended to an audit log (who, what, when); nothing is ever deleted.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import riskscore.moderation.queue_db as db
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.moderation.cases import (
    AuditEntry,
    Case,
    Outcome,
    PriorityWeights,
    QueueError,
    QueueItem,
    UserReport,
)
from riskscore.policy import Alert, AlertPolicy

__all__ = ["ReviewQueue"]

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
                out.append(db.enqueue(con, row, actor, detail))
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
            return db.enqueue(con, row, actor, detail)
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
        return [db.item_from_row(r) for r in self._con.execute(sql + " ORDER BY item_id", args)]

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
            by_adult.setdefault(str(r["adult_id"]), []).append(db.item_from_row(r))
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
