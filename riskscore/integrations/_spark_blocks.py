"""Arrow plumbing the Spark stages share (private; no pyspark import): a stream of batches
cut into blocks that never split a conversation or an account, and account ids and pair
facts read from Arrow columns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.features.pairs import PairFacts
from riskscore.integrations._spark_columns import PAIR_FIRST, PAIR_PRIVATE

__all__ = ["column_ids", "id_array", "key_blocks", "pair_facts"]


def key_blocks(
    batches: Iterable[pa.RecordBatch], block_events: int, key: str | None = "conversation_id"
) -> Iterator[pa.Table]:
    """Regroup a stream of batches into tables of at least ``block_events`` rows (except
    the last) that never split a run of equal ``key`` values.

    With ``key`` the stream must be sorted (or grouped) by it: the blocks then hold
    whole conversations (or accounts). ``key=None`` cuts anywhere. Memory held: one
    block, plus the rows of the run still open, plus one batch.
    """
    pending: list[pa.RecordBatch] = []
    n_pending = 0
    n_complete = 0  # leading rows of ``pending`` whose runs are known to be complete
    last: Any = None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if key is None:
            n_complete = n_pending + batch.num_rows
        else:
            values = batch.column(key)
            batch_last = values[batch.num_rows - 1]
            if last is None or batch_last != last:
                # the open run ends in this batch; a new one runs to its end
                n_complete = n_pending + pc.index(values, batch_last).as_py()
                last = batch_last
        pending.append(batch)
        n_pending += batch.num_rows
        if n_complete >= block_events:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, n_complete)
            pending = table.slice(n_complete).to_batches()
            n_pending -= n_complete
            n_complete = 0
    if n_pending:
        yield pa.Table.from_batches(pending)


def column_ids(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[Any]:
    return np.asarray(column.to_numpy(zero_copy_only=False))


def id_array(values: npt.NDArray[Any], type_: pa.DataType) -> pa.Array:
    """Account ids as Arrow (an empty array of any dtype gives an empty one of ``type_``)."""
    return pa.array(values if len(values) else [], type=type_)


def pair_facts(rows: pa.Table, lo: str, hi: str, kind: str | None = None) -> PairFacts:
    """Pair fact rows as :class:`PairFacts` (ids as text when ``kind`` is text)."""
    lo_ids, hi_ids = column_ids(rows.column(lo)), column_ids(rows.column(hi))
    if kind is not None and kind in "UO":
        lo_ids, hi_ids = lo_ids.astype(str).astype(object), hi_ids.astype(str).astype(object)
    return PairFacts(
        lo=lo_ids,
        hi=hi_ids,
        first=np.asarray(rows.column(PAIR_FIRST).to_numpy(), dtype=np.float64),
        private=np.asarray(rows.column(PAIR_PRIVATE).to_numpy(), dtype=np.float64),
    )
