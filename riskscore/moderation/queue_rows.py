"""Queue rows read back (private to the review queue): every value of an ``items`` row
checked against what riskscore writes, alone and against the row's other columns, before
it becomes a :class:`~riskscore.moderation.cases.QueueItem` for the console, reports and
exports, of an ``audit`` row before it becomes an
:class:`~riskscore.moderation.cases.AuditEntry`, and of the logs ``riskscore serve`` keeps
beside them (:func:`log_row`); and the rules shared with what the queue writes
(:mod:`riskscore.moderation.intake`): the name columns, the ages, and the codec of the
reasons."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeGuard

from riskscore._checks import is_real
from riskscore.io.ids import stored_id_problem
from riskscore.io.json_lines import json_loads
from riskscore.io.raw import show, shown
from riskscore.io.schema import (
    CHANNEL_NAMES,
    MAX_AGE,
    MAX_ID_LENGTH,
    MAX_PAIR_ID_LENGTH,
    MIN_AGE,
    MINOR_AGE,
    has_hidden_character,
    is_declared_minor,
)
from riskscore.moderation.cases import AuditEntry, QueueError, QueueItem, check_epoch
from riskscore.policy import Tier

__all__ = [
    "CHANGED_OUTSIDE",
    "CREATED_BY",
    "ITEMS_SELECT",
    "MAX_REASONS_CHARS",
    "audit_detail",
    "audit_entry_from_row",
    "checked_created_at",
    "checked_depth",
    "decode_reasons",
    "encode_reasons",
    "id_problem",
    "is_line",
    "is_queue_age",
    "item_from_row",
    "log_row",
    "stored_id",
    "stored_id_form",
    "stored_text",
]

#: Why a value no riskscore writes is in the file.
CHANGED_OUTSIDE = "the file was changed outside riskscore"


def stored_text(column: str, value: object) -> str:
    """A value read from a queue file, as an error about it quotes it: never text that may
    be message content (a sentence written into the file by hand), as the readers of events
    never quote it (:func:`riskscore.io.raw.shown`)."""
    return show(shown(column, value))


#: Why the times or the decision of an item contradict each other: riskscore before this
#: check let a decision be dated before its alert arrived (a replayed alert dated ahead).
OUT_OF_ORDER = (
    "times or decision out of order: the file was changed outside riskscore, or a decision "
    "was recorded before its alert arrived, which earlier versions allowed"
)

#: The rows :func:`item_from_row` reads: each item with its latest audit entry (a decided
#: item's is its ``decide`` entry, which names the decision); add ``WHERE`` on ``items.``.
ITEMS_SELECT = (
    "SELECT items.*, audit.action AS last_action, audit.detail AS last_detail FROM items "
    "LEFT JOIN audit ON audit.entry_id = items.audit_id"
)

#: The condition (one parameter: the time) of an item shown at that time: created by
#: then. An item whose ``created_at`` is no integer (SQLite orders any text after every
#: number) is selected too, so that :func:`item_from_row` refuses it by name: left out,
#: it would be an open item no moderator is ever shown.
CREATED_BY = "(items.created_at <= ? OR typeof(items.created_at) != 'integer')"

#: Longest ``reasons`` value read back (JSON text): an alert's few reasons take far less.
MAX_REASONS_CHARS = 100_000
_STATUSES = frozenset({"open", "actioned", "dismissed", "escalated"})


def audit_detail(entry_id: object, text: object) -> dict[str, Any]:
    """The ``detail`` of audit entry ``entry_id`` as riskscore writes it (a JSON object), or
    :class:`QueueError` naming the entry and the column, as for an item."""
    try:
        value = json_loads(text) if isinstance(text, str) else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise QueueError(
            f"review queue audit entry {entry_id}: column 'detail' is "
            f"{stored_text('detail', text)}, expected "
            f"a JSON object ({CHANGED_OUTSIDE})"
        )
    return value


def item_from_row(r: sqlite3.Row) -> QueueItem:
    """The item of a row of :data:`ITEMS_SELECT`, every value checked against what
    riskscore writes.

    A file changed outside riskscore (SQLite keeps any type in any column) is refused
    with a :class:`QueueError` naming the item, the column and the value, never read as
    another value or passed on to the console, reports and exports.
    """
    item_id = r["item_id"]
    if type(item_id) is not int:
        raise QueueError(f"review queue item id {stored_text('item_id', item_id)} is not an int")
    row = _StoredRow(r, item_id)
    _check_values(row)
    created_at, updated_at, reviewed_at, decided_at, decided_by = _times_in_order(row)
    first_event_at, last_event_at = _event_times(row)
    age, adult_age = r["child_age"], r["adult_age"]
    return QueueItem(
        decision_id=_decision_id(r, item_id, r["status"]),
        item_id=item_id,
        kind=r["kind"],
        conversation_id=row.stored_id("conversation_id"),
        adult_id=row.stored_id("adult_id"),
        child_id=row.stored_id("child_id"),
        child_age=math.nan if age is None else float(age),
        age_band=str(row.line("age_band")),
        risk=float(r["risk"]),
        tier=r["tier"],
        channel=r["channel"],
        concerns_child=bool(r["concerns_child"]),
        reasons=row.reasons(),
        created_at=created_at,
        updated_at=updated_at,
        n_signals=r["n_signals"],
        status=r["status"],
        first_reviewed_at=reviewed_at,
        decided_at=decided_at,
        decided_by=decided_by,
        adult_age=math.nan if adult_age is None else float(adult_age),
        first_event_at=first_event_at,
        last_event_at=last_event_at,
    )


class _StoredRow:
    """One row of the items (or audit) table, whose values are read as riskscore writes
    them or refused with a :class:`QueueError` naming the item (or audit entry), the column
    and the value."""

    __slots__ = ("item_id", "r", "what")

    def __init__(self, r: Any, item_id: object, what: str = "item") -> None:
        self.r, self.item_id, self.what = r, item_id, what

    def refuse(self, column: str, expected: str, why: str = CHANGED_OUTSIDE) -> QueueError:
        return QueueError(
            f"review queue {self.what} {self.item_id}: column {column!r} is "
            f"{stored_text(column, self.r[column])}, expected {expected} ({why})"
        )

    def stored_id(self, column: str) -> Any:
        value = stored_id(column, self.r[column])
        if value is not None:
            return value
        raise self.refuse(column, stored_id_form(column))

    def epoch(self, column: str, *, none_ok: bool = False) -> int | None:
        value = self.r[column]
        if value is None and none_ok:
            return None
        try:
            return check_epoch(value, column)
        except QueueError:
            raise self.refuse(column, "epoch seconds (an int from 1970 to 9999)") from None

    def line(self, column: str, *, none_ok: bool = False) -> str | None:
        value = self.r[column]
        if value is None and none_ok:
            return None
        if not is_line(value):
            raise self.refuse(column, "one line of printable text")
        return value

    def reasons(self) -> tuple[str, ...]:
        value = decode_reasons(self.r["reasons"])
        if value is None:
            raise self.refuse(
                "reasons",
                f"a JSON list of printable strings, at most {MAX_REASONS_CHARS} characters",
            )
        return value


def audit_entry_from_row(r: sqlite3.Row) -> AuditEntry:
    """The :class:`AuditEntry` of a row of the ``audit`` table, every value checked against
    what riskscore writes (the log is append-only, but SQLite keeps any type in any column
    of a row added by hand): refused with a :class:`QueueError` naming the entry, the column
    and the value, never read as another value or passed on to the console."""
    entry_id = r["entry_id"]
    if type(entry_id) is not int:
        raise QueueError(
            f"review queue audit entry id {stored_text('entry_id', entry_id)} is not an int"
        )
    row = _StoredRow(r, entry_id, "audit entry")
    at = row.epoch("at")
    assert at is not None
    actor, action = row.line("actor"), row.line("action")
    assert actor is not None
    assert action is not None
    item_id = r["item_id"]
    if not (type(item_id) is int and item_id >= 1):
        raise row.refuse("item_id", "the id of an item, an int >= 1")
    detail = audit_detail(entry_id, r["detail"])
    return AuditEntry(entry_id, at, actor, action, item_id, detail)


def log_row(
    what: str,
    key: object,
    names: Sequence[str],
    values: Sequence[Any],
    *,
    optional: Collection[str] = (),
    blank_ok: Collection[str] = (),
) -> tuple[Any, ...]:
    """``values`` of the columns ``names`` of a row of an append-only log kept beside the
    queue (``what`` its kind and ``key`` its id, as an error names it: ``"account log
    entry", 7``), checked as riskscore writes them: ``at`` epoch seconds, any other column
    one line of printable text (or None for a column of ``optional``, ``''`` for one of
    ``blank_ok``). A value of another type or form, appended by hand, is a
    :class:`QueueError` naming the entry, the column and the value."""
    row = dict(zip(names, values, strict=True))
    stored = _StoredRow(row, key, what)
    for column, value in row.items():
        if column == "at":
            stored.epoch(column)
        elif not (column in blank_ok and value == ""):
            stored.line(column, none_ok=column in optional)
    return tuple(values)


def checked_depth(item_id: int, kind: object, age_band: object, tier: object) -> tuple[str, int]:
    """The (age band, tier) of a group of open items that :meth:`ReviewQueue.open_counts`
    counts, checked as :func:`item_from_row` checks an item's (the metrics label queue depth
    by them): a value riskscore never writes is a :class:`QueueError` naming ``item_id``,
    one item of the group, the column and the value."""
    row = _StoredRow({"kind": kind, "age_band": age_band, "tier": tier}, item_id)
    _check_kind_tier(row)
    assert type(tier) is int
    return str(row.line("age_band")), tier


def checked_created_at(item_id: int, created_at: object) -> int:
    """``created_at`` of item ``item_id`` as epoch seconds, checked as
    :func:`item_from_row` checks it (a :class:`QueueError` naming the item and the value)."""
    value = _StoredRow({"created_at": created_at}, item_id).epoch("created_at")
    assert value is not None
    return value


def _check_kind_tier(row: _StoredRow) -> None:
    """Refuse a kind, or a tier for the row's kind, riskscore never writes."""
    kind, tier = row.r["kind"], row.r["tier"]
    if kind not in ("alert", "user_report"):
        raise row.refuse("kind", "'alert' or 'user_report'")
    if not (type(tier) is int and (tier in list(Tier) if kind == "alert" else tier == 0)):
        raise row.refuse(
            "tier", f"0 for a user report, {min(Tier):d} to {max(Tier):d} for an alert"
        )


