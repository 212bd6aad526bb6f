"""What each Spark task runs on its partition (private; no pyspark import).

:mod:`riskscore.integrations.spark` runs three ``mapInArrow`` stages, each the single-machine
numpy code on blocks of Arrow batches, never a Python call per row:

1. :func:`parts_partition`, on the events as they are read (no shuffle): each block
   of events goes through :func:`riskscore.read_messages` and
   :func:`~riskscore.features.accounts.account_parts`, and leaves as *part rows*:
   one per distinct contact pair of each set (:data:`PAIR_SETS`) and one per account
   with its counts (:data:`COUNT_SLOTS`). Parts need no whole conversations.
2. :func:`tallies_partition`, on the part rows repartitioned by account and sorted by
   it: each block of whole accounts goes through
   :func:`~riskscore.features.accounts.tallies_from_parts`, which gives each account
   of the block its tallies (:data:`~riskscore.features.ACCOUNT_SLOTS`) over *all*
   events: every part row of an account is in its block.
3. :func:`score_partition`, on the events and the *account rows* (each
   conversation's two participants with their tallies) repartitioned by
   ``conversation_id`` and sorted by (conversation, row kind, input order): each
   conversation arrives as a contiguous run of rows, account rows first. Blocks of
   whole conversations go through :func:`riskscore.read_messages`,
   :func:`riskscore.extract_features` with the joined
   :class:`~riskscore.features.AccountFeatures`, :meth:`RiskModel.score_features` and
   :meth:`AlertPolicy.decide_many` (and, with a shadow model, its risk and tier on the
   same features).

Every tally and feature is therefore defined once, in :mod:`riskscore.features`;
Spark only moves rows. Memory per task is one block plus the largest conversation
(stage 3) or the part rows of the most connected account (stage 2).

This module runs stage 3 and re-exports the names of the modules of the other stages
(:mod:`~riskscore.integrations._spark_columns`, :mod:`~riskscore.integrations._spark_blocks`,
:mod:`~riskscore.integrations._spark_tallies`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.features import AccountFeatures, extract_features
from riskscore.integrations._spark_blocks import column_ids, key_blocks, pair_facts
from riskscore.integrations._spark_columns import (
    ACCOUNT,
    ACCOUNT_VALUES,
    COUNT_SLOTS,
    KIND,
    KIND_ACCOUNT,
    KIND_EVENT,
    KIND_PAIR,
    PAIR_FIRST,
    PAIR_PRIVATE,
    PAIR_SETS,
    PART_COUNTS,
    PART_OTHER,
    PART_SET,
    ROW,
    SET_COUNTS,
    SET_PAIR_FACTS,
    SHADOW_COLUMNS,
    OutputColumn,
    arrow_schema,
    output_columns,
    parts_schema,
    tallies_schema,
)
from riskscore.integrations._spark_tallies import TallySpec, parts_partition, tallies_partition
from riskscore.io import read_messages
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS
from riskscore.io.schema import SCHEMA_COLUMNS
from riskscore.io.timestamps import DEFAULT_READ_MAX_FUTURE_S
from riskscore.model import RiskModel
from riskscore.policy import AlertPolicy

__all__ = [
    "ACCOUNT",
    "ACCOUNT_VALUES",
    "COUNT_SLOTS",
    "KIND",
    "KIND_ACCOUNT",
    "KIND_EVENT",
    "KIND_PAIR",
    "PAIR_FIRST",
    "PAIR_PRIVATE",
    "PAIR_SETS",
    "PART_COUNTS",
    "PART_OTHER",
    "PART_SET",
    "ROW",
    "SET_COUNTS",
    "SET_PAIR_FACTS",
    "SHADOW_COLUMNS",
    "OutputColumn",
    "ScoringSpec",
    "TallySpec",
    "arrow_schema",
    "key_blocks",
    "output_columns",
    "parts_partition",
    "parts_schema",
    "score_block",
    "score_partition",
    "tallies_partition",
    "tallies_schema",
]

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class ScoringSpec:
    """Everything a scoring task needs besides its events: small and picklable, sent
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
    block_events : int
        Events scored per call of the single-machine code (whole conversations).
    string_conversation_ids, string_account_ids : bool
        Whether the ids are text (else int64); conversation ids are text when group
        rooms are split into pairs.
    max_room_members : int
        Rooms above this many accounts are broadcast surfaces (:mod:`riskscore.io.groups`).
    shadow_model : dict or None
        A shadow model's portable parameters: adds :data:`SHADOW_COLUMNS`.
    now, max_future_s : float
        The future limit of every block (:func:`riskscore.read_messages`), ``now`` read
        once on the driver, so that every executor and stage reads with one reference time.
    """

    model: Mapping[str, Any]
    policy: AlertPolicy
    n_reasons: int
    block_events: int
    string_conversation_ids: bool
    string_account_ids: bool
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS
    shadow_model: Mapping[str, Any] | None = None
    now: float | None = None
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S


# ---------------------------------------------------------------- stage 3: scores


def score_partition(
    batches: Iterable[pa.RecordBatch], spec: ScoringSpec
) -> Iterator[pa.RecordBatch]:
    """Score the conversations of one partition, sorted as the module docstring says.

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        The partition's rows: schema v1 event columns plus :data:`KIND`, :data:`ROW`,
        :data:`ACCOUNT` and :data:`ACCOUNT_VALUES`.
    spec : ScoringSpec
        Model, policy and sizes.

    Yields
    ------
    pyarrow.RecordBatch
        One row per conversation, columns as :func:`output_columns`.
    """
    model = RiskModel.from_dict(spec.model)
    shadow = None if spec.shadow_model is None else RiskModel.from_dict(spec.shadow_model)
    schema = arrow_schema(
        spec.n_reasons,
        string_conversation_ids=spec.string_conversation_ids,
        string_account_ids=spec.string_account_ids,
        shadow=shadow is not None,
    )
    for block in key_blocks(batches, spec.block_events):
        scored = score_block(block, model, spec, schema, shadow)
        if scored is not None:
            yield scored


def _account_features(
    rows: pa.Table, pair_rows: pa.Table, accounts: npt.NDArray[Any]
) -> AccountFeatures:
    """The account and pair rows of a block as :class:`AccountFeatures`, ids of the same
    kind as the message table's ``accounts``."""
    ids = column_ids(rows.column(ACCOUNT))
    if accounts.dtype.kind in "UO":
        ids = ids.astype(str)
    values = np.column_stack(
        [
            np.asarray(pc.fill_null(rows.column(name), 0.0).to_numpy(), dtype=np.float64)
            for name in ACCOUNT_VALUES
        ]
    )
    unique, first = np.unique(ids, return_index=True)
    pairs = pair_facts(pair_rows, ACCOUNT, PART_OTHER, accounts.dtype.kind)
    return AccountFeatures(account_id=unique, values=values[first], pairs=pairs)


