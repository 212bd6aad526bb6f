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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.features import ACCOUNT_SLOTS, AccountFeatures, extract_features
from riskscore.features.accounts import AccountParts, account_parts, tallies_from_parts
from riskscore.features.pairs import PairFacts
from riskscore.io import read_messages
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS
from riskscore.io.schema import SCHEMA_COLUMNS
from riskscore.model import RiskModel
from riskscore.policy import AlertPolicy

#: Private column names added to the events (prefixed so they cannot clash with input columns).
KIND = "_rs_kind"
ROW = "_rs_row"
ACCOUNT = "_rs_account"
ACCOUNT_VALUES = tuple(f"_rs_{slot}" for slot in ACCOUNT_SLOTS)

#: Values of :data:`KIND`: account rows, then pair rows, sort before the events of their
#: conversation.
KIND_ACCOUNT = 0
KIND_PAIR = 1
KIND_EVENT = 2

#: Part rows (stage 1): which set a row belongs to (an index of :data:`PAIR_SETS`, or
#: :data:`SET_COUNTS`), the account, the other account of a pair, and the counts.
PART_SET = "_rs_set"
PART_OTHER = "_rs_other"
#: The tallies made of distinct ``(account, other)`` pairs, as :class:`AccountParts` names them.
PAIR_SETS: Final = ACCOUNT_SLOTS[:3]
#: The tallies that are counts, in the column order of :attr:`AccountParts.counts`.
COUNT_SLOTS: Final = ACCOUNT_SLOTS[3:]
PART_COUNTS = tuple(f"_rs_count_{slot}" for slot in COUNT_SLOTS)
SET_COUNTS: Final = len(PAIR_SETS)
#: Part rows of pair facts (:mod:`riskscore.features.pairs`): ``ACCOUNT`` the pair's lower
#: id, ``PART_OTHER`` the higher, and the two facts.
SET_PAIR_FACTS: Final = SET_COUNTS + 1
PAIR_FIRST = "_rs_pair_first"
PAIR_PRIVATE = "_rs_pair_private"

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class OutputColumn:
    """One column of the scores: name and kind (``"conversation_id"``, ``"account_id"``,
    ``"float"``, ``"int"``, ``"long"``, ``"string"`` or ``"date"``)."""

    name: str
    kind: str


#: Columns a shadow model adds, after ``age_band``: its risk and its tier under the same policy.
SHADOW_COLUMNS: Final = (OutputColumn("shadow_risk", "float"), OutputColumn("shadow_tier", "int"))


def output_columns(n_reasons: int, *, shadow: bool = False) -> tuple[OutputColumn, ...]:
    """Columns of the per-conversation scores, in order (with ``shadow``, the
    :data:`SHADOW_COLUMNS` after ``age_band``)."""
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
        *(SHADOW_COLUMNS if shadow else ()),
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
    n_reasons: int,
    *,
    string_conversation_ids: bool,
    string_account_ids: bool,
    shadow: bool = False,
) -> pa.Schema:
    """The Arrow schema of the batches :func:`score_partition` yields."""
    ids = {
        "conversation_id": pa.string() if string_conversation_ids else pa.int64(),
        "account_id": pa.string() if string_account_ids else pa.int64(),
    }
    return pa.schema(
        [
            pa.field(c.name, ids.get(c.kind) or _ARROW_TYPES[c.kind])
            for c in output_columns(n_reasons, shadow=shadow)
        ]
    )


def _ids_type(string_ids: bool) -> pa.DataType:
    return pa.string() if string_ids else pa.int64()


def parts_schema(*, string_account_ids: bool) -> pa.Schema:
    """The Arrow schema of the part rows :func:`parts_partition` yields."""
    ids = _ids_type(string_account_ids)
    return pa.schema(
        [
            pa.field(PART_SET, pa.int32()),
            pa.field(ACCOUNT, ids),
            pa.field(PART_OTHER, ids),
            *[pa.field(name, pa.float64()) for name in PART_COUNTS],
            pa.field(PAIR_FIRST, pa.float64()),
            pa.field(PAIR_PRIVATE, pa.float64()),
        ]
    )


def tallies_schema(*, string_account_ids: bool) -> pa.Schema:
    """The Arrow schema of the rows :func:`tallies_partition` yields: per account its
    tallies (``PART_OTHER`` null), and per pair of accounts its facts (``account_id`` the
    lower id, ``PART_OTHER`` the higher; tallies null)."""
    ids = _ids_type(string_account_ids)
    return pa.schema(
        [
            pa.field("account_id", ids),
            *[pa.field(slot, pa.float64()) for slot in ACCOUNT_SLOTS],
            pa.field(PART_OTHER, ids),
            pa.field(PAIR_FIRST, pa.float64()),
            pa.field(PAIR_PRIVATE, pa.float64()),
        ]
    )


