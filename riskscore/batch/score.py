"""The ``riskscore score`` job in memory: read events, extract features, score, decide
alerts, write scores and alerts. A plain function, callable from code."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskscore.io import read_messages
from riskscore.io.arrow import write_table
from riskscore.model import (
    load_model,
)
from riskscore.model.scores import ScoreTable
from riskscore.policy import Alert, AlertPolicy

__all__ = ["ScoreResult", "alerts_table", "score_events"]

Step = Callable[[str], None]


def _no_progress(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """What :func:`score_events` produced."""

    scores: ScoreTable
    alerts: list[Alert]
    scores_path: Path
    alerts_path: Path
    n_events: int
    n_quarantined: int


def alerts_table(alerts: list[Alert]) -> Any:
    """Alerts as a flat :class:`pyarrow.Table` (reasons as a JSON string per alert)."""
    import pyarrow as pa

    rows = [a.to_dict() for a in alerts]
    for row in rows:
        row["reasons"] = json.dumps(row["reasons"], separators=(",", ":"))
    names = list(Alert.__dataclass_fields__)
    return pa.table({name: [row[name] for row in rows] for name in names})


def score_events(
    events: object,
    out_dir: Path,
    *,
    model_dir: Path | None = None,
    policy: AlertPolicy | None = None,
    fmt: str = "parquet",
    errors: str = "raise",
    progress: Step = _no_progress,
) -> ScoreResult:
    """Score every conversation of an events file and write scores and alerts.

    Writes ``scores.<fmt>`` and ``alerts.<fmt>`` (``fmt`` in parquet, csv, jsonl) into
    ``out_dir``. Rows refused on input (``errors="quarantine"``) go to
    ``quarantine.jsonl``.
    """
    if fmt not in ("parquet", "csv", "jsonl"):
        raise ValueError(f"fmt must be parquet, csv or jsonl, got {fmt!r}")
    progress("read")
    messages = read_messages(events, errors="quarantine" if errors == "quarantine" else "raise")
    progress("model")
    model = load_model(model_dir)
    progress("score")
    scores = model.score(messages)
    alerts = (policy or AlertPolicy.default()).alerts(scores)
    progress("write")
    out_dir.mkdir(parents=True, exist_ok=True)
    scores_path = write_table(scores.to_arrow(), out_dir / f"scores.{fmt}")
    alerts_path = write_table(alerts_table(alerts), out_dir / f"alerts.{fmt}")
    if len(messages.quarantined):
        with (out_dir / "quarantine.jsonl").open("w", encoding="utf-8") as fh:
            for record in messages.quarantined.to_records():
                fh.write(json.dumps(record) + "\n")
    return ScoreResult(
        scores=scores,
        alerts=alerts,
        scores_path=scores_path,
        alerts_path=alerts_path,
        n_events=len(messages),
        n_quarantined=len(messages.quarantined),
    )