def _check_values(row: _StoredRow) -> None:
    """Refuse a kind, status, risk, tier, age, channel, flag or count riskscore never
    writes."""
    r, refuse = row.r, row.refuse
    status, risk = r["status"], r["risk"]
    _check_kind_tier(row)
    if status not in _STATUSES:
        raise refuse("status", f"one of {', '.join(sorted(_STATUSES))}")
    if not (is_real(risk) and not isinstance(risk, bool) and 0.0 <= risk <= 1.0):
        raise refuse("risk", "a number from 0 to 1")
    for column in ("child_age", "adult_age"):
        if r[column] is not None and not is_queue_age(r[column]):
            raise refuse(column, f"null or an age from {MIN_AGE:g} to {MAX_AGE:g}")
    if r["channel"] is not None and r["channel"] not in CHANNEL_NAMES:
        raise refuse("channel", f"null or one of {', '.join(CHANNEL_NAMES)}")
    if r["concerns_child"] not in (0, 1) or isinstance(r["concerns_child"], float):
        raise refuse("concerns_child", "0 or 1")
    # the flag that jumps the queue is the reporter's declared age as riskscore writes it
    # (UserReport.from_child): one set on an alert or an adult's report would rank it
    # above every child's alert and read "user report from a child", one cleared on a
    # child's report would rank that report with the adults'
    child = r["kind"] == "user_report" and is_declared_minor(r["child_age"])
    if bool(r["concerns_child"]) != child:
        raise refuse(
            "concerns_child",
            f"{int(child)} for {'an alert' if r['kind'] == 'alert' else 'a user report'} "
            f"with child_age "
            f"{stored_text('child_age', r['child_age'])} (1 only for a user report whose "
            "reporter declared an "
            f"age under {MINOR_AGE:g})",
        )
    n_signals = r["n_signals"]
    if not (type(n_signals) is int and n_signals >= 1):
        raise refuse("n_signals", "an int >= 1")


