"""The ``riskscore score`` job in memory: read events, extract features, score, decide
alerts, write scores and alerts. A plain function, callable from code.

Output schema, alike in every format: ``scores.<fmt>`` has one row per conversation
(``conversation_id``, ``risk``, ``adult_id``, ``child_id``, ``child_age`` and
``reason_1`` .. ``reason_k`` with ``reason_k_contribution``); ``alerts.<fmt>`` has one row
per alert with the fields of :meth:`riskscore.Alert.to_dict` (the same objects
``riskscore stream`` writes), ``reasons`` being a list of ``{feature, value, contribution,
description}``: an array in JSON lines, a list of structs in Parquet and, since a CSV
cell holds text only, that array as JSON text in CSV. Unknown values are null (an empty
CSV cell).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskscore.exceptions import SchemaError
from riskscore.io import read_messages
from riskscore.io.arrow import write_table
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS
from riskscore.io.messages import GroupSummary, Quarantine
from riskscore.model import (
    load_model,
)
from riskscore.model.scores import ScoreTable
from riskscore.policy import Alert, AlertPolicy

__all__ = ["ScoreResult", "alerts_table", "score_events", "write_alerts"]

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
    #: Group rooms split into pair conversations, broadcasts set aside.
    groups: GroupSummary = field(default_factory=GroupSummary)


def _reasons_type() -> Any:
    import pyarrow as pa

    return pa.list_(
        pa.struct(
            [
                ("feature", pa.string()),
                ("value", pa.float64()),
                ("contribution", pa.float64()),
                ("description", pa.string()),
            ]
        )
    )


def alerts_table(alerts: list[Alert]) -> Any:
    """Alerts as a :class:`pyarrow.Table`, one row per alert, the columns of
    :meth:`Alert.to_dict`; ``reasons`` a list of structs (feature, value, contribution,
    description)."""
    import pyarrow as pa

    rows = [a.to_dict() for a in alerts]
    names = list(Alert.__dataclass_fields__)
    types = {
        "reasons": _reasons_type(),
        "event_index": pa.int64(),
        "timestamp": pa.int64(),
        "tier": pa.string(),
        "age_band": pa.string(),
        "risk": pa.float64(),
        "child_age": pa.float64(),
        "adult_age": pa.float64(),
    }
    return pa.table(
        {name: pa.array([row[name] for row in rows], type=types.get(name)) for name in names}
    )


def write_alerts(alerts: list[Alert], path: Path) -> Path:
    """Write alerts as Parquet, CSV or JSON lines (by suffix) in the one alerts schema.

    ``reasons`` is an array of objects in JSON lines, a list of structs in Parquet and
    that array as JSON text in a CSV cell (CSV holds no nested values).
    """
    import pyarrow as pa

    table = alerts_table(alerts)
    if path.suffix.lower() == ".csv":
        i = table.schema.get_field_index("reasons")
        text = [json.dumps(r, separators=(",", ":")) for r in table.column(i).to_pylist()]
        table = table.set_column(i, "reasons", pa.array(text, type=pa.string()))
    return write_table(table, path)


def score_events(
    events: object,
    out_dir: Path,
    *,
    model_dir: Path | None = None,
    policy: AlertPolicy | None = None,
    fmt: str = "parquet",
    errors: str = "raise",
    progress: Step = _no_progress,
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
) -> ScoreResult:
    """Score every conversation of an events file and write scores and alerts.

    Writes ``scores.<fmt>`` and ``alerts.<fmt>`` (``fmt`` in parquet, csv, jsonl) into
    ``out_dir``. Rows refused on input (``errors="quarantine"``) go to
    ``quarantine.jsonl``. Group rooms are split into pair conversations, each scored,
    and broadcasts (rooms above ``max_room_members``) set aside
    (:attr:`ScoreResult.groups`, :mod:`riskscore.io.groups`).
    """
    if fmt not in ("parquet", "csv", "jsonl"):
        raise ValueError(f"fmt must be parquet, csv or jsonl, got {fmt!r}")
    progress("read")
    messages = read_messages(
        events,
        errors="quarantine" if errors == "quarantine" else "raise",
        max_room_members=max_room_members,
    )
    quarantine_path, counts = _write_quarantine(messages.quarantined, out_dir)
    if len(messages) == 0 and quarantine_path is not None:
        n = len(messages.quarantined)
        raise SchemaError(
            f"every row was quarantined ({n} rows: {_counts_text(counts)}); nothing left to "
            f"score; see {quarantine_path}"
        )
    progress("model")
    model = load_model(model_dir)
    progress("score")
    scores = model.score(messages)
    alerts = (policy or AlertPolicy.default()).alerts(scores)
    progress("write")
    out_dir.mkdir(parents=True, exist_ok=True)
    scores_path = write_table(scores.to_arrow(), out_dir / f"scores.{fmt}")
    alerts_path = write_alerts(alerts, out_dir / f"alerts.{fmt}")
    return ScoreResult(
        scores=scores,
        alerts=alerts,
        scores_path=scores_path,
        alerts_path=alerts_path,
        n_events=len(messages),
        n_quarantined=len(messages.quarantined),
        quarantine_path=quarantine_path,
        quarantine_counts=counts,
        groups=messages.groups,
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
