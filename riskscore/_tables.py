"""Build a sorted, coded :class:`MessageTable` from validated columns (private)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore._segments import spread
from riskscore._threads import executor_for
from riskscore.messages import MessageTable, Quarantine

IntArray = npt.NDArray[np.int64]


#: Integer ids spanning at most this many values per row are coded with a lookup table
#: (O(n + span)) instead of a sort (O(n log n)).
_DENSE_SPAN_PER_ROW = 4


def factorize(*columns: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], list[IntArray]]:
    """Sorted unique values over all the columns, and each column's dense codes."""
    dense = _dense_lookup(columns)
    if dense is not None:
        uniques, code_of, low = dense

        def code(col: npt.NDArray[Any]) -> IntArray:
            coded: IntArray = code_of[col - low if low else col]
            return coded

        with executor_for(len(columns[0]) if len(columns) > 1 else 0) as pool:
            return uniques, list(pool.map(code, columns))
    both = columns[0] if len(columns) == 1 else np.concatenate(columns)
    uniques, codes = np.unique(both, return_inverse=True)
    codes = codes.astype(np.int64, copy=False).reshape(-1)
    bounds = np.cumsum([len(c) for c in columns])[:-1]
    return uniques, np.split(codes, bounds)


def _dense_lookup(
    columns: tuple[npt.NDArray[Any], ...],
) -> tuple[npt.NDArray[Any], IntArray, int] | None:
    """For integer ids with a compact range: the sorted unique values, a table from
    ``value - low`` to code, and ``low`` (0 when small ids can index the table as they
    are). None otherwise."""
    n = sum(len(c) for c in columns)
    if n == 0 or any(c.dtype.kind not in "iu" for c in columns):
        return None
    low = min(int(c.min()) for c in columns if len(c))
    high = max(int(c.max()) for c in columns if len(c))
    limit = _DENSE_SPAN_PER_ROW * n + 1024
    if high - low + 1 > limit:
        return None
    if 0 <= low <= high - low + 1:  # a table at most twice as long, without the subtraction
        low = 0
    present = np.zeros(high - low + 1, dtype=bool)
    for col in columns:
        present[col - low if low else col] = True
    code_of = np.cumsum(present, dtype=np.int64) - 1
    uniques = np.flatnonzero(present) + low
    return uniques.astype(np.result_type(*columns), copy=False), code_of, low


def _is_sorted(
    conversation_id: npt.NDArray[Any], timestamp: IntArray, source_row: IntArray
) -> bool:
    """Whether rows are already sorted by (conversation, timestamp, source row): then the
    sort is the identity and can be skipped (one O(n) pass instead of O(n log n))."""
    if len(conversation_id) < 2:
        return True
    same = conversation_id[1:] == conversation_id[:-1]
    if not np.all(same | (conversation_id[1:] > conversation_id[:-1])):
        return False
    tie = same & (timestamp[1:] == timestamp[:-1])
    later = timestamp[1:] > timestamp[:-1]
    return bool(np.all(~same | later | (tie & (source_row[1:] > source_row[:-1]))))


def build_table(
    cols: dict[str, npt.NDArray[Any]],
    source_row: IntArray,
    quarantined: Quarantine | None = None,
) -> MessageTable:
    """Sort validated columns by (conversation, timestamp, input order) and add codes.

    ``cols`` must already hold the schema v1 columns with their final dtypes.
    """
    n = len(cols["timestamp"])
    if _is_sorted(cols["conversation_id"], cols["timestamp"], source_row):
        # Already in (conversation, timestamp) order, ties in input order: no sort needed.
        sorted_cols = dict(cols)
        is_start = np.ones(n, dtype=bool)
        if n:
            is_start[1:] = cols["conversation_id"][1:] != cols["conversation_id"][:-1]
        conv_code = np.cumsum(is_start, dtype=np.int64) - 1
        conversations = cols["conversation_id"][is_start]
        order = None
    else:
        conversations, (conv_code,) = factorize(cols["conversation_id"])
        # lexsort is stable, so events with equal timestamps keep their input order.
        order = np.lexsort((source_row, cols["timestamp"], conv_code))
        sorted_cols = {name: arr[order] for name, arr in cols.items()}
        conv_code = conv_code[order]
        is_start = np.ones(n, dtype=bool)
        if n:
            is_start[1:] = conv_code[1:] != conv_code[:-1]
    segment_starts = np.flatnonzero(is_start).astype(np.int64)
    accounts, (sender_code, recipient_code) = factorize(
        sorted_cols["sender_id"], sorted_cols["recipient_id"]
    )
    return MessageTable(
        conversation_id=sorted_cols["conversation_id"],
        timestamp=sorted_cols["timestamp"],
        sender_id=sorted_cols["sender_id"],
        recipient_id=sorted_cols["recipient_id"],
        sender_age=sorted_cols["sender_age"],
        recipient_age=sorted_cols["recipient_age"],
        channel=sorted_cols["channel"],
        event=sorted_cols["event"],
        recipient_tz_offset_min=sorted_cols["recipient_tz_offset_min"],
        conversation_code=conv_code,
        conversations=conversations,
        segment_starts=segment_starts,
        sender_code=sender_code,
        recipient_code=recipient_code,
        accounts=accounts,
        source_row=source_row if order is None else source_row[order],
        quarantined=quarantined if quarantined is not None else Quarantine(),
    )


def conversation_parts(table: MessageTable, max_events: int) -> list[tuple[int, int]]:
    """Consecutive ranges ``(start, stop)`` of conversation codes, each holding about
    ``max_events`` events (more when one conversation alone is longer): a conversation is
    never split between parts."""
    n = table.n_conversations
    if n == 0:
        return []
    cuts = np.searchsorted(table.segment_starts, np.arange(max_events, len(table), max_events))
    edges = np.unique(np.concatenate([[0], cuts, [n]]))
    return list(pairwise(edges.tolist()))


def slice_conversations(table: MessageTable, start: int, stop: int) -> MessageTable:
    """Conversations ``start`` to ``stop - 1`` (codes) as a table of views into ``table``.

    Account codes and :attr:`~MessageTable.accounts` stay those of the whole table, so
    per-account results of the parts line up with each other.
    """
    starts = table.segment_starts
    first = int(starts[start])
    last = int(starts[stop]) if stop < table.n_conversations else len(table)
    rows = slice(first, last)
    return MessageTable(
        conversation_id=table.conversation_id[rows],
        timestamp=table.timestamp[rows],
        sender_id=table.sender_id[rows],
        recipient_id=table.recipient_id[rows],
        sender_age=table.sender_age[rows],
        recipient_age=table.recipient_age[rows],
        channel=table.channel[rows],
        event=table.event[rows],
        recipient_tz_offset_min=table.recipient_tz_offset_min[rows],
        conversation_code=table.conversation_code[rows] - start,
        conversations=table.conversations[start:stop],
        segment_starts=starts[start:stop] - first,
        sender_code=table.sender_code[rows],
        recipient_code=table.recipient_code[rows],
        accounts=table.accounts,
        source_row=table.source_row[rows],
    )


def subset_conversations(table: MessageTable, codes: IntArray) -> MessageTable:
    """Keep the events of the conversations whose codes are given."""
    keep = np.zeros(table.n_conversations, dtype=bool)
    keep[codes] = True
    mask = spread(keep, table.segment_starts, len(table))
    cols = {name: arr[mask] for name, arr in table.columns(decoded=False).items()}
    return build_table(cols, table.source_row[mask])