def score_block(
    block: pa.Table,
    model: RiskModel,
    spec: ScoringSpec,
    schema: pa.Schema,
    shadow: RiskModel | None = None,
) -> pa.RecordBatch | None:
    """Score one table of whole conversations (account rows and events); with ``shadow``,
    also its risk and tier on the same features. None when every event of the block was
    a broadcast (set aside, :mod:`riskscore.io.groups`)."""
    kind = block.column(KIND)
    events = block.filter(pc.equal(kind, KIND_EVENT))
    # Rows are in input order within each conversation: read_messages sorts by time and
    # keeps that order for equal timestamps, as it does on one machine.
    msgs = read_messages(
        events.select([c for c in SCHEMA_COLUMNS if c in events.column_names]),
        max_room_members=spec.max_room_members,
        now=spec.now,
        max_future_s=spec.max_future_s,
    )
    if len(msgs) == 0:
        return None
    accounts = _account_features(
        block.filter(pc.equal(kind, KIND_ACCOUNT)),
        block.filter(pc.equal(kind, KIND_PAIR)),
        msgs.accounts,
    )
    features = extract_features(msgs, account_features=accounts)
    scores = model.score_features(features, n_reasons=spec.n_reasons)
    tiers, band_idx = spec.policy.decide_many(scores.risk, scores.child_age, scores.adult_age)
    bands = np.asarray([b.name for b in spec.policy.all_bands], dtype=object)
    starts, ends = msgs.segment_starts, msgs.segment_ends
    first_ts = msgs.timestamp[starts]
    last_ts = msgs.timestamp[ends - 1]
    names = np.asarray((*scores.feature_names, None), dtype=object)
    n = len(scores)
    cols: dict[str, Any] = {
        "conversation_id": scores.conversation_id,
        "adult_id": scores.adult_id,
        "child_id": scores.child_id,
        "child_age": scores.child_age,
        "risk": scores.risk,
        "tier": tiers.astype(np.int32),
        "age_band": bands[band_idx],
        "n_events": (ends - starts).astype(np.int64),
        "first_event_ts": first_ts,
        "last_event_ts": last_ts,
        "date": (last_ts // SECONDS_PER_DAY).astype(np.int32),
    }
    if shadow is not None:
        shadow_risk = shadow.predict_proba(features)
        shadow_tiers, _ = spec.policy.decide_many(shadow_risk, scores.child_age, scores.adult_age)
        cols["shadow_risk"] = shadow_risk
        cols["shadow_tier"] = shadow_tiers.astype(np.int32)
    n_kept = scores.reason_feature.shape[1]  # fewer than asked when the model has fewer features
    for r in range(spec.n_reasons):
        kept = r < n_kept
        cols[f"reason_{r + 1}"] = names[scores.reason_feature[:, r]] if kept else names[[-1] * n]
        for part, values in (
            ("value", scores.reason_value),
            ("contribution", scores.reason_contribution),
        ):
            cols[f"reason_{r + 1}_{part}"] = values[:, r] if kept else np.full(n, np.nan)
    arrays = [_to_arrow(cols[field.name], field.type) for field in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _to_arrow(values: npt.NDArray[Any], type_: pa.DataType) -> pa.Array:
    if pa.types.is_date32(type_):
        return pa.array(values, type=pa.int32()).cast(pa.date32())
    if pa.types.is_floating(type_):
        # NaN (an unknown age, no reason) becomes null, which SQL's IS NULL finds.
        return pa.array(values, type=type_, from_pandas=True)
    if pa.types.is_string(type_):
        if values.dtype.kind in "iu":  # integer conversation ids of a table with groups
            values = values.astype(str)
        return pa.array(np.asarray(values, dtype=object), type=type_, from_pandas=True)
    return pa.array(values, type=type_)
