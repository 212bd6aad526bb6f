"""Parquet events files in conversation-complete chunks (the reading side of out-of-core
scoring, :mod:`riskscore.batch.out_of_core`).

A file sorted by ``conversation_id`` is streamed in record batches, the rows of the last
conversation of each batch carried into the next; an unsorted one is range-partitioned by
conversation id into temporary Parquet buckets of its schema v1 columns only (other
columns are never read, so never copied). Rows without a conversation id (null or NaN)
belong to no conversation and come in chunks of their own. Every row carries its position
in the file (column :data:`ROW_COLUMN`) so that the validator names rows as the whole file
would.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from riskscore._checks import check_whole
from riskscore.exceptions import SchemaError
from riskscore.io.columnar import schema_names, unread_names
from riskscore.io.files import refuse_unreadable
from riskscore.io.nested_fields import field_paths
from riskscore.io.text import is_bytes_type, is_text_type, parquet_file, plain_views

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "ROW_COLUMN",
    "NotSortedError",
    "check_chunk_rows",
    "check_parquet_columns",
    "iter_conversation_chunks",
    "partitioned_chunks",
    "sorted_chunks",
    "unread_parquet_columns",
]

AnyArray = npt.NDArray[Any]

#: Default number of events per chunk (about 1 GiB of peak memory with scoring at 10 million
#: events, 1.6 GiB at 100 million: two chunks are in memory at once).
DEFAULT_CHUNK_ROWS = 2_000_000

#: The largest ``chunk_rows`` (the bound of ``--chunk-rows``, as of every count option).
MAX_CHUNK_ROWS: Final = 2**53

#: The column that carries each row's position in the file through chunks and buckets.
ROW_COLUMN = "__riskscore_source_row__"


def check_chunk_rows(chunk_rows: object) -> int:
    """``chunk_rows`` as an int from 1 to :data:`MAX_CHUNK_ROWS`, or ValueError naming it
    (a bool, a float, text, NaN or a number beyond int64 is no count of rows)."""
    return check_whole("chunk_rows", chunk_rows, 1, MAX_CHUNK_ROWS)


def _check_id_type(path: Path) -> None:
    """Refuse a ``conversation_id`` column whose type holds no ids at all (lists, structs,
    ...): its rows cannot even be grouped into conversations."""
    with parquet_file(path) as parquet:
        kind = parquet.schema_arrow.field("conversation_id").type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    groupable = (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)  # a warehouse's NUMBER(38, 0), read as its integers
        or is_text_type(kind)
        or is_bytes_type(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_null(kind)
    )
    if not groupable:
        raise SchemaError(
            f"column 'conversation_id' of {path.name} has type {kind}: ids are integers or text",
            column="conversation_id",
        )


def _has_id(table: pa.Table) -> AnyArray:
    """Rows with a conversation id (not null, not NaN), as a boolean array."""
    col = table.column("conversation_id")
    valid = pc.is_valid(col)
    if pa.types.is_floating(col.type):
        valid = pc.and_(valid, pc.invert(pc.fill_null(pc.is_nan(col), True)))
    return np.asarray(valid.to_numpy(zero_copy_only=False), dtype=bool)


def _ids_of(table: pa.Table) -> AnyArray:
    """The conversation ids of rows that have one (text ids stay str objects: memory follows
    the data, not the longest id)."""
    return np.asarray(table.column("conversation_id").to_numpy(zero_copy_only=False))


def _split_missing(table: pa.Table) -> tuple[pa.Table, pa.Table | None]:
    """The rows with a conversation id, and those without (None when there are none)."""
    col = table.column("conversation_id")
    if col.null_count == 0 and not pa.types.is_floating(col.type):
        return table, None  # every row has an id: nothing to split (nor to copy)
    has = _has_id(table)
    if has.all():
        return table, None
    return table.filter(pa.array(has)), table.filter(pa.array(~has))


def check_parquet_columns(path: Path) -> list[str]:
    """The schema v1 columns of a Parquet file, after its column names are checked (a
    content-like column is refused here, before anything is read or written): the only
    columns read, and so the only ones ever copied into temporary files."""
    try:
        with parquet_file(path) as parquet:
            schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        refuse_unreadable(path, exc)
    return schema_names(list(schema.names), field_paths(schema))


def unread_parquet_columns(path: Path) -> tuple[str, ...]:
    """The columns of a Parquet file that are not schema v1 columns (never read)."""
    with parquet_file(path) as parquet:
        return unread_names(list(parquet.schema_arrow.names))


def _scan(path: Path, batch_rows: int) -> tuple[bool, AnyArray]:
    """Whether a Parquet file's ``conversation_id`` never decreases (rows without one left
    out), and a sample of its ids for range partitioning (reads that one column only)."""
    last: Any = None
    is_sorted = True
    sample = []
    with parquet_file(path) as pf:
        stride = max(pf.metadata.num_rows // 200_000, 1)
        for batch in pf.iter_batches(batch_size=batch_rows, columns=["conversation_id"]):
            ids = _ids_of(_split_missing(plain_views(pa.Table.from_batches([batch])))[0])
            if len(ids) == 0:
                continue
            sample.append(ids[::stride])
            if is_sorted and (
                (last is not None and ids[0] < last) or not np.all(ids[1:] >= ids[:-1])
            ):
                is_sorted = False
            last = ids[-1]
    return is_sorted, (np.concatenate(sample) if sample else np.empty(0, dtype=np.int64))


class NotSortedError(Exception):
    """Raised by :func:`sorted_chunks` at the first batch whose conversation ids go down:
    the file is not sorted by conversation, and its chunks so far are to be discarded."""


def sorted_chunks(path: Path, chunk_rows: int) -> Iterator[pa.Table]:
    """Conversation-complete chunks of a file sorted by conversation id; rows without a
    conversation id come as chunks of their own.

    The order is checked as the batches stream (no pass before): the first batch whose
    ids go down raises :class:`NotSortedError`, so a file that is not sorted is never
    chunked as if it were.
    """
    _check_id_type(path)
    # The rows of the last conversation so far, which may continue in the next batch, as
    # the pieces they came in (joined once, when the conversation ends: joined again at
    # every batch, one conversation of millions of events took quadratic time).
    carry: list[pa.Table] = []
    carry_id: Any = None
    for batch in _batches(path, chunk_rows):
        batch, missing = _split_missing(batch)
        if missing is not None:
            yield missing
        fresh = _ids_of(batch)
        if len(fresh) == 0:
            continue
        if (carry and fresh[0] < carry_id) or not np.all(fresh[1:] >= fresh[:-1]):
            raise NotSortedError(f"{path.name} is not sorted by conversation_id")
        ends = int(np.searchsorted(fresh, carry_id, side="right")) if carry else 0
        if ends == len(fresh):  # the carried conversation goes on through the batch
            carry.append(batch)
            continue
        rest, rest_ids = batch.slice(ends), fresh[ends:]
        cut = int(np.searchsorted(rest_ids, rest_ids[-1], side="left"))
        done = [*carry, batch.slice(0, ends + cut)]  # the conversations that ended
        if ends + cut or carry:
            yield pa.concat_tables(done)
        carry, carry_id = [rest.slice(cut)], rest_ids[-1]
    if carry:
        yield pa.concat_tables(carry)


def _batches(path: Path, batch_rows: int) -> Iterator[pa.Table]:
    """The rows of a Parquet file as tables of about ``batch_rows`` rows, in file order,
    with each row's position in the file in the column ``ROW_COLUMN``."""
    # pre_buffer=True keeps every row group's read buffers until the file is closed
    # (memory grows with the file); without it memory stays bounded by a batch.
    columns = check_parquet_columns(path)
    start = 0
    with parquet_file(path) as pf:
        for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
            rows = pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64))
            start += batch.num_rows
            table = plain_views(pa.Table.from_batches([batch]))
            yield table.append_column(ROW_COLUMN, rows)


