"""The tallies of Spark scoring (private; no pyspark import): how a block of events is
read (the one validator), its per-account parts as part rows, and stage 2, the part
rows of whole accounts merged into each account's tallies and each pair's facts, with
the numpy code of :mod:`riskscore.features.accounts`
(:mod:`riskscore.integrations._spark_partition` describes the stages).
:func:`parts_partition` gives the part rows of events in any order, for
:func:`riskscore.integrations.spark.account_features`; scoring takes them from the fold
stage (:mod:`riskscore.integrations._spark_states`), which reads each event once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from riskscore.exceptions import RiskscoreError, SchemaError
from riskscore.features import ACCOUNT_SLOTS
from riskscore.features.accounts import AccountParts, account_parts, tallies_from_parts
from riskscore.integrations._spark_blocks import (
    column_ids,
    id_array,
    key_blocks,
    pair_facts,
    widened,
)
from riskscore.integrations._spark_columns import (
    ACCOUNT,
    COUNT_SLOTS,
    ERROR,
    PAIR_SETS,
    PART_COUNTS,
    PART_OTHER,
    PART_SET,
    ROW,
    SET_COUNTS,
    SET_PAIR_FACTS,
    parts_schema,
    refusable,
    tallies_schema,
)
from riskscore.integrations._spark_errors import error_json
from riskscore.io import MessageTable, read_chunk, read_messages
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS
from riskscore.io.schema import SCHEMA_COLUMNS
from riskscore.io.timestamps import DEFAULT_READ_MAX_FUTURE_S

__all__ = [
    "TallySpec",
    "part_rows",
    "parts_partition",
    "read_block",
    "refused_row",
    "tallies_partition",
]


@dataclass(frozen=True, slots=True)
class TallySpec:
    """What the stages that read events and merge tallies need besides their rows
    (small and picklable).

    Attributes
    ----------
    block_events : int
        Rows handed to the numpy code per call.
    string_account_ids : bool
        Whether account ids are text (else int64).
    max_room_members : int
        Rooms above this many accounts are broadcast surfaces (:mod:`riskscore.io.groups`).
    now, max_future_s : float
        The future limit of every block (:func:`riskscore.read_messages`), ``now`` read
        once on the driver, so that every executor and stage reads with one reference time.
    string_conversation_ids : bool
        Whether the input's conversation ids are text (else int64): the type of the
        state rows' ``conversation_id`` (fold stage).
    """

    block_events: int
    string_account_ids: bool
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS
    now: float | None = None
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S
    string_conversation_ids: bool = False


def read_block(block: pa.Table, spec: TallySpec) -> MessageTable:
    """A block of events through :func:`riskscore.read_messages` (its schema v1 columns
    only), with the room limit and the one future limit of the job."""
    return read_messages(
        block.select([c for c in SCHEMA_COLUMNS if c in block.column_names]),
        max_room_members=spec.max_room_members,
        now=spec.now,
        max_future_s=spec.max_future_s,
    )


def refused_row(block: pa.Table, spec: TallySpec, error: RiskscoreError) -> pa.RecordBatch:
    """The row that hands ``error``, raised by ``block``, to the driver (:data:`ERROR`).

    A row the validator names is a position in the block, whose rows are in the order of
    the stage (by conversation, in the fold): the block is read again in input order
    (:data:`ROW`, the input order Spark read), so that its error names its first bad row
    in the input, as :data:`ROW` names it, which the driver turns into a position
    (:func:`riskscore.integrations._spark_errors.raised`). Only a refused block is read
    twice.
    """
    if isinstance(error, SchemaError) and error.row is not None and ROW in block.column_names:
        ordered = block.sort_by(ROW)
        try:
            read_chunk(
                ordered.select([c for c in SCHEMA_COLUMNS if c in ordered.column_names]),
                np.asarray(ordered.column(ROW).to_numpy(), dtype=np.int64),
                max_room_members=spec.max_room_members,
                now=spec.now,
                max_future_s=spec.max_future_s,
            )
        except SchemaError as first:
            error = first
    return pa.RecordBatch.from_arrays([pa.array([error_json(error)], pa.string())], [ERROR])


# ---------------------------------------------------------------- part rows


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
        Columns as :func:`parts_schema`, then :data:`ERROR`: per block, one row per
        distinct pair of each of :data:`PAIR_SETS` (``PART_SET`` its index), then one row
        per account of the block with its :data:`COUNT_SLOTS` (``PART_SET`` =
        :data:`SET_COUNTS`, so that every account that sent or received an event gets
        tallies). A block that riskscore refuses gives one row, its error
        (:func:`refused_row`), and the next blocks are read.
    """
    schema = parts_schema(string_account_ids=spec.string_account_ids)
    out = refusable(schema)
    for block in key_blocks(batches, spec.block_events, key=None):
        try:
            msgs = read_block(block, spec)
        except RiskscoreError as exc:
            yield widened(refused_row(block, spec, exc), out)
            continue
        yield widened(part_rows(account_parts(msgs), msgs.accounts, schema), out)


def part_rows(parts: AccountParts, accounts: npt.NDArray[Any], schema: pa.Schema) -> pa.RecordBatch:
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
            id_array(facts.hi, ids),
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
    senders, recipients = (
        column_ids(pair_rows.column(ACCOUNT)),
        column_ids(pair_rows.column(PART_OTHER)),
    )
    pair_set = which[is_pair]
    sets = {
        name: (senders[pair_set == j], recipients[pair_set == j])
        for j, name in enumerate(PAIR_SETS)
    }
    parts = AccountParts(
        **sets,
        account_id=column_ids(count_rows.column(ACCOUNT)),
        counts=np.column_stack(
            [
                np.asarray(count_rows.column(name).to_numpy(), dtype=np.float64)
                for name in PART_COUNTS
            ]
        ),
        pairs=pair_facts(fact_rows, ACCOUNT, PART_OTHER),
    )
    tallies = tallies_from_parts([parts])
    # Accounts of this block have every part row here; an account met only as the
    # other side of a pair has its own rows (and tallies) in another block. A pair's
    # facts are all in the block of its lower id.
    mine = np.isin(tallies.account_id, column_ids(block.column(ACCOUNT)))
    ids = schema.field("account_id").type
    n_mine, facts = int(mine.sum()), tallies.pairs
    arrays = [
        pa.concat_arrays([id_array(tallies.account_id[mine], ids), id_array(facts.lo, ids)]),
        *[
            pa.concat_arrays(
                [pa.array(tallies.values[mine, j]), pa.nulls(len(facts), pa.float64())]
            )
            for j in range(len(ACCOUNT_SLOTS))
        ],
        pa.concat_arrays([pa.nulls(n_mine, ids), id_array(facts.hi, ids)]),
        *[
            pa.concat_arrays([pa.nulls(n_mine, pa.float64()), pa.array(v, pa.float64())])
            for v in (facts.first, facts.private)
        ],
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
