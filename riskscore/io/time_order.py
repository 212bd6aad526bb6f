"""An events file in time order as CSV or JSON lines, in bounded memory (private).

A Parquet file of events in any order (``riskscore generate`` writes them conversation by
conversation) is written in the order ``riskscore stream`` reads events: by timestamp,
then conversation id, events that tie in both kept in file order. The file is never held
in memory whole; it is read three times:

1. its timestamps, for their range;
2. its timestamps again, counted per bin of that range; consecutive bins are grouped into
   buckets of at most ``bucket_rows`` events (a bin holding more is a bucket alone);
3. its events, each appended to its bucket's spill file (Arrow IPC, beside the target,
   removed at the end).

Each bucket is then read, sorted (a stable sort, so ties stay in file order) and written.
The buckets hold consecutive ranges of time, so the file is the stable sort of the whole:
byte for byte what sorting the whole file in memory writes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from riskscore._checks import check_whole
from riskscore.exceptions import SchemaError
from riskscore.io.arrow import text_table_writer
from riskscore.io.text import parquet_file

__all__ = ["write_in_time_order"]

#: Most events sorted at once by default (about 0.5 GB of peak memory with the events
#: schema of ``riskscore generate``).
BUCKET_ROWS: Final = 1 << 21
#: Most buckets (spill files open at once); a larger file gets larger buckets.
MAX_BUCKETS: Final = 256
#: Bins of the timestamps' range that buckets are made of.
_MAX_BINS: Final = 1 << 20
#: Events read from the Parquet file at once.
_READ_ROWS: Final = 1 << 18
#: The order written: time, then conversation (ties kept in file order).
SORT_KEYS: Final = [("timestamp", "ascending"), ("conversation_id", "ascending")]


def write_in_time_order(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    bucket_rows: int = BUCKET_ROWS,
) -> Path:
    """Write the events of the Parquet file ``source`` to ``target`` (``.csv`` or
    ``.jsonl``, as :func:`riskscore.io.arrow.write_table` writes them) sorted by
    ``timestamp``, then ``conversation_id``; events that tie in both stay in file order.

    Memory holds one bucket of about ``bucket_rows`` events (larger when the file holds
    more than ``MAX_BUCKETS * bucket_rows``, or when one bin of time holds more), never the
    whole file. ``target`` is written as ``<stem>.partial<suffix>`` beside it and renamed
    when complete; on an error neither it nor a spill file is left.

    Parameters
    ----------
    source : str or path-like
        Parquet file with integer columns ``timestamp`` (no nulls) and ``conversation_id``.
    target : str or path-like
        File to write; its suffix chooses CSV or JSON lines.
    bucket_rows : int, default BUCKET_ROWS
        Events sorted at once, at least 1.

    Returns
    -------
    pathlib.Path
        ``target``.

    Raises
    ------
    ValueError
        ``bucket_rows`` is not an integer >= 1.
    SchemaError
        A null or non-integer timestamp (the error names the row), or a ``target`` suffix
        other than ``.csv`` and ``.jsonl``.
    """
    check_whole("bucket_rows", bucket_rows)
    out = Path(target)
    partial = out.with_name(f"{out.stem}.partial{out.suffix}")
    try:
        with (
            parquet_file(Path(source)) as parquet,
            tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as spill_dir,
            # events, riskscore's input format: ids stay as given (no formula escaping)
            text_table_writer(partial, parquet.schema_arrow, escape_formulas=False) as write,
        ):
            lo, width, bucket_of_bin = _buckets(parquet, bucket_rows)
            for spill in _spill(parquet, lo, width, bucket_of_bin, Path(spill_dir)):
                with spill.open("rb") as stream:
                    bucket = pa.ipc.open_stream(stream).read_all()
                spill.unlink()
                write(_sorted(bucket))
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return out


def _sorted(bucket: pa.Table) -> pa.Table:
    """One bucket's events in time order (a stable sort)."""
    return bucket.combine_chunks().sort_by(SORT_KEYS)


