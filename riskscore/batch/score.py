"""The ``riskscore score`` job in memory: read events, extract features, score, decide
alerts, write scores and alerts. A plain function, callable from code.

Output schema, alike in every format: ``scores.<fmt>`` has one row per conversation, the
columns of :mod:`riskscore.policy.scores_table` (ids, ages, risk, tier, age band, reasons
as an array; the same as out-of-core and Spark scoring); ``alerts.<fmt>`` has one row
per alert with the fields of :meth:`riskscore.Alert.to_dict` (the same objects
``riskscore stream`` writes), ``reasons`` being a list of ``{feature, value, contribution,
description, text}``: an array in JSON lines, a list of structs in Parquet and, since a CSV
cell holds text only, that array as JSON text in CSV. Unknown values are null (an empty
CSV cell). With a shadow model (``shadow_model_dir``) the features are extracted once and
the shadow's scores and alerts go to ``shadow/`` (:mod:`riskscore.batch.shadow`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from riskscore.batch.alerts import write_alerts
from riskscore.batch.reports import ReportEvents
from riskscore.batch.shadow import SHADOW_FILES, ShadowRun, shadow_paths, write_shadow_run
from riskscore.exceptions import SchemaError
from riskscore.features import AccountFeatures, extract_features
from riskscore.features.batch import given_account_features, read_room_limit
from riskscore.io import read_messages
from riskscore.io.arrow import check_table_format, write_table
from riskscore.io.files import check_not_inputs
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS, broadcast_only_problem
from riskscore.io.messages import MessageTable
from riskscore.io.staging import StagedOutputs, staged_outputs
from riskscore.io.summaries import (
    GroupSummary,
    Quarantine,
    all_quarantined_text,
    most_frequent_first,
)
from riskscore.io.timestamps import DEFAULT_READ_MAX_FUTURE_S
from riskscore.io.validate import check_errors
from riskscore.model import load_model
from riskscore.model.scores import ScoreTable
from riskscore.policy import Alert, AlertPolicy, policy_or_default, scores_table
from riskscore.policy.alerts import given_alerts

__all__ = [
    "QUARANTINE_NAME",
    "QuarantineFile",
    "ScoreResult",
    "check_some_events",
    "job_files",
    "job_outputs",
    "read_events",
    "score_events",
]

Step = Callable[[str], None]

#: The file of rows set aside, in a job's output folder.
QUARANTINE_NAME = "quarantine.jsonl"


def job_files(out_dir: Path, fmt: str) -> list[Path]:
    """Every file a scoring job in ``out_dir`` writes (``fmt``: the scores' and alerts'
    format) or removes as an earlier run's (the quarantine file, the shadow files)."""
    return [
        out_dir / f"scores.{fmt}",
        out_dir / f"alerts.{fmt}",
        out_dir / QUARANTINE_NAME,
        *(out_dir / name for name in SHADOW_FILES),
    ]


def job_outputs(
    out_dir: Path, fmt: str, reads: Iterable[object] = ()
) -> contextlib.AbstractContextManager[StagedOutputs]:
    """The staged outputs of a scoring job in ``out_dir``: the quarantine file and the
    shadow files of an earlier run are removed when this one writes none (a shadow
    summary names the production files beside it). The files name accounts and
    children's ages: readable by their owner only (:mod:`riskscore.io.private`).

    Raises
    ------
    SchemaError
        One of :func:`job_files` is a file the job reads (``reads``: paths, and any
        in-memory table, which is left out), by any path: written or removed, it would
        be destroyed (:func:`~riskscore.io.files.check_not_inputs`).
    """
    paths = [Path(r) for r in reads if isinstance(r, (str, os.PathLike))]
    check_not_inputs(job_files(Path(out_dir), fmt), paths)
    return staged_outputs(out_dir, owned=[QUARANTINE_NAME, *SHADOW_FILES], private=True)


