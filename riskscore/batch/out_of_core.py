"""Scoring Parquet files larger than memory, in conversation-complete chunks.

:func:`score_parquet` gives the same scores, alerts and quarantined rows as
``model.score(read_messages(path, errors=...))`` with memory bounded by two chunks of
events (plus the per-account parts of step 2, which grow with conversations, not events):

1. **Chunks.** Record batches are streamed as if the file were sorted by
   ``conversation_id`` (as :func:`riskscore.synthetic.generate_parquet` writes it), the
   rows of the last conversation of each batch carried into the next, so a conversation
   is never split between chunks; the order is checked batch by batch. At the first batch
   whose ids go down, what step 2 wrote is removed and it starts again on a partition:
   the rows range-partitioned by conversation id into temporary Parquet buckets (schema
   v1 columns only), each bucket one chunk. Rows without a conversation id belong to no
   conversation: they form chunks of their own, which the validator refuses.
2. **Validation, per-account tallies and states.** Each chunk is read and validated once,
   by the one validator (:func:`riskscore.io.read_chunk`, the rules of
   :func:`riskscore.read_messages`, rows named by their position in the file). With
   ``errors="raise"`` the first bad row of a chunk stops the job before any output is
   written; with ``errors="quarantine"`` bad rows go to ``quarantine.jsonl`` with a reason
   each, as in memory (a whole conversation is in the chunk, so the rule that fixes its
   two accounts by its first event sees what it sees in memory). The kept rows give their
   :func:`~riskscore.features.accounts.account_parts`, which
   :func:`~riskscore.features.accounts.tallies_from_parts` merges into the tallies of the
   whole file, so an adult whose conversations sit in different chunks gets the fan-out
   of all of them; and each conversation's state, folded by the event kernel
   (:func:`~riskscore.features.states.conversation_states`), is spilled to a temporary
   Arrow file (:mod:`riskscore.batch.state_spill`): 44 floats and three ids per
   conversation.
3. **Scores.** Each chunk's states, with the merged tallies, give its feature rows
   (:func:`~riskscore.features.states.features_from_states`, the second half of the
   kernel of :func:`riskscore.extract_features`; the tallies were merged from every
   chunk, or given ones were checked against the whole file in step 2), then
   :meth:`RiskModel.score_features`; its scores are appended to the output, and its
   alerts collected and written at the end, in the in-memory order. A shadow model
   (``shadow_model=``) scores the same features; its scores and alerts go to ``shadow/``
   (:mod:`riskscore.batch.shadow`).

The scores file holds the in-memory rows in the in-memory order, except with group rooms:
their pair ids (``room|a|b``, :mod:`riskscore.io.groups`) make every id text, and the rows
then come chunk by chunk in the order of the file's ids; sorting them by
``conversation_id`` gives the in-memory order. The same holds for unsigned conversation
ids beyond int64, read as their decimal text in memory (chunks follow the integers).
Alerts are sorted as in memory. Pair facts (``pair_met_channel``,
``pair_hours_to_private``) are merged over all chunks in step 2, as the per-account
tallies are.

There is one definition of each rule, feature and tally (:mod:`riskscore.io`,
:mod:`riskscore.features`); this module only decides which events go through them
together. A sorted file is read once; an unsorted one up to where its order breaks (the
first batch, for a shuffled file), then its ``conversation_id`` column for the partition
bounds, then every column to partition it, then its buckets once. In steps 2 and 3 two
chunks are worked on at once, on two worker threads
(:func:`~riskscore.batch.prefetch.one_ahead`; chunks are taken from the file in turn),
each step on one thread (:func:`riskscore.io.threads.limited_threads`); errors and
quarantined rows still come in chunk order. This module drives the job: step 2 is in
:mod:`riskscore.batch.chunk_states`, step 3 in :mod:`riskscore.batch.chunk_scores`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from riskscore.batch.alerts import write_alerts
from riskscore.batch.chunk_scores import score_step
from riskscore.batch.chunk_states import (
    FoldedFile,
    as_text,
    fold_step,
    ids_beyond_int64,
    text_order,
    validated_chunk,
)
from riskscore.batch.parquet_chunks import (
    DEFAULT_CHUNK_ROWS,
    check_chunk_rows,
    check_parquet_columns,
    conversation_chunks,
    iter_conversation_chunks,
    unread_parquet_columns,
)
from riskscore.batch.reports import ReportEvents
from riskscore.batch.score import (
    QUARANTINE_NAME,
    QuarantineFile,
    check_some_events,
    job_outputs,
)
from riskscore.batch.shadow import ShadowRun, shadow_paths, write_shadow_run
from riskscore.batch.state_spill import read_states
from riskscore.exceptions import SchemaError
from riskscore.features.accounts import (
    AccountFeatures,
    tallies_from_parts,
)
from riskscore.features.batch import given_account_features
from riskscore.features.states import (
    features_from_states,
)
from riskscore.features.table import FeatureTable
from riskscore.io import MessageTable
from riskscore.io.arrow import check_table_format
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS
from riskscore.io.problems import bad_row_count, renumbered
from riskscore.io.summaries import GroupSummary
from riskscore.io.threads import limited_threads
from riskscore.io.timestamps import DEFAULT_READ_MAX_FUTURE_S, FutureLimit
from riskscore.io.validate import Errors, check_errors
from riskscore.model import RiskModel, load_model
from riskscore.policy import Alert, AlertPolicy
from riskscore.policy.alerts import given_alerts

__all__ = ["DEFAULT_CHUNK_ROWS", "OutOfCoreResult", "iter_conversation_chunks", "score_parquet"]

Progress = Callable[[int], object]


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
        Alerts, urgent first, then by decreasing risk, their ids as given
        (:func:`riskscore.policy.alerts.given_alerts`, by ``decimal_id_columns``), as
        :attr:`riskscore.batch.ScoreResult.alerts`; the alerts file holds such ids as
        decimal text.
    partitioned : bool
        Whether the input was not sorted by conversation and was range-partitioned first.
    n_quarantined : int
        Rows set aside (``errors="quarantine"``); ``n_events + n_quarantined +
        groups.n_broadcast`` is the number of rows in the file.
    quarantine_path : pathlib.Path or None
        ``quarantine.jsonl`` when rows were set aside.
    quarantine_counts : dict of str to int
        Rows set aside per reason (``"column: reason"``), most frequent first.
    groups : GroupSummary
        Group rooms split into pairs and broadcast events set aside, totals over all
        chunks (``broadcast_rows`` are not kept).
    unread_columns : tuple of str
        Columns of the file that are not schema v1 columns (never read).
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
    n_quarantined: int = 0
    quarantine_path: Path | None = None
    quarantine_counts: dict[str, int] = field(default_factory=dict)
    groups: GroupSummary = field(default_factory=GroupSummary)
    shadow: ShadowRun | None = None
    unread_columns: tuple[str, ...] = ()
    #: The ``report`` events kept, with their conversation's risk (as
    #: :attr:`riskscore.batch.score.ScoreResult.reports`); empty with
    #: ``collect_reports=False``.
    reports: ReportEvents = field(default_factory=ReportEvents.none)
    #: The events' id columns of integers held as decimal text (as
    #: :attr:`riskscore.batch.score.ScoreResult.decimal_id_columns`).
    decimal_id_columns: tuple[str, ...] = ()


def score_parquet(
    events: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    model: RiskModel | None = None,
    policy: AlertPolicy | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    fmt: str = "parquet",
    errors: Errors = "raise",
    workdir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    read_progress: Progress | None = None,
    account_features: AccountFeatures | None = None,
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    shadow_model: RiskModel | None = None,
    now: float | None = None,
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
    collect_reports: bool = True,
) -> OutOfCoreResult:
    """Score every conversation of a Parquet file too large for memory.

    Results equal ``model.score(read_messages(events, errors=errors))`` (same conversation
    order, same floats, the same rows quarantined); memory is bounded by two chunks of about
    ``chunk_rows`` events. Group rooms are split into pair conversations as in memory;
    with integer conversation ids every id is then text, in the order of the chunks (by
    integer id) rather than the in-memory text order (so are unsigned ids beyond int64).

    Parameters
    ----------
    events : str or path-like
        A Parquet events file (schema v1), sorted by conversation or not.
    out_dir : str or path-like
        Directory for ``scores.<fmt>``, ``alerts.<fmt>`` and, when rows are quarantined,
        ``quarantine.jsonl``.
    model : RiskModel, optional
        The model (default: :func:`riskscore.load_model`).
    policy : AlertPolicy, optional
        The alert policy (default: :meth:`AlertPolicy.default`).
    chunk_rows : int, default 2_000_000
        Events per chunk, roughly; an int from 1 to 2**53 (a ValueError otherwise).
    fmt : {"parquet", "csv", "jsonl"}, default "parquet"
        Output format.
    errors : {"raise", "quarantine"}, default "raise"
        ``"raise"``: a row that breaks schema v1 stops the job before any output is
        written. ``"quarantine"``: bad rows are set aside in ``quarantine.jsonl`` (one
        record each, as :meth:`riskscore.Quarantine.to_records` gives, ``row`` being the
        row index in the file; records come chunk by chunk, so sort by ``row`` for file
        order) and the rest are scored.
    workdir : str or path-like, optional
        Directory for temporary files (default: the system's, ``$TMPDIR``): each
        conversation's state between the two passes (about 400 bytes per conversation,
        plus its ids: about as large as the Parquet file, at 40 events a conversation),
        and the partition buckets of an unsorted file (about as large again).
    progress : callable, optional
        Called, after each chunk is scored, with the number of input rows done so far
        (kept and quarantined).
    read_progress : callable, optional
        Called, after each chunk is read, validated and folded (step 2, before any is
        scored), with the number of input rows done so far; ``progress`` then counts the
        scored ones. A file found not sorted starts from 0 again.
    account_features : AccountFeatures, optional
        Per-account tallies of a larger history that holds the file's events, used
        instead of the tallies of the file (see :func:`riskscore.extract_features`).
    max_room_members : int, default 20
        Rooms above this many accounts are broadcasts, set aside and counted
        (:mod:`riskscore.io.groups`).
    shadow_model : RiskModel, optional
        A candidate scored on the same features under the same policy; its scores,
        alerts and a summary go to ``out_dir/shadow/`` (:mod:`riskscore.batch.shadow`).
    now : float, optional
        Reference time of the future limit, epoch seconds (default: the wall clock when
        the job starts, one time for every chunk); see :func:`riskscore.read_messages`.
    max_future_s : float, default DEFAULT_READ_MAX_FUTURE_S (five years)
        Events dated more than this after ``now`` are bad rows; ``math.inf`` lifts the
        limit (see :func:`riskscore.read_messages`).
    collect_reports : bool, default True
        Whether to collect the ``report`` events with their conversation's risk
        (:attr:`OutOfCoreResult.reports`); False skips them (``reports`` is then empty),
        for a job that does not queue them.

    Returns
    -------
    OutOfCoreResult

    Raises
    ------
    SchemaError
        A row breaks schema v1 (the message of :func:`riskscore.read_messages`: the
        file's first bad row, its column and value, and the bad rows of the whole file
        counted, found by a second pass over the chunks once one is refused), every
        row was quarantined, no event is left to score (no rows, or only broadcasts),
        or ``account_features`` do not cover the file's events or were counted with
        another ``max_room_members``; raised before any output is written.

    Notes
    -----
    Memory: two chunks of events (the one tallied and folded into states, and the next,
    read and validated on a worker thread), then two chunks of states and features, plus
    the per-account parts of every chunk until they are merged (each distinct contact
    pair of a chunk, as two account ids, in up to three sets; so about 50 bytes per
    conversation with integer ids, more with text ids).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import riskscore as rs
    >>> from riskscore.batch.out_of_core import score_parquet
    >>> from riskscore.synthetic import generate_parquet
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path, _ = generate_parquet(pathlib.Path(tmp) / "events.parquet", 200, seed=3)
    ...     result = score_parquet(path, pathlib.Path(tmp) / "out", chunk_rows=2_000)
    ...     print(result.n_conversations, result.n_chunks > 1, result.n_quarantined)
    200 True 0
    """
    check_table_format(fmt)
    check_errors(errors)
    chunk_rows = check_chunk_rows(chunk_rows)
    account_features = given_account_features(account_features, max_room_members)
    future = FutureLimit.at(now, max_future_s)  # one reference time for every chunk
    source, out = _parquet_source(events), Path(out_dir)
    model = model if model is not None else load_model()
    policy = policy if policy is not None else AlertPolicy.default()
    check_parquet_columns(source)  # names checked before any temporary file is written
    unread = unread_parquet_columns(source)  # before the outputs could replace it
    # Every output is written in a staging folder and moved into place at the end: a job
    # that fails part-way leaves out_dir as it was (riskscore.io.staging).
    with job_outputs(out, fmt, [source]) as stage:
        # Two chunks are worked on at once (one_ahead): one thread per step keeps two cores
        # busy, where splitting each step again only made the threads compete.
        with (
            limited_threads(1),
            tempfile.TemporaryDirectory(dir=workdir, prefix="riskscore-ooc-") as tmp,
        ):

            def validate(chunk: pa.Table) -> MessageTable:
                return validated_chunk(chunk, errors, max_room_members, future)

            try:
                folded, sorted_input = fold_step(
                    source, chunk_rows, Path(tmp),
                    lambda: QuarantineFile.staged(stage, QUARANTINE_NAME),
                    validate, read_progress, collect_reports,
                )  # fmt: skip
            except SchemaError as exc:
                if errors != "raise" or exc.row is None:  # not a bad row: nothing to count
                    raise
                raise _whole_file_error(exc, source, chunk_rows, Path(tmp), validate) from None
            quarantine, text_ids = folded.quarantine, folded.text_ids
            decimal_ids = folded.decimal_id_columns
            # integer conversation ids held as text beside pair ids, as in memory
            integer_text = "conversation_id" in decimal_ids and (
                folded.groups.n_rooms > 0 or folded.integer_text
            )
            quarantine_path, quarantine_counts = quarantine.close()
            quarantine.check_some_kept(folded.n_kept)
            # nothing to score: refused as in memory, before output
            check_some_events(folded.n_kept, source, folded.groups.n_broadcast, max_room_members)
            accounts = _file_accounts(folded, account_features)
            groups = folded.groups
            spilled = folded.spilled
            del folded

            def features(states_path: Path) -> FeatureTable:
                states = read_states(states_path)
                states_path.unlink()
                return features_from_states(text_order(states, text_ids, integer_text), accounts)

            # Step 3: each chunk's states with every chunk's tallies (merged from them, or
            # checked against them by check_covers above): no check chunk by chunk.
            scores_path = stage(f"scores.{fmt}")
            scored = score_step(
                spilled, features, model, shadow_model, policy, scores_path,
                None if shadow_model is None else shadow_paths(stage.root, fmt)[0], progress,
                text_ids,
            )  # fmt: skip
        # the in-memory order: urgent first, then by decreasing risk, ties by conversation
        alerts = _in_alert_order(scored.alerts)
        alerts_path = write_alerts(alerts, stage(f"alerts.{fmt}"))
        shadow_run = None
        if shadow_model is not None:
            shadow_run = write_shadow_run(
                stage.root,
                fmt=fmt,
                production=model,
                shadow=shadow_model,
                production_alerts=alerts,
                shadow_alerts=_in_alert_order(scored.shadow_alerts),
                production_paths=(scores_path, alerts_path),
                n_events=scored.n_events,
                n_conversations=scored.n_conversations,
                decimal_id_columns=decimal_ids,
            )
    return OutOfCoreResult(
        scores_path=stage.final_of(scores_path),
        alerts_path=stage.final_of(alerts_path),
        n_events=scored.n_events,
        n_conversations=scored.n_conversations,
        n_chunks=scored.n_chunks,
        alerts=given_alerts(alerts, decimal_ids),
        partitioned=not sorted_input,
        n_quarantined=quarantine.n_rows,
        quarantine_path=None if quarantine_path is None else stage.final(QUARANTINE_NAME),
        quarantine_counts=quarantine_counts,
        groups=groups,
        shadow=None if shadow_run is None else shadow_run.placed(stage),
        unread_columns=unread,
        reports=scored.reports,
        decimal_id_columns=decimal_ids,
    )


def _parquet_source(events: str | os.PathLike[str]) -> Path:
    """The events file, once it is found to be a Parquet file that exists."""
    source = Path(events)
    if source.suffix.lower() not in {".parquet", ".pq"}:
        raise SchemaError(f"out-of-core scoring reads Parquet files, got {source.name!r}")
    if not source.exists():
        raise FileNotFoundError(f"no such events file: {source}")
    return source


def _file_accounts(folded: FoldedFile, given: AccountFeatures | None) -> AccountFeatures:
    """The account features of the whole file: its chunks' tallies merged, or ``given``
    (a larger history's) once checked against them, before any output."""
    accounts = tallies_from_parts(folded.parts)
    if given is None:
        return accounts
    spans = folded.spans
    span = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
    # of the ids' kind: integers beyond int64 are decimal text in every chunk
    ids, decimal = accounts.account_id, folded.decimal_ids
    own = given.for_ids(ids, decimal_ids=decimal)
    own.check_covers(ids, accounts.values, span, accounts.pairs, decimal_ids=decimal)
    return own


def _whole_file_error(
    first: SchemaError,
    source: Path,
    chunk_rows: int,
    tmp: Path,
    validate: Callable[[pa.Table], MessageTable],
) -> SchemaError:
    """The error of :func:`riskscore.read_messages` on the whole file, once a chunk was
    refused with ``first``: every chunk validated again (a second pass, on failure only,
    as Spark does), the least bad row named and the bad rows of every chunk counted.
    Chunks come in conversation order, not row order, in a file that is not sorted."""
    text_columns = ids_beyond_int64(source)
    found: list[SchemaError] = []
    (tmp / "count").mkdir()
    _, chunks = conversation_chunks(source, chunk_rows, tmp / "count")
    for chunk in chunks:
        try:
            validate(as_text(chunk, text_columns))
        except SchemaError as exc:
            if exc.row is not None:
                found.append(exc)
    if not found:
        return first
    least = min(found, key=lambda e: int(e.row or 0))
    total = sum(bad_row_count(e) for e in found)
    return renumbered(least, row=int(least.row or 0), bad_rows=total)


def _in_alert_order(alerts: list[Alert]) -> list[Alert]:
    """Urgent first, then by decreasing risk, ties by conversation as the in-memory table
    orders them: by id, or, where integer ids stand beside text ids (a group room's pair
    ids), by the ids' text, as that table holds them (compared as they are, an integer and
    a text id raised a TypeError)."""
    mixed = len({type(a.conversation_id) is str for a in alerts}) > 1

    def order(alert: Alert) -> tuple[int, float, Any]:
        cid = alert.conversation_id
        return (-int(alert.tier), -alert.risk, str(cid) if mixed else cid)

    return sorted(alerts, key=order)