def _timestamps(parquet: Any) -> Iterator[tuple[int, npt.NDArray[np.int64]]]:
    """``(first row, timestamps)`` of each batch of the file, checked."""
    row = 0
    for batch in parquet.iter_batches(batch_size=_READ_ROWS, columns=["timestamp"]):
        column = batch.column(0)
        if not pa.types.is_integer(column.type):
            raise SchemaError(
                f"column 'timestamp' must hold whole epoch seconds, found {column.type}",
                column="timestamp",
            )
        if column.null_count:
            at = row + int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise SchemaError(
                f"column 'timestamp', row {at}: null; every event needs a time",
                column="timestamp",
                row=at,
            )
        yield row, column.to_numpy().astype(np.int64, copy=False)
        row += len(column)


def _buckets(parquet: Any, bucket_rows: int) -> tuple[int, int, npt.NDArray[np.int64]]:
    """``(lo, width, bucket_of_bin)``: an event at time ``t`` is in bin
    ``(t - lo) // width`` and bucket ``bucket_of_bin[bin]``; buckets are consecutive bins."""
    lo, hi = None, None
    for _, ts in _timestamps(parquet):
        if len(ts):
            lo = int(ts.min()) if lo is None else min(lo, int(ts.min()))
            hi = int(ts.max()) if hi is None else max(hi, int(ts.max()))
    if lo is None or hi is None:
        return 0, 1, np.zeros(0, dtype=np.int64)
    width = -(-(hi - lo + 1) // _MAX_BINS)
    counts = np.zeros((hi - lo) // width + 1, dtype=np.int64)
    for _, ts in _timestamps(parquet):
        counts += np.bincount((ts - lo) // width, minlength=len(counts))
    cap = max(bucket_rows, -(-int(counts.sum()) // MAX_BUCKETS))
    bucket_of_bin = np.zeros(len(counts), dtype=np.int64)
    bucket, held = 0, 0
    for i in np.flatnonzero(counts):
        if held and held + counts[i] > cap:
            bucket, held = bucket + 1, 0
        bucket_of_bin[i] = bucket
        held += int(counts[i])
    # bins without events between two buckets: any bucket will do; keep them increasing
    np.maximum.accumulate(bucket_of_bin, out=bucket_of_bin)
    return lo, width, bucket_of_bin


def _plain(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with dictionary columns decoded (each Parquet row group has its own
    dictionary; the values written are the same)."""
    arrays = [
        col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col
        for col in batch.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _spill(
    parquet: Any, lo: int, width: int, bucket_of_bin: npt.NDArray[np.int64], directory: Path
) -> list[Path]:
    """Append each event to its bucket's file in ``directory``, in file order; the files,
    in time order."""
    n_buckets = int(bucket_of_bin[-1]) + 1 if len(bucket_of_bin) else 0
    paths = [directory / f"{b:03d}.arrows" for b in range(n_buckets)]
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with contextlib.ExitStack() as stack:
        writers: list[Any] = [None] * n_buckets
        for batch in parquet.iter_batches(batch_size=_READ_ROWS):
            plain = _plain(batch)
            ts = plain.column("timestamp").to_numpy().astype(np.int64, copy=False)
            bucket = bucket_of_bin[(ts - lo) // width]
            order = np.argsort(bucket, kind="stable")
            grouped = plain.take(pa.array(order))
            sizes = np.bincount(bucket, minlength=n_buckets)
            start = 0
            for b in np.flatnonzero(sizes):
                if writers[b] is None:
                    sink = stack.enter_context(paths[b].open("wb"))
                    writers[b] = stack.enter_context(
                        pa.ipc.new_stream(sink, plain.schema, options=options)
                    )
                writers[b].write_batch(grouped.slice(start, int(sizes[b])))
                start += int(sizes[b])
    return paths
