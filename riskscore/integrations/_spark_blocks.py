"""Arrow plumbing the Spark stages share (private; no pyspark import): a stream of batches
cut into blocks that never split a conversation or an account, account ids and pair
facts read from Arrow columns, and conversation states packed into one binary column."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.features.pairs import PairFacts
from riskscore.features.slots import N_STATE
from riskscore.integrations._spark_columns import KIND, PAIR_FIRST, PAIR_PRIVATE

__all__ = [
    "column_ids",
    "id_array",
    "key_blocks",
    "pair_facts",
    "state_array",
    "state_matrix",
    "widened",
]

#: A state as bytes: N_STATE float64 values, little-endian whatever the machine, so that
#: executors of any byte order read the bits another wrote.
_STATE_DTYPE = np.dtype("<f8")
_STATE_BYTES = N_STATE * _STATE_DTYPE.itemsize


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


def state_array(states: npt.NDArray[np.float64]) -> pa.Array:
    """The rows of ``states`` (shape ``(n, N_STATE)``) as a binary array, one value of
    ``N_STATE`` float64 bytes per row (no copy on a little-endian machine)."""
    data = np.ascontiguousarray(states, dtype=_STATE_DTYPE)
    offsets = np.arange(len(data) + 1, dtype=np.int32) * _STATE_BYTES
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.binary(), len(data), buffers)


def state_matrix(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.float64]:
    """The states :func:`state_array` packed, as an array of shape ``(n, N_STATE)``.

    Raises
    ------
    ValueError
        A value is null or not ``N_STATE`` float64 values long.
    """
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(array)
    if array.null_count:
        raise ValueError(f"{array.null_count} of {n} conversation states are null")
    _, offsets, data = array.buffers()
    # large_binary under spark.sql.execution.arrow.useLargeVarTypes: 64-bit offsets
    width = np.int64 if pa.types.is_large_binary(array.type) else np.int32
    ends = np.frombuffer(offsets, dtype=width)[array.offset : array.offset + n + 1]
    if n and np.any(np.diff(ends) != _STATE_BYTES):
        raise ValueError(f"conversation states must be {_STATE_BYTES} bytes each")
    if not n:
        return np.empty((0, N_STATE))
    raw = np.frombuffer(data, dtype=np.uint8)[ends[0] : ends[-1]]
    # aligned native float64 for the compiled kernel (a copy only when the bytes are not)
    states = raw.view(_STATE_DTYPE).reshape(n, N_STATE)
    return np.require(states, dtype=np.float64, requirements=["C", "A"])


def widened(batch: pa.RecordBatch, schema: pa.Schema, kind: int | None = None) -> pa.RecordBatch:
    """``batch`` with the columns of ``schema``: nulls in those it lacks; with ``kind``,
    :data:`KIND` = ``kind`` (the rows of a stage that yields several kinds of rows)."""
    n = batch.num_rows
    arrays = [
        pa.array(np.full(n, kind, dtype=np.int32))
        if kind is not None and field.name == KIND
        else batch.column(field.name)
        if field.name in batch.schema.names
        else pa.nulls(n, field.type)
        for field in schema
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
