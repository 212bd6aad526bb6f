"""Adding to the review queue: alerts and user reports as rows, and their de-duplication.

Private to :class:`~riskscore.moderation.queue.ReviewQueue` (see its ``add_*`` methods):

* an alert already queued (the same signal, :func:`~riskscore.moderation.queue_db.alert_signal`)
  changes nothing, whether its item is open or decided;
* a conversation of two accounts is one case under each id it carries in its life (a
  room's, then its pair's: :func:`~riskscore.io.pair_ids.conversation_aliases`);
* a new alert on a conversation whose alert is still open updates that item (highest risk,
  tier and most private channel kept, ``n_signals`` counted, the conversation's first event
  time kept unless the new alert saw an earlier one, its latest event time moved on, the
  adult's age taken when the new alert knows it; when the two accounts swapped roles, the
  item takes the new alert's adult, child, ages and age band);
* the same user report (conversation, reporter, time) is stored once, under the id it was
  first stored with.

Every function that writes runs inside the caller's transaction
(:func:`~riskscore.moderation.queue_db.write`) and logs what it changed.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

import numpy as np

import riskscore.moderation.queue_db as db
from riskscore._words import duration_text
from riskscore.io.columns import category_key, category_text
from riskscore.io.pair_ids import conversation_aliases, pair_conversation_id
from riskscore.io.raw import show, shown
from riskscore.io.schema import (
    CHANNEL_NAMES,
    MAX_AGE,
    MIN_AGE,
    PAIR_ID_SEPARATOR,
    Channel,
)
from riskscore.io.shown_ids import shown_id
from riskscore.io.timestamps import DEFAULT_MAX_FUTURE_S, iso_utc, one_timestamp_problem
from riskscore.model.scores import reason_texts
from riskscore.moderation.cases import QueueError, check_epoch
from riskscore.moderation.queue_rows import (
    ITEMS_SELECT,
    MAX_REASONS_CHARS,
    encode_reasons,
    id_problem,
    is_line,
    is_queue_age,
    item_from_row,
)
from riskscore.moderation.user_reports import UserReport
from riskscore.policy import Alert, AlertPolicy, Tier

__all__ = [
    "MAX_AHEAD_S",
    "alert_row",
    "insert_alerts",
    "insert_reports",
    "latest_time",
    "most_private",
    "new_id",
    "report_row",
]


#: How far after the clock's time an alert or a user report may be dated when queued (the
#: event readers' tolerance of an event ahead of the clock, one day): the queue shows an
#: item from its time on, and merges every later alert of its conversation into it, so an
#: item dated years ahead (a clock never set, a forged time) would hide them all until
#: then. A simulated queue (created in simulation mode, however opened since) takes any
#: time ahead of the clock within the range of the events' times (:func:`_item_time`, in
#: either mode): no moderator works it.
MAX_AHEAD_S: Final = int(DEFAULT_MAX_FUTURE_S)


class Horizon(NamedTuple):
    """The latest time an item may be queued at: ``clock`` (the clock's time when queued)
    plus ``ahead_s``."""

    clock: int
    ahead_s: int

    @property
    def latest(self) -> int:
        """The latest time an item may be dated."""
        return self.clock + self.ahead_s


def latest_time(*, simulated: bool, max_ahead_s: float = MAX_AHEAD_S) -> Horizon | None:
    """The latest time an item may be queued at now: the clock's plus ``max_ahead_s``
    (default :data:`MAX_AHEAD_S`; ``riskscore stream`` passes its ``--max-future-s`` when
    longer); None for a ``simulated`` queue, which takes any time ahead of the clock, or
    an infinite ``max_ahead_s`` (the range of the events' times still holds,
    :func:`_item_time`)."""
    if simulated or math.isinf(max_ahead_s):
        return None
    return Horizon(int(time.time()), int(max_ahead_s))


def _check_not_ahead(when: int, horizon: Horizon | None, what: str, *, alert: bool) -> None:
    """Refuse ``when`` (the time an item is queued at) after ``horizon`` (None: no limit),
    naming ``what``, both times and what it would hide: itself, and for an ``alert`` the
    later alerts of its conversation, merged into it (never into a user report)."""
    if horizon is not None and when > horizon.latest:
        hidden = ", nor would later alerts of its conversation" if alert else ""
        raise QueueError(
            f"{what}: dated {iso_utc(when)}, over {duration_text(horizon.ahead_s)} after the "
            f"clock's time ({iso_utc(horizon.clock)}): it would be shown to no moderator "
            f"until then{hidden}; check the clock that dated it (a simulated queue takes "
            "times ahead)"
        )


def _item_time(value: Any, name: str, what: str) -> int:
    """``value``, the time ``name`` of an item arriving (``what``), as epoch seconds: an int
    the queue reads back (:func:`~riskscore.moderation.cases.check_epoch`) within the range
    of the events' times, 2000-01-01 up to 2200, by an event's ``timestamp`` rule and words
    (:func:`~riskscore.io.timestamps.one_timestamp_problem`), in simulation mode too: an
    item is dated by the events it comes from, and one dated 1970 (a clock never set, a
    default value) was shown as waiting for decades. A :class:`QueueError` names ``what``,
    the field and the value."""
    try:
        when = check_epoch(value, name)
    except QueueError as exc:
        raise QueueError(f"{what}: {exc}") from None
    problem = one_timestamp_problem(when)
    if problem is not None:
        raise QueueError(f"{what}: {name} {when} {problem}")
    return when


def stored_age(value: Any, what: str = "child age") -> float | None:
    """An age as stored: None when unknown (None or NaN); a ``ValueError`` naming ``what``
    for one the queue would refuse when reading it back (:mod:`~riskscore.moderation.
    queue_rows`): not a number, or outside the ages of the event schema."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return None
    if not is_queue_age(value):
        raise ValueError(
            f"{what} {show(shown('sender_age', value))} is not an age: expected a number from "
            f"{MIN_AGE:g} to {MAX_AGE:g}, or None or NaN for unknown"
        )
    return float(value)


def _check_risk(value: Any, what: str) -> None:
    """Refuse a risk that is no number (text, None, a boolean) before it is compared with
    the bounds of a risk, naming ``what`` and the value as an event's number is shown
    (:func:`~riskscore.io.raw.shown`): comparing it raised a bare ``TypeError``, and
    ``True`` was queued as a risk of 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(
            f"{what} {show(shown('risk', value))} is not a risk: expected a number from 0 to 1"
        )


def _channel(channel: str | Channel | None) -> str | None:
    """The channel an item is stored with: a schema v1 name, a :class:`Channel` member as
    its name (as the event readers read it: :func:`riskscore.io.columns.category_text`),
    or None; a ``ValueError`` for anything else."""
    if isinstance(channel, Channel):
        return category_key(category_text(channel))
    if channel is not None and channel not in CHANNEL_NAMES:  # free text: only its length
        shown_channel = show(shown("channel", channel))
        raise ValueError(f"channel {shown_channel} is not one of {', '.join(CHANNEL_NAMES)}")
    return channel


def most_private(channels: Iterable[str | None]) -> str | None:
    """The most private of ``channels`` (schema v1 names, :class:`Channel` order; None: not
    known), None when none is known: an open alert's channel when a later alert of its
    conversation arrives, whatever the order they arrive in (an earlier window scored late
    names a less private channel, which the conversation had moved on from).

    Examples
    --------
    >>> most_private(["encrypted", None, "direct"]), most_private([None])
    ('encrypted', None)
    """
    known = [c for c in channels if c is not None]
    return max(known, key=CHANNEL_NAMES.index) if known else None


def new_id(field: str, value: Any) -> str:
    """An id arriving in the queue (or named in a decision), checked by the rule the queue
    reads it back with (:func:`riskscore.moderation.queue_rows.id_problem`), then encoded
    (:func:`queue_db.encode_id`): an id that is unprintable, empty or over-long would break
    the exports made from it, and one of three words or more (a sentence, refused in events
    too) may be message content; the error quotes it cut (:func:`riskscore.io.raw.show`: it
    is no id), a sentence only by its length. An id that passes is named in messages as
    the console and the command line show it (:func:`~riskscore.io.shown_ids.shown_id`)."""
    if isinstance(value, np.integer):
        value = value.item()
    problem = id_problem(field, value, arriving=True)
    if problem is not None:  # quoted by the rule of ids: a sentence only by its length
        raise ValueError(f"{field} {show(shown('conversation_id', value))} {problem}")
    return db.encode_id(value)


def alert_row(
    alert: Alert, channel: str | Channel | None, at: int | None, *, latest: Horizon | None = None
) -> dict[str, Any]:
    """The ``items`` row of an alert raised at ``at`` (default its timestamp, else the time
    of its conversation's latest event, else now), on ``channel`` (default the most private
    channel the alert's conversation reached); an alert raised after ``latest`` is refused
    (:func:`_check_not_ahead`). A batch alert carries no timestamp: dated by its latest
    event, an alert on last month's events scored today is a late arrival of last month
    (``received_in_period``), not an alert dated today."""
    when, name = (at, "at") if at is not None else (alert.timestamp, "timestamp")
    channel = _channel(alert.max_channel if channel is None else channel)
    conv = new_id("conversation_id", alert.conversation_id)  # named by it below
    what = f"alert on conversation {shown_id(alert.conversation_id)}"
    _check_risk(alert.risk, f"{what}: risk")
    if not 0.0 <= alert.risk <= 1.0:
        raise ValueError(f"{what}: risk {alert.risk}")
    # What the queue reads back (queue_rows.item_from_row), or every later read would fail.
    if alert.tier not in list(Tier):
        raise ValueError(f"{what}: tier {show(alert.tier)} is not review (1) or urgent (2)")
    if not is_line(alert.age_band):
        raise ValueError(
            f"{what}: age band {show(alert.age_band)} is not one line of printable text"
        )
    reasons = encode_reasons(reason_texts(alert.reasons))
    if reasons is None:
        raise ValueError(
            f"{what}: reasons must be printable text (no line breaks or control characters), "
            f"at most {MAX_REASONS_CHARS} characters in all"
        )
    age = stored_age(alert.child_age, f"{what}: child age")
    first, last = _event_times(alert, what)
    if when is None:
        when, name = (last, "last_event_at") if last is not None else (int(time.time()), "at")
    when = _item_time(when, name, what)
    _check_not_ahead(when, latest, what, alert=True)
    return {
        "kind": "alert",
        "dedup_key": f"alert:{conv}",
        "conversation_id": conv,
        "adult_id": new_id("adult_id", alert.adult_id),
        "child_id": new_id("child_id", alert.child_id),
        "child_age": age,
        "adult_age": stored_age(alert.adult_age, f"{what}: adult age"),
        "age_band": alert.age_band,
        "risk": float(alert.risk),
        "tier": int(alert.tier),
        "channel": channel,
        "concerns_child": 0,
        "reasons": reasons,
        "created_at": when,
        "updated_at": when,
        "first_event_at": first,
        "last_event_at": last,
    }


def _event_times(alert: Alert, what: str) -> tuple[int | None, int | None]:
    """The alert's first and latest event time as stored (None: not known), checked as
    events' times (:func:`_item_time`), the first not after the latest."""
    first, last = (
        None if getattr(alert, name) is None else _item_time(getattr(alert, name), name, what)
        for name in ("first_event_at", "last_event_at")
    )
    if first is not None and last is not None and first > last:
        raise QueueError(
            f"{what}: first_event_at {first} is after last_event_at {last}; the first event "
            "of a conversation is at or before its latest"
        )
    return first, last


def report_row(
    report: UserReport, policy: AlertPolicy, *, latest: Horizon | None = None
) -> dict[str, Any]:
    """The ``items`` row of a user report, banded by the reporter's age under ``policy``;
    one dated after ``latest`` is refused (:func:`_check_not_ahead`)."""
    channel = _channel(report.channel)
    _check_risk(report.risk, "user report risk")
    if not 0.0 <= report.risk <= 1.0:
        raise ValueError(f"user report risk must be in [0, 1], got {report.risk}")
    conv = new_id("conversation_id", report.conversation_id)  # named by it below
    what = f"user report on conversation {shown_id(report.conversation_id)}"
    when = _item_time(report.timestamp, "timestamp", what)
    _check_not_ahead(when, latest, what, alert=False)
    age = stored_age(report.reporter_age, f"{what}: child (reporter) age")
    reporter = new_id("reporter_id", report.reporter_id)
    reported = new_id("reported_id", report.reported_id)
    if reported == reporter:  # a case whose adult is its own child
        raise ValueError(
            f"{what}: reporter_id and reported_id are one account, "
            f"{shown_id(report.reporter_id)}: a report is one account's about another (as an "
            "event's sender and recipient)"
        )
    band = policy.band_of(math.nan if age is None else age).name
    return {
        "kind": "user_report",
        "dedup_key": _report_key(conv, reporter, when),
        "conversation_id": conv,
        "adult_id": reported,
        "child_id": reporter,
        "child_age": age,
        # the reported account's declared age (null: unknown, as in a file written before)
        "adult_age": stored_age(report.reported_age, f"{what}: reported account age"),
        "age_band": band,
        "risk": float(report.risk),
        "tier": 0,
        "channel": channel,
        "concerns_child": int(report.from_child),
        "reasons": encode_reasons(
            ["user report from a child" if report.from_child else "user report"]
        ),
        "created_at": when,
        "updated_at": when,
    }


def insert_alerts(
    con: sqlite3.Connection, rows: list[tuple[dict[str, Any], str]], actor: str
) -> list[int]:
    """Queue ``(row, signal)`` pairs (:func:`alert_row`, :func:`~riskscore.moderation.
    queue_db.alert_signal`); return each one's item id."""
    return [_upsert_alert(con, row, signal, actor) for row, signal in rows]


def _report_key(conversation: str, reporter: str, when: int) -> str:
    """A user report's key: its conversation, reporter (encoded ids) and time."""
    return f"report:{conversation}:{reporter}:{when}"


def _aliases(row: dict[str, Any]) -> list[str]:
    """The other ids (encoded) of the conversation of an item's ``row``, between its two
    accounts (:func:`~riskscore.io.pair_ids.conversation_aliases`)."""
    conversation, adult, child = (
        db.decode_id(row[k]) for k in ("conversation_id", "adult_id", "child_id")
    )
    return [db.encode_id(c) for c in conversation_aliases(conversation, adult, child)]


def insert_reports(con: sqlite3.Connection, rows: list[dict[str, Any]], actor: str) -> list[int]:
    """Queue user report rows (:func:`report_row`) not stored yet, under any id of their
    conversation (:func:`_aliases`); return each one's item id."""
    out = []
    for row in rows:
        when, reporter = row["created_at"], row["child_id"]
        keys = [row["dedup_key"], *(_report_key(c, reporter, when) for c in _aliases(row))]
        found = con.execute(
            "SELECT item_id FROM items WHERE kind = 'user_report' AND dedup_key IN "
            f"({', '.join('?' for _ in keys)}) ORDER BY item_id",
            keys,
        ).fetchone()
        if found is not None:
            out.append(int(found[0]))
            continue
        detail = {"kind": "user_report", "concerns_child": row["concerns_child"]}
        out.append(db.enqueue(con, row, actor, detail))
    return out


def _upsert_alert(con: sqlite3.Connection, row: dict[str, Any], signal: str, actor: str) -> int:
    known = con.execute("SELECT item_id FROM alert_signals WHERE signal = ?", (signal,)).fetchone()
    if known is not None:  # this very alert was queued before: nothing changes
        return int(known[0])
    item_id = _merge_alert(con, row, actor)
    con.execute("INSERT INTO alert_signals (signal, item_id) VALUES (?, ?)", (signal, item_id))
    return item_id


def _merge_alert(con: sqlite3.Connection, row: dict[str, Any], actor: str) -> int:
    """A new item, or the update of the conversation's open alert: of the same two
    accounts, in either role, under any id of the conversation (:func:`_aliases`). An open
    alert of the id between other accounts is another pair of a room (scored in parts, or
    online after its first pair expired): the alert goes on under its pair id, as the
    room's whole history names it; under a pair id, it is refused rather than merged.

    Raises
    ------
    QueueError
        The conversation's open alert is of two other accounts.
    """
    ids = [row["conversation_id"], *_aliases(row)]
    items = con.execute(
        ITEMS_SELECT + " WHERE items.kind = 'alert' AND items.status = 'open' AND "
        f"items.conversation_id IN ({', '.join('?' for _ in ids)}) ORDER BY items.item_id",
        ids,
    ).fetchall()
    own = [r for r in items if r["conversation_id"] == ids[0]]
    same = [
        r for r in items if {r["adult_id"], r["child_id"]} == {row["adult_id"], row["child_id"]}
    ]
    found = ([r for r in own if r in same] or same or own or [None])[0]
    if found is None:
        # each signal as it came (item_history: the item as it stood at a past time)
        detail = {k: row[k] for k in ("risk", "tier", "channel")}
        return db.enqueue(con, row, actor, {"kind": "alert", **detail})
    # Read as every item is (a QueueError naming a value riskscore never writes), not
    # compared as found: a risk of text was a TypeError, an id of no JSON a JSONDecodeError.
    held = item_from_row(found)
    if {found["adult_id"], found["child_id"]} != {row["adult_id"], row["child_id"]}:
        conv, adult, child = (
            db.decode_id(row[k]) for k in ("conversation_id", "adult_id", "child_id")
        )
        if PAIR_ID_SEPARATOR not in str(conv):  # a pair id of other accounts is a clash
            # a room's id scored in parts (or online after its first pair expired) names
            # another pair now: it goes on under its pair id, as the whole history names it
            pair = db.encode_id(pair_conversation_id(conv, adult, child))
            return _merge_alert(con, {**row, "conversation_id": pair}, actor)
        raise QueueError(
            f"alert on conversation {shown_id(conv)} between {shown_id(adult)} and "
            f"{shown_id(child)}: item {held.item_id} is the open alert of conversation "
            f"{shown_id(conv)} between {shown_id(held.adult_id)} and "
            f"{shown_id(held.child_id)}; two conversations under one id are never merged: "
            "give them distinct ids (not queued, nor the alerts added with it)"
        )
    item_id = held.item_id
    raise_ = row["risk"] > held.risk or row["tier"] > held.tier
    accounts, ages, detail = _accounts_update(found, row)
    db.update(
        con,
        item_id,
        "n_signals = n_signals + 1, updated_at = MAX(updated_at, ?), "
        "risk = MAX(risk, ?), tier = MAX(tier, ?), "
        "reasons = CASE WHEN ? THEN ? ELSE reasons END, "
        f"channel = ?, {accounts}, "
        # the conversation's first event stays (an earlier one seen since is taken) and its
        # latest moves on, never back
        f"{_known('first_event_at', 'MIN')}, {_known('last_event_at', 'MAX')}",
        (
            row["updated_at"],
            row["risk"],
            row["tier"],
            int(raise_),
            row["reasons"],
            most_private([held.channel, row["channel"]]),
            *ages,
            *(row["first_event_at"],) * 3,
            *(row["last_event_at"],) * 3,
        ),
        at=row["created_at"],
        actor=actor,
        action="update",
        detail={**{k: row[k] for k in ("risk", "tier", "channel")}, **detail},
    )
    return item_id


def _accounts_update(
    found: sqlite3.Row, row: dict[str, Any]
) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The assignments (with their parameters and what the audit entry adds) of the
    accounts of an open alert ``found`` that the alert ``row`` of the same two accounts
    updates.

    In the same roles, the adult's age is taken when the new alert knows it. In swapped
    roles (the ages declared since tell the other account is the child), the item takes
    the new alert's adult, child, both ages and age band, as it reflects what is known
    now: an age stays with the account it was given for, never the other's.
    """
    if found["adult_id"] == row["adult_id"]:
        return "adult_age = COALESCE(?, adult_age)", (row["adult_age"],), {}
    names = ("adult_id", "child_id", "adult_age", "child_age", "age_band")
    return ", ".join(f"{n} = ?" for n in names), tuple(row[n] for n in names), {"roles": "swapped"}


def _known(column: str, pick: str) -> str:
    """``column = `` the ``pick`` (``MIN`` or ``MAX``) of its value and the parameter
    given three times, a null (not known) being neither: SQLite's ``MIN`` and ``MAX`` of a
    null are null."""
    return (
        f"{column} = CASE WHEN {column} IS NULL THEN ? WHEN ? IS NULL THEN {column} "
        f"ELSE {pick}({column}, ?) END"
    )
