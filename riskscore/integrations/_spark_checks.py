"""The driver's side of the Spark stages (private): the events read as stage 1 reads them
(:func:`events_to_read`), and a stage's refused blocks and the pair ids its blocks share
raised on the driver as :func:`riskscore.read_messages` raises them on the whole input,
the rows it cached released then (:func:`checked_parts`, :func:`checked_fold`).
:mod:`riskscore.integrations.spark` chains the stages of
:mod:`riskscore.integrations._spark_stages` through these."""

from __future__ import annotations

import functools
import operator
from typing import Final

from riskscore._checks import check_whole
from riskscore.exceptions import SchemaError
from riskscore.features.batch import no_conversations_error
from riskscore.integrations._spark_columns import ERROR, ROW
from riskscore.integrations._spark_errors import raised
from riskscore.integrations._spark_frames import (
    Column,
    DataFrame,
    check_columns,
    normalize_ids,
    partitions_of,
    sf,
    st,
    text_ids,
)
from riskscore.integrations._spark_read import numbered, read_errors
from riskscore.integrations._spark_stages import Folded, PairIds, fold, parts_of, refusals
from riskscore.integrations._spark_tallies import TallySpec
from riskscore.io.groups import PAIR_ID_SEPARATOR, check_max_room_members, split_pair_id_error
from riskscore.io.timestamps import FutureLimit

__all__ = [
    "check_some_conversations",
    "checked_fold",
    "checked_parts",
    "events_to_read",
    "ids_hold_separator",
    "rooms_may_be_understated",
]

#: The most partitions Spark takes (a Java int).
MAX_PARTITIONS: Final = 2**31 - 1
#: The largest ``block_events`` (the bound of every count option).
MAX_BLOCK_EVENTS: Final = 2**53


def events_to_read(
    events: DataFrame,
    partitions: int | None,
    block_events: int,
    max_room_members: int,
    now: float | None,
    max_future_s: float,
) -> tuple[DataFrame, TallySpec, int]:
    """``events`` checked, their ids normalized and their input order in :data:`ROW` (the
    tie-break between events of a conversation with equal timestamps, and the order of
    errors); how stage 1 reads them; and the partitions of the repartitions.

    Raises
    ------
    ValueError
        ``block_events`` is not an int from 1 to :data:`MAX_BLOCK_EVENTS`, or
        ``partitions`` (when given) not one from 1 to :data:`MAX_PARTITIONS`.
    SchemaError
        ``events`` is a streaming DataFrame.
    """
    # counts checked before anything of the events is read: a JVM error otherwise
    block_events = check_whole("block_events", block_events, 1, MAX_BLOCK_EVENTS)
    if partitions is not None:
        partitions = check_whole("partitions", partitions, 1, MAX_PARTITIONS)
    if not isinstance(events, DataFrame):  # a pandas DataFrame or an Arrow table, say
        raise TypeError(
            f"events must be a pyspark.sql.DataFrame, got {type(events).__module__}."
            f"{type(events).__qualname__}: spark.createDataFrame(...) makes one, or score a "
            "table on one machine (riskscore.read_messages)"
        )
    if events.isStreaming:  # else Spark's AnalysisException from the first job
        raise SchemaError(
            "events is a streaming DataFrame (spark.readStream), which score_events and "
            "account_features do not take: they read every event before they return. Score "
            "each micro-batch with writeStream.foreachBatch(lambda batch, _: ...) (each "
            "batch alone: a conversation's earlier events in other batches are not seen), "
            "or read the events with spark.read"
        )
    check_columns(events)
    ev, conv_text, acc_text = normalize_ids(events)
    ev = numbered(events, ev, ROW)
    n_parts = partitions_of(ev, partitions)
    future = FutureLimit.at(now, max_future_s)  # one reference time for every block
    read = TallySpec(
        block_events,
        acc_text,
        check_max_room_members(max_room_members),
        future.now,
        future.max_future_s,
        string_conversation_ids=conv_text,
    )
    return ev, read, n_parts


def ids_hold_separator(events: DataFrame) -> bool:
    """Whether an id of ``events`` holds :data:`PAIR_ID_SEPARATOR`: only then can two
    conversations share an id (a job that stops at the first, for text ids only)."""
    names = text_ids(events)
    if not names:
        return False
    holds = functools.reduce(
        operator.or_, [sf.col(name).contains(PAIR_ID_SEPARATOR) for name in names]
    )
    return not events.where(holds).isEmpty()


