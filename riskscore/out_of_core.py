"""Scoring Parquet files larger than memory, in conversation-complete chunks.

:func:`score_parquet` gives the same scores and alerts as
``model.score(read_messages(path))`` with memory bounded by one chunk:

1. **Chunks.** If the file is sorted by ``conversation_id`` (as
   :func:`riskscore.synthetic.generate_parquet` writes it), record batches are
   streamed and the rows of the last conversation of each batch are carried
   into the next, so a conversation is never split between chunks. Otherwise
   the rows are first range-partitioned by conversation id into temporary
   Parquet buckets (streaming), and each bucket is one chunk.
2. **Features.** Each chunk is validated (:func:`riskscore.read_messages`)
   and featurized; its per-conversation features are spilled to a temporary
   file, and the per-account aggregates behind the sender features (distinct
   (sender, recipient) contact pairs, request, accept and block counts) are
   accumulated, because an adult's conversations may sit in different chunks.
3. **Scores.** With the per-account aggregates complete, each spilled chunk
   gets its sender features from them, is scored, and its scores are appended
   to the output; alerts are collected and written at the end.

The raw events are read once; only the small feature matrix is read twice.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from riskscore._arrow_io import _nan_to_null, write_table
from riskscore._segments import count_by
from riskscore._sender_features import SENDER_FEATURES, account_tallies, combine
from riskscore.exceptions import SchemaError
from riskscore.features import AccountFeatures, FeatureTable, extract_features
from riskscore.io import read_messages
from riskscore.messages import MessageTable

if TYPE_CHECKING:
    import pyarrow as pa

    from riskscore.model import RiskModel
    from riskscore.policy import Alert, AlertPolicy

__all__ = ["OutOfCoreResult", "iter_conversation_chunks", "score_parquet"]

AnyArray = npt.NDArray[Any]
IntArray = npt.NDArray[np.int64]
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
    """

    scores_path: Path
    alerts_path: Path
    n_events: int
    n_conversations: int
    n_chunks: int
    alerts: list[Alert]
    partitioned: bool


# ---------------------------------------------------------------- chunking


def _ids_of(batch: Any) -> AnyArray:
    ids = np.asarray(batch.column("conversation_id").to_numpy(zero_copy_only=False))
    if ids.dtype == object:
        if any(v is None for v in ids):
            raise SchemaError(
                "column 'conversation_id' has missing values: every event needs one",
                column="conversation_id",
            )
        ids = ids.astype(str)
    return ids


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
    import pyarrow.parquet as pq

    carry: pa.Table | None = None
    # pre_buffer=True keeps every row group's read buffers until the file is closed
    # (memory grows with the file); without it memory stays bounded by a batch.
    with pq.ParquetFile(path, pre_buffer=False) as pf:
        for batch in pf.iter_batches(batch_size=chunk_rows):
            table = pa.Table.from_batches([batch])
            if carry is not None:
                table = pa.concat_tables([carry, table]).combine_chunks()
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


