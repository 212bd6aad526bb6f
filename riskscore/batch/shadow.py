"""Shadow runs of batch scoring: a candidate model scored next to the production model, its
scores and alerts written apart and never queued.

``riskscore score EVENTS --out OUT --shadow-model DIR`` (and :func:`~riskscore.batch.score_events`
or :func:`~riskscore.batch.score_parquet` with a shadow model) extracts the features once,
scores them with both models under the same policy and writes:

==============================  ==============================================================
``OUT/scores.FMT``              production scores, as without a shadow
``OUT/alerts.FMT``              production alerts, as without a shadow
``OUT/shadow/scores.FMT``       the shadow model's scores (the same schema)
``OUT/shadow/alerts.FMT``       the shadow model's alerts (the same schema); never queued
``OUT/shadow/shadow.json``      :data:`SUMMARY_NAME`: both models' parameter hashes, alert
                                counts, alerts gained and lost, and the files above
==============================  ==============================================================

``riskscore compare --shadow-run OUT`` reads them back (:func:`read_shadow_run`) and
matches both sets of alerts with moderators' decisions. No riskscore function adds a
shadow alert to a review queue.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa

from riskscore._checks import is_sha256_hex
from riskscore.batch.alerts import write_alerts
from riskscore.batch.shadow_records import RecordAccounts, check_one_run
from riskscore.exceptions import SchemaError
from riskscore.io.arrow import TABLE_FORMATS
from riskscore.io.files import CSV_SUFFIXES, PARQUET_SUFFIXES, check_regular_file, real_path
from riskscore.io.given_ids import ACCOUNT_ID_COLUMNS, given_id, integer_text_columns
from riskscore.io.ids import check_ids
from riskscore.io.json_lines import json_loads
from riskscore.io.problems import Found
from riskscore.io.raw import show, shown
from riskscore.io.staging import StagedOutputs
from riskscore.io.text import parquet_file
from riskscore.model import RiskModel
from riskscore.policy import ALERT_FIELDS, LATER_ALERT_FIELDS, Alert, alert_changes

#: The key of a run's summary naming the events' id columns of integers held as decimal
#: text (an id beyond int64): written when any, read by :func:`read_shadow_run`.
DECIMAL_IDS_KEY: Final = "decimal_id_columns"
_ID_COLUMNS: Final = ("conversation_id", *ACCOUNT_ID_COLUMNS)

__all__ = [
    "SHADOW_FILES",
    "ShadowRun",
    "ShadowRunAlerts",
    "read_alert_ids",
    "read_alerts",
    "read_conversation_ids",
    "read_shadow_run",
    "write_shadow_run",
]

#: The two accounts of a scores or alerts record, read beside its conversation.
ACCOUNT_COLUMNS: Final = ("adult_id", "child_id")
#: Subdirectory of a run's output directory that holds the shadow's files.
SHADOW_DIR: Final = "shadow"
#: The run summary inside :data:`SHADOW_DIR`.
SUMMARY_NAME: Final = "shadow.json"
#: Every file a shadow run writes (in any format), relative to the output folder: a run
#: without a shadow model removes those of an earlier one (``riskscore.io.staging``).
SHADOW_FILES: Final = tuple(
    f"{SHADOW_DIR}/{name}"
    for name in (SUMMARY_NAME, *(f"{kind}.{fmt}" for kind in ("scores", "alerts")
                                 for fmt in TABLE_FORMATS))
)  # fmt: skip
#: Version of the summary's layout.
SHADOW_FORMAT: Final = 1
_NOTE: Final = (
    "shadow alerts are recorded to compare a candidate model with production; they are "
    "never queued for review and no action follows from them"
)


@dataclass(frozen=True, slots=True)
class ShadowRun:
    """What a shadow run wrote (:func:`write_shadow_run`).

    Attributes
    ----------
    scores_path, alerts_path, summary_path : Path
        The shadow's scores and alerts, and the run summary.
    alerts : list of Alert
        The shadow's alerts, urgent first, then by decreasing risk.
    gained, lost : tuple
        Conversations the shadow alerts and production does not, and the reverse.
    summary : dict
        The content of ``shadow.json``.
    """

    scores_path: Path
    alerts_path: Path
    summary_path: Path
    alerts: list[Alert]
    gained: tuple[Any, ...]
    lost: tuple[Any, ...]
    summary: dict[str, Any]

    def placed(self, stage: StagedOutputs) -> ShadowRun:
        """The same run, its paths where ``stage`` moved its files."""
        return dataclasses.replace(
            self,
            scores_path=stage.final_of(self.scores_path),
            alerts_path=stage.final_of(self.alerts_path),
            summary_path=stage.final_of(self.summary_path),
        )


def shadow_paths(out_dir: Path, fmt: str) -> tuple[Path, Path]:
    """Where a run in ``out_dir`` writes the shadow's scores and alerts."""
    return out_dir / SHADOW_DIR / f"scores.{fmt}", out_dir / SHADOW_DIR / f"alerts.{fmt}"


