"""The queue's items as it had received them by a past time, from their audit entries.

Private to the review queue (:meth:`~riskscore.moderation.queue.ReviewQueue.items_at`).
A report of a closed period is the same whenever it is made, so it counts what the queue
had *received* by the period's end, never what it received later, whatever time that
carries (an alert on last month's events scored today is received today).

**When the queue received a signal** (:func:`received_times`): every ``enqueue`` and
``update`` audit entry is one signal (an alert, or a user report). A queue of real
decisions received it at the clock's time it was written (``recorded_at``), or at the
time it carries when that is later (an item dated ahead of the clock is shown, and so
received, from its time). An item is received with its first signal. A simulated queue
has no clock: its times are the simulation's, taken as given (an item is received at the
time it carries, as a decision is made at the time given), so a simulation that queues an
item dated in a period it has reported changes that report; a queue of real decisions
cannot be given its times. (Taking the latest time a simulation had queued as its clock
was rejected: one item dated in 2199 would move every later one there.)

A later alert on a conversation whose alert is still open updates that item (its tier,
risk and channel raised), so the item as stored now is not what it was at
the end of a past period; a report of that period, made again later, would count it in
another tier or channel. Every ``enqueue`` and ``update`` audit entry of an alert records
the signal it brought (``risk``, ``tier`` and, since schema version 4, ``channel``); the
item as it stood at ``end`` is the one those of its signals received before ``end`` make,
by the rule :mod:`~riskscore.moderation.intake` merges them with: the highest tier and
risk, the most private channel (:func:`~riskscore.moderation.intake.most_private`), and
the earliest time carried (``created_at``: an older-dated alert merged into the item moves
its start).

A queue file upgraded to schema version 4 recorded no channel in its earlier entries:
:mod:`~riskscore.moderation.queue_db` kept each alert's channel at the upgrade
(``channel_baseline``: the channel after its latest entry then). Its channel at ``end``
is known when every earlier entry is dated before ``end``; otherwise (an update of the
item dated at or after ``end`` written before the upgrade) the item keeps its channel as
stored, and :func:`items_at` names it.
"""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from collections.abc import Iterator
from typing import Any

from riskscore.io.schema import CHANNEL_NAMES
from riskscore.moderation.cases import QueueError, QueueItem
from riskscore.moderation.intake import most_private
from riskscore.moderation.queue_db import is_simulated
from riskscore.moderation.queue_rows import CHANGED_OUTSIDE, audit_detail, stored_text

__all__ = ["CHANNEL_NOTES", "items_at", "with_received"]

#: The note of a report's table by channel, by whether every alert's channel is as it
#: stood at the period's end (a report's ``channels_at_period_end``).
CHANNEL_NOTES = {
    True: "For alerts: the most private channel the conversation had reached by the period's end.",
    False: "For alerts: the most private channel the conversation had reached by the period's "
    "end; some alerts of the period, queued before riskscore recorded each alert's channel, "
    "were updated after its end: they are counted under their channel now.",
}

_Signal = tuple[int, int, int, dict[str, Any]]  # entry id, received, time, detail


def received_times(con: sqlite3.Connection, *, simulated: bool) -> dict[int, int]:
    """When the queue received each item, by item id, in epoch seconds: when it received
    its first signal (see the module's notes; ``simulated``: the queue was created in
    simulation mode, whose items are received at the time they carry).

    Raises
    ------
    QueueError
        An audit entry's time is not one riskscore writes (the file was changed outside
        riskscore), naming the entry.
    """
    out: dict[int, int] = {}
    for _, item_id, came, _, _ in _signals(con, simulated=simulated):
        out.setdefault(item_id, came)
    return out


def with_received(con: sqlite3.Connection, items: list[QueueItem]) -> list[QueueItem]:
    """``items``, each with the time the queue received it (``received_at``,
    :func:`received_times`)."""
    came = received_times(con, simulated=is_simulated(con))
    return [dataclasses.replace(i, received_at=came.get(i.item_id)) for i in items]


def _signals(
    con: sqlite3.Connection, *, simulated: bool
) -> Iterator[tuple[int, int, int, int, str]]:
    """Entry id, item id, time received, time carried and detail of every ``enqueue`` and
    ``update`` audit entry, in the order written: received at the clock's time it was
    written (``recorded_at``), or at the time it carries when that is later or the queue is
    ``simulated``."""
    for entry_id, item_id, at, recorded, detail in con.execute(
        "SELECT entry_id, item_id, at, recorded_at, detail FROM audit "
        "WHERE action IN ('enqueue', 'update') ORDER BY entry_id"
    ):
        if type(at) is not int:  # compared with the end of a period
            raise _bad(entry_id, "time", at)
        if simulated:
            yield entry_id, int(item_id), at, at, detail
            continue
        if type(recorded) not in (int, float) or not math.isfinite(recorded):
            raise _bad(entry_id, "recording time", recorded)
        yield entry_id, int(item_id), max(at, math.floor(recorded)), at, detail