def _partitioned_chunks(
    path: Path, chunk_rows: int, sample: AnyArray, workdir: Path
) -> Iterator[pa.Table]:
    """Range-partition an unsorted file by conversation id into Parquet buckets
    (boundaries from sampled quantiles), then yield the buckets in id order: every
    conversation lies wholly in one bucket, and bucket order is conversation order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, pre_buffer=False) as pf:
        n_rows = pf.metadata.num_rows
        n_buckets = int(min(max(-(-n_rows // chunk_rows), 1), 512))
        cuts = np.unique(np.sort(sample)[(np.arange(1, n_buckets) * len(sample)) // n_buckets])
        n_buckets = len(cuts) + 1
        files = [workdir / f"bucket_{b:04d}.parquet" for b in range(n_buckets)]
        writers: dict[int, Any] = {}
        try:
            for batch in pf.iter_batches(batch_size=chunk_rows):
                table = pa.Table.from_batches([batch])
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
    for b in sorted(writers):
        yield pq.read_table(files[b])
        files[b].unlink()


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
    is_sorted, sample = _scan(source, chunk_rows)
    if is_sorted:
        yield from _sorted_chunks(source, chunk_rows)
        return
    with tempfile.TemporaryDirectory(dir=workdir, prefix="riskscore-buckets-") as tmp:
        yield from _partitioned_chunks(source, chunk_rows, sample, Path(tmp))


# ---------------------------------------------------------------- per-account aggregates


def _no_accounts() -> AccountFeatures:
    return AccountFeatures(
        account_id=np.empty(0, dtype=np.int64), values=np.zeros((0, len(SENDER_FEATURES)))
    )


class _AccountAggregates:
    """Per-account counts accumulated over chunks, combined into :class:`AccountFeatures`
    exactly as :func:`riskscore.extract_account_features` computes them in memory."""

    def __init__(self) -> None:
        self.contact_pairs: list[tuple[AnyArray, AnyArray]] = []
        self.minor_pairs: list[tuple[AnyArray, AnyArray]] = []
        self.counts: list[tuple[AnyArray, npt.NDArray[Any]]] = []

    def add(self, msgs: MessageTable) -> None:
        n_acc = len(msgs.accounts)
        contact_pairs, minor_pairs, counts = account_tallies(msgs)
        for pairs, store in ((contact_pairs, self.contact_pairs), (minor_pairs, self.minor_pairs)):
            store.append((msgs.accounts[pairs // n_acc], msgs.accounts[pairs % n_acc]))
        busy = counts.any(axis=1)
        self.counts.append((msgs.accounts[busy], counts[busy]))
        if len(self.contact_pairs) >= 16:
            self._compact()

    @staticmethod
    def _distinct(pairs: list[tuple[AnyArray, AnyArray]]) -> tuple[AnyArray, AnyArray]:
        senders = np.concatenate([p[0] for p in pairs])
        recipients = np.concatenate([p[1] for p in pairs])
        if len(pairs) == 1:
            return senders, recipients
        order = np.lexsort((recipients, senders))
        senders, recipients = senders[order], recipients[order]
        keep = np.ones(len(senders), dtype=bool)
        keep[1:] = (senders[1:] != senders[:-1]) | (recipients[1:] != recipients[:-1])
        return senders[keep], recipients[keep]

    def _compact(self) -> None:
        self.contact_pairs = [self._distinct(self.contact_pairs)]
        self.minor_pairs = [self._distinct(self.minor_pairs)]
        ids = np.concatenate([c[0] for c in self.counts])
        values = np.concatenate([c[1] for c in self.counts])
        uniq, code = np.unique(ids, return_inverse=True)
        summed = np.column_stack(
            [np.bincount(code, weights=values[:, j], minlength=len(uniq)) for j in range(3)]
        )
        self.counts = [(uniq, summed)]

    def features(self) -> AccountFeatures:
        if not self.counts:
            return _no_accounts()
        self._compact()
        contact_senders = self.contact_pairs[0][0]
        minor_senders = self.minor_pairs[0][0]
        count_ids, counts = self.counts[0]
        accounts = np.unique(np.concatenate([contact_senders, count_ids]))

        def per_account(ids: AnyArray) -> npt.NDArray[np.float64]:
            pos = np.searchsorted(accounts, ids)
            return count_by(pos.astype(np.int64), len(accounts))

        all_counts = np.zeros((len(accounts), counts.shape[1]))
        all_counts[np.searchsorted(accounts, count_ids)] = counts
        values = combine(per_account(contact_senders), per_account(minor_senders), all_counts)
        return AccountFeatures(account_id=accounts, values=values)


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


def _spill(features: FeatureTable, path: Path) -> None:
    np.savez(
        path,
        conversation_id=features.conversation_id,
        values=features.values,
        adult_id=features.adult_id,
        child_id=features.child_id,
    )


#: Rows per scoring call are a multiple of this, so that results equal one big call.
_SCORE_BLOCK = 4096


def _concat(tables: list[FeatureTable]) -> FeatureTable:
    if len(tables) == 1:
        return tables[0]
    return FeatureTable(
        conversation_id=np.concatenate([t.conversation_id for t in tables]),
        values=np.concatenate([t.values for t in tables]),
        names=tables[0].names,
        adult_id=np.concatenate([t.adult_id for t in tables]),
        child_id=np.concatenate([t.child_id for t in tables]),
    )


def _unspill(path: Path, names: tuple[str, ...], accounts: AccountFeatures) -> FeatureTable:
    with np.load(path, allow_pickle=False) as data:
        values = data["values"]
        adult_id = data["adult_id"]
        table = FeatureTable(
            conversation_id=data["conversation_id"],
            values=values,
            names=names,
            adult_id=adult_id,
            child_id=data["child_id"],
        )
    sender_cols = [names.index(name) for name in SENDER_FEATURES]
    values[:, sender_cols] = accounts.lookup(adult_id)
    return table


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
        Directory for temporary files (spilled features, partition buckets).
    progress : callable, optional
        Called with the number of events of each chunk once it is featurized.

    Returns
    -------
    OutOfCoreResult

    Raises
    ------
    SchemaError
        A row breaks schema v1 (the message names its column and value).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import riskscore as rs
    >>> from riskscore.out_of_core import score_parquet
    >>> from riskscore.synthetic import generate_parquet
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path, _ = generate_parquet(pathlib.Path(tmp) / "events.parquet", 200, seed=3)
    ...     result = score_parquet(path, pathlib.Path(tmp) / "out", chunk_rows=2_000)
    ...     print(result.n_conversations, result.n_chunks > 1)
    200 True
    """
    from riskscore.persistence import load_model
    from riskscore.policy import AlertPolicy

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
    sorted_input, sample = _scan(source, chunk_rows)
    aggregates = _AccountAggregates()
    n_events = 0
    with tempfile.TemporaryDirectory(dir=workdir, prefix="riskscore-ooc-") as tmp:
        work = Path(tmp)
        chunks = (
            _sorted_chunks(source, chunk_rows)
            if sorted_input
            else _partitioned_chunks(source, chunk_rows, sample, work)
        )
        spilled: list[Path] = []
        for i, chunk in enumerate(chunks):
            msgs = read_messages(chunk)
            del chunk
            aggregates.add(msgs)
            # The sender columns are filled in from every chunk's aggregates (_unspill):
            # no accounts here spares computing chunk-local ones only to overwrite them.
            features = extract_features(msgs, account_features=_no_accounts())
            n_events += len(msgs)
            spilled.append(work / f"features_{i:05d}.npz")
            _spill(features, spilled[-1])
            del msgs, features
            if progress is not None:
                progress(n_events)
        accounts = aggregates.features()
        del aggregates
        scores_path = out / f"scores.{fmt}"
        writer = _ChunkWriter(scores_path)
        alerts: list[Alert] = []
        n_conversations = 0
        pending: list[FeatureTable] = []

        def flush(n_rows: int) -> None:
            nonlocal n_conversations
            if n_rows == 0:
                return
            both = _concat(pending)
            pending[:] = [both.take(np.arange(n_rows, len(both)))]
            scores = model.score_features(both.take(np.arange(n_rows)))
            writer.write(scores.to_arrow())
            alerts.extend(policy.alerts(scores))
            n_conversations += len(scores.risk)

        try:
            for path in spilled:
                pending.append(_unspill(path, model.feature_names, accounts))
                path.unlink()
                n_pending = sum(len(f) for f in pending)
                # BLAS rounds a row alike only at the same offset modulo its block size:
                # score in whole blocks so every row sits where it would in one big call.
                flush(n_pending - n_pending % _SCORE_BLOCK)
            flush(sum(len(f) for f in pending))
        finally:
            writer.close()
    # the in-memory order: urgent first, then by decreasing risk, ties by conversation
    alerts.sort(key=lambda a: (-int(a.tier), -a.risk, a.conversation_id))
    from riskscore.workflows import alerts_table

    alerts_path = write_table(alerts_table(alerts), out / f"alerts.{fmt}")
    return OutOfCoreResult(
        scores_path=scores_path,
        alerts_path=alerts_path,
        n_events=n_events,
        n_conversations=n_conversations,
        n_chunks=len(spilled),
        alerts=alerts,
        partitioned=not sorted_input,
    )
