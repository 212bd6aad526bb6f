"""What each Spark task runs on its partition of events (private; no pyspark import).

:mod:`riskscore.spark` repartitions the events by ``conversation_id`` and sorts
each partition by (conversation, row kind, input order). Each conversation then
arrives as a contiguous run of rows: first one *account row* per participant
(its per-account features, computed over all events with Spark aggregations),
then its events. :func:`score_partition` consumes the partition's Arrow batches
as a stream, cuts them at conversation boundaries into blocks of about
``block_events`` events, and scores each block with the single-machine code:
:func:`riskscore.read_messages`, :func:`riskscore.extract_features` with the
joined :class:`~riskscore.features.AccountFeatures`, :meth:`RiskModel.score_features`
and :meth:`AlertPolicy.tiers`. Memory per task is one block plus the largest
conversation, whatever the partition's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.features import ACCOUNT_FEATURE_NAMES, AccountFeatures, extract_features
from riskscore.io import read_messages
from riskscore.linear import LinearParams
from riskscore.model import RiskModel
from riskscore.policy import AlertPolicy
from riskscore.schema import SCHEMA_COLUMNS

#: Private column names added to the events (prefixed so they cannot clash with input columns).
KIND = "_rs_kind"
ROW = "_rs_row"
ACCOUNT = "_rs_account"
ACCOUNT_VALUES = tuple(f"_rs_{name}" for name in ACCOUNT_FEATURE_NAMES)

#: Values of :data:`KIND`: account rows sort before the events of their conversation.
KIND_ACCOUNT = 0
KIND_EVENT = 1

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class OutputColumn:
    """One column of the scores: name and kind (``"conversation_id"``, ``"account_id"``,
    ``"float"``, ``"int"``, ``"long"``, ``"string"`` or ``"date"``)."""

    name: str
    kind: str


def output_columns(n_reasons: int) -> tuple[OutputColumn, ...]:
    """Columns of the per-conversation scores, in order."""
    reasons = []
    for r in range(1, n_reasons + 1):
        reasons += [
            OutputColumn(f"reason_{r}", "string"),
            OutputColumn(f"reason_{r}_value", "float"),
            OutputColumn(f"reason_{r}_contribution", "float"),
        ]
    return (
        OutputColumn("conversation_id", "conversation_id"),
        OutputColumn("adult_id", "account_id"),
        OutputColumn("child_id", "account_id"),
        OutputColumn("child_age", "float"),
        OutputColumn("risk", "float"),
        OutputColumn("tier", "int"),
        OutputColumn("age_band", "string"),
        *reasons,
        OutputColumn("n_events", "long"),
        OutputColumn("first_event_ts", "long"),
        OutputColumn("last_event_ts", "long"),
        OutputColumn("date", "date"),
    )


_ARROW_TYPES = {
    "float": pa.float64(),
    "int": pa.int32(),
    "long": pa.int64(),
    "string": pa.string(),
    "date": pa.date32(),
}


def arrow_schema(
    n_reasons: int, *, string_conversation_ids: bool, string_account_ids: bool
) -> pa.Schema:
    """The Arrow schema of the batches :func:`score_partition` yields."""
    ids = {
        "conversation_id": pa.string() if string_conversation_ids else pa.int64(),
        "account_id": pa.string() if string_account_ids else pa.int64(),
    }
    return pa.schema(
        [
            pa.field(c.name, ids.get(c.kind) or _ARROW_TYPES[c.kind])
            for c in output_columns(n_reasons)
        ]
    )


@dataclass(frozen=True, slots=True)
class ScoringSpec:
    """Everything a task needs besides its events: small and picklable, sent once per
    executor as a broadcast.

    Attributes
    ----------
    params : dict
        The model's portable parameters (:meth:`LinearParams.to_dict`).
    policy : AlertPolicy
        Thresholds for the tiers.
    n_reasons : int
        Reasons kept per conversation.
    block_events : int
        Events scored per call of the single-machine code (whole conversations).
    string_conversation_ids, string_account_ids : bool
        Whether the ids are text (else int64).
    """

    params: Mapping[str, Any]
    policy: AlertPolicy
    n_reasons: int
    block_events: int
    string_conversation_ids: bool
    string_account_ids: bool


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
    model = RiskModel(LinearParams.from_dict(dict(spec.params)))
    schema = arrow_schema(
        spec.n_reasons,
        string_conversation_ids=spec.string_conversation_ids,
        string_account_ids=spec.string_account_ids,
    )
    for block in conversation_blocks(batches, spec.block_events):
        yield score_block(block, model, spec, schema)


def conversation_blocks(batches: Iterable[pa.RecordBatch], block_events: int) -> Iterator[pa.Table]:
    """Regroup a stream of batches sorted by conversation into tables of whole
    conversations, each of at least ``block_events`` rows except the last.

    Memory held: one block, plus the rows of the conversation still open, plus one batch.
    """
    pending: list[pa.RecordBatch] = []
    n_pending = 0
    n_complete = 0  # leading rows of ``pending`` whose conversations are known to be complete
    last: Any = None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        conv = batch.column("conversation_id")
        batch_last = conv[batch.num_rows - 1]
        if last is None or batch_last != last:
            # the open conversation ends in this batch; a new one runs to its end
            n_complete = n_pending + pc.index(conv, batch_last).as_py()
            last = batch_last
        pending.append(batch)
        n_pending += batch.num_rows
        if n_complete >= block_events:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, n_complete)
            pending = table.slice(n_complete).to_batches()
            n_pending -= n_complete
            n_complete = 0
    if n_pending:
        yield pa.Table.from_batches(pending)


def _account_features(rows: pa.Table, accounts: npt.NDArray[Any]) -> AccountFeatures:
    """The account rows of a block as :class:`AccountFeatures`, ids of the same kind as
    the message table's ``accounts``."""
    ids = np.asarray(rows.column(ACCOUNT).to_numpy(zero_copy_only=False))
    if accounts.dtype.kind == "U":
        ids = ids.astype(str)
    values = np.column_stack(
        [
            np.asarray(pc.fill_null(rows.column(name), 0.0).to_numpy(), dtype=np.float64)
            for name in ACCOUNT_VALUES
        ]
    )
    unique, first = np.unique(ids, return_index=True)
    return AccountFeatures(account_id=unique, values=values[first])


def score_block(
    block: pa.Table, model: RiskModel, spec: ScoringSpec, schema: pa.Schema
) -> pa.RecordBatch:
    """Score one table of whole conversations (account rows and events)."""
    is_event = pc.equal(block.column(KIND), KIND_EVENT)
    events = block.filter(is_event)
    # Rows are in input order within each conversation: read_messages sorts by time and
    # keeps that order for equal timestamps, as it does on one machine.
    msgs = read_messages(events.select([c for c in SCHEMA_COLUMNS if c in events.column_names]))
    accounts = _account_features(block.filter(pc.invert(is_event)), msgs.accounts)
    features = extract_features(msgs, account_features=accounts)
    scores = model.score_features(features, n_reasons=spec.n_reasons)
    tiers = spec.policy.tiers(scores.risk, scores.child_age)
    bands = np.asarray([b.name for b in (*spec.policy.bands, spec.policy.unknown)], dtype=object)
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
        "age_band": bands[spec.policy.band_index(scores.child_age)],
        "n_events": (ends - starts).astype(np.int64),
        "first_event_ts": first_ts,
        "last_event_ts": last_ts,
        "date": (last_ts // SECONDS_PER_DAY).astype(np.int32),
    }
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
        return pa.array(np.asarray(values, dtype=object), type=type_, from_pandas=True)
    return pa.array(values, type=type_)
