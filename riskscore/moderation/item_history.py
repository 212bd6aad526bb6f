"""An alert's tier, risk and channel as they stood at a past time, from its audit entries.

Private to the review queue (:meth:`~riskscore.moderation.queue.ReviewQueue.items_at`).
A later alert on a conversation whose alert is still open updates that item (its tier,
risk and channel raised), so the item as stored now is not what it was at
the end of a past period; a report of that period, made again later, would count it in
another tier or channel. Every ``enqueue`` and ``update`` audit entry of an alert records
the signal it brought (``risk``, ``tier`` and, since schema version 4, ``channel``); the
item as it stood at ``end`` is the one those of its signals dated before ``end`` make, by
the rule :mod:`~riskscore.moderation.intake` merges them with: the highest tier and risk,
the most private channel (:func:`~riskscore.moderation.intake.most_private`).

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
from typing import Any

from riskscore.io.raw import show
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.moderation.cases import QueueError, QueueItem
from riskscore.moderation.intake import most_private
from riskscore.moderation.queue_rows import CHANGED_OUTSIDE, audit_detail

__all__ = ["CHANNEL_NOTES", "items_at"]

#: The note of a report's table by channel, by whether every alert's channel is as it
#: stood at the period's end (a report's ``channels_at_period_end``).
CHANNEL_NOTES = {
    True: "For alerts: the most private channel the conversation had reached by the period's end.",
    False: "For alerts: the most private channel the conversation had reached by the period's "
    "end; some alerts of the period, queued before riskscore recorded each alert's channel, "
    "were updated after its end: they are counted under their channel now.",
}

_Signal = tuple[int, int, dict[str, Any]]  # entry id, time, detail


def items_at(
    con: sqlite3.Connection, items: list[QueueItem], end: int
) -> tuple[list[QueueItem], frozenset[int]]:
    """``items`` created before ``end``, each alert with the tier, risk and channel it had
    at ``end`` (``end`` excluded), and the ids of those whose channel could not be
    reconstructed (kept as stored, see the module's notes).

    Raises
    ------
    QueueError
        An audit entry's recorded signal is not one riskscore writes (the file was changed
        outside riskscore), naming the entry.
    """
    kept = [i for i in items if i.created_at < end]
    signals: dict[int, list[_Signal]] = {}
    for entry_id, item_id, at, detail in con.execute(
        "SELECT entry_id, item_id, at, detail FROM audit "
        "WHERE action IN ('enqueue', 'update') AND item_id IN "
        "(SELECT item_id FROM items WHERE kind = 'alert' AND created_at < ?) "
        "ORDER BY entry_id",
        (end,),
    ):
        if type(at) is not int:  # compared with the end below
            raise _bad(entry_id, "time", at)
        signals.setdefault(int(item_id), []).append((entry_id, at, audit_detail(entry_id, detail)))
    baseline = {}
    kept_then = "SELECT item_id, entry_id, channel FROM channel_baseline"
    for item_id, entry_id, channel in con.execute(kept_then):
        if type(entry_id) is not int or not (channel is None or channel in CHANNEL_NAMES):
            raise QueueError(
                f"review queue item {show(item_id)}: its channel at the upgrade to schema "
                f"version 4 is {show(channel)} after entry {show(entry_id)}, not as riskscore "
                f"writes it ({CHANGED_OUTSIDE})"
            )
        baseline[int(item_id)] = (entry_id, channel)
    out, unknown = [], set()
    for item in kept:
        mine = signals.get(item.item_id, [])
        if item.kind != "alert" or all(at < end for _, at, _ in mine):
            out.append(item)  # nothing dated at or after the end changed it
            continue
        before = [s for s in mine if s[1] < end]
        channel, known = _channel(before, mine, baseline.get(item.item_id), end)
        if not known:
            unknown.add(item.item_id)
        out.append(
            dataclasses.replace(
                item,
                tier=max(_tier(s) for s in before) if before else item.tier,
                risk=max(_risk(s) for s in before) if before else item.risk,
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
        if any(entry_id <= upto and at >= end for entry_id, at, _ in mine):
            return None, False
        channel = baseline[1]
    for entry_id, _, detail in before:
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
    entry_id, _, detail = signal
    value = detail.get("tier")
    if type(value) is not int or value not in (1, 2):
        raise _bad(entry_id, "tier", value)
    return value


def _risk(signal: _Signal) -> float:
    entry_id, _, detail = signal
    value = detail.get("risk")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(entry_id, "risk", value)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise _bad(entry_id, "risk", value)
    return float(value)


def _bad(entry_id: int, name: str, value: Any) -> QueueError:
    return QueueError(
        f"review queue audit entry {entry_id}: the signal's {name} is {show(value)}, not one "
        f"riskscore writes ({CHANGED_OUTSIDE})"
    )
