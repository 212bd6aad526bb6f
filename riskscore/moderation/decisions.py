"""Recording moderators' work on the review queue: first reviews and decisions.

Private to :class:`~riskscore.moderation.queue.ReviewQueue` (:meth:`mark_reviewed`,
:meth:`decide`, which document the rules). A decision names what the moderator was shown
(item ids, or a case's version token), so items that arrived since stay open and a case
that changed since is refused. Decision times come from the clock, except in a queue
opened in simulation mode; each audit entry records which (``detail["time"]``).
Every function that writes runs inside the caller's transaction
(:func:`~riskscore.moderation.queue_db.write`) and logs each change.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

import riskscore.moderation.queue_db as db
from riskscore.io.shown_ids import shown_id
from riskscore.io.timestamps import iso_utc
from riskscore.moderation.cases import Outcome, QueueError, check_epoch
from riskscore.moderation.intake import new_id
from riskscore.moderation.queue_rows import ITEMS_SELECT, id_problem, item_from_row

__all__ = ["check_decided_id", "decide_items", "decision_time", "item_ids", "review_items"]


def check_decided_id(con: sqlite3.Connection, adult_id: Any) -> None:
    """Refuse ``adult_id``, named by a decision, when no case can have it: by the rule of
    ids arriving in the queue (:func:`~riskscore.moderation.intake.new_id`: not int or
    text, empty, over-long, unprintable, or a sentence), quoted as that rule quotes it. A
    sentence the queue holds items of passes: an earlier version queued it (before ids
    arriving were held to the sentence rule of events), the queue reads it back and shows
    its case, and a moderator must be able to close it."""
    try:
        new_id("adult_id", adult_id)
    except ValueError as error:
        held = (  # a sentence is text; another kind, or an id refused read back, no case
            isinstance(adult_id, str)
            and id_problem("adult_id", adult_id) is None
            and con.execute(
                "SELECT 1 FROM items WHERE adult_id = ? LIMIT 1", (db.encode_id(adult_id),)
            ).fetchone()
            is not None
        )
        if not held:
            raise QueueError(str(error)) from None


def decision_time(at: int | None, *, simulation: bool) -> tuple[int, str]:
    """Decision time and where it came from: the clock (``"clock"``), or ``at`` in
    simulation mode only (``"simulated"``); the source is kept in the audit entry."""
    if at is None:
        return int(time.time()), "clock"
    if not simulation:
        raise QueueError(
            "a decision's time comes from the clock; a caller-given 'at' is accepted only "
            "by a ReviewQueue opened with simulation=True (reports mark it as simulated)"
        )
    return check_epoch(at, "at"), "simulated"


def item_ids(values: Iterable[Any]) -> list[int]:
    """Item ids as ints, duplicates dropped (first occurrence kept)."""
    if isinstance(values, (str, bytes)):
        raise QueueError(f"item_ids must be a sequence of ints, got {values!r}")
    out: list[int] = []
    for i in values:
        if isinstance(i, np.integer):
            i = int(i)
        if isinstance(i, bool) or not isinstance(i, int):
            raise QueueError(f"item ids must be ints, got {i!r}")
        out.append(i)
    if not out:
        raise QueueError("item_ids is empty: name the items the moderator was shown")
    return list(dict.fromkeys(out))


def review_items(
    con: sqlite3.Connection,
    adult: str,
    wanted: set[int] | None,
    *,
    moderator: str,
    when: int,
    source: str,
) -> int:
    """Mark the open, unreviewed items of the encoded ``adult`` visible at ``when`` (those
    in ``wanted``, or all) as first reviewed; return how many."""
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


def decide_items(
    con: sqlite3.Connection,
    adult_id: Any,
    chosen: list[int],
    versions: dict[int, int] | None,
    result: Outcome,
    *,
    moderator: str,
    note: str,
    when: int,
    source: str,
) -> int:
    """Close the ``chosen`` open items of ``adult_id`` with ``result``; with ``versions``
    (from a case's token) refuse any item changed since it was shown, and any item created
    or first reviewed after ``when``. All or nothing. Each audit entry records the decision
    it belongs to (``detail["decision"]``: the smallest item id closed, read back as
    :attr:`~riskscore.moderation.cases.QueueItem.decision_id`)."""
    adult = db.encode_id(adult_id)
    # The decision's id: the smallest item it closes, which no other decision can close,
    # so two decisions of one second, outcome and adult are never read back as one.
    decision = min(chosen)
    for item_id in chosen:
        row = con.execute(ITEMS_SELECT + " WHERE items.item_id = ?", (item_id,)).fetchone()
        if row is None or row["adult_id"] != adult or row["status"] != "open":
            raise QueueError(
                f"item {item_id} is not an open item of adult {shown_id(adult_id)}: "
                f"{_why_not_open(row, adult)}; nothing was recorded, reload the case"
            )
        # Read as every item is: a value riskscore never writes is refused by name, never
        # compared as found (a created_at of text was a TypeError).
        item = item_from_row(row)
        # Never dated before what it decides (an item dated ahead is not shown yet).
        for at, what in ((item.created_at, "created"), (item.first_reviewed_at, "first reviewed")):
            if at is not None and when < at:
                raise QueueError(
                    f"item {item_id} was {what} at {at}, after the decision time "
                    f"{when}: a decision cannot precede it"
                )
        if versions is not None and item.n_signals != versions[item_id]:
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
            detail={"outcome": result.value, "note": note, "time": source, "decision": decision},
        )
    return len(chosen)


def _why_not_open(row: sqlite3.Row | None, adult: str) -> str:
    """Why an item named in a decision cannot be decided: none such, another adult's, or
    decided already, then by whom, how and when (a second moderator deciding the case
    shown to both learns that the first one did, not that the id may be wrong)."""
    if row is None:
        return "there is no such item"
    if row["adult_id"] != adult:
        return "it is an item of another case"
    decided_at = row["decided_at"]  # shown only as riskscore writes it (a tampered one is not)
    when = f" at {iso_utc(decided_at)}" if type(decided_at) is int else ""
    return f"it was decided already ({row['status']!s:.40} by {row['decided_by']!s:.80}{when})"