def _side(
    model: RiskModel, alerts: Sequence[Alert], scores: Path, alerts_file: Path, out: Path
) -> dict[str, Any]:
    return {
        "parameters_sha256": model.parameters_sha256(),
        "alerts": len(alerts),
        "urgent": sum(a.tier.name == "URGENT" for a in alerts),
        "scores": scores.relative_to(out).as_posix(),
        "alerts_file": alerts_file.relative_to(out).as_posix(),
    }


def write_shadow_run(
    out_dir: Path,
    *,
    fmt: str,
    production: RiskModel,
    shadow: RiskModel,
    production_alerts: Sequence[Alert],
    shadow_alerts: list[Alert],
    production_paths: tuple[Path, Path],
    n_events: int,
    n_conversations: int,
    decimal_id_columns: tuple[str, ...] = (),
) -> ShadowRun:
    """Write the shadow's alerts and the run summary (the shadow's scores are written by
    the caller, to ``shadow_paths(out_dir, fmt)[0]``).

    Parameters
    ----------
    out_dir : Path
        The run's output directory (production files at its top).
    fmt : {"parquet", "csv", "jsonl"}
        Format of every file of the run.
    production, shadow : RiskModel
        The two models.
    production_alerts, shadow_alerts : sequences of Alert
        Their alerts under the same policy.
    production_paths : (Path, Path)
        Production scores and alerts files.
    n_events, n_conversations : int
        Events read and conversations scored.
    decimal_id_columns : tuple of str, default ()
        The events' id columns of integers held as decimal text, one being beyond int64
        or a group room's pair id beside them (:attr:`riskscore.batch.score.ScoreResult.
        decimal_id_columns`): recorded in the
        summary when any, so that :func:`read_shadow_run` gives those ids as the integers
        the review queue files them under.

    Returns
    -------
    ShadowRun
    """
    scores_path, alerts_path = shadow_paths(out_dir, fmt)
    write_alerts(shadow_alerts, alerts_path)
    gained, lost = alert_changes(
        (a.conversation_id for a in production_alerts), (a.conversation_id for a in shadow_alerts)
    )
    summary = {
        "shadow_format": SHADOW_FORMAT,
        "queued": False,
        "note": _NOTE,
        "format": fmt,
        "events": n_events,
        "conversations": n_conversations,
        "production": _side(production, production_alerts, *production_paths, out_dir),
        "shadow": _side(shadow, shadow_alerts, scores_path, alerts_path, out_dir),
        "alerts_gained": len(gained),
        "alerts_lost": len(lost),
    }
    if decimal_id_columns:
        summary[DECIMAL_IDS_KEY] = list(decimal_id_columns)
    summary_path = out_dir / SHADOW_DIR / SUMMARY_NAME
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return ShadowRun(scores_path, alerts_path, summary_path, shadow_alerts, gained, lost, summary)