def _times_in_order(row: _StoredRow) -> tuple[int, int, int | None, int | None, str | None]:
    """Created, updated, first reviewed and decided times and the moderator who decided,
    refused unless in the order riskscore writes them, with a decision whole or absent:
    reports and exports would count a contradiction two ways (negative hours, open and
    decided)."""
    status = row.r["status"]
    created_at, updated_at = row.epoch("created_at"), row.epoch("updated_at")
    reviewed_at = row.epoch("first_reviewed_at", none_ok=True)
    decided_at = row.epoch("decided_at", none_ok=True)
    decided_by = row.line("decided_by", none_ok=True)
    assert created_at is not None
    assert updated_at is not None
    for column, ok, expected in (
        ("updated_at", created_at <= updated_at, f"at or after created_at {created_at}"),
        ("decided_at", decided_at is None or created_at <= decided_at,
         f"at or after created_at {created_at}"),
        ("decided_at", (decided_at is None) == (status == "open"),
         f"null for status 'open' and a time for any other, with status {status!r}"),
        ("first_reviewed_at", reviewed_at is None or created_at <= reviewed_at,
         f"null or at or after created_at {created_at}"),
        ("first_reviewed_at", decided_at is None or (reviewed_at is not None
         and reviewed_at <= decided_at), f"at or before decided_at {decided_at}"),
        ("decided_by", (decided_by is None) == (decided_at is None),
         f"a moderator when decided_at is set, else null, with decided_at {decided_at}"),
    ):  # fmt: skip
        if not ok:
            raise row.refuse(column, expected, OUT_OF_ORDER)
    return created_at, updated_at, reviewed_at, decided_at, decided_by


