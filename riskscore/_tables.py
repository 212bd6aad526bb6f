"""Build a sorted, coded :class:`MessageTable` from validated columns (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.messages import MessageTable, Quarantine

IntArray = npt.NDArray[np.int64]


#: Integer ids spanning at most this many values per row are coded with a lookup table
#: (O(n + span)) instead of a sort (O(n log n)).
_DENSE_SPAN_PER_ROW = 4


def factorize(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray]:
    """Sorted unique values and each value's dense code."""
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        span = high - low + 1
        if span <= _DENSE_SPAN_PER_ROW * len(values) + 1024:
            offset = values - low if low else values
            present = np.zeros(span, dtype=bool)
            present[offset] = True
            code_of = np.cumsum(present, dtype=np.int64) - 1
            uniques = (np.flatnonzero(present) + low).astype(values.dtype, copy=False)
            return uniques, code_of[offset]
    uniques, codes = np.unique(values, return_inverse=True)
    return uniques, codes.astype(np.int64, copy=False).reshape(-1)


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
        conversations, conv_code = factorize(cols["conversation_id"])
        # lexsort is stable, so events with equal timestamps keep their input order.
        order = np.lexsort((source_row, cols["timestamp"], conv_code))
        sorted_cols = {name: arr[order] for name, arr in cols.items()}
        conv_code = conv_code[order]
        is_start = np.ones(n, dtype=bool)
        if n:
            is_start[1:] = conv_code[1:] != conv_code[:-1]
    segment_starts = np.flatnonzero(is_start).astype(np.int64)
    both = np.concatenate([sorted_cols["sender_id"], sorted_cols["recipient_id"]])
    accounts, account_code = factorize(both)
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
        sender_code=account_code[:n],
        recipient_code=account_code[n:],
        accounts=accounts,
        source_row=source_row if order is None else source_row[order],
        quarantined=quarantined if quarantined is not None else Quarantine(),
    )


def subset_conversations(table: MessageTable, codes: IntArray) -> MessageTable:
    """Keep the events of the conversations whose codes are given."""
    keep = np.zeros(table.n_conversations, dtype=bool)
    keep[codes] = True
    mask = keep[table.conversation_code]
    cols = {name: arr[mask] for name, arr in table.columns(decoded=False).items()}
    return build_table(cols, table.source_row[mask])