@dataclass(frozen=True, slots=True)
class ShadowRunAlerts:
    """A shadow run read back (:func:`read_shadow_run`).

    Attributes
    ----------
    summary : dict
        ``shadow.json``.
    scored : list
        Every conversation scored (production scores file), in file order.
    production, shadow : list
        The conversations each model alerted, in file order.
    accounts : RecordAccounts
        The two accounts of every record of the three files (checked against a review
        queue's decisions by ``riskscore compare --queue``).
    """

    summary: dict[str, Any]
    scored: list[Any]
    production: list[Any]
    shadow: list[Any]
    accounts: RecordAccounts


def read_conversation_ids(path: Path) -> list[Any]:
    """The ``conversation_id`` column of a scores or alerts file (Parquet or JSON lines,
    e.g. the alerts ``riskscore stream`` writes and the shadow alerts it records), in
    file order.

    Each id is checked by the rule of the events' id column
    (:func:`riskscore.io.ids.check_ids`): an integer or text, never null, a boolean, a
    container or a fraction; an integral float is its integer. A JSON lines file may hold
    both integer and text ids, as the alerts of an online scorer do (``6`` and ``"6"`` stay
    two ids); a Parquet column holds one type.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    SchemaError
        A directory or FIFO, a CSV file (its cells lose the type of ids), a file that is
        not Parquet or JSON lines, a record without ``conversation_id``, or an id that is
        none (naming the line and value).
    """
    return _read_records(path, "scores or alerts file", ("conversation_id",)).conversation_id


def read_alert_ids(path: Path) -> list[Any]:
    """The conversations of an alerts file, in file order: :func:`read_conversation_ids`
    of a file whose every record is an alert (has every field of
    :data:`riskscore.policy.ALERT_FIELDS` but those an earlier riskscore did not write,
    :data:`~riskscore.policy.alerts.LATER_ALERT_FIELDS`; extra fields, as ``riskscore
    stream``'s ``line``, are fine).

    An events or scores file holds no alert: read as alerts, every conversation in it
    would count as alerted.

    Raises
    ------
    SchemaError
        As :func:`read_conversation_ids`, and a Parquet file without an alert field's
        column or a JSON line without one (naming the file, the line and the fields).
    """
    return read_alerts(path).conversation_id


def read_alerts(path: Path) -> RecordAccounts:
    """The conversation and its two accounts of each alert of an alerts file, in file
    order; read and checked as :func:`read_alert_ids` reads them."""
    required = tuple(name for name in ALERT_FIELDS if name not in LATER_ALERT_FIELDS)
    return _read_records(path, "alerts file", required)


