"""Step 3 of out-of-core scoring (:mod:`riskscore.batch.out_of_core`): each chunk's
spilled states finished into feature rows and scored, two chunks at once, their scores
appended in chunk order to one file (:class:`ChunkWriter`, which writes the bytes a file
written whole holds) and their alerts collected (:class:`ScoredFile`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from riskscore.batch.chunk_states import SpilledChunk
from riskscore.batch.prefetch import one_ahead
from riskscore.batch.reports import ReportEvents
from riskscore.exceptions import SchemaError
from riskscore.features.table import FeatureTable
from riskscore.io.arrow import nan_to_null, text_table_writer
from riskscore.io.text import arrow_file
from riskscore.model import RiskModel
from riskscore.model.scores import ScoreTable
from riskscore.policy import Alert, AlertPolicy, scores_table

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["score_step"]

#: A chunk's scores (None when every row of the chunk was set aside, or without a shadow).
Scored = ScoreTable | None


class ChunkWriter:
    """Appends tables to one Parquet, CSV or JSON lines file: CSV and JSON lines through
    the one text writer (:func:`riskscore.io.arrow.text_table_writer`), so a file written
    chunk by chunk holds the bytes a file written whole holds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.suffix = path.suffix.lower()
        if self.suffix not in {".parquet", ".csv", ".jsonl"}:
            raise SchemaError(f"cannot write {path.name!r}: use parquet, csv or jsonl")
        self._files = contextlib.ExitStack()
        self._write: Callable[[pa.Table], None] | None = None
        self._schema: Any = None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)

    def write(self, table: pa.Table) -> None:
        if self._schema is None:
            self._schema = table.schema
        else:
            table = table.cast(self._schema)
        if self.suffix == ".parquet":
            table = nan_to_null(table)
        if self._write is None:
            if self.suffix == ".parquet":
                sink = self._files.enter_context(arrow_file(self.path, "wb"))  # any name
                writer = self._files.enter_context(pq.ParquetWriter(sink, table.schema))
                self._write = writer.write_table
            else:
                self._write = self._files.enter_context(text_table_writer(self.path, table.schema))
        self._write(table)

    def close(self) -> None:
        self._files.close()
        if not self.path.exists():
            self.path.touch()


@dataclass(slots=True)
class ScoredFile:
    """What step 3 gives: the alerts (in chunk order) and the counts."""

    alerts: list[Alert] = field(default_factory=list)
    shadow_alerts: list[Alert] = field(default_factory=list)
    n_events: int = 0
    n_conversations: int = 0
    n_chunks: int = 0
    #: The job's report events with the risks of the conversations they report.
    reports: ReportEvents = field(default_factory=ReportEvents.none)


def score_step(
    spilled: Iterable[SpilledChunk],
    features: Callable[[Path], FeatureTable],
    model: RiskModel,
    shadow_model: RiskModel | None,
    policy: AlertPolicy,
    scores_path: Path,
    shadow_scores_path: Path | None,
    progress: Callable[[int], object] | None,
    text_ids: bool = False,
) -> ScoredFile:
    """Step 3: each spilled chunk's feature rows scored (two chunks at once, their states
    are small), the scores written in chunk order, the alerts collected, and each chunk's
    report events given the risks of the conversations they report from that chunk's
    scores (a conversation is whole in one chunk), their ids as the scores have them
    (``text_ids``: :meth:`ReportEvents.as_text_ids`)."""

    def score_chunk(chunk: SpilledChunk) -> tuple[SpilledChunk, Scored, Scored]:
        if chunk.path is None:  # every row of the chunk was set aside
            return chunk, None, None
        table = features(chunk.path)
        above = policy.reasons_above  # every alert carries its reasons
        shadow = None
        if shadow_model is not None:
            shadow = shadow_model.score_features(table, reasons_above=above)
        return chunk, model.score_features(table, reasons_above=above), shadow

    scored = ScoredFile()
    reports: list[ReportEvents] = []
    n_rows = 0
    with contextlib.ExitStack() as files:
        writer = files.enter_context(contextlib.closing(ChunkWriter(scores_path)))
        shadow_writer = None
        if shadow_scores_path is not None:
            shadow_writer = files.enter_context(contextlib.closing(ChunkWriter(shadow_scores_path)))
        for chunk, scores, shadow_scores in one_ahead(spilled, score_chunk, workers=2):
            n_rows += chunk.n_rows
            if scores is not None:
                writer.write(scores_table(scores, policy))
                scored.alerts.extend(policy.alerts(scores))
                if chunk.reports is not None:
                    own = chunk.reports.as_text_ids(text_ids)
                    reports.append(own.with_scores(scores))
                if shadow_scores is not None and shadow_writer is not None:
                    shadow_writer.write(scores_table(shadow_scores, policy))
                    scored.shadow_alerts.extend(policy.alerts(shadow_scores))
                scored.n_events += chunk.n_events
                scored.n_conversations += len(scores)
                scored.n_chunks += 1
                del scores, shadow_scores
            if progress is not None:
                progress(n_rows)
    scored.reports = ReportEvents.concat(reports)
    return scored
