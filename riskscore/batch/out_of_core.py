"""Scoring Parquet files larger than memory, in conversation-complete chunks.

:func:`score_parquet` gives the same scores and alerts as
``model.score(read_messages(path))`` with memory bounded by one chunk of events
(plus the per-account parts of step 1, which grow with conversations, not events):

1. **Per-account tallies, over every event.** The events are streamed in record
   batches; each batch is validated (:func:`riskscore.read_messages`) and gives its
   :func:`~riskscore.features.accounts.account_parts` (distinct contact pairs and
   per-account counts). :func:`~riskscore.features.accounts.tallies_from_parts` merges
   them into the tallies of the whole file, so an adult whose conversations sit in
   different chunks gets the fan-out of all of them. Parts do not need whole
   conversations: distinct pairs and counts add up over any split of the events.
2. **Chunks.** If the file is sorted by ``conversation_id`` (as
   :func:`riskscore.synthetic.generate_parquet` writes it), record batches are
   streamed again and the rows of the last conversation of each batch are carried
   into the next, so a conversation is never split between chunks. Otherwise step 1
   also range-partitions the rows by conversation id into temporary Parquet buckets
   (the same streaming read), and each bucket is one chunk.
3. **Scores.** Each chunk goes through the single-machine code with the merged
   tallies: :func:`riskscore.extract_features` (``account_features=``), then
   :meth:`RiskModel.score_features`; its scores are appended to the output, and its
   alerts collected and written at the end, in the in-memory order. A shadow model
   (``shadow_model=``) scores the same features; its scores and alerts go to ``shadow/``
   (:mod:`riskscore.batch.shadow`).

There is one definition of each feature and tally (:mod:`riskscore.features`); this
module only decides which events go through it together. A sorted file is read twice
(step 1, then step 3); an unsorted one once, plus its buckets.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from riskscore.batch.alerts import write_alerts
from riskscore.batch.shadow import ShadowRun, shadow_paths, write_shadow_run
from riskscore.exceptions import SchemaError
from riskscore.features import extract_features
from riskscore.features.accounts import AccountParts, account_parts, tallies_from_parts
from riskscore.io import check_column_names, read_messages
from riskscore.io.arrow import _nan_to_null, escape_csv_table
from riskscore.io.schema import SCHEMA_COLUMNS
from riskscore.model import RiskModel, load_model
from riskscore.policy import Alert, AlertPolicy

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["OutOfCoreResult", "iter_conversation_chunks", "score_parquet"]

AnyArray = npt.NDArray[Any]
Progress = Callable[[int], object]

#: Default number of events per chunk (about 1 GB of peak memory with scoring).
DEFAULT_CHUNK_ROWS = 2_000_000


@dataclass(frozen=True, slots=True)
class OutOfCoreResult:
    """What :func:`score_parquet` produced.

    Attributes
    ----------
    scores_path, alerts_path : pathlib.Path
        Files written.
    n_events, n_conversations, n_chunks : int
        Events read, conversations scored, chunks processed.
    alerts : list of Alert
        Alerts, urgent first, then by decreasing risk.
    partitioned : bool
        Whether the input was not sorted by conversation and was range-partitioned first.
    shadow : ShadowRun or None
        The shadow model's outputs, with a shadow model.
    """

    scores_path: Path
    alerts_path: Path
    n_events: int
    n_conversations: int
    n_chunks: int
    alerts: list[Alert]
    partitioned: bool
    shadow: ShadowRun | None = None


# ---------------------------------------------------------------- chunking


def _ids_of(batch: Any) -> AnyArray:
    ids = np.asarray(batch.column("conversation_id").to_numpy(zero_copy_only=False))
    if ids.dtype == object and any(v is None for v in ids):
        raise SchemaError(
            "column 'conversation_id' has missing values: every event needs one",
            column="conversation_id",
        )
    return ids  # text ids stay str objects: memory follows the data, not the longest id


def _schema_columns(path: Path) -> list[str]:
    """The schema v1 columns of a Parquet file, after its column names are checked (a
    content-like column is refused here, before anything is read or written): the only
    columns read, and so the only ones ever copied into temporary files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError) as exc:
        raise SchemaError(f"{path.name}: not a readable Parquet events file ({exc})") from exc
    check_column_names(names)
    return [name for name in names if name in SCHEMA_COLUMNS]


