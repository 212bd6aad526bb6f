"""What each Spark task runs on its partition (private; no pyspark import).

:mod:`riskscore.integrations.spark` runs three ``mapInArrow`` stages, each the
single-machine numpy code on blocks of Arrow batches, never a Python call per row; the
design of out-of-core scoring (:mod:`riskscore.batch.out_of_core`), where each event is
read and validated once and a conversation waits for the tallies as its state:

1. **Fold** (:func:`~riskscore.integrations._spark_states.fold_partition`), on the events
   repartitioned by ``conversation_id`` and sorted by it and by input order (the one
   shuffle of events): blocks of whole conversations go through
   :func:`riskscore.read_messages` (every rule, group rooms split into pair
   conversations, broadcasts set aside),
   :func:`~riskscore.features.accounts.account_parts` and
   :func:`~riskscore.features.states.conversation_states`, and leave as *part rows*
   (one per distinct contact pair of each set, :data:`PAIR_SETS`, one per account with
   its counts, :data:`COUNT_SLOTS`, one per pair of accounts with its facts) and *state
   rows* (one per conversation: its 44 state floats, its two accounts, its role, its
   events' count and span). The job persists these rows: both branches below read them.
2. **Tallies** (:func:`tallies_partition`), on the part rows repartitioned by account and
   sorted by it: each block of whole accounts goes through
   :func:`~riskscore.features.accounts.tallies_from_parts`, which gives each account of
   the block its tallies (:data:`~riskscore.features.ACCOUNT_SLOTS`) over *all* events
   (every part row of an account is in its block), and each pair of accounts its facts.
3. **Scores** (:func:`score_partition`), on the state rows with the tallies of their
   adult and the facts of their pair joined in, repartitioned by ``conversation_id``:
   each batch goes through :func:`~riskscore.features.states.features_from_states`,
   :meth:`RiskModel.score_features` and :meth:`AlertPolicy.decide_many` (and, with a
   shadow model, its risk and tier on the same features). A state row holds all its
   conversation needs, so the batches are scored as they come.

Every tally and feature is therefore defined once, in :mod:`riskscore.features`;
Spark only moves rows. Memory per task is one block plus the largest conversation
(stage 1), the part rows of the most connected account (stage 2) or one Arrow batch of
state rows (stage 3).

This module runs stage 3 and re-exports the names of the modules of the other stages
(:mod:`~riskscore.integrations._spark_columns`, :mod:`~riskscore.integrations._spark_blocks`,
:mod:`~riskscore.integrations._spark_tallies`, :mod:`~riskscore.integrations._spark_states`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore._units import DAY_S
from riskscore.features import AccountFeatures
from riskscore.features.states import ConversationStates, features_from_states
from riskscore.integrations._spark_blocks import column_ids, key_blocks, pair_facts, state_matrix
from riskscore.integrations._spark_columns import (
    ACCOUNT,
    ACCOUNT_VALUES,
    ADULT_IS_INITIATOR,
    COUNT_SLOTS,
    FIRST_TS,
    INITIATOR,
    KIND,
    LAST_TS,
    N_EVENTS,
    PAIR_FIRST,
    PAIR_HI,
    PAIR_ID,
    PAIR_LO,
    PAIR_PRIVATE,
    PAIR_SETS,
    PART_COUNTS,
    PART_OTHER,
    PART_SET,
    RESPONDER,
    ROW,
    SET_COUNTS,
    SET_PAIR_FACTS,
    SHADOW_COLUMNS,
    STATE,
    OutputColumn,
    arrow_schema,
    output_columns,
    parts_schema,
    tallies_schema,
)
from riskscore.integrations._spark_states import fold_partition
from riskscore.integrations._spark_tallies import TallySpec, parts_partition, tallies_partition
from riskscore.io.arrow import nan_to_null
from riskscore.io.groups import text_conversation_ids
from riskscore.model import RiskModel
from riskscore.policy import AlertPolicy, scores_table

__all__ = [
    "ACCOUNT",
    "ACCOUNT_VALUES",
    "ADULT_IS_INITIATOR",
    "COUNT_SLOTS",
    "FIRST_TS",
    "INITIATOR",
    "KIND",
    "LAST_TS",
    "N_EVENTS",
    "PAIR_FIRST",
    "PAIR_HI",
    "PAIR_ID",
    "PAIR_LO",
    "PAIR_PRIVATE",
    "PAIR_SETS",
    "PART_COUNTS",
    "PART_OTHER",
    "PART_SET",
    "RESPONDER",
    "ROW",
    "SET_COUNTS",
    "SET_PAIR_FACTS",
    "SHADOW_COLUMNS",
    "STATE",
    "OutputColumn",
    "ScoringSpec",
    "TallySpec",
    "arrow_schema",
    "fold_partition",
    "key_blocks",
    "output_columns",
    "parts_partition",
    "parts_schema",
    "score_block",
    "score_partition",
    "tallies_partition",
    "tallies_schema",
]


@dataclass(frozen=True, slots=True)
class ScoringSpec:
    """Everything a scoring task needs besides its state rows: small and picklable, sent
    once per executor as a broadcast.

    Attributes
    ----------
    model : dict
        The model's portable parameters (:meth:`RiskModel.to_dict`, JSON-ready),
        rebuilt on the executor with :meth:`RiskModel.from_dict`.
    policy : AlertPolicy
        Thresholds for the tiers.
    n_reasons : int
        Reasons kept per conversation.
    string_conversation_ids, string_account_ids : bool
        Whether the output's ids are text (else int64); conversation ids are text when
        group rooms were split into pairs.
    shadow_model : dict or None
        A shadow model's portable parameters: adds :data:`SHADOW_COLUMNS`.
    """

    model: Mapping[str, Any]
    policy: AlertPolicy
    n_reasons: int
    string_conversation_ids: bool
    string_account_ids: bool
    shadow_model: Mapping[str, Any] | None = None


# ---------------------------------------------------------------- stage 3: scores


def score_partition(
    batches: Iterable[pa.RecordBatch], spec: ScoringSpec
) -> Iterator[pa.RecordBatch]:
    """Score the conversations of one partition of joined state rows.

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        State rows (:func:`states_schema`) with their adult's tallies
        (:data:`ACCOUNT_VALUES`) and their pair's facts (:data:`PAIR_LO`,
        :data:`PAIR_HI`, :data:`PAIR_FIRST`, :data:`PAIR_PRIVATE`; null when the pair
        has none), in any order.
    spec : ScoringSpec
        Model, policy and id kinds.

    Yields
    ------
    pyarrow.RecordBatch
        One row per conversation, columns as :func:`output_columns`.
    """
    model = RiskModel.from_dict(spec.model)
    shadow = None if spec.shadow_model is None else RiskModel.from_dict(spec.shadow_model)
    schema = arrow_schema(
        string_conversation_ids=spec.string_conversation_ids,
        string_account_ids=spec.string_account_ids,
        shadow=shadow is not None,
    )
    for batch in batches:
        if batch.num_rows:
            yield score_block(pa.Table.from_batches([batch]), model, spec, schema, shadow)


def _states(rows: pa.Table, text_ids: bool) -> ConversationStates:
    """The state rows of ``rows`` as :class:`ConversationStates`; with ``text_ids``,
    every conversation id as text, as a table with group rooms holds them."""
    conversation = rows.column("conversation_id")
    if text_ids and not pa.types.is_string(conversation.type):
        pair = rows.column(PAIR_ID)
        ids = text_conversation_ids(column_ids(pc.fill_null(conversation, 0)))
        is_pair = np.asarray(pair.is_valid())
        ids[is_pair] = column_ids(pair.filter(pa.array(is_pair)))
    else:
        ids = column_ids(conversation)
    return ConversationStates(
        conversation_id=ids,
        initiator_id=column_ids(rows.column(INITIATOR)),
        responder_id=column_ids(rows.column(RESPONDER)),
        adult_is_initiator=np.asarray(column_ids(rows.column(ADULT_IS_INITIATOR)), dtype=bool),
        states=state_matrix(rows.column(STATE)),
    )


def _floats(rows: pa.Table, names: tuple[str, ...]) -> npt.NDArray[np.float64]:
    """The float columns ``names`` of ``rows`` side by side (nulls as 0.0)."""
    return np.column_stack(
        [
            np.asarray(pc.fill_null(rows.column(name), 0.0).to_numpy(), dtype=np.float64)
            for name in names
        ]
    )


def _account_features(rows: pa.Table, states: ConversationStates) -> AccountFeatures:
    """The tallies of the adults and the facts of the pairs joined to ``rows``, as
    :class:`AccountFeatures` (all that :func:`features_from_states` looks up)."""
    values = _floats(rows, ACCOUNT_VALUES)
    unique, first = np.unique(states.adult_id, return_index=True)
    kind = states.initiator_id.dtype.kind
    known = rows.filter(pc.is_valid(rows.column(PAIR_FIRST)))
    pairs = pair_facts(known, PAIR_LO, PAIR_HI, kind)
    return AccountFeatures(account_id=unique, values=values[first], pairs=pairs)


def score_block(
    rows: pa.Table,
    model: RiskModel,
    spec: ScoringSpec,
    schema: pa.Schema,
    shadow: RiskModel | None = None,
) -> pa.RecordBatch:
    """Score one table of joined state rows; with ``shadow``, also its risk and tier on
    the same features."""
    states = _states(rows, spec.string_conversation_ids)
    features = features_from_states(states, _account_features(rows, states))
    scores = model.score_features(
        features, n_reasons=spec.n_reasons, reasons_above=spec.policy.reasons_above
    )
    # the scores file's columns, decided; an unknown age is null, which SQL's IS NULL finds
    table = nan_to_null(scores_table(scores, spec.policy))
    cols: dict[str, Any] = {name: table.column(name) for name in table.column_names}
    last_ts = column_ids(rows.column(LAST_TS))
    cols.update(
        n_events=column_ids(rows.column(N_EVENTS)),
        first_event_ts=column_ids(rows.column(FIRST_TS)),
        last_event_ts=last_ts,
        date=(last_ts // DAY_S).astype(np.int32),
    )
    if shadow is not None:
        shadow_risk = shadow.predict_proba(features)
        shadow_tiers, _ = spec.policy.decide_many(shadow_risk, scores.child_age, scores.adult_age)
        cols["shadow_risk"] = shadow_risk
        cols["shadow_tier"] = shadow_tiers.astype(np.int32)
    arrays = [_to_arrow(cols[field.name], field.type) for field in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _to_arrow(values: Any, type_: pa.DataType) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):  # a column of the scores table
        # (integer ids of a table with groups become text)
        return values.combine_chunks().cast(type_)
    if pa.types.is_date32(type_):
        return pa.array(values, type=pa.int32()).cast(pa.date32())
    if pa.types.is_floating(type_):
        return pa.array(values, type=type_, from_pandas=True)
    return pa.array(values, type=type_)