@dataclass(frozen=True, slots=True)
class TallySpec:
    """What the tally stages need besides their rows (small and picklable).

    Attributes
    ----------
    block_events : int
        Rows handed to the numpy code per call.
    string_account_ids : bool
        Whether account ids are text (else int64).
    max_room_members : int
        Rooms above this many accounts are broadcast surfaces (:mod:`riskscore.io.groups`).
    """

    block_events: int
    string_account_ids: bool
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS


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
    """

    model: Mapping[str, Any]
    policy: AlertPolicy
    n_reasons: int
    block_events: int
    string_conversation_ids: bool
    string_account_ids: bool
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS
    shadow_model: Mapping[str, Any] | None = None


def key_blocks(
    batches: Iterable[pa.RecordBatch], block_events: int, key: str | None = "conversation_id"
) -> Iterator[pa.Table]:
    """Regroup a stream of batches into tables of at least ``block_events`` rows (except
    the last) that never split a run of equal ``key`` values.

    With ``key`` the stream must be sorted (or grouped) by it: the blocks then hold
    whole conversations (or accounts). ``key=None`` cuts anywhere. Memory held: one
    block, plus the rows of the run still open, plus one batch.
    """
    pending: list[pa.RecordBatch] = []
    n_pending = 0
    n_complete = 0  # leading rows of ``pending`` whose runs are known to be complete
    last: Any = None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if key is None:
            n_complete = n_pending + batch.num_rows
        else:
            values = batch.column(key)
            batch_last = values[batch.num_rows - 1]
            if last is None or batch_last != last:
                # the open run ends in this batch; a new one runs to its end
                n_complete = n_pending + pc.index(values, batch_last).as_py()
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


def _ids(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[Any]:
    return np.asarray(column.to_numpy(zero_copy_only=False))


# ---------------------------------------------------------------- stage 1: parts


def parts_partition(batches: Iterable[pa.RecordBatch], spec: TallySpec) -> Iterator[pa.RecordBatch]:
    """The per-account parts of one partition of events, in any order, as part rows.

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        Schema v1 events (ids normalized as :mod:`riskscore.integrations.spark` does).
    spec : TallySpec
        Block size and id kind.

    Yields
    ------
    pyarrow.RecordBatch
        Columns as :func:`parts_schema`: per block, one row per distinct pair of each
        of :data:`PAIR_SETS` (``PART_SET`` its index), then one row per account of the
        block with its :data:`COUNT_SLOTS` (``PART_SET`` = :data:`SET_COUNTS`, so that
        every account that sent or received an event gets tallies).
    """
    schema = parts_schema(string_account_ids=spec.string_account_ids)
    for block in key_blocks(batches, spec.block_events, key=None):
        msgs = read_messages(
            block.select([c for c in SCHEMA_COLUMNS if c in block.column_names]),
            max_room_members=spec.max_room_members,
        )
        yield _part_rows(account_parts(msgs), msgs.accounts, schema)


def _part_rows(
    parts: AccountParts, accounts: npt.NDArray[Any], schema: pa.Schema
) -> pa.RecordBatch:
    """``parts`` as part rows; ``accounts`` (sorted) are all the accounts of the block,
    each given a count row (zeros when :func:`account_parts` left it out)."""
    ids = schema.field(ACCOUNT).type
    pairs = [getattr(parts, name) for name in PAIR_SETS]
    n_pairs = sum(len(senders) for senders, _ in pairs)
    facts = parts.pairs
    n_facts = len(facts)
    counts = np.zeros((len(accounts), len(COUNT_SLOTS)))
    counts[np.searchsorted(accounts, parts.account_id)] = parts.counts
    which = np.repeat(
        np.arange(len(PAIR_SETS) + 2, dtype=np.int32),
        [*(len(senders) for senders, _ in pairs), len(accounts), n_facts],
    )
    account = np.concatenate(
        [*(senders for senders, _ in pairs), accounts, facts.lo.astype(accounts.dtype)]
    )
    other = pa.concat_arrays(
        [
            pa.array(np.concatenate([recipients for _, recipients in pairs]), type=ids),
            pa.nulls(len(accounts), type=ids),
            _id_array(facts.hi, ids),
        ]
    )
    count_arrays = [
        pa.concat_arrays(
            [
                pa.nulls(n_pairs, pa.float64()),
                pa.array(counts[:, j]),
                pa.nulls(n_facts, pa.float64()),
            ]
        )
        for j in range(len(COUNT_SLOTS))
    ]
    fact_arrays = [
        pa.concat_arrays(
            [pa.nulls(n_pairs + len(accounts), pa.float64()), pa.array(values, pa.float64())]
        )
        for values in (facts.first, facts.private)
    ]
    arrays = [pa.array(which), pa.array(account, type=ids), other, *count_arrays, *fact_arrays]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# ---------------------------------------------------------------- stage 2: tallies


def tallies_partition(
    batches: Iterable[pa.RecordBatch], spec: TallySpec
) -> Iterator[pa.RecordBatch]:
    """Merge part rows grouped by account (``ACCOUNT``) into each account's tallies.

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        Part rows (:func:`parts_schema`), every row of an account in this partition
        and contiguous (repartitioned and sorted by ``ACCOUNT``).
    spec : TallySpec
        Block size and id kind.

    Yields
    ------
    pyarrow.RecordBatch
        One row per account of the partition, columns as :func:`tallies_schema`.
    """
    schema = tallies_schema(string_account_ids=spec.string_account_ids)
    for block in key_blocks(batches, spec.block_events, key=ACCOUNT):
        yield _tally_rows(block, schema)


def _tally_rows(block: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    which = block.column(PART_SET).to_numpy()
    is_pair = which < SET_COUNTS
    pair_rows = block.filter(pa.array(is_pair))
    count_rows = block.filter(pa.array(which == SET_COUNTS))
    fact_rows = block.filter(pa.array(which == SET_PAIR_FACTS))
    senders, recipients = _ids(pair_rows.column(ACCOUNT)), _ids(pair_rows.column(PART_OTHER))
    pair_set = which[is_pair]
    sets = {
        name: (senders[pair_set == j], recipients[pair_set == j])
        for j, name in enumerate(PAIR_SETS)
    }
    parts = AccountParts(
        **sets,
        account_id=_ids(count_rows.column(ACCOUNT)),
        counts=np.column_stack(
            [
                np.asarray(count_rows.column(name).to_numpy(), dtype=np.float64)
                for name in PART_COUNTS
            ]
        ),
        pairs=_pair_facts(fact_rows, ACCOUNT, PART_OTHER),
    )
    tallies = tallies_from_parts([parts])
    # Accounts of this block have every part row here; an account met only as the
    # other side of a pair has its own rows (and tallies) in another block. A pair's
    # facts are all in the block of its lower id.
    mine = np.isin(tallies.account_id, _ids(block.column(ACCOUNT)))
    ids = schema.field("account_id").type
    n_mine, facts = int(mine.sum()), tallies.pairs
    arrays = [
        pa.concat_arrays([_id_array(tallies.account_id[mine], ids), _id_array(facts.lo, ids)]),
        *[
            pa.concat_arrays(
                [pa.array(tallies.values[mine, j]), pa.nulls(len(facts), pa.float64())]
            )
            for j in range(len(ACCOUNT_SLOTS))
        ],
        pa.concat_arrays([pa.nulls(n_mine, ids), _id_array(facts.hi, ids)]),
        *[
            pa.concat_arrays([pa.nulls(n_mine, pa.float64()), pa.array(v, pa.float64())])
            for v in (facts.first, facts.private)
        ],
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _id_array(values: npt.NDArray[Any], type_: pa.DataType) -> pa.Array:
    """Account ids as Arrow (an empty array of any dtype gives an empty one of ``type_``)."""
    return pa.array(values if len(values) else [], type=type_)


def _pair_facts(rows: pa.Table, lo: str, hi: str, kind: str | None = None) -> PairFacts:
    """Pair fact rows as :class:`PairFacts` (ids as text when ``kind`` is text)."""
    lo_ids, hi_ids = _ids(rows.column(lo)), _ids(rows.column(hi))
    if kind is not None and kind in "UO":
        lo_ids, hi_ids = lo_ids.astype(str).astype(object), hi_ids.astype(str).astype(object)
    return PairFacts(
        lo=lo_ids,
        hi=hi_ids,
        first=np.asarray(rows.column(PAIR_FIRST).to_numpy(), dtype=np.float64),
        private=np.asarray(rows.column(PAIR_PRIVATE).to_numpy(), dtype=np.float64),
    )


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
    ids = _ids(rows.column(ACCOUNT))
    if accounts.dtype.kind in "UO":
        ids = ids.astype(str)
    values = np.column_stack(
        [
            np.asarray(pc.fill_null(rows.column(name), 0.0).to_numpy(), dtype=np.float64)
            for name in ACCOUNT_VALUES
        ]
    )
    unique, first = np.unique(ids, return_index=True)
    pairs = _pair_facts(pair_rows, ACCOUNT, PART_OTHER, accounts.dtype.kind)
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