def items_at(
    con: sqlite3.Connection, items: list[QueueItem], end: int
) -> tuple[list[QueueItem], frozenset[int]]:
    """``items`` the queue received before ``end`` (``end`` excluded), each with the time it
    received it (``received_at``) and, for an alert, the tier, risk, channel and earliest
    time (``created_at``) of its signals received before ``end``; and the ids of those
    whose channel could not be reconstructed (kept as stored, see the module's notes).

    Raises
    ------
    QueueError
        An audit entry's recorded signal or time is not one riskscore writes (the file was
        changed outside riskscore), naming the entry.
    """
    signals: dict[int, list[_Signal]] = {}
    for entry_id, item_id, came, at, detail in _signals(con, simulated=is_simulated(con)):
        signals.setdefault(item_id, []).append((entry_id, came, at, audit_detail(entry_id, detail)))
    baseline = {}
    kept_then = "SELECT item_id, entry_id, channel FROM channel_baseline"
    for item_id, entry_id, channel in con.execute(kept_then):
        if type(entry_id) is not int or not (channel is None or channel in CHANNEL_NAMES):
            raise QueueError(
                f"review queue item {stored_text('item_id', item_id)}: its channel at the "
                "upgrade to schema "
                f"version 4 is {stored_text('channel', channel)} after entry "
                f"{stored_text('entry_id', entry_id)}, not as riskscore "
                f"writes it ({CHANGED_OUTSIDE})"
            )
        baseline[int(item_id)] = (entry_id, channel)
    out, unknown = [], set()
    for item in items:
        mine = signals.get(item.item_id, [])
        # an item is received with its first signal; one with no entry (a file changed
        # outside riskscore) at the time it carries
        came = mine[0][1] if mine else item.created_at
        if came >= end:
            continue  # received after the period: counted in a later one
        item = dataclasses.replace(item, received_at=came)
        before = [s for s in mine if s[1] < end]
        if item.kind != "alert":
            out.append(item)
            continue
        item = dataclasses.replace(
            item, created_at=min((s[2] for s in before), default=item.created_at)
        )
        if len(before) == len(mine):
            out.append(item)  # nothing received at or after the end changed it
            continue
        channel, known = _channel(before, mine, baseline.get(item.item_id), end)
        if not known:
            unknown.add(item.item_id)
        out.append(
            dataclasses.replace(
                item,
                tier=max(_tier(s) for s in before),
                risk=max(_risk(s) for s in before),
                channel=channel if known else item.channel,
            )
        )
    return out, frozenset(unknown)


def _channel(
    before: list[_Signal], mine: list[_Signal], baseline: tuple[int, str | None] | None, end: int
) -> tuple[str | None, bool]:
    """The most private channel of the signals ``before``, and whether it is known: an
    entry that recorded no channel is known only through ``baseline`` (the channel after
    its entry id), when no entry up to it is dated at or after ``end``."""
    channel: str | None = None
    upto = -1 if baseline is None else baseline[0]
    if baseline is not None:
        if any(entry_id <= upto and came >= end for entry_id, came, _, _ in mine):
            return None, False
        channel = baseline[1]
    for entry_id, _, _, detail in before:
        if entry_id <= upto:
            continue
        if "channel" not in detail:  # an entry of no version 4 outside the baseline
            return None, False
        value = detail["channel"]
        if value is not None and value not in CHANNEL_NAMES:
            raise _bad(entry_id, "channel", value)
        channel = most_private([channel, value])
    return channel, True


def _tier(signal: _Signal) -> int:
    entry_id, _, _, detail = signal
    value = detail.get("tier")
    if type(value) is not int or value not in (1, 2):
        raise _bad(entry_id, "tier", value)
    return value


def _risk(signal: _Signal) -> float:
    entry_id, _, _, detail = signal
    value = detail.get("risk")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(entry_id, "risk", value)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise _bad(entry_id, "risk", value)
    return float(value)


def _bad(entry_id: int, name: str, value: Any) -> QueueError:
    return QueueError(
        f"review queue audit entry {entry_id}: the signal's {name} is "
        f"{stored_text(name, value)}, not one "
        f"riskscore writes ({CHANGED_OUTSIDE})"
    )