def _scan(path: Path, batch_rows: int) -> tuple[bool, AnyArray]:
    """Whether a Parquet file's ``conversation_id`` never decreases, and a sample of its
    ids for range partitioning (reads that one column only)."""
    import pyarrow.parquet as pq

    last: Any = None
    is_sorted = True
    sample = []
    with pq.ParquetFile(path, pre_buffer=False) as pf:
        stride = max(pf.metadata.num_rows // 200_000, 1)
        for batch in pf.iter_batches(batch_size=batch_rows, columns=["conversation_id"]):
            ids = _ids_of(batch)
            if len(ids) == 0:
                continue
            sample.append(ids[::stride])
            if is_sorted and (
                (last is not None and ids[0] < last) or not np.all(ids[1:] >= ids[:-1])
            ):
                is_sorted = False
            last = ids[-1]
    return is_sorted, (np.concatenate(sample) if sample else np.empty(0, dtype=np.int64))


def _sorted_chunks(path: Path, chunk_rows: int) -> Iterator[pa.Table]:
    """Conversation-complete chunks of a file sorted by conversation id."""
    import pyarrow as pa

    carry: pa.Table | None = None
    for batch in _batches(path, chunk_rows):
        table = batch if carry is None else pa.concat_tables([carry, batch]).combine_chunks()
        ids = _ids_of(table)
        if len(ids) == 0:
            continue
        # rows of the last conversation may continue in the next batch
        cut = int(np.searchsorted(ids, ids[-1], side="left"))
        carry = table.slice(cut)
        if cut:
            yield table.slice(0, cut)
    if carry is not None and carry.num_rows:
        yield carry


def _batches(path: Path, batch_rows: int) -> Iterator[pa.Table]:
    """The rows of a Parquet file as tables of about ``batch_rows`` rows, in file order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # pre_buffer=True keeps every row group's read buffers until the file is closed
    # (memory grows with the file); without it memory stays bounded by a batch.
    columns = _schema_columns(path)
    with pq.ParquetFile(path, pre_buffer=False) as pf:
        for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
            yield pa.Table.from_batches([batch])


def _partition(
    tables: Iterable[pa.Table], n_rows: int, chunk_rows: int, sample: AnyArray, workdir: Path
) -> list[Path]:
    """Range-partition the rows of ``tables`` by conversation id into Parquet buckets
    (boundaries from sampled quantiles), written in ``workdir``; the bucket files in id
    order. Every conversation lies wholly in one bucket, and bucket order is
    conversation order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_buckets = int(min(max(-(-n_rows // chunk_rows), 1), 512))
    cuts = np.unique(np.sort(sample)[(np.arange(1, n_buckets) * len(sample)) // n_buckets])
    n_buckets = len(cuts) + 1
    files = [workdir / f"bucket_{b:04d}.parquet" for b in range(n_buckets)]
    writers: dict[int, Any] = {}
    try:
        for table in tables:
            bucket = np.searchsorted(cuts, _ids_of(table), side="right")
            order = np.argsort(bucket, kind="stable")  # keeps input order within a bucket
            bounds = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
            grouped = table.take(pa.array(order))
            for b in range(n_buckets):
                lo, hi = int(bounds[b]), int(bounds[b + 1])
                if hi > lo:
                    if b not in writers:
                        writers[b] = pq.ParquetWriter(files[b], table.schema)
                    writers[b].write_table(grouped.slice(lo, hi - lo))
    finally:
        for writer in writers.values():
            writer.close()
    return [files[b] for b in sorted(writers)]


def _read_buckets(files: list[Path]) -> Iterator[pa.Table]:
    """Each bucket as one table; a bucket's file is removed once it is read."""
    import pyarrow.parquet as pq

    for path in files:
        yield pq.read_table(path)
        path.unlink()


def _n_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, pre_buffer=False) as pf:
        return int(pf.metadata.num_rows)


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
        Events per chunk, roughly (a chunk grows to hold a whole conversation).
    workdir : str or path-like, optional
        Where an unsorted file is range-partitioned (a temporary directory by default).

    Yields
    ------
    pyarrow.Table
        Events of whole conversations; chunk ``i`` holds smaller conversation ids
        than chunk ``i + 1``.
    """
    source = Path(path)
    _schema_columns(source)  # names checked before any temporary file is written
    is_sorted, sample = _scan(source, chunk_rows)
    if is_sorted:
        yield from _sorted_chunks(source, chunk_rows)
        return
    with tempfile.TemporaryDirectory(dir=workdir, prefix="riskscore-buckets-") as tmp:
        buckets = _partition(
            _batches(source, chunk_rows), _n_rows(source), chunk_rows, sample, Path(tmp)
        )
        yield from _read_buckets(buckets)


def _with_parts(tables: Iterable[pa.Table], parts: list[AccountParts]) -> Iterator[pa.Table]:
    """Pass ``tables`` through, appending each one's per-account parts to ``parts``
    (after validating it: a row that breaks the schema stops the job here)."""
    for table in tables:
        if table.num_rows:
            parts.append(account_parts(read_messages(table)))
        yield table


# ---------------------------------------------------------------- output


class _ChunkWriter:
    """Appends tables to one Parquet, CSV or JSON lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.suffix = path.suffix.lower()
        if self.suffix not in {".parquet", ".csv", ".jsonl"}:
            raise SchemaError(f"cannot write {path.name!r}: use parquet, csv or jsonl")
        self._writer: Any = None
        self._schema: Any = None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)

    def write(self, table: pa.Table) -> None:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        table = _nan_to_null(table)
        if self.suffix == ".csv":
            table = escape_csv_table(table)
        if self._schema is None:
            self._schema = table.schema
            if self.suffix == ".parquet":
                self._writer = pq.ParquetWriter(self.path, self._schema)
            elif self.suffix == ".csv":
                self._writer = pacsv.CSVWriter(self.path, self._schema)
        else:
            table = table.cast(self._schema)
        if self.suffix == ".jsonl":
            with self.path.open("a", encoding="utf-8") as fh:
                for row in table.to_pylist():
                    fh.write(json.dumps(row, separators=(",", ":"), default=str) + "\n")
        else:
            self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        elif not self.path.exists():
            self.path.touch()


# ---------------------------------------------------------------- the job


def score_parquet(
    events: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    model: RiskModel | None = None,
    policy: AlertPolicy | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    fmt: str = "parquet",
    workdir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    shadow_model: RiskModel | None = None,
) -> OutOfCoreResult:
    """Score every conversation of a Parquet file too large for memory.

    Results equal ``model.score(read_messages(events))`` (same conversation order,
    same floats); memory is bounded by a chunk of about ``chunk_rows`` events.

    Parameters
    ----------
    events : str or path-like
        A Parquet events file (schema v1), sorted by conversation or not.
    out_dir : str or path-like
        Directory for ``scores.<fmt>`` and ``alerts.<fmt>``.
    model : RiskModel, optional
        The model (default: :func:`riskscore.load_model`).
    policy : AlertPolicy, optional
        The alert policy (default: :meth:`AlertPolicy.default`).
    chunk_rows : int, default 2_000_000
        Events per chunk, roughly.
    fmt : {"parquet", "csv", "jsonl"}, default "parquet"
        Output format.
    workdir : str or path-like, optional
        Directory for temporary files (the partition buckets of an unsorted file).
    progress : callable, optional
        Called, after each chunk is scored, with the number of events scored so far.
    shadow_model : RiskModel, optional
        A candidate scored on the same features under the same policy; its scores,
        alerts and a summary go to ``out_dir/shadow/`` (:mod:`riskscore.batch.shadow`).

    Returns
    -------
    OutOfCoreResult

    Raises
    ------
    SchemaError
        A row breaks schema v1 (the message names its column and value); raised
        before any output is written.

    Notes
    -----
    Memory: one chunk of events with its features, plus the per-account parts of
    every batch until they are merged (each distinct contact pair of a batch, as two
    account ids, in up to three sets; so about 50 bytes per conversation with integer
    ids, more with text ids).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import riskscore as rs
    >>> from riskscore.batch.out_of_core import score_parquet
    >>> from riskscore.synthetic import generate_parquet
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path, _ = generate_parquet(pathlib.Path(tmp) / "events.parquet", 200, seed=3)
    ...     result = score_parquet(path, pathlib.Path(tmp) / "out", chunk_rows=2_000)
    ...     print(result.n_conversations, result.n_chunks > 1)
    200 True
    """
    if fmt not in ("parquet", "csv", "jsonl"):
        raise ValueError(f"fmt must be parquet, csv or jsonl, got {fmt!r}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    source, out = Path(events), Path(out_dir)
    if source.suffix.lower() not in {".parquet", ".pq"}:
        raise SchemaError(f"out-of-core scoring reads Parquet files, got {source.name!r}")
    if not source.exists():
        raise FileNotFoundError(f"no such events file: {source}")
    model = model if model is not None else load_model()
    policy = policy if policy is not None else AlertPolicy.default()
    _schema_columns(source)  # names checked before any temporary file is written
    sorted_input, sample = _scan(source, chunk_rows)
    with tempfile.TemporaryDirectory(dir=workdir, prefix="riskscore-ooc-") as tmp:
        # Step 1: the per-account parts of every event (and the buckets of an unsorted file).
        parts: list[AccountParts] = []
        batches = _with_parts(_batches(source, chunk_rows), parts)
        if sorted_input:
            for _ in batches:
                pass
            chunks = _sorted_chunks(source, chunk_rows)
        else:
            buckets = _partition(batches, _n_rows(source), chunk_rows, sample, Path(tmp))
            chunks = _read_buckets(buckets)
        accounts = tallies_from_parts(parts)
        del parts
        # Step 3: whole conversations, with every chunk's tallies.
        scores_path = out / f"scores.{fmt}"
        writer = _ChunkWriter(scores_path)
        alerts: list[Alert] = []
        shadow_writer = None if shadow_model is None else _ChunkWriter(shadow_paths(out, fmt)[0])
        shadow_alerts: list[Alert] = []
        n_events = n_conversations = n_chunks = 0
        try:
            for chunk in chunks:
                msgs = read_messages(chunk)
                del chunk
                features = extract_features(msgs, account_features=accounts)
                scores = model.score_features(features)
                writer.write(scores.to_arrow())
                alerts.extend(policy.alerts(scores))
                if shadow_model is not None and shadow_writer is not None:
                    shadow_scores = shadow_model.score_features(features)
                    shadow_writer.write(shadow_scores.to_arrow())
                    shadow_alerts.extend(policy.alerts(shadow_scores))
                del features
                n_events += len(msgs)
                n_conversations += len(scores)
                n_chunks += 1
                del msgs, scores
                if progress is not None:
                    progress(n_events)
        finally:
            writer.close()
            if shadow_writer is not None:
                shadow_writer.close()
    # the in-memory order: urgent first, then by decreasing risk, ties by conversation
    alerts.sort(key=_alert_order)
    alerts_path = write_alerts(alerts, out / f"alerts.{fmt}")
    shadow_run = None
    if shadow_model is not None:
        shadow_run = write_shadow_run(
            out,
            fmt=fmt,
            production=model,
            shadow=shadow_model,
            production_alerts=alerts,
            shadow_alerts=sorted(shadow_alerts, key=_alert_order),
            production_paths=(scores_path, alerts_path),
            n_events=n_events,
            n_conversations=n_conversations,
        )
    return OutOfCoreResult(
        scores_path=scores_path,
        alerts_path=alerts_path,
        n_events=n_events,
        n_conversations=n_conversations,
        n_chunks=n_chunks,
        alerts=alerts,
        partitioned=not sorted_input,
        shadow=shadow_run,
    )


def _alert_order(alert: Alert) -> tuple[int, float, Any]:
    return (-int(alert.tier), -alert.risk, alert.conversation_id)
