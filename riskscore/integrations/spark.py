"""Scoring on Apache Spark: per-conversation risk, tiers and reasons for billions of events.

Needs the optional extra ``riskscore-metadata[spark]`` (pyspark 4) and a Java 17+ runtime.

How the work is split (see ``docs/spark.md``). Every rule, feature and per-account
tally has one definition, the numpy code of :mod:`riskscore.io` and
:mod:`riskscore.features`; Spark only moves rows between calls of it (``mapInArrow``,
one call per block of many rows). :func:`score_events` is out-of-core scoring
(:mod:`riskscore.batch.out_of_core`) on Spark: each event is read and validated once.

1. **Fold**: the events are repartitioned by ``conversation_id`` and sorted by it and
   by input order (the one shuffle of events); each block of whole conversations goes
   through :func:`riskscore.read_messages`,
   :func:`~riskscore.features.accounts.account_parts` (distinct contact pairs,
   per-account counts and pair facts, which add up over any split of the events) and
   :func:`~riskscore.features.states.conversation_states` (each conversation's state:
   44 floats). These part rows and state rows, far fewer than the events, are
   persisted: the next two stages read them.
2. **Tallies**: the part rows are repartitioned by account and merged with
   :func:`~riskscore.features.accounts.tallies_from_parts`. So an adult's fan-out
   counts every conversation, whichever partition it lands in, with the very code
   that computes it on one machine, not a second version in Spark SQL.
   :func:`account_features` gives these tallies of events as they are read.
3. **Scores**: each state row gets the tallies of its adult and the facts of its pair
   of accounts joined in, is repartitioned by ``conversation_id``, and each Arrow batch
   goes through :func:`~riskscore.features.states.features_from_states`,
   :meth:`RiskModel.score_features` and :meth:`AlertPolicy.decide_many` once. No Python
   call per row or per conversation, no pandas conversion. Before that, one job over
   the persisted state rows compares the ids that hold the pair id separator: an id
   two blocks both give (a room's pair id that is also the id of a conversation, or of
   another room's pair) is refused as on one machine; with integer conversation ids,
   it also tells whether a group room was split (its pair ids make every id text).
   Before it, one job looks for the blocks that riskscore refused: a task hands such an
   error back as a row (:mod:`~riskscore.integrations._spark_errors`), and the driver
   raises what :func:`riskscore.read_messages` raises on the whole input.
4. The model travels as its portable JSON parameters (:meth:`RiskModel.to_dict`,
   rebuilt with :meth:`RiskModel.from_dict`), with the policy, in one broadcast
   variable; so does a shadow model (``shadow_model=``), which adds the columns
   ``shadow_risk`` and ``shadow_tier`` and never changes ``tier`` or :func:`alerts`.

Scores equal ``model.score`` on one machine (risk to 1e-9, same tiers); the
test suite checks it on a local Spark session. What each task runs is in
:mod:`~riskscore.integrations._spark_partition` (and the modules it names); the
DataFrame plumbing in :mod:`~riskscore.integrations._spark_frames`; the driver's checks
between stages in :mod:`~riskscore.integrations._spark_checks`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from riskscore._checks import check_whole
from riskscore.exceptions import SchemaError
from riskscore.features import ACCOUNT_SLOTS
from riskscore.integrations._spark_checks import (
    check_some_conversations,
    checked_fold,
    checked_parts,
    events_to_read,
    ids_hold_separator,
    rooms_may_be_understated,
)
from riskscore.integrations._spark_columns import PART_OTHER, output_columns
from riskscore.integrations._spark_frames import DataFrame, SparkSession, sf
from riskscore.integrations._spark_partition import ScoringSpec
from riskscore.integrations._spark_read import Paths, parquet_events, spark_paths
from riskscore.integrations._spark_stages import scores_of, scoring_rows, tallies_of
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS
from riskscore.io.timestamps import DEFAULT_READ_MAX_FUTURE_S
from riskscore.model import RiskModel, checked_model
from riskscore.policy import AlertPolicy, policy_or_default

__all__ = [
    "SCORE_COLUMNS",
    "account_features",
    "alerts",
    "local_session",
    "read_events",
    "score_events",
    "shadow_alerts",
    "write_scores",
]

#: Columns of :func:`score_events` with the default three reasons, in order.
SCORE_COLUMNS = tuple(c.name for c in output_columns())

#: Default number of events handed to the single-machine code per call.
DEFAULT_BLOCK_EVENTS = 200_000


def read_events(spark: SparkSession, path: Paths) -> DataFrame:
    """Read schema v1 events from Parquet on any path Spark reads (local, HDFS, S3, ...).

    The footers of all the files are read (one Spark job) and their schemas merged, so the
    columns are those of every file: a content-like column in any one file is refused by
    :func:`score_events`, whichever file Spark would have sampled, and a column written
    with two types in two files is refused here. Every file under the paths is listed
    (no footer read), and one that Spark's Parquet reader would leave out is refused.

    Parameters
    ----------
    spark : SparkSession
        The session to read with.
    path : str, pathlib.Path or list of them
        A Parquet file or directory (or several).

    Returns
    -------
    pyspark.sql.DataFrame
        The events as stored; :func:`score_events` checks them. Given to it as returned,
        their input order (of events tied on timestamp, and of the first bad row named) is
        that of their files by path, then of the rows within each file, as
        ``pyarrow.parquet.read_table`` reads a directory; a DataFrame made from it
        (filtered, say) is in the order Spark reads it (``docs/spark.md``, "Ties").

    Raises
    ------
    SchemaError
        A column has two types in two files (``conversation_id`` integers in one and text
        in another: 7 and ``"7"`` are never merged), a file is not readable Parquet (named),
        the paths hold no Parquet file, or files under them would not be read (in a
        subdirectory not named column=value beside files, or beside partition
        directories; named) or would be read twice (under two of the paths given), or
        a partition directory named after a schema v1 column
        (``conversation_id=1``) holds files with other values of it (Spark would give every
        row the directory's value). Not Spark's error with a Java trace.
    TypeError, ValueError
        ``path`` is not a path or a list of paths, or an empty list.

    Examples
    --------
    >>> events = read_events(spark, "s3a://bucket/events/date=2026-01-0*")  # doctest: +SKIP
    """
    return parquet_events(spark, spark_paths(path))


def account_features(
    events: DataFrame,
    *,
    partitions: int | None = None,
    block_events: int = DEFAULT_BLOCK_EVENTS,
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    now: float | None = None,
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
) -> DataFrame:
    """Per-account tallies over all events, computed on Spark with the numpy code.

    The same numbers as :func:`riskscore.extract_account_features` on one machine
    (the tallies of :data:`riskscore.features.ACCOUNT_SLOTS`: distinct contacts,
    distinct minors, distinct minors on ephemeral, encrypted or external channels,
    contact requests sent, accepts received, blocks and reports received from minors;
    ``docs/features.md``). Each block of events, in the partitions they are read in,
    gives its :func:`~riskscore.features.accounts.account_parts`; these are
    repartitioned by account and merged with
    :func:`~riskscore.features.accounts.tallies_from_parts`.

    Input that :func:`riskscore.read_messages` refuses (a row that breaks the schema,
    two conversations under one id) raises its :class:`~riskscore.SchemaError`, the
    same message (but for what it says to do with other bad rows: Spark has no
    quarantine), before this function returns: the events are read in a job that runs
    here, and their part rows stay cached for the session (released when this raises).
    Ids that hold :data:`~riskscore.io.groups.PAIR_ID_SEPARATOR` (one job looks, over
    the text ids) can give two conversations one id: only then are the events read as
    :func:`score_events` reads them (repartitioned by conversation, pair ids compared).

    Parameters
    ----------
    events : pyspark.sql.DataFrame
        Schema v1 events. Rows are validated as :func:`riskscore.read_messages` does. A
        streaming DataFrame is refused (a :class:`~riskscore.SchemaError`): score each
        micro-batch with ``writeStream.foreachBatch``.
    partitions : int, optional
        Partitions of the repartition by account (and by conversation, when ids hold
        the separator); by default ``spark.sql.shuffle.partitions``. An int from 1 to
        2**31 - 1 (Spark's most), else a ValueError before any job.
    block_events : int, default 200_000
        Rows handed to the numpy code per call.
    max_room_members : int, default 20
        Rooms above this many accounts are broadcast surfaces, left out
        (:mod:`riskscore.io.groups`).
    now : float, optional
        The reference time of the future limit, epoch seconds (default: the driver's
        wall clock when the job is planned, one time for every executor).
    max_future_s : float, default DEFAULT_READ_MAX_FUTURE_S (five years)
        Events dated more than this after ``now`` are refused, as by
        :func:`riskscore.read_messages`; ``math.inf`` lifts the limit.

    Returns
    -------
    pyspark.sql.DataFrame
        ``account_id`` and one double column per name in
        :data:`riskscore.features.ACCOUNT_SLOTS`, one row per account that sent or
        received an event.

    Examples
    --------
    >>> account_features(events).where("private_minors >= 5").count()  # doctest: +SKIP
    """
    ev, spec, n_parts = events_to_read(
        events, partitions, block_events, max_room_members, now, max_future_s
    )
    if ids_hold_separator(ev) or rooms_may_be_understated(ev):
        # two conversations could share an id, or an event's rows name more recipients
        # than its room holds: read whole conversations, as scoring does
        parts = checked_fold(ev, spec, n_parts)[0].part_rows
    else:
        parts = checked_parts(ev, spec)
    rows = tallies_of(parts, spec, n_parts)
    return rows.where(sf.col(PART_OTHER).isNull()).select("account_id", *ACCOUNT_SLOTS)


def score_events(
    events: DataFrame,
    model: RiskModel,
    policy: AlertPolicy | None = None,
    *,
    n_reasons: int = 3,
    partitions: int | None = None,
    block_events: int = DEFAULT_BLOCK_EVENTS,
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    shadow_model: RiskModel | None = None,
    now: float | None = None,
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
) -> DataFrame:
    """Risk, tier and reasons of every conversation, computed on Spark.

    Parameters
    ----------
    events : pyspark.sql.DataFrame
        Schema v1 events (see :func:`riskscore.read_messages`); ids must be
        integers or strings; not a streaming DataFrame (a
        :class:`~riskscore.SchemaError`: score each micro-batch with
        ``writeStream.foreachBatch``). Rows are validated on the executors exactly as on
        one machine: a row that breaks the schema raises, on the driver, the
        :class:`~riskscore.SchemaError` of :func:`riskscore.read_messages` (the same
        message: the first bad row of the input, its column and value, the bad rows
        counted; of these, it says Spark has no quarantine, and to filter them out), not
        Spark's error around a task's. Each event is
        read and validated once, in a job that runs before this function returns
        (with the check of pair ids, see ``max_room_members``); the per-conversation
        states, the per-account parts made of them and the merged tallies stay cached
        for the session, since the returned DataFrame reads them whenever it is
        computed (``spark.catalog.clearCache()`` releases them; when this function
        raises, it releases what it cached).
    model : RiskModel
        The model; its portable parameters are broadcast to the executors once.
    policy : AlertPolicy, optional
        Thresholds for ``tier`` and ``age_band``; :meth:`AlertPolicy.default` when omitted.
    n_reasons : int, default 3
        Reasons kept per conversation.
    partitions : int, optional
        Partitions of the repartitions by ``conversation_id`` (the events, then the
        state rows) and by account (tallies); by default
        ``spark.sql.shuffle.partitions``. An int from 1 to 2**31 - 1 (Spark's most),
        else a ValueError before any job.
    block_events : int, default 200_000
        Events (whole conversations) read, validated and folded into states per call
        of the numpy code in a task; with the largest conversation, this bounds a
        Python worker's memory. The tally stage hands the numpy code blocks of as many
        part rows; the scoring stage scores each Arrow batch of state rows as it comes
        (``spark.sql.execution.arrow.maxRecordsPerBatch`` conversations).
    max_room_members : int, default 20
        Rooms above this many accounts are broadcast surfaces, left out; group rooms
        are split into pair conversations as :func:`riskscore.read_messages` does
        (:mod:`riskscore.io.groups`). A pair id that is also the id of another
        conversation, or that two rooms derive, raises the
        :class:`~riskscore.SchemaError` of :func:`riskscore.read_messages`, whichever
        partitions the two fall in. With integer conversation ids, whether any group
        room was split (every id is then text) is read from the state rows in the same
        job.
    shadow_model : RiskModel, optional
        A candidate scored on the same features under the same policy (shadow mode):
        adds ``shadow_risk`` and ``shadow_tier`` after ``age_band``. ``tier``, and so
        :func:`alerts`, stay the production model's; :func:`shadow_alerts` filters
        on the shadow's tier.
    now : float, optional
        The reference time of the future limit, epoch seconds (default: the driver's
        wall clock when the job is planned, one time for every executor).
    max_future_s : float, default DEFAULT_READ_MAX_FUTURE_S (five years)
        Events dated more than this after ``now`` are refused, as by
        :func:`riskscore.read_messages`; ``math.inf`` lifts the limit.

    Returns
    -------
    pyspark.sql.DataFrame
        One row per conversation: the scores file's columns
        (:data:`riskscore.policy.SCORE_COLUMNS`: ids, ``child_age`` and ``adult_age``
        (null if unknown), ``risk``, ``tier`` (0 no alert, 1 review, 2 urgent),
        ``age_band``, ``reasons``: an array of ``{feature, value, contribution}``,
        at most ``n_reasons``), then ``n_events``, ``first_event_ts``,
        ``last_event_ts`` (epoch seconds) and ``date`` (UTC date of the last event, for
        partitioned output).

    Examples
    --------
    >>> import riskscore as rs
    >>> from riskscore.integrations.spark import alerts, read_events, score_events, write_scores
    >>> events = read_events(spark, "events/")  # doctest: +SKIP
    >>> scores = score_events(events, rs.load_model())  # doctest: +SKIP
    >>> write_scores(scores, "scores/")  # doctest: +SKIP
    >>> alerts(scores).orderBy("tier", "risk", ascending=False).show(5)  # doctest: +SKIP
    """
    n_reasons = check_whole("n_reasons", n_reasons, 1)
    # the arguments before any job: else a wrong one failed after the pass over the events
    checked_model(model)
    if shadow_model is not None:
        checked_model(shadow_model, "shadow_model")
    policy = policy_or_default(policy)
    ev, read, n_parts = events_to_read(
        events, partitions, block_events, max_room_members, now, max_future_s
    )
    folded, pairs = checked_fold(ev, read, n_parts)
    check_some_conversations(ev, folded, pairs, read.max_room_members)
    # group rooms give text pair ids: then every id is text
    conv_text = read.string_conversation_ids or pairs.any
    rows = scoring_rows(folded.states, tallies_of(folded.part_rows, read, n_parts), n_parts)
    spec = ScoringSpec(
        model=model.to_dict(),
        policy=policy,
        n_reasons=n_reasons,
        string_conversation_ids=conv_text,
        string_account_ids=read.string_account_ids,
        shadow_model=None if shadow_model is None else shadow_model.to_dict(),
    )
    return scores_of(rows, spec)


def alerts(scores: DataFrame) -> DataFrame:
    """The conversations of :func:`score_events` that raise an alert (``tier`` > 0).

    Parameters
    ----------
    scores : pyspark.sql.DataFrame
        Output of :func:`score_events`.

    Returns
    -------
    pyspark.sql.DataFrame
        Same columns, alerting rows only, in no particular order (sort by
        ``tier`` then ``risk``, descending, for a review queue).

    Examples
    --------
    >>> alerts(scores).groupBy("age_band", "tier").count().show()  # doctest: +SKIP
    """
    return scores.where(sf.col("tier") > 0)


def shadow_alerts(scores: DataFrame) -> DataFrame:
    """The conversations the shadow model would alert (``shadow_tier`` > 0): recorded for
    comparison, never queued.

    Parameters
    ----------
    scores : pyspark.sql.DataFrame
        Output of :func:`score_events` with a ``shadow_model``.

    Returns
    -------
    pyspark.sql.DataFrame
        Same columns, rows the shadow alerts. Alerts gained by the shadow are the rows
        with ``tier = 0``, those lost are ``alerts(scores)`` rows with ``shadow_tier = 0``.

    Examples
    --------
    >>> shadow_alerts(scores).where("tier = 0").count()  # gained  # doctest: +SKIP
    """
    if "shadow_tier" not in scores.columns:
        raise SchemaError(
            "no shadow_tier column: score with score_events(..., shadow_model=...)",
            column="shadow_tier",
        )
    return scores.where(sf.col("shadow_tier") > 0)


def write_scores(scores: DataFrame, path: str, *, mode: str = "overwrite") -> None:
    """Write scores (or alerts) as Parquet partitioned by ``date`` (UTC date of each
    conversation's last event).

    Parameters
    ----------
    scores : pyspark.sql.DataFrame
        Output of :func:`score_events` or :func:`alerts`.
    path : str
        Output directory on any path Spark writes; ``date=YYYY-MM-DD/`` folders inside.
    mode : str, default "overwrite"
        Spark's save mode (``"overwrite"``, ``"append"``, ``"error"``, ``"ignore"``).
        With ``spark.sql.sources.partitionOverwriteMode=dynamic``, overwrite replaces
        only the dates present in ``scores``.

    Examples
    --------
    >>> write_scores(score_events(events, model), "s3a://bucket/scores/")  # doctest: +SKIP
    """
    scores.write.mode(mode).partitionBy("date").parquet(path)


def local_session(cores: int = 2, conf: Mapping[str, str] | None = None) -> SparkSession:
    """A local Spark session for tests, benchmarks and small jobs.

    Its Python workers run this interpreter, its session time zone is UTC, its web UI
    is off and ``spark.sql.shuffle.partitions`` is ``cores`` (one task per core in each
    stage after a shuffle, and so in :func:`score_events` without ``partitions``; Spark's
    default, 200, is meant for clusters: on 2 cores it runs 100 tasks per core and
    :func:`write_scores` writes 200 files per date).

    Parameters
    ----------
    cores : int, default 2
        Runs ``local[cores]``.
    conf : mapping of str to str, optional
        Extra Spark settings, e.g. ``{"spark.sql.shuffle.partitions": "8"}``; they win
        over the ones above.

    Returns
    -------
    pyspark.sql.SparkSession
        A new session, or the running one (``getOrCreate``).

    Examples
    --------
    >>> spark = local_session(2, {"spark.sql.shuffle.partitions": "4"})  # doctest: +SKIP
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("riskscore")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    for key, value in {"spark.sql.shuffle.partitions": str(cores), **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