def _read_records(path: Path, what: str, required: Sequence[str]) -> RecordAccounts:
    """The checked ``conversation_id`` of each record of ``path``, a ``what`` whose
    records have the fields ``required``, and its ``adult_id`` and ``child_id`` where
    ``required`` names them (else empty lists)."""
    accounts = [name for name in ACCOUNT_COLUMNS if name in required]
    check_regular_file(path, what)
    if path.suffix.lower() in CSV_SUFFIXES:  # read as JSON lines, it was "not JSON"
        raise SchemaError(
            f'{path}: a CSV {what} is not read: its cells lose the type of ids (1 and "1" '
            "would match); score with --format parquet or jsonl"
        )
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            with parquet_file(path) as parquet:
                _check_fields(path, "", parquet.schema_arrow.names, required, "column")
                column = parquet.read(columns=["conversation_id", *accounts])
                ids: list[Any] = column.column(0).to_pylist()
                others = [column.column(name).to_pylist() for name in accounts]
        except (pa.ArrowException, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # the system's (permission, I/O)
            detail = " ".join(str(exc).split())[:200]
            raise SchemaError(
                f"{path}: not a Parquet {what} ({type(exc).__name__}: {detail})"
            ) from None
        if "conversation_id" in integer_text_columns(column.schema):
            ids = [given_id(v, True) for v in ids]  # integers beside pair ids, as given
        return _records(_checked_ids(path, ids, list(range(len(ids))), "row"), others)
    ids, lines = [], []
    others = [[] for _ in accounts]
    with path.open("rb") as fh:
        for lineno, data in enumerate(fh, start=1):
            record = _json_line(path, lineno, data)
            if record is None:
                continue
            fields = record if isinstance(record, dict) else {}
            _check_fields(path, f", line {lineno}", fields, required, "field")
            ids.append(record["conversation_id"])
            lines.append(lineno)
            for values, name in zip(others, accounts, strict=True):
                values.append(record[name])
    return _records(_checked_ids(path, ids, lines, "line"), others)


def _records(ids: list[Any], accounts: list[list[Any]]) -> RecordAccounts:
    """:class:`RecordAccounts` of checked ids and the account columns read (none: empty)."""
    adults, children = accounts if accounts else ([], [])
    return RecordAccounts(ids, adults, children)


def _check_fields(
    path: Path, where: str, names: Collection[str], required: Sequence[str], unit: str
) -> None:
    """Refuse a record (or a Parquet schema) without a field of ``required``, naming
    those it lacks: a file of another kind (events, scores) is not read as this one."""
    missing = [name for name in required if name not in names]
    if not missing:
        return
    if list(required) == ["conversation_id"]:
        raise SchemaError(f"{path}{where}: no conversation_id {unit}")
    raise SchemaError(
        f"{path}{where}: not an alert{'' if where else 's file'}: no {', '.join(missing)} {unit}"
        f"{'s' if len(missing) > 1 else ''} (an alerts file is what `riskscore score --out "
        "DIR` writes as DIR/alerts.parquet or `riskscore stream` as JSON lines)"
    )


def _json_line(path: Path, lineno: int, data: bytes) -> Any:
    """One JSON line's value (None for a blank line), read by :func:`json_loads` (a field
    given twice is refused); neither its text nor a part of it but a field's name is
    quoted in an error (an alerts log holds no content, but a wrong file might)."""
    try:
        text = data.decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"{path}, line {lineno}: not UTF-8 text (byte {data[exc.start]:#04x} at offset "
            f"{exc.start})"
        ) from None
    if not text.strip():
        return None
    try:
        return json_loads(text)
    except ValueError as exc:  # json_loads' own: a field given twice, or nested too deeply
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise SchemaError(f"{path}, line {lineno}: not JSON ({reason})") from None


def _checked_ids(path: Path, ids: list[Any], where: list[int], unit: str) -> list[Any]:
    """``ids`` checked by the events' rule; ``where`` gives each one's line (or row)."""
    values = np.fromiter(ids, dtype=object, count=len(ids))
    text = np.fromiter((isinstance(v, str) for v in ids), dtype=bool, count=len(ids))
    refused: list[tuple[int, int, str]] = []  # (row, order found, reason)
    for kind in (text, ~text):  # integers and text each by their own rule, never mixed
        rows = np.flatnonzero(kind)
        found = Found()
        check_ids("conversation_id", values[rows], found)
        refused += [  # Found keeps only masks that mark a row
            (int(rows[np.argmax(mask)]), order, reason)
            for order, (_, mask, reason) in enumerate(found.problems)
        ]
    if refused:
        i, _, reason = min(refused)  # the first row, its first reason
        value = show(shown("conversation_id", ids[i]))
        raise SchemaError(
            f"{path}, {unit} {where[i]}: conversation_id {value} {reason}",
            column="conversation_id",
            row=i,
            line=where[i] if unit == "line" else None,
        )
    return [int(v) if isinstance(v, float) else v for v in ids]  # 1.0 is the id 1


