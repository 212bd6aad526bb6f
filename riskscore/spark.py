"""Scoring on Apache Spark: per-conversation risk, tiers and reasons for billions of events.

Needs the optional extra ``riskscore[spark]`` (pyspark 4) and a Java 17+ runtime.

How the work is split (see ``docs/spark.md``):

1. **Per-account features** (fan-out to minors, share of contacts who are minors,
   contact requests never accepted, blocks and reports from minors) are Spark
   aggregations over *all* events (:func:`account_features`), so an adult's
   fan-out counts every conversation, whichever partition it lands in.
2. Each conversation's two participants get their account row joined in, and
   the account rows and the events are repartitioned together by
   ``conversation_id`` and sorted within each partition.
3. ``mapInArrow`` runs the single-machine numpy code on each partition: the
   stream of Arrow batches is cut at conversation boundaries into blocks of
   many conversations, and each block goes through
   :func:`riskscore.read_messages`, :func:`riskscore.extract_features`,
   :meth:`RiskModel.score_features` and :meth:`AlertPolicy.tiers` once. No
   Python call per row or per conversation, no pandas conversion.
4. The model's portable parameters and the policy go to each executor once, as
   a broadcast variable.

Scores equal ``model.score`` on one machine (risk to 1e-9, same tiers); the
test suite checks it on a local Spark session.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from riskscore._spark_partition import (
    ACCOUNT,
    ACCOUNT_VALUES,
    KIND,
    KIND_ACCOUNT,
    KIND_EVENT,
    ROW,
    ScoringSpec,
    output_columns,
    score_partition,
)
from riskscore.exceptions import SchemaError
from riskscore.features import ACCOUNT_FEATURE_NAMES
from riskscore.io import check_column_names
from riskscore.model import RiskModel
from riskscore.policy import AlertPolicy
from riskscore.schema import MINOR_AGE, SCHEMA_COLUMNS

try:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "riskscore.spark needs pyspark: pip install 'riskscore[spark]' (and a Java 17+ "
        "runtime, e.g. apt-get install openjdk-17-jre-headless)"
    ) from exc

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa

__all__ = [
    "SCORE_COLUMNS",
    "account_features",
    "alerts",
    "local_session",
    "read_events",
    "score_events",
    "write_scores",
]

#: Columns of :func:`score_events` with the default three reasons, in order.
SCORE_COLUMNS = tuple(c.name for c in output_columns(3))

#: Default number of events handed to the single-machine code per call.
DEFAULT_BLOCK_EVENTS = 200_000

_ID_COLUMNS = ("conversation_id", "sender_id", "recipient_id")


def read_events(spark: SparkSession, path: str | list[str]) -> DataFrame:
    """Read schema v1 events from Parquet on any path Spark reads (local, HDFS, S3, ...).

    Parameters
    ----------
    spark : SparkSession
        The session to read with.
    path : str or list of str
        A Parquet file or directory (or several).

    Returns
    -------
    pyspark.sql.DataFrame
        The events as stored; :func:`score_events` checks them.

    Examples
    --------
    >>> events = read_events(spark, "s3a://bucket/events/date=2026-01-0*")  # doctest: +SKIP
    """
    paths = [path] if isinstance(path, str) else list(path)
    return spark.read.parquet(*paths)


def _check_columns(events: DataFrame) -> None:
    check_column_names(events.columns)
    for name in _ID_COLUMNS:
        kind = events.schema[name].dataType
        if not isinstance(kind, (st.IntegralType, st.StringType)):
            raise SchemaError(
                f"column {name!r} has Spark type {kind.simpleString()}: ids must be integers or "
                f"strings; cast it, e.g. events.withColumn({name!r}, col({name!r}).cast('long'))",
                column=name,
            )


def _normalize_ids(events: DataFrame) -> tuple[DataFrame, bool, bool]:
    """Integer ids as long; senders and recipients share one type (text if either is)."""
    types = {name: events.schema[name].dataType for name in _ID_COLUMNS}
    conv_text = isinstance(types["conversation_id"], st.StringType)
    acc_text = any(isinstance(types[n], st.StringType) for n in ("sender_id", "recipient_id"))
    out = events.select(
        *[c for c in SCHEMA_COLUMNS if c in events.columns],
    )
    out = out.withColumn("conversation_id", sf.col("conversation_id").cast(_id_type(conv_text)))
    for name in ("sender_id", "recipient_id"):
        out = out.withColumn(name, sf.col(name).cast(_id_type(acc_text)))
    return out, conv_text, acc_text


def _id_type(text: bool) -> st.DataType:
    return st.StringType() if text else st.LongType()


def _event_kind(events: DataFrame) -> Column:
    """The event type as read_messages reads it: trimmed, lower case, empty means message."""
    if "event" not in events.columns:
        return sf.lit("message")
    kind = sf.lower(sf.trim(sf.col("event").cast("string")))
    return sf.when(kind.isNull() | (kind == ""), sf.lit("message")).otherwise(kind)


def _as_int(condition: Column) -> Column:
    return condition.cast("long")


def _age(events: DataFrame, name: str) -> Column:
    return sf.col(name).cast("double") if name in events.columns else sf.lit(None).cast("double")


def account_features(events: DataFrame) -> DataFrame:
    """Per-account features over all events, computed with Spark aggregations.

    The definitions are those of :func:`riskscore.features.extract_account_features`:
    distinct recipients of message, media and contact-request events that were
    minors (recipient age under 18), their share of all such recipients, contact
    requests sent minus contact accepts received (at least 0), and blocks and
    reports received from minors (sender age under 18).

    Parameters
    ----------
    events : pyspark.sql.DataFrame
        Schema v1 events.

    Returns
    -------
    pyspark.sql.DataFrame
        ``account_id`` and one double column per name in
        :data:`riskscore.features.ACCOUNT_FEATURE_NAMES`, one row per account that
        sent or received an event.

    Examples
    --------
    >>> account_features(events).where("adult_minor_fanout >= 5").count()  # doctest: +SKIP
    """
    _check_columns(events)
    ev, _, _ = _normalize_ids(events)
    return _account_features(ev)


def _account_features(ev: DataFrame) -> DataFrame:
    kind = _event_kind(ev)
    is_contact = kind.isin("message", "media", "contact_request")
    to_minor = sf.coalesce(_age(ev, "recipient_age") < MINOR_AGE, sf.lit(False))
    from_minor = sf.coalesce(_age(ev, "sender_age") < MINOR_AGE, sf.lit(False))
    flagged = [
        sf.col("sender_id").alias("sender"),
        sf.col("recipient_id").alias("recipient"),
        _as_int(is_contact).alias("contact"),
        _as_int(is_contact & to_minor).alias("contact_minor"),
        _as_int(kind == "contact_request").alias("request"),
        _as_int(kind == "contact_accept").alias("accept"),
        _as_int(kind.isin("block", "report") & from_minor).alias("flagged"),
    ]
    rows = ev.select(*flagged)
    # One row per (sender, recipient): map-side partial aggregation keeps this shuffle small
    # even for very active senders.
    pairs = rows.groupBy("sender", "recipient").agg(
        sf.max("contact").alias("contact"),
        sf.max("contact_minor").alias("contact_minor"),
        sf.sum("request").alias("requests"),
    )
    sent = pairs.groupBy(sf.col("sender").alias("account_id")).agg(
        sf.sum("contact").alias("contacts"),
        sf.sum("contact_minor").alias("minors"),
        sf.sum("requests").alias("requests"),
    )
    received = rows.groupBy(sf.col("recipient").alias("account_id")).agg(
        sf.sum("accept").alias("accepts"),
        sf.sum("flagged").alias("flagged"),
    )
    both = sent.join(received, "account_id", "full_outer").na.fill(0)
    minors = sf.col("minors").cast("double")
    values = {
        "adult_minor_fanout": minors,
        "adult_minor_contact_share": minors
        / sf.greatest(sf.col("contacts").cast("double"), sf.lit(1.0)),
        "adult_unaccepted_requests": sf.greatest(
            (sf.col("requests") - sf.col("accepts")).cast("double"), sf.lit(0.0)
        ),
        "adult_blocks_reports_from_minors": sf.col("flagged").cast("double"),
    }
    return both.select("account_id", *[values[name].alias(name) for name in ACCOUNT_FEATURE_NAMES])


def score_events(
    events: DataFrame,
    model: RiskModel,
    policy: AlertPolicy | None = None,
    *,
    n_reasons: int = 3,
    partitions: int | None = None,
    block_events: int = DEFAULT_BLOCK_EVENTS,
) -> DataFrame:
    """Risk, tier and reasons of every conversation, computed on Spark.

    Parameters
    ----------
    events : pyspark.sql.DataFrame
        Schema v1 events (see :func:`riskscore.read_messages`); ids must be
        integers or strings. Rows are validated on the executors exactly as on
        one machine: a row that breaks the schema fails the job with a
        :class:`~riskscore.SchemaError` naming its column and value.
    model : RiskModel
        The model; its portable parameters are broadcast to the executors once.
    policy : AlertPolicy, optional
        Thresholds for ``tier`` and ``age_band``; :meth:`AlertPolicy.default` when omitted.
    n_reasons : int, default 3
        Reasons kept per conversation.
    partitions : int, optional
        Partitions of the repartition by ``conversation_id``; by default
        ``spark.sql.shuffle.partitions``.
    block_events : int, default 200_000
        Events (whole conversations) scored per call of the numpy code in a task;
        with the largest conversation, this bounds a Python worker's memory.

    Returns
    -------
    pyspark.sql.DataFrame
        One row per conversation: ``conversation_id``, ``adult_id``,
        ``child_id``, ``child_age`` (null if unknown), ``risk``, ``tier`` (0 no
        alert, 1 review, 2 urgent), ``age_band``, ``reason_k``,
        ``reason_k_value`` and ``reason_k_contribution`` for k = 1..n_reasons
        (null where fewer features raised the risk), ``n_events``,
        ``first_event_ts``, ``last_event_ts`` (epoch seconds) and ``date`` (UTC
        date of the last event, for partitioned output).

    Examples
    --------
    >>> import riskscore as rs
    >>> from riskscore.spark import alerts, score_events, write_scores
    >>> events = spark.read.parquet("events/")  # doctest: +SKIP
    >>> scores = score_events(events, rs.load_model())  # doctest: +SKIP
    >>> write_scores(scores, "scores/")  # doctest: +SKIP
    >>> alerts(scores).orderBy("tier", "risk", ascending=False).show(5)  # doctest: +SKIP
    """
    if n_reasons < 1:
        raise ValueError(f"n_reasons must be at least 1, got {n_reasons}")
    if block_events < 1:
        raise ValueError(f"block_events must be at least 1, got {block_events}")
    _check_columns(events)
    policy = AlertPolicy.default() if policy is None else policy
    spark = events.sparkSession
    # Input order, the tie-break between events of a conversation with equal timestamps.
    ev, conv_text, acc_text = _normalize_ids(events)
    ev = ev.withColumn(ROW, sf.monotonically_increasing_id())

    accounts = _account_features(ev)
    participants = (
        ev.select("conversation_id", "sender_id", "recipient_id")
        .distinct()
        .select(
            "conversation_id",
            sf.explode(sf.array("sender_id", "recipient_id")).alias(ACCOUNT),
        )
        .distinct()
    )
    account_rows = participants.join(
        accounts.select(
            sf.col("account_id").alias(ACCOUNT),
            *[
                sf.col(name).alias(col)
                for name, col in zip(ACCOUNT_FEATURE_NAMES, ACCOUNT_VALUES, strict=True)
            ],
        ),
        ACCOUNT,
        "left",
    ).withColumn(KIND, sf.lit(KIND_ACCOUNT))
    event_rows = ev.withColumn(KIND, sf.lit(KIND_EVENT))
    combined = event_rows.unionByName(account_rows, allowMissingColumns=True)
    n_parts = partitions or int(spark.conf.get("spark.sql.shuffle.partitions") or 200)
    combined = combined.repartition(n_parts, "conversation_id").sortWithinPartitions(
        "conversation_id", KIND, ROW
    )

    spec = ScoringSpec(
        params=model.params.to_dict(),
        policy=policy,
        n_reasons=n_reasons,
        block_events=block_events,
        string_conversation_ids=conv_text,
        string_account_ids=acc_text,
    )
    shared = _broadcast(spark, spec)

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return score_partition(batches, shared.value)

    return combined.mapInArrow(score, _spark_schema(n_reasons, conv_text, acc_text))


class _Shared:
    """A broadcast variable, or the value itself on Spark Connect (no broadcast there;
    the spec is a few kilobytes, sent once per task)."""

    def __init__(self, value: ScoringSpec) -> None:
        self.value = value


def _broadcast(spark: SparkSession, spec: ScoringSpec) -> Any:
    try:
        context = spark.sparkContext
    except Exception:  # Spark Connect has no SparkContext
        return _Shared(spec)
    return context.broadcast(spec)


def _spark_schema(n_reasons: int, conv_text: bool, acc_text: bool) -> st.StructType:
    types: dict[str, st.DataType] = {
        "conversation_id": _id_type(conv_text),
        "account_id": _id_type(acc_text),
        "float": st.DoubleType(),
        "int": st.IntegerType(),
        "long": st.LongType(),
        "string": st.StringType(),
        "date": st.DateType(),
    }
    return st.StructType(
        [st.StructField(c.name, types[c.kind], nullable=True) for c in output_columns(n_reasons)]
    )


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

    Its Python workers run this interpreter, its session time zone is UTC and its
    web UI is off.

    Parameters
    ----------
    cores : int, default 2
        Runs ``local[cores]``.
    conf : mapping of str to str, optional
        Extra Spark settings, e.g. ``{"spark.sql.shuffle.partitions": "8"}``.

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
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
