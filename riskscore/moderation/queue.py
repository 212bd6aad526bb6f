"""Review queue: alerts and user reports ranked for moderators, with decisions and an audit log.

:class:`ReviewQueue` keeps open work in one SQLite file (stdlib ``sqlite3``), so a
queue survives restarts and several processes can add to it at once without
losing items. It de-duplicates twice:

* **per conversation**: a second alert on a conversation whose alert is still
  open updates that item (highest risk and tier kept, ``n_signals`` counted)
  instead of adding one; the same user report submitted twice is stored once;
* **per signal**: the same alert queued again (same conversation, adult, child,
  tier and risk, and for an online alert the same event) changes nothing, whether
  its item is open or decided, so re-running a scoring job or a stream into a
  queue adds nothing it already added;
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

import numpy as np

import riskscore.moderation.queue_db as db
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.moderation.cases import (
    MAX_NOTE_CHARS,
    AuditEntry,
    Case,
    Outcome,
    PriorityWeights,
    QueueError,
    QueueItem,
    UserReport,
    check_name,
    parse_token,
)
from riskscore.policy import Alert, AlertPolicy

__all__ = ["ReviewQueue"]

_TIER_NAMES = {0: "user report", 1: "review", 2: "urgent"}
#: Times are refused from year 10000 on (and before 1970).
MAX_EPOCH_S = 253_402_300_800


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
    simulation : bool, default False
        Simulation mode: :meth:`decide` and :meth:`mark_reviewed` accept a
        caller-given time ``at`` (otherwise decision time always comes from the
        clock). The mode is recorded in the file when it is created, a file of real
        decisions cannot be opened in it, and reports of a simulated queue mark
        their figures as simulated.

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
    ...     shown = q.case("b")  # what the moderator is shown, with its version token
    ...     q.decide("b", "actioned", moderator="mod-1", token=shown.token)
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
        simulation: bool = False,
    ) -> None:
        self.path = Path(path)
        self.policy = policy or AlertPolicy.default()
        self.weights = weights or PriorityWeights()
        self._con = db.connect(self.path, timeout_s, simulation=simulation)
        self.simulation = simulation
        self.simulated = db.is_simulated(self._con)

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
            The item id (the existing one when the conversation had an open alert,
            or the item that already holds this very alert).

        Notes
        -----
        An alert already queued (same conversation, adult, child, tier, risk to 6
        decimals, ``event_index`` and ``timestamp``) is not a new signal: adding it
        again returns the item that holds it and changes nothing (no ``n_signals``,
        no audit entry), even after that item was decided.
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
        actor = check_name(actor, "actor")
        rows = [
            (self._alert_row(a, c, at), db.alert_signal(a))
            for a, c in zip(alerts, channels, strict=True)
        ]

        def insert(con: sqlite3.Connection) -> list[int]:
            return [self._upsert_alert(con, row, signal, actor) for row, signal in rows]

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
        actor = check_name(actor, "actor")
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
            "child_age": _age(alert.child_age),
            "age_band": alert.age_band,
            "risk": float(alert.risk),
            "tier": int(alert.tier),
            "channel": channel,
            "concerns_child": 0,
            "reasons": json.dumps([str(r) for r in alert.reasons]),
            "created_at": _epoch(when, "at"),
            "updated_at": _epoch(when, "at"),
        }

    def _report_row(self, report: UserReport) -> dict[str, Any]:
        _check_channel(report.channel)
        if not 0.0 <= report.risk <= 1.0:
            raise ValueError(f"user report risk must be in [0, 1], got {report.risk}")
        conv = db.encode_id(report.conversation_id)
        reporter = db.encode_id(report.reporter_id)
        age = report.reporter_age
        band = self.policy.band_of(math.nan if _age(age) is None else float(age)).name
        return {
            "kind": "user_report",
            "dedup_key": f"report:{conv}:{reporter}:{int(report.timestamp)}",
            "conversation_id": conv,
            "adult_id": db.encode_id(report.reported_id),
            "child_id": reporter,
            "child_age": _age(age),
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

    def _upsert_alert(
        self, con: sqlite3.Connection, row: dict[str, Any], signal: str, actor: str
    ) -> int:
        known = con.execute(
            "SELECT item_id FROM alert_signals WHERE signal = ?", (signal,)
        ).fetchone()
        if known is not None:  # this very alert was queued before: nothing changes
            return int(known[0])
        item_id = self._merge_alert(con, row, actor)
        con.execute("INSERT INTO alert_signals (signal, item_id) VALUES (?, ?)", (signal, item_id))
        return item_id

    def _merge_alert(self, con: sqlite3.Connection, row: dict[str, Any], actor: str) -> int:
        """A new item, or the update of the conversation's open alert."""
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
        db.update(
            con,
            item_id,
            "n_signals = n_signals + 1, updated_at = MAX(updated_at, ?), "
            "risk = MAX(risk, ?), tier = MAX(tier, ?), "
            "reasons = CASE WHEN ? THEN ? ELSE reasons END, "
            "channel = COALESCE(?, channel)",
            (
                row["updated_at"],
                row["risk"],
                row["tier"],
                int(raise_),
                row["reasons"],
                row["channel"],
            ),
            at=row["created_at"],
            actor=actor,
            action="update",
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

    def case(self, adult_id: Any, *, now: int | None = None) -> Case | None:
        """The open case of one adult as a moderator is shown it, or None.

        Its :attr:`Case.token` names exactly the items shown (and their versions):
        pass it to :meth:`decide` so that the decision closes those items only.
        """
        now = int(time.time()) if now is None else _epoch(now, "now")
        rows = self._con.execute(
            "SELECT * FROM items WHERE status = 'open' AND adult_id = ? AND created_at <= ?",
            (db.encode_id(adult_id), now),
        ).fetchall()
        if not rows:
            return None
        return self._case([db.item_from_row(r) for r in rows], now)

    def top(self, n: int = 10, *, now: int | None = None) -> list[Case]:
        """The ``n`` highest-priority open cases at ``now``."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return self.cases(now=now)[:n]

    def open_counts(self) -> dict[tuple[str, int], int]:
        """Open items by (child age band, tier): the queue's depth, for monitoring."""
        rows = self._con.execute(
            "SELECT age_band, tier, COUNT(*) FROM items WHERE status = 'open' "
            "GROUP BY age_band, tier"
        )
        return {(str(band), int(tier)): int(n) for band, tier, n in rows}

    def open_created_at(self) -> list[int]:
        """Creation times of the open items (epoch seconds), for waiting-time monitoring."""
        rows = self._con.execute("SELECT created_at FROM items WHERE status = 'open'")
        return [int(r[0]) for r in rows]

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

    def _when(self, at: int | None) -> tuple[int, str]:
        """Decision time and where it came from: the clock (``"clock"``), or ``at`` in
        simulation mode only (``"simulated"``); the source is kept in the audit entry."""
        if at is None:
            return int(time.time()), "clock"
        if not self.simulation:
            raise QueueError(
                "a decision's time comes from the clock; a caller-given 'at' is accepted only "
                "by a ReviewQueue opened with simulation=True (reports mark it as simulated)"
            )
        return _epoch(at, "at"), "simulated"

    def simulated_items(self) -> frozenset[int]:
        """Ids of the items whose review or decision time was given by the caller.

        Each ``review`` and ``decide`` audit entry records where its time came from
        (``detail["time"]``: ``"clock"`` or ``"simulated"``). An entry without that
        record (written before riskscore kept it) counts as simulated in a queue
        created in simulation mode, and as the clock's otherwise (a queue of real
        decisions never accepted a caller-given time).

        Returns
        -------
        frozenset of int
            Item ids; a transparency report marks figures drawn from them as simulated.
        """
        return db.simulated_item_ids(self._con, simulated_queue=self.simulated)

    def mark_reviewed(
        self,
        adult_id: Any,
        *,
        moderator: str,
        at: int | None = None,
        item_ids: Sequence[int] | None = None,
    ) -> int:
        """Record that a moderator opened a case (first review); return items touched.

        ``item_ids`` (the items shown) default to every open item of the case
        visible now; ``at`` only in simulation mode.
        """
        moderator = check_name(moderator, "moderator")
        when, source = self._when(at)
        adult = db.encode_id(adult_id)
        wanted = None if item_ids is None else set(_item_ids(item_ids))

        def review(con: sqlite3.Connection) -> int:
            ids = [
                int(r[0])
                for r in con.execute(
                    "SELECT item_id FROM items WHERE adult_id = ? AND status = 'open' "
                    "AND created_at <= ? AND first_reviewed_at IS NULL",
                    (adult, when),
                )
                if wanted is None or int(r[0]) in wanted
            ]
            for item_id in ids:
                db.update(
                    con,
                    item_id,
                    "first_reviewed_at = ?",
                    (when,),
                    at=when,
                    actor=moderator,
                    action="review",
                    detail={"time": source},
                )
            return len(ids)

        return db.write(self._con, review)

    def decide(
        self,
        adult_id: Any,
        outcome: str | Outcome,
        *,
        moderator: str,
        item_ids: Sequence[int] | None = None,
        token: str | None = None,
        at: int | None = None,
        note: str = "",
    ) -> int:
        """Record a moderator's decision on the items of a case the moderator was shown.

        A decision names what was shown: either ``item_ids`` or the ``token`` of
        the :class:`Case` shown (:meth:`case`, :meth:`cases`, :meth:`top`). Items
        that arrived after the case was shown stay open; a token whose items
        changed since (a new signal on an alert, an item decided by someone else)
        is refused, so the moderator reloads the case.

        Parameters
        ----------
        adult_id : int or str
            The case.
        outcome : {"actioned", "dismissed", "escalated"} or Outcome
            ``"escalated to law enforcement"`` is accepted for ``"escalated"``.
        moderator : str
            Who decided (kept in the audit log): non-empty, at most
            ``MAX_NAME_CHARS`` characters, no control characters.
        item_ids : sequence of int, optional
            The open items of the case decided (duplicates count once).
        token : str, optional
            :attr:`Case.token` of the case as shown.
        at : int, optional
            Simulation mode only (``ReviewQueue(..., simulation=True)``): the
            decision time in epoch seconds. Otherwise the clock's time is used.
        note : str
            Free-text note for the audit log (about the decision, never message
            content), at most ``MAX_NOTE_CHARS`` characters.

        Returns
        -------
        int
            Number of items decided.

        Raises
        ------
        QueueError
            Neither or both of ``item_ids`` and ``token``; an item not open in the
            case; a stale token; ``at`` outside simulation mode or out of range; a
            bad moderator name.
        """
        result = Outcome.parse(outcome)
        moderator = check_name(moderator, "moderator")
        if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
            raise QueueError(f"note must be text of at most {MAX_NOTE_CHARS} characters")
        if (item_ids is None) == (token is None):
            raise QueueError(
                "a decision names the items the moderator was shown: give item_ids or the "
                "token of the case shown (ReviewQueue.case(adult_id).token), not both"
            )
        versions = parse_token(token) if token is not None else None
        chosen = list(versions) if versions is not None else _item_ids(item_ids or ())
        when, source = self._when(at)
        adult = db.encode_id(adult_id)

        def apply(con: sqlite3.Connection) -> int:
            for item_id in chosen:
                row = con.execute(
                    "SELECT adult_id, status, n_signals FROM items WHERE item_id = ?", (item_id,)
                ).fetchone()
                if row is None or row["adult_id"] != adult or row["status"] != "open":
                    raise QueueError(
                        f"item {item_id} is not an open item of adult {adult_id!r} "
                        "(decided already, or another case); reload the case"
                    )
                if versions is not None and int(row["n_signals"]) != versions[item_id]:
                    raise QueueError(
                        f"item {item_id} changed since the case was shown (a new signal); "
                        "reload the case and decide on what it shows now"
                    )
                db.update(
                    con,
                    item_id,
                    "status = ?, decided_at = ?, decided_by = ?, "
                    "first_reviewed_at = COALESCE(first_reviewed_at, ?)",
                    (result.value, when, moderator, when),
                    at=when,
                    actor=moderator,
                    action="decide",
                    detail={"outcome": result.value, "note": note, "time": source},
                )
            return len(chosen)

        return db.write(self._con, apply)


def _tier_risk(item: QueueItem) -> tuple[int, float]:
    return (item.tier, item.risk)


def _item_ids(item_ids: Iterable[Any]) -> list[int]:
    """Item ids as ints, duplicates dropped (first occurrence kept)."""
    if isinstance(item_ids, (str, bytes)):
        raise QueueError(f"item_ids must be a sequence of ints, got {item_ids!r}")
    out: list[int] = []
    for i in item_ids:
        if isinstance(i, np.integer):
            i = int(i)
        if isinstance(i, bool) or not isinstance(i, int):
            raise QueueError(f"item ids must be ints, got {i!r}")
        out.append(i)
    if not out:
        raise QueueError("item_ids is empty: name the items the moderator was shown")
    return list(dict.fromkeys(out))


def _epoch(value: Any, name: str) -> int:
    """Epoch seconds in [0, MAX_EPOCH_S), or a QueueError."""
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_EPOCH_S:
        raise QueueError(
            f"{name} must be epoch seconds, an int in [0, {MAX_EPOCH_S}), got {value!r}"
        )
    return value


def _age(value: Any) -> float | None:
    """An age as stored: None when unknown (None or NaN)."""
    if value is None:
        return None
    age = float(value)
    return None if math.isnan(age) else age


def _check_channel(channel: str | None) -> None:
    if channel is not None and channel not in CHANNEL_NAMES:
        raise ValueError(f"channel {channel!r} is not one of {', '.join(CHANNEL_NAMES)}")