def _event_times(row: _StoredRow) -> tuple[int | None, int | None]:
    """The conversation's first and latest event time (null: not known or not recorded),
    refused unless epoch seconds with the first at or before the latest."""
    first = row.epoch("first_event_at", none_ok=True)
    last = row.epoch("last_event_at", none_ok=True)
    if first is not None and last is not None and first > last:
        raise row.refuse("last_event_at", f"at or after first_event_at {first}")
    return first, last


def _decision_id(r: sqlite3.Row, item_id: int, status: str) -> int | None:
    """The decision that closed the item of row ``r``: ``detail["decision"]`` of its
    ``decide`` audit entry, the smallest item id that decision closed (so at most
    ``item_id``); None for an open item or an entry written before riskscore recorded it."""
    if status == "open" or r["last_action"] != "decide":
        return None
    decision = audit_detail(r["audit_id"], r["last_detail"]).get("decision")
    if decision is None or (type(decision) is int and 1 <= decision <= item_id):
        return decision
    raise QueueError(
        f"review queue audit entry {r['audit_id']}: the decision of item {item_id} is "
        f"{stored_text('decision', decision)}, expected the smallest item id it decided, "
        f"from 1 to {item_id} "
        f"({CHANGED_OUTSIDE})"
    )


def encode_reasons(reasons: Iterable[object]) -> str | None:
    """The ``reasons`` column of an item: its reasons as a JSON list of text, or None when
    :func:`decode_reasons` would refuse it (a reason not printable, a line break say, or
    more than :data:`MAX_REASONS_CHARS` characters of JSON in all).

    Examples
    --------
    >>> encode_reasons(["late nights", "age gap"])
    '["late nights", "age gap"]'
    >>> encode_reasons(["late\\nnights"]) is None
    True
    """
    texts = [str(r) for r in reasons]
    text = json.dumps(texts)
    if len(text) > MAX_REASONS_CHARS or not all(t.isprintable() for t in texts):
        return None
    return text


def decode_reasons(text: object) -> tuple[str, ...] | None:
    """The reasons of a ``reasons`` column as :func:`encode_reasons` writes them, or None
    for any other value (a file changed outside riskscore)."""
    if not isinstance(text, str) or len(text) > MAX_REASONS_CHARS:
        return None
    try:
        value = json_loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) and v.isprintable() for v in value):
        return tuple(value)
    return None


def is_queue_age(value: object) -> bool:
    """Whether ``value`` is a known age the queue keeps (``child_age``; None is unknown):
    a finite number from :data:`~riskscore.io.schema.MIN_AGE` to
    :data:`~riskscore.io.schema.MAX_AGE`, the ages of the event schema."""
    return is_real(value) and bool(MIN_AGE <= value <= MAX_AGE)


def is_line(value: object) -> TypeGuard[str]:
    """Whether ``value`` is text a queue column of names keeps (``age_band``,
    ``decided_by``): one line of printable text, not blank."""
    return isinstance(value, str) and bool(value.strip()) and not has_hidden_character(value)


def stored_id(column: str, text: object) -> int | str | None:
    """The id an id ``column`` keeps as ``text`` (:func:`queue_db.encode_id`: the JSON of an
    int or a string) when it follows the rule of :func:`id_problem`, else None: the
    queue's ids and the ``riskscore serve`` timeline's are read back by this one rule.

    Examples
    --------
    >>> stored_id("adult_id", '"a"'), stored_id("adult_id", "7"), stored_id("adult_id", "true")
    ('a', 7, None)
    """
    try:
        value = json_loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if type(value) in (int, str) and id_problem(column, value) is None:
        return value
    return None


def stored_id_form(column: str) -> str:
    """What :func:`stored_id` reads, in words, for an error naming a value it refused."""
    return (
        "an id as stored (a JSON integer or string of printable text, at most "
        f"{max_id_length(column)} characters)"
    )


def max_id_length(column: str) -> int:
    """The longest id, in characters, of the queue's id ``column``: a ``conversation_id``
    may be the pair id of a group room (:data:`~riskscore.io.schema.MAX_PAIR_ID_LENGTH`),
    every other id is at most :data:`~riskscore.io.schema.MAX_ID_LENGTH`."""
    return MAX_PAIR_ID_LENGTH if column == "conversation_id" else MAX_ID_LENGTH


def id_problem(column: str, value: object, *, arriving: bool = False) -> str | None:
    """What is wrong with ``value`` as an id of the queue's ``column`` (None: nothing), as
    written (:mod:`riskscore.moderation.intake`) and read back: the rule of the event id
    columns (:func:`riskscore.io.ids.stored_id_problem` up to :func:`max_id_length`; an id
    ``arriving``, to be written, is held to the sentence rule of events too). Other types
    are left to the caller.

    Examples
    --------
    >>> id_problem("adult_id", "a" * 300) is None, id_problem("conversation_id", "a" * 300)
    (False, None)
    """
    return stored_id_problem(value, max_length=max_id_length(column), sentence=arriving)
