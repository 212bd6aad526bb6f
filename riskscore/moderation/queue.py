"""Review queue: alerts and user reports ranked for moderators, with decisions and an audit log.

:class:`ReviewQueue` keeps open work in one SQLite file (stdlib ``sqlite3``), so a queue survives
restarts and several processes can add to it at once without losing items. It de-duplicates:

* **per conversation**: a second alert on a conversation whose alert is still open updates that
  item (highest risk, tier and most private channel kept, ``n_signals`` counted) instead of
  adding one, when it is of the same two accounts (an alert of two other accounts under that
  conversation id is refused, never merged); the same user report submitted twice is stored once;
* **per signal**: the same alert queued again (same conversation, adult, child, tier and risk,
  and for an online alert the same event) changes nothing, whether its item is open or decided,
  so re-running a scoring job or a stream into a queue adds nothing it already added;
* **per adult**: moderators see *cases*, one per adult account, listing every open conversation
  and child it concerns, so one adult reaching many children is one case.

Priority: see :mod:`riskscore.moderation.cases` (:class:`PriorityWeights`).

Moderators record decisions (:class:`Outcome`): ``actioned``, ``dismissed`` or ``escalated``
(to law enforcement). Every insert, update, review and decision is appended to an audit log
(who, what, when); nothing is ever deleted.

The class is the public face; the work is done by private modules, one responsibility each:
:mod:`~riskscore.moderation.queue_db` (tables, migrations, transactions, audit entries),
:mod:`~riskscore.moderation.intake` (rows and de-duplication of what is added),
:mod:`~riskscore.moderation.ranking` (cases and their order) and
:mod:`~riskscore.moderation.decisions` (reviews and decisions).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import riskscore.moderation.decisions as decisions
import riskscore.moderation.intake as intake
import riskscore.moderation.item_history as history
import riskscore.moderation.queue_db as db
from riskscore._checks import check_seconds, check_whole
from riskscore._closing import ClosesOnExit
from riskscore.io.schema import Channel
from riskscore.moderation.cases import (
    AuditEntry,
    Case,
    Outcome,
    PriorityWeights,
    QueueError,
    QueueItem,
    check_epoch,
    check_name,
    parse_token,
)
from riskscore.moderation.notes import check_note
from riskscore.moderation.queue_rows import (
    CREATED_BY,
    ITEMS_SELECT,
    audit_entry_from_row,
    checked_created_at,
    checked_depth,
    item_from_row,
)
from riskscore.moderation.ranking import build_case, rank_cases
from riskscore.moderation.user_reports import UserReport
from riskscore.policy import Alert, AlertPolicy, policy_or_default

__all__ = ["ReviewQueue"]


class ReviewQueue(ClosesOnExit):
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
    create : bool, default True
        Create a new queue when there is none at ``path``. With False (to read or
        decide on an existing queue) a missing path raises :class:`FileNotFoundError`,
        and an empty (0 bytes) file or a directory raises :class:`QueueError`, unchanged.
    check_same_thread : bool, default True
        False to use the queue from a thread other than the one that opened it (one
        thread at a time: a web server's worker, closed by the server at shutdown).
    max_ahead_s : float, default MAX_AHEAD_S (one day)
        How far after the clock's time an item may be dated (:meth:`add_alert`); inf: any.

    Examples
    --------
    >>> import math, tempfile
    >>> from riskscore import ReviewQueue, UserReport
    >>> from riskscore.policy import Alert, Tier
    >>> d = tempfile.mkdtemp()
    >>> t = 1_767_225_600  # 2026-01-01
    >>> with ReviewQueue(f"{d}/q.sqlite") as q:
    ...     _ = q.add_alert(Alert(1, "a", "c11", 11.0, "under 13", 0.4, Tier.REVIEW), at=t)
    ...     _ = q.add_alert(Alert(2, "b", "c16", 16.0, "16-17", 0.4, Tier.REVIEW), at=t)
    ...     _ = q.add_report(UserReport(2, "c16", "b", 16.0, timestamp=t + 100))
    ...     [case.adult_id for case in q.top(now=t + 200)]
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
        create: bool = True,
        check_same_thread: bool = True,
        max_ahead_s: float = intake.MAX_AHEAD_S,
    ) -> None:
        self.path = Path(path)
        self.max_ahead_s = check_seconds("max_ahead_s", max_ahead_s)
        self.policy = policy_or_default(policy)
        self.weights = weights or PriorityWeights()
        self._con = db.connect(
            self.path,
            timeout_s,
            simulation=simulation,
            create=create,
            check_same_thread=check_same_thread,
        )
        self.simulation = simulation
        self.simulated = db.is_simulated(self._con)

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the database connection."""
        self._con.close()

    def waiting(self, timeout_s: float) -> AbstractContextManager[None]:
        """Writes in this block wait at most ``timeout_s`` for another process's lock."""
        return db.waiting(self._con, timeout_s)

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
        channel: str | Channel | None = None,
        at: int | None = None,
        actor: str = "riskscore",
    ) -> int:
        """Queue an alert, or update the open alert of its conversation.

        Parameters
        ----------
        alert : Alert
            From :meth:`AlertPolicy.alerts` or :meth:`OnlineScorer.update_one`.
        channel : str or Channel, optional
            Most private channel the conversation reached (schema v1 name, or a
            :class:`~riskscore.Channel` member), for reporting by channel; default the
            alert's own (``alert.max_channel``).
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

        Raises
        ------
        QueueError
            The conversation's open alert is of two other accounts (two conversations
            under one id are never merged); a time of the alert (``at``, its
            ``timestamp``, ``first_event_at``, ``last_event_at``) is outside the events'
            range, 2000-01-01 up to 2200; or, in a queue not simulated, the alert is
            raised (``at``) more than ``max_ahead_s`` after the clock's time (default a
            day, :data:`~riskscore.moderation.intake.MAX_AHEAD_S`), when no moderator
            would be shown it; nothing is queued.

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
        channels: Sequence[str | Channel | None] | None = None,
        at: int | None = None,
        actor: str = "riskscore",
    ) -> list[int]:
        """Queue many alerts in one transaction; see :meth:`add_alert`."""
        if channels is None:
            channels = [None] * len(alerts)
        if len(channels) != len(alerts):
            raise ValueError(f"{len(alerts)} alerts but {len(channels)} channels")
        actor = check_name(actor, "actor")
        latest = intake.latest_time(simulated=self.simulated, max_ahead_s=self.max_ahead_s)
        rows = [
            (intake.alert_row(a, c, at, latest=latest), db.alert_signal(a))
            for a, c in zip(alerts, channels, strict=True)
        ]
        return db.write(self._con, lambda con: intake.insert_alerts(con, rows, actor))

    def add_report(self, report: UserReport, *, actor: str = "user-report") -> int:
        """Queue a user report; the same report (conversation, reporter, time) is stored once.

        Returns
        -------
        int
            The item id.

        Raises
        ------
        QueueError
            Dated outside the events' range (2000-01-01 up to 2200) or too far ahead to
            be shown (see :meth:`add_alert`); nothing is queued.
        """
        return self.add_reports([report], actor=actor)[0]

    def add_reports(
        self, reports: Iterable[UserReport], *, actor: str = "user-report"
    ) -> list[int]:
        """Queue many user reports in one transaction; see :meth:`add_report`."""
        actor = check_name(actor, "actor")
        latest = intake.latest_time(simulated=self.simulated, max_ahead_s=self.max_ahead_s)
        rows = [intake.report_row(r, self.policy, latest=latest) for r in reports]
        return db.write(self._con, lambda con: intake.insert_reports(con, rows, actor))

    # ----------------------------------------------------------------- reading

    def items(self, *, status: str | None = None, received: bool = False) -> list[QueueItem]:
        """Items ever queued (or with ``status``), oldest first; ``received``: with receipt time."""
        if status is not None and status not in ("open", *(o.value for o in Outcome)):
            raise ValueError(f"status {status!r} is not open, actioned, dismissed or escalated")
        where, args = ("", ()) if status is None else (" WHERE items.status = ?", (status,))
        rows = self._con.execute(ITEMS_SELECT + where + " ORDER BY items.item_id", args)
        items = [item_from_row(r) for r in rows]
        return history.with_received(self._con, items) if received else items

    def items_at(self, end: int) -> tuple[list[QueueItem], frozenset[int]]:
        """Items received before ``end`` as their signals then made them, and the ids of those
        whose channel then is unknown (:func:`riskscore.moderation.item_history.items_at`)."""
        return history.items_at(self._con, self.items(), check_epoch(end, "end"))

    def audit_log(self) -> list[AuditEntry]:
        """The audit log, in the order entries were written."""
        return [
            audit_entry_from_row(r)
            for r in self._con.execute("SELECT * FROM audit ORDER BY entry_id")
        ]

    def audit_page(self, *, before: int | None = None, limit: int = 500) -> list[AuditEntry]:
        """At most ``limit`` entries of the audit log, newest first, each older than the
        entry ``before`` (its ``entry_id``; None: from the newest). The next page starts
        before the last entry of this one: keyset pagination, which reads ``limit`` rows
        by the index however long the log, and whose pages do not shift as entries are
        appended.

        Examples
        --------
        >>> import tempfile
        >>> from riskscore import ReviewQueue
        >>> from riskscore.policy import Alert, Tier
        >>> with ReviewQueue(f"{tempfile.mkdtemp()}/q.sqlite") as q:
        ...     for n in range(3):
        ...         _ = q.add_alert(Alert(n, f"a{n}", "k", 12.0, "under 13", 0.9, Tier.URGENT))
        ...     first = q.audit_page(limit=2)
        ...     rest = q.audit_page(before=first[-1].entry_id, limit=2)
        >>> [e.entry_id for e in first], [e.entry_id for e in rest]
        ([3, 2], [1])
        """
        check_whole("limit", limit, 1)
        rows = self._con.execute(
            "SELECT * FROM audit WHERE entry_id < ? ORDER BY entry_id DESC LIMIT ?",
            (2**63 - 1 if before is None else check_whole("before", before, 0), limit),
        )
        return [audit_entry_from_row(r) for r in rows]

    def cases(self, *, now: int | None = None) -> list[Case]:
        """All open cases at ``now`` (items created later are not yet visible), ranked.

        Parameters
        ----------
        now : int, optional
            Epoch seconds; the current time when omitted.
        """
        now = int(time.time()) if now is None else check_epoch(now, "now")
        rows = self._con.execute(
            ITEMS_SELECT + f" WHERE items.status = 'open' AND {CREATED_BY}", (now,)
        )
        return rank_cases((item_from_row(r) for r in rows), now, self.weights)

    def case(self, adult_id: Any, *, now: int | None = None) -> Case | None:
        """The open case of one adult as a moderator is shown it, or None.

        Its :attr:`Case.token` names exactly the items shown (and their versions):
        pass it to :meth:`decide` so that the decision closes those items only.
        """
        now = int(time.time()) if now is None else check_epoch(now, "now")
        rows = self._con.execute(
            ITEMS_SELECT + f" WHERE items.status = 'open' AND items.adult_id = ? AND {CREATED_BY}",
            (db.encode_id(adult_id), now),
        ).fetchall()
        return build_case([item_from_row(r) for r in rows], now, self.weights) if rows else None

    def top(self, n: int = 10, *, now: int | None = None) -> list[Case]:
        """The ``n`` highest-priority open cases at ``now``."""
        return self.cases(now=now)[: check_whole("n", n, 0)]

    def open_counts(self) -> dict[tuple[str, int], int]:
        """Open items by (child age band, tier): the queue's depth, for monitoring."""
        # Grouped by kind too: a tier is checked against its item's kind, as items are read.
        rows = self._con.execute(
            "SELECT MIN(item_id), kind, age_band, tier, COUNT(*) FROM items "
            "WHERE status = 'open' GROUP BY kind, age_band, tier"
        )
        counts: dict[tuple[str, int], int] = {}
        for item_id, kind, band, tier, n in rows:
            key = checked_depth(item_id, kind, band, tier)
            counts[key] = counts.get(key, 0) + int(n)
        return counts

    def open_created_at(self) -> list[int]:
        """Creation times of the open items (epoch seconds), for waiting-time monitoring."""
        rows = self._con.execute("SELECT item_id, created_at FROM items WHERE status = 'open'")
        return [checked_created_at(item_id, created) for item_id, created in rows]

    def next_arrival(self, after: int) -> int | None:
        """Creation time of the first open item created after ``after``, if any."""
        sql = "SELECT MIN(created_at) FROM items WHERE status = 'open' AND created_at > ?"
        (first,) = self._con.execute(sql, (after,)).fetchone()
        return None if first is None else int(first)

    # ----------------------------------------------------------------- decisions

    def simulated_items(self, *, before: int | None = None) -> frozenset[int]:
        """Ids of the items whose review or decision time was given by the caller (a
        transparency report marks figures drawn from them as simulated); with ``before``
        (epoch seconds), by the reviews and decisions dated before it only, as a past
        period's report counts them.

        Each ``review`` and ``decide`` audit entry records where its time came from
        (``detail["time"]``: ``"clock"`` or ``"simulated"``). An entry without that
        record (written before riskscore kept it) counts as simulated in a queue
        created in simulation mode, and as the clock's otherwise (a queue of real
        decisions never accepted a caller-given time).
        """
        end = None if before is None else check_epoch(before, "before")
        return db.simulated_item_ids(self._con, simulated_queue=self.simulated, before=end)

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
        when, source = decisions.decision_time(at, simulation=self.simulation)
        adult = db.encode_id(adult_id)
        wanted = None if item_ids is None else set(decisions.item_ids(item_ids))
        return db.write(
            self._con,
            lambda con: decisions.review_items(
                con, adult, wanted, moderator=moderator, when=when, source=source
            ),
        )

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
            A short factual note for the audit log about the decision, never message
            text (:func:`~riskscore.moderation.notes.check_note`): at most
            ``MAX_NOTE_CHARS`` characters, no text in quotation marks, none after
            "wrote:", "said:" or the like.

        Returns
        -------
        int
            Number of items decided.

        Raises
        ------
        QueueError
            Neither or both of ``item_ids`` and ``token``; an item not open in the
            case; a stale token; an item created (dated ahead) or first reviewed
            after the decision time; ``at`` outside simulation mode or out of range; a
            bad moderator name; a note the note rule refuses; ``adult_id`` no id the
            queue can hold (not int or
            text, empty, over-long), quoted cut short.
        """
        result = Outcome.parse(outcome)
        moderator = check_name(moderator, "moderator")
        note = check_note(note)  # the note rule: short, no quoted speech
        if (item_ids is None) == (token is None):
            raise QueueError(
                "a decision names the items the moderator was shown: give item_ids or the "
                "token of the case shown (ReviewQueue.case(adult_id).token), not both"
            )
        versions = parse_token(token) if token is not None else None
        chosen = list(versions) if versions is not None else decisions.item_ids(item_ids or ())
        when, source = decisions.decision_time(at, simulation=self.simulation)
        decisions.check_decided_id(self._con, adult_id)  # an id no case can have: refused
        return db.write(
            self._con,
            lambda con: decisions.decide_items(
                con,
                adult_id,
                chosen,
                versions,
                result,
                moderator=moderator,
                note=note,
                when=when,
                source=source,
            ),
        )