def read_shadow_run(out_dir: str | Path) -> ShadowRunAlerts:
    """Read the files of a shadow run (the output directory of ``riskscore score
    --shadow-model``).

    Raises
    ------
    FileNotFoundError
        ``OUT/shadow/shadow.json`` or a file it names is missing.
    SchemaError
        The summary is not a regular file or not a shadow run's, or the run was
        written as CSV (whose cells lose the id type: 1 and "1" would match; score with
        --format parquet or jsonl), or the files are not of one run
        (:func:`~riskscore.batch.shadow_records.check_one_run`).
    """
    out = Path(out_dir)
    path = out / SHADOW_DIR / SUMMARY_NAME
    if not path.exists():
        raise FileNotFoundError(
            f"no shadow run in {out} (no {SHADOW_DIR}/{SUMMARY_NAME}); write one with "
            "`riskscore score EVENTS --out DIR --shadow-model BUNDLE`"
        )
    if not path.is_file():  # there, but its read would wait for a writer or fail
        kind = "a directory" if path.is_dir() else "a FIFO, socket or device"
        raise SchemaError(f"{path} is not a regular file ({kind}): not a shadow run summary")
    try:
        summary = json_loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # not UTF-8, not JSON, nested too deeply
        raise SchemaError(f"{path} is not JSON ({exc}): not a shadow run summary") from None
    if not isinstance(summary, dict) or summary.get("shadow_format") != SHADOW_FORMAT:
        raise SchemaError(f"{path} is not a shadow run summary of format {SHADOW_FORMAT}")
    if summary.get("format") == "csv":
        raise SchemaError(
            f"{out} was written as CSV, whose cells lose the type of ids; compare needs a "
            "shadow run written with --format parquet or jsonl"
        )
    try:
        files = [
            summary["production"]["scores"],
            summary["production"]["alerts_file"],
            summary["shadow"]["alerts_file"],
        ]
    except (KeyError, TypeError):
        raise SchemaError(f"{path} names no scores and alerts files") from None
    for side in ("production", "shadow"):  # compared and shown by `riskscore compare`
        digest = summary[side].get("parameters_sha256")
        if digest is not None and not is_sha256_hex(digest):
            raise SchemaError(
                f"{path}: {side} 'parameters_sha256' must be a SHA-256 (64 lowercase "
                f"hexadecimal digits), found {show(shown('parameters_sha256', digest))}"
            )
    root = real_path(out)
    paths = [out / str(f) for f in files]
    for f in paths:
        if not real_path(f).is_relative_to(root):
            raise SchemaError(f"{path} names a file outside the run directory: {f}")
    decimal = "conversation_id" in _decimal_id_columns(summary, path)
    files = [
        _read_records(paths[0], "scores or alerts file", ("conversation_id", *ACCOUNT_COLUMNS)),
        read_alerts(paths[1]),
        read_alerts(paths[2]),
    ]
    scored, production, shadow = ([given_id(i, decimal) for i in f.conversation_id] for f in files)
    check_one_run(
        path,
        summary,
        (paths[0], paths[1], paths[2]),
        (files[0], files[1], files[2]),
        (scored, production, shadow),
    )
    every = RecordAccounts(
        [*scored, *production, *shadow],
        [a for f in files for a in f.adult_id],
        [c for f in files for c in f.child_id],
    )
    return ShadowRunAlerts(summary, scored, production, shadow, every)


def _decimal_id_columns(summary: dict[str, Any], path: Path) -> list[str]:
    """The summary's :data:`DECIMAL_IDS_KEY` (none before it was written), checked."""
    names = summary.get(DECIMAL_IDS_KEY, [])
    if not isinstance(names, list) or not set(names) <= set(_ID_COLUMNS):
        raise SchemaError(
            f"{path}: {DECIMAL_IDS_KEY!r} must be a list of {', '.join(_ID_COLUMNS)}, found "
            f"{show(shown(DECIMAL_IDS_KEY, names))}"
        )
    return names
