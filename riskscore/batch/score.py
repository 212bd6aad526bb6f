"""The ``riskscore score`` job in memory: read events, extract features, score, decide
alerts, write scores and alerts. A plain function, callable from code.

Output schema, alike in every format: ``scores.<fmt>`` has one row per conversation
(``conversation_id``, ``risk``, ``adult_id``, ``child_id``, ``child_age`` and
``reason_1`` .. ``reason_k`` with ``reason_k_contribution``); ``alerts.<fmt>`` has one row
per alert with the fields of :meth:`riskscore.Alert.to_dict` (the same objects
``riskscore stream`` writes), ``reasons`` being a list of ``{feature, value, contribution,
description}``: an array in JSON lines, a list of structs in Parquet and, since a CSV
cell holds text only, that array as JSON text in CSV. Unknown values are null (an empty
CSV cell). With a shadow model (``shadow_model_dir``) the features are extracted once and
the shadow's scores and alerts go to ``shadow/`` (:mod:`riskscore.batch.shadow`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from riskscore.batch.alerts import write_alerts
from riskscore.batch.shadow import ShadowRun, shadow_paths, write_shadow_run
from riskscore.exceptions import SchemaError
from riskscore.features import extract_features
from riskscore.io import read_messages
from riskscore.io.arrow import write_table
from riskscore.io.messages import Quarantine
from riskscore.model import load_model
from riskscore.model.scores import ScoreTable
from riskscore.policy import Alert, AlertPolicy

__all__ = ["ScoreResult", "score_events"]

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
    #: ``quarantine.jsonl`` when rows were set aside, else None.
    quarantine_path: Path | None = None
    #: Rows set aside per reason (``"column: reason"``), most frequent first.
    quarantine_counts: dict[str, int] = field(default_factory=dict)
    #: The shadow model's outputs, with a shadow model; else None.
    shadow: ShadowRun | None = None


def score_events(
    events: object,
    out_dir: Path,
    *,
    model_dir: Path | None = None,
    policy: AlertPolicy | None = None,
    fmt: str = "parquet",
    errors: str = "raise",
    progress: Step = _no_progress,
    shadow_model_dir: Path | None = None,
) -> ScoreResult:
    """Score every conversation of an events file and write scores and alerts.

    Writes ``scores.<fmt>`` and ``alerts.<fmt>`` (``fmt`` in parquet, csv, jsonl) into
    ``out_dir``. Rows refused on input (``errors="quarantine"``) go to
    ``quarantine.jsonl``. With ``shadow_model_dir`` (a bundle), that model scores the
    same features under the same policy and its scores, alerts and a summary go to
    ``out_dir/shadow/`` (:mod:`riskscore.batch.shadow`); they are never queued.
    """
    if fmt not in ("parquet", "csv", "jsonl"):
        raise ValueError(f"fmt must be parquet, csv or jsonl, got {fmt!r}")
    progress("read")
    messages = read_messages(events, errors="quarantine" if errors == "quarantine" else "raise")
    quarantine_path, counts = _write_quarantine(messages.quarantined, out_dir)
    if len(messages) == 0 and quarantine_path is not None:
        n = len(messages.quarantined)
        raise SchemaError(
            f"every row was quarantined ({n} rows: {_counts_text(counts)}); nothing left to "
            f"score; see {quarantine_path}"
        )
    progress("model")
    model = load_model(model_dir)
    shadow = None if shadow_model_dir is None else load_model(shadow_model_dir)
    policy = policy or AlertPolicy.default()
    progress("score")
    features = extract_features(messages)
    scores = model.score_features(features)
    alerts = policy.alerts(scores)
    progress("write")
    out_dir.mkdir(parents=True, exist_ok=True)
    scores_path = write_table(scores.to_arrow(), out_dir / f"scores.{fmt}")
    alerts_path = write_alerts(alerts, out_dir / f"alerts.{fmt}")
    shadow_run = None
    if shadow is not None:
        shadow_scores = shadow.score_features(features)
        write_table(shadow_scores.to_arrow(), shadow_paths(out_dir, fmt)[0])
        shadow_run = write_shadow_run(
            out_dir,
            fmt=fmt,
            production=model,
            shadow=shadow,
            production_alerts=alerts,
            shadow_alerts=policy.alerts(shadow_scores),
            production_paths=(scores_path, alerts_path),
            n_events=len(messages),
            n_conversations=len(scores),
        )
    return ScoreResult(
        scores=scores,
        alerts=alerts,
        scores_path=scores_path,
        alerts_path=alerts_path,
        n_events=len(messages),
        n_quarantined=len(messages.quarantined),
        quarantine_path=quarantine_path,
        quarantine_counts=counts,
        shadow=shadow_run,
    )


def _counts_text(counts: dict[str, int]) -> str:
    return "; ".join(f"{n} {why}" for why, n in counts.items())


def _write_quarantine(quarantined: Quarantine, out_dir: Path) -> tuple[Path | None, dict[str, int]]:
    """``out_dir/quarantine.jsonl`` (one record per refused row) and the counts per reason."""
    if not len(quarantined):
        return None, {}
    records = quarantined.to_records()
    counts: dict[str, int] = {}
    for record in records:
        key = f"{record['column']}: {record['reason']}"
        counts[key] = counts.get(key, 0) + 1
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "quarantine.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, default=str) + "\n")
    return path, dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