def rooms_may_be_understated(events: DataFrame) -> bool:
    """Whether an event of ``events`` has as many rows as its smallest ``room_size``, or
    rows of two room sizes (one job, an aggregation by a key every row of an event shares,
    :func:`_event_key`): only then can its rows name more
    recipients than its room holds, or give it two sizes, rules that need the event's rows
    read together (:mod:`riskscore.io.room_reach`), which blocks by partition may not."""
    if "room_size" not in events.columns:
        return False
    size = sf.col("room_size").try_cast("double")  # 'two' is refused by the blocks' reader
    events = events.where(size.isNotNull())
    per_event = events.groupBy(*_event_key(events)).agg(
        sf.count(sf.lit(1)).alias("n_rows"),
        sf.min(size).alias("smallest"),
        sf.max(size).alias("largest"),
    )
    suspect = (sf.col("n_rows") >= sf.col("smallest")) | (sf.col("largest") > sf.col("smallest"))
    return not per_event.where(suspect).isEmpty()


def _event_key(events: DataFrame) -> list[Column]:
    """A key that every row of one event shares (:data:`~riskscore.io.room_reach.EVENT_KEY`
    as the reader reads it), coarser where the raw values could differ: the reader floors
    times to the second and reads text times with their offsets, and folds a channel's or
    an event type's case and spaces, so the channel, the event type and a time not given
    as a number or an instant are left out (two events of a sender in one second count as
    one: that can only send more blocks the slow, exact way). A decimal time is floored as
    the decimal it is (:func:`riskscore.io.decimals.decimal_numbers`): as a double,
    ``1767225600.9999999999`` is 1767225601.0, a second after its own (and so is a
    timestamp's ``.999999`` past 2242)."""
    key = [sf.col("conversation_id"), sf.col("sender_id")]
    time = events.schema["timestamp"].dataType
    if isinstance(time, st.NumericType):  # floor of an integer, a float or a decimal: exact
        key.append(sf.floor(sf.col("timestamp")))
    elif isinstance(time, st.TimestampType):  # floored, in integers (not by a double)
        key.append(sf.unix_seconds(sf.col("timestamp")))
    return key


def _refuse(ev: DataFrame, rows: DataFrame) -> None:
    """Raise what :func:`riskscore.read_messages` raises on ``ev`` (input order in
    :data:`ROW`) if a block of the stage that gave ``rows`` was refused (one job, which
    computes ``rows``), with its row counted in the input (one more job, on failure
    only)."""
    with read_errors():  # the first job that reads every event
        refused = refusals(rows)
    if refused:
        raise raised(refused, lambda row: ev.where(sf.col(ROW) < row).count())


def checked_parts(ev: DataFrame, read: TallySpec) -> DataFrame:
    """The part rows of ``ev`` (input order in :data:`ROW`), persisted and read once to
    raise the error of a refused block (the cache released then)."""
    rows = parts_of(ev, read).persist()
    try:
        _refuse(ev, rows)
    except BaseException:
        rows.unpersist()  # nothing returned reads them
        raise
    return rows.where(sf.col(ERROR).isNull()).drop(ERROR)


def checked_fold(ev: DataFrame, read: TallySpec, n_parts: int) -> tuple[Folded, PairIds]:
    """Stage 1 on ``ev`` (input order in :data:`ROW`), the error of a refused block (one
    job, which computes and caches the rows), then the check of pair ids across its
    blocks (one job): either raises the error of :func:`riskscore.read_messages`, and the
    rows stage 1 cached are released."""
    folded = fold(ev, read, n_parts)
    try:
        _refuse(ev, folded.rows)
        pairs = folded.pair_ids()
        if pairs.shared is not None:
            raise _pair_id_error(ev, pairs.shared)
    except BaseException:
        folded.unpersist()  # nothing returned reads them
        raise
    return folded, pairs


def check_some_conversations(
    ev: DataFrame, folded: Folded, pairs: PairIds, max_room_members: int
) -> None:
    """Raise what :func:`riskscore.extract_features` raises on ``ev`` when stage 1 gave no
    conversation (``pairs`` counts its state rows): no events, or broadcasts only (one
    more job, which counts them, on failure only); the rows stage 1 cached are released
    then."""
    if pairs.conversations:
        return
    folded.unpersist()  # nothing returned reads them
    # every row was read without error, and none is in a conversation: each one a
    # broadcast, set aside (the only rows read_messages sets aside when it raises)
    raise no_conversations_error(ev.count(), max_room_members)


def _pair_id_error(events: DataFrame, pair_id: str) -> SchemaError:
    """The error of :func:`riskscore.read_messages` for ``pair_id``, the id of two
    conversations of different blocks: a room's pair id that is the id of a conversation
    of ``events``, or that another room's pair derives too (one more job, on failure
    only)."""
    named = sf.col("conversation_id").cast("string") == pair_id
    return split_pair_id_error(pair_id, named=not events.where(named).isEmpty())
