"""The DataFrames of the Spark stages (private): each stage's ``mapInArrow`` over the
rows the one before it left, repartitioned as the stage needs them
(:mod:`riskscore.integrations._spark_partition` describes the stages;
:mod:`riskscore.integrations.spark` chains them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from riskscore.features import ACCOUNT_SLOTS
from riskscore.integrations._spark_columns import (
    ACCOUNT,
    ACCOUNT_VALUES,
    ADULT_IS_INITIATOR,
    ERROR,
    INITIATOR,
    KIND,
    KIND_PART,
    KIND_ROOM,
    KIND_STATE,
    PAIR_FIRST,
    PAIR_HI,
    PAIR_ID,
    PAIR_LO,
    PAIR_PRIVATE,
    PART_OTHER,
    RESPONDER,
    ROW,
    arrow_schema,
    fold_schema,
    parts_schema,
    refusable,
    states_schema,
    tallies_schema,
)
from riskscore.integrations._spark_frames import DataFrame, broadcast, sf, spark_schema
from riskscore.integrations._spark_partition import ScoringSpec, score_partition
from riskscore.integrations._spark_states import fold_partition
from riskscore.integrations._spark_tallies import TallySpec, parts_partition, tallies_partition
from riskscore.io.schema import SCHEMA_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "Folded",
    "PairIds",
    "fold",
    "parts_of",
    "refusals",
    "scores_of",
    "scoring_rows",
    "tallies_of",
]


def parts_of(ev: DataFrame, spec: TallySpec) -> DataFrame:
    """The part rows of events (input order in :data:`ROW`) in the partitions they are
    read in (``parts_schema``, then :data:`ERROR`, set in the rows of refused blocks
    only; no shuffle, no whole conversations needed)."""

    def parts(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return parts_partition(batches, spec)

    schema = refusable(parts_schema(string_account_ids=spec.string_account_ids))
    events = ev.select(*[c for c in (*SCHEMA_COLUMNS, ROW) if c in ev.columns])
    return events.mapInArrow(parts, spark_schema(schema))


def refusals(rows: DataFrame) -> list[str]:
    """The errors of the blocks a stage refused (the :data:`ERROR` values of ``rows``;
    one job, which computes ``rows``: persist them first if they are read again)."""
    return [row[0] for row in rows.where(sf.col(ERROR).isNotNull()).select(ERROR).collect()]


def tallies_of(part_rows: DataFrame, spec: TallySpec, n_parts: int) -> DataFrame:
    """Stage 2: per account its tallies, and per pair of accounts its facts
    (``tallies_schema``), merged from part rows repartitioned by account."""

    def tallies(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return tallies_partition(batches, spec)

    by_account = part_rows.repartition(n_parts, ACCOUNT).sortWithinPartitions(ACCOUNT)
    schema = tallies_schema(string_account_ids=spec.string_account_ids)
    return by_account.mapInArrow(tallies, spark_schema(schema))


@dataclass(frozen=True, slots=True)
class PairIds:
    """What the state rows' :data:`PAIR_ID` column shows: whether any id holds the pair id
    separator (with integer conversation ids: a group room was split, and every output id
    is text), and the least id that two state rows share (None if none); and how many
    state rows there are (0: the events hold no conversation)."""

    any: bool
    shared: str | None
    conversations: int


@dataclass(frozen=True, slots=True)
class Folded:
    """Stage 1's rows, read from one persisted DataFrame (``rows``): part rows
    (``parts_schema``) and state rows (``states_schema``)."""

    rows: DataFrame
    part_rows: DataFrame
    states: DataFrame

    def pair_ids(self) -> PairIds:
        """The state rows' :data:`PAIR_ID` values, compared, and the state rows counted:
        one job over the state rows, in which only the non-null values (usually few) and a
        count per partition are shuffled.

        Each conversation of the input is in one block, and each block checks its own
        ids (:func:`riskscore.read_messages`), so an id that two state rows share is a
        pair id of a room that another block also gives: as the id of a conversation or of
        a group room (rows of :data:`KIND_ROOM`), or as a pair id of another room.
        """
        pair = sf.col(PAIR_ID)
        given = self.rows.where(sf.col(KIND).isin(KIND_STATE, KIND_ROOM))
        counts = given.groupBy(PAIR_ID).agg(  # the rows without a pair id: one group
            sf.count("*").alias("count"), sf.count_if(sf.col(KIND) == KIND_STATE).alias("states")
        )
        shared = sf.min(sf.when((sf.col("count") > 1) & pair.isNotNull(), pair))
        row = counts.agg(
            sf.count(pair).alias("n"), shared.alias("shared"), sf.sum("states").alias("states")
        ).collect()[0]
        return PairIds(any=row["n"] > 0, shared=row["shared"], conversations=row["states"] or 0)

    def unpersist(self) -> None:
        """Release the persisted rows (when no DataFrame that reads them is returned)."""
        self.rows.unpersist()


def fold(ev: DataFrame, spec: TallySpec, n_parts: int) -> Folded:
    """Stage 1 on events with their input order in :data:`ROW`.

    The rows are persisted (memory, then disk; Spark's default level) because stages 2
    and 3, the look for refused blocks (:func:`refusals`) and the check of pair ids
    (:meth:`Folded.pair_ids`), all read them: each event
    is read and validated once. The scores DataFrame is lazy and reads them when it is
    computed (unpersisted before, they would be computed again from the events), so they
    stay cached for the life of the session, or until ``spark.catalog.clearCache()``.
    """

    def folded(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return fold_partition(batches, spec)

    ids = {
        "string_conversation_ids": spec.string_conversation_ids,
        "string_account_ids": spec.string_account_ids,
    }
    # ROW travels on: a refused block names its first bad row by it
    by_conversation = ev.repartition(n_parts, "conversation_id").sortWithinPartitions(
        "conversation_id", ROW
    )
    rows = by_conversation.mapInArrow(folded, spark_schema(fold_schema(**ids))).persist()
    part_names = parts_schema(string_account_ids=spec.string_account_ids).names
    return Folded(
        rows=rows,
        part_rows=rows.where(sf.col(KIND) == KIND_PART).select(*part_names),
        states=rows.where(sf.col(KIND) == KIND_STATE).select(*states_schema(**ids).names),
    )


def scoring_rows(states: DataFrame, tallies: DataFrame, n_parts: int) -> DataFrame:
    """Stage 3's rows: each state row with its adult's tallies (:data:`ACCOUNT_VALUES`)
    and its pair of accounts' facts (null when the pair has none), repartitioned by
    conversation so that a busy adult's conversations spread over the partitions.

    ``tallies`` are persisted (one row per account and per pair of accounts): both
    joins read them, and Spark would otherwise run stage 2 once for each.
    """
    tallies = tallies.persist()
    initiator, responder = sf.col(INITIATOR), sf.col(RESPONDER)
    adult = sf.when(sf.col(ADULT_IS_INITIATOR), initiator).otherwise(responder)
    accounts = tallies.where(sf.col(PART_OTHER).isNull()).select(
        sf.col("account_id").alias(ACCOUNT),
        *[sf.col(slot).alias(col) for slot, col in zip(ACCOUNT_SLOTS, ACCOUNT_VALUES, strict=True)],
    )
    pairs = tallies.where(sf.col(PART_OTHER).isNotNull()).select(
        sf.col("account_id").alias(PAIR_LO), sf.col(PART_OTHER).alias(PAIR_HI),
        PAIR_FIRST, PAIR_PRIVATE,
    )  # fmt: skip
    keyed = states.select(
        "*",
        adult.alias(ACCOUNT),
        sf.least(initiator, responder).alias(PAIR_LO),
        sf.greatest(initiator, responder).alias(PAIR_HI),
    )
    joined = keyed.join(accounts, ACCOUNT, "left").join(pairs, [PAIR_LO, PAIR_HI], "left")
    return joined.repartition(n_parts, "conversation_id", PAIR_ID)


def scores_of(rows: DataFrame, spec: ScoringSpec) -> DataFrame:
    """Stage 3: the scores of :func:`scoring_rows`, the spec broadcast once."""
    shared = broadcast(rows.sparkSession, spec)

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return score_partition(batches, shared.value)

    schema = arrow_schema(
        string_conversation_ids=spec.string_conversation_ids,
        string_account_ids=spec.string_account_ids,
        shadow=spec.shadow_model is not None,
    )
    return rows.mapInArrow(score, spark_schema(schema))