def _no_progress(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """What :func:`score_events` produced."""

    scores: ScoreTable
    #: The alerts, their ids as given (:func:`riskscore.policy.alerts.given_alerts`, by
    #: :attr:`decimal_id_columns`): as an online scorer holds the same events' ids, so that
    #: ``ReviewQueue.add_alerts(result.alerts)`` files them as ``riskscore stream --queue``
    #: does (the alerts file holds such ids as decimal text, one type per column).
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
    #: The shadow model's outputs, with a shadow model; else None.
    shadow: ShadowRun | None = None
    #: Columns of the input that are not schema v1 columns (never read).
    unread_columns: tuple[str, ...] = ()
    #: The ``report`` events kept, with their conversation's risk (user reports for the
    #: review queue, ``riskscore score --queue``); empty when not collected
    #: (``collect_reports=False``).
    reports: ReportEvents = field(default_factory=ReportEvents.none)
    #: The events' id columns of integers held as decimal text, one being beyond int64 or
    #: a group room's pair id beside them (:attr:`riskscore.MessageTable.
    #: decimal_id_columns`): the review queue takes these ids as the integers an online
    #: scorer holds (pair ids stay text)
    #: (:func:`riskscore.moderation.batch_intake.batch_items`).
    decimal_id_columns: tuple[str, ...] = ()


def score_events(
    events: object,
    out_dir: Path,
    *,
    model_dir: Path | None = None,
    policy: AlertPolicy | None = None,
    fmt: str = "parquet",
    errors: str = "raise",
    progress: Step = _no_progress,
    account_features: AccountFeatures | None = None,
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    shadow_model_dir: Path | None = None,
    now: float | None = None,
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
    collect_reports: bool = True,
) -> ScoreResult:
    """Score every conversation of an events file and write scores and alerts.

    Writes ``scores.<fmt>`` and ``alerts.<fmt>`` (``fmt`` in parquet, csv, jsonl) into
    ``out_dir``. Rows refused on input (``errors="quarantine"``) go to
    ``quarantine.jsonl``. ``account_features`` (the per-account tallies of a full
    history that holds ``events``; see :func:`riskscore.read_account_features`) replace
    the tallies of ``events`` alone. Group rooms are split into pair conversations, each
    scored, and broadcasts (rooms above ``max_room_members``) set aside
    (:attr:`ScoreResult.groups`, :mod:`riskscore.io.groups`). With ``shadow_model_dir``
    (a bundle), that model scores the same features under the same policy and its
    scores, alerts and a summary go to ``out_dir/shadow/`` (:mod:`riskscore.batch.shadow`);
    they are never queued. An event dated more than ``max_future_s`` after ``now``
    (default: the time of reading) is a bad row, as :func:`riskscore.read_messages` has it.
    With ``collect_reports`` (the default), the ``report`` events are kept with their
    conversation's risk (:attr:`ScoreResult.reports`); a job that does not queue them
    skips that (``collect_reports=False``: ``reports`` is then empty).
    """
    check_table_format(fmt)
    account_features = given_account_features(
        account_features, read_room_limit(events, max_room_members)
    )
    # Every file is written in a staging folder and moved into place at the end: a job
    # that fails leaves out_dir as it was (riskscore.io.staging).
    with job_outputs(out_dir, fmt, [events]) as stage:
        progress("read")
        messages, quarantine_path, counts = read_events(
            events,
            errors=errors,
            quarantine=QuarantineFile.staged(stage, QUARANTINE_NAME),
            max_room_members=max_room_members,
            now=now,
            max_future_s=max_future_s,
        )
        progress("model")
        model = load_model(model_dir)
        shadow = None if shadow_model_dir is None else load_model(shadow_model_dir)
        policy = policy_or_default(policy)
        progress("score")
        features = extract_features(messages, account_features=account_features)
        scores = model.score_features(features, reasons_above=policy.reasons_above)
        alerts = policy.alerts(scores)
        progress("write")
        staged = (
            write_table(scores_table(scores, policy), stage(f"scores.{fmt}")),
            write_alerts(alerts, stage(f"alerts.{fmt}")),
        )
        shadow_run = None
        if shadow is not None:
            shadow_scores = shadow.score_features(features, reasons_above=policy.reasons_above)
            write_table(scores_table(shadow_scores, policy), shadow_paths(stage.root, fmt)[0])
            shadow_run = write_shadow_run(
                stage.root,
                fmt=fmt,
                production=model,
                shadow=shadow,
                production_alerts=alerts,
                shadow_alerts=policy.alerts(shadow_scores),
                production_paths=staged,
                n_events=len(messages),
                n_conversations=len(scores),
                decimal_id_columns=messages.decimal_id_columns,
            )
    scores_path, alerts_path = (stage.final_of(path) for path in staged)
    if shadow_run is not None:
        shadow_run = shadow_run.placed(stage)
    if quarantine_path is not None:
        quarantine_path = stage.final(QUARANTINE_NAME)
    return ScoreResult(
        scores=scores,
        alerts=given_alerts(alerts, messages.decimal_id_columns),
        scores_path=scores_path,
        alerts_path=alerts_path,
        n_events=len(messages),
        n_quarantined=len(messages.quarantined),
        quarantine_path=quarantine_path,
        quarantine_counts=counts,
        groups=messages.groups,
        shadow=shadow_run,
        unread_columns=messages.unread_columns,
        reports=ReportEvents.of(messages).with_scores(scores)
        if collect_reports
        else ReportEvents.none(),
        decimal_id_columns=messages.decimal_id_columns,
    )


def read_events(
    events: object,
    *,
    errors: str,
    quarantine: QuarantineFile,
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    now: float | None = None,
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
) -> tuple[MessageTable, Path | None, dict[str, int]]:
    """Read the events of a job; with ``errors="quarantine"``, write the rows set aside.
    Group rooms are split into pair conversations and broadcasts (rooms above
    ``max_room_members``) set aside (``messages.groups``, :mod:`riskscore.io.groups`);
    events dated more than ``max_future_s`` after ``now`` are bad rows
    (:func:`riskscore.read_messages`); bad rows go to ``quarantine``.

    Returns
    -------
    messages : MessageTable
        The rows kept.
    quarantine_path : Path or None
        ``quarantine.path`` (one JSON record per row set aside), None when no row was.
    counts : dict of str to int
        Rows set aside per reason (``"column: reason"``), most frequent first.

    Raises
    ------
    SchemaError
        A bad row with ``errors="raise"``, or every row set aside (with the counts).
    """
    check_errors(errors)
    messages = read_messages(
        events,
        errors="quarantine" if errors == "quarantine" else "raise",
        max_room_members=max_room_members,
        now=now,
        max_future_s=max_future_s,
    )
    quarantine.write(messages.quarantined)
    written, counts = quarantine.close()
    quarantine.check_some_kept(len(messages))
    check_some_events(len(messages), events, messages.groups.n_broadcast, max_room_members)
    return messages, written, counts


def check_some_events(n_kept: int, events: object, n_broadcast: int, max_room_members: int) -> None:
    """Refuse input without an event to score (no rows, or only broadcasts set aside), in
    the same words whether it was read whole or in chunks (``events``: the path read, or
    an in-memory table). Rows all quarantined are refused before, with their reasons
    (:meth:`QuarantineFile.check_some_kept`)."""
    if n_kept:
        return
    name = Path(events).name if isinstance(events, (str, os.PathLike)) else "the events given"
    raise SchemaError(
        f"no events to score in {name}: "
        + (
            broadcast_only_problem(n_broadcast, max_room_members)
            if n_broadcast
            else "the file has no rows"
        )
    )


class QuarantineFile:
    """A quarantine file (``quarantine.jsonl``), one record per refused row
    (:meth:`Quarantine.to_records`), written as parts arrive, with the count of rows per
    reason (``"column: reason"``). The file is created at the first refused row; nothing
    is written when no row is refused."""

    def __init__(self, path: Path, *, shown_as: Path | None = None) -> None:
        self.path = Path(path)
        #: The file's name in messages (its final place when ``path`` is staged).
        self.shown_as = self.path if shown_as is None else Path(shown_as)
        self.n_rows = 0
        self._counts: dict[str, int] = {}
        self._fh: TextIO | None = None
        self._keep: Callable[[], None] | None = None  # on refusing: move the file into place

    @classmethod
    def staged(cls, stage: StagedOutputs, name: str) -> QuarantineFile:
        """The quarantine file ``name`` of a job's staged outputs, named in messages by
        its final place, and moved there even when every row is refused (the error
        names it)."""
        sink = cls(stage(name), shown_as=stage.final(name))
        sink._keep = functools.partial(stage.keep, name)
        return sink

    def write(self, quarantined: Quarantine) -> None:
        """Append the records of ``quarantined``."""
        if not len(quarantined):
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")
        for key, n in quarantined.reason_counts().items():
            self._counts[key] = self._counts.get(key, 0) + n
        for record in quarantined.to_records():
            self._fh.write(json.dumps(record, default=str) + "\n")
        self.n_rows += len(quarantined)

    def close(self) -> tuple[Path | None, dict[str, int]]:
        """The file (None when no row was refused) and the counts per reason, most
        frequent first."""
        if self._fh is not None:
            self._fh.close()
        path = self.path if self.n_rows else None
        return path, most_frequent_first(self._counts)

    def check_some_kept(self, n_kept: int) -> None:
        """Refuse input of which every row was quarantined (nothing left)."""
        if n_kept or not self.n_rows:
            return
        text = all_quarantined_text(self.n_rows, self.close()[1])
        if self._keep is not None:
            self._keep()
        raise SchemaError(f"{text}; see {self.shown_as}")