def _partition(
    tables: Iterable[pa.Table], n_rows: int, chunk_rows: int, sample: AnyArray, workdir: Path
) -> tuple[list[Path], Path | None]:
    """Range-partition the rows of ``tables`` by conversation id into Parquet buckets
    (boundaries from sampled quantiles), written in ``workdir``: the bucket files in id
    order, and the file of rows without a conversation id (None when there are none).
    Every conversation lies wholly in one bucket, and bucket order is conversation order."""
    n_buckets = int(min(max(-(-n_rows // chunk_rows), 1), 512))
    cuts = np.unique(np.sort(sample)[(np.arange(1, n_buckets) * len(sample)) // n_buckets])
    n_buckets = len(cuts) + 1
    files = [workdir / f"bucket_{b:04d}.parquet" for b in range(n_buckets)]
    files.append(workdir / "no_conversation_id.parquet")
    writers: dict[int, Any] = {}

    def write(b: int, table: pa.Table) -> None:
        if b not in writers:
            writers[b] = pq.ParquetWriter(files[b], table.schema)
        writers[b].write_table(table)

    try:
        for given in tables:
            table, missing = _split_missing(given)
            if missing is not None:
                write(n_buckets, missing)
            bucket = np.searchsorted(cuts, _ids_of(table), side="right")
            order = np.argsort(bucket, kind="stable")  # keeps input order within a bucket
            bounds = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
            grouped = table.take(pa.array(order))
            for b in range(n_buckets):
                lo, hi = int(bounds[b]), int(bounds[b + 1])
                if hi > lo:
                    write(b, grouped.slice(lo, hi - lo))
    finally:
        for writer in writers.values():
            writer.close()
    buckets = [files[b] for b in sorted(writers) if b < n_buckets]
    return buckets, (files[n_buckets] if n_buckets in writers else None)


def _read_buckets(
    buckets: list[Path], missing: Path | None, chunk_rows: int, *, remove: bool
) -> Iterator[pa.Table]:
    """Each bucket as one table, then the rows without a conversation id in parts of about
    ``chunk_rows``; with ``remove``, a file is removed once read."""
    for path in buckets:
        yield pq.read_table(path)
        if remove:
            path.unlink()
    if missing is not None:
        with parquet_file(missing) as pf:
            for batch in pf.iter_batches(batch_size=chunk_rows):
                yield pa.Table.from_batches([batch])
        if remove:
            missing.unlink()


def _n_rows(path: Path) -> int:
    with parquet_file(path) as pf:
        return int(pf.metadata.num_rows)


def partitioned_chunks(source: Path, chunk_rows: int, workdir: Path) -> Iterator[pa.Table]:
    """Conversation-complete chunks of a file in any order: its rows range-partitioned by
    conversation id into Parquet buckets in ``workdir`` (each removed once read), then
    the rows without a conversation id in chunks of their own."""
    _check_id_type(source)
    _, sample = _scan(source, chunk_rows)
    return _partitioned(source, chunk_rows, workdir, sample)


def _partitioned(
    source: Path, chunk_rows: int, workdir: Path, sample: AnyArray
) -> Iterator[pa.Table]:
    buckets, missing = _partition(
        _batches(source, chunk_rows), _n_rows(source), chunk_rows, sample, workdir
    )
    yield from _read_buckets(buckets, missing, chunk_rows, remove=True)


def conversation_chunks(
    source: Path, chunk_rows: int, workdir: Path
) -> tuple[bool, Iterator[pa.Table]]:
    """Whether ``source`` is sorted by conversation (one pass over its
    ``conversation_id`` column), and its conversation-complete chunks (each with the
    ``ROW_COLUMN`` column): streamed when sorted, else partitioned in ``workdir``."""
    _check_id_type(source)
    is_sorted, sample = _scan(source, chunk_rows)
    if is_sorted:
        return True, sorted_chunks(source, chunk_rows)
    return False, _partitioned(source, chunk_rows, workdir, sample)


def iter_conversation_chunks(
    path: str | os.PathLike[str],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    workdir: str | os.PathLike[str] | None = None,
) -> Iterator[pa.Table]:
    """Yield the events of a Parquet file as tables that never split a conversation.

    Parameters
    ----------
    path : str or path-like
        A Parquet events file (schema v1).
    chunk_rows : int, default 2_000_000
        Events per chunk, roughly (a chunk grows to hold a whole conversation); from 1
        to :data:`MAX_CHUNK_ROWS`.
    workdir : str or path-like, optional
        Where an unsorted file is range-partitioned (a temporary directory by default).

    Yields
    ------
    pyarrow.Table
        Events of whole conversations (schema v1 columns only); chunk ``i`` holds smaller
        conversation ids than chunk ``i + 1``. Rows without a conversation id (null or
        NaN) come in chunks of their own, which :func:`riskscore.read_messages` refuses.
    """
    source = Path(path)
    chunk_rows = check_chunk_rows(chunk_rows)
    check_parquet_columns(source)  # names checked before any temporary file is written
    with tempfile.TemporaryDirectory(dir=workdir, prefix="riskscore-buckets-") as tmp:
        _, chunks = conversation_chunks(source, chunk_rows, Path(tmp))
        for chunk in chunks:
            yield chunk.drop_columns([ROW_COLUMN])
