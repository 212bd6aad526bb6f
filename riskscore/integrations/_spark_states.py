"""Stage 1 of Spark scoring, the fold (private; no pyspark import): each event read and
validated once, on blocks of whole conversations, and left as the small rows the other
stages need: its block's per-account parts (part rows, merged into tallies in stage 2)
and each conversation's state (state rows, scored in stage 3).

This is step 2 of out-of-core scoring (:mod:`riskscore.batch.chunk_states`) on Spark:
:func:`riskscore.read_messages`, :func:`~riskscore.features.accounts.account_parts` and
:func:`~riskscore.features.states.conversation_states` once per block, and a
conversation's 44 floats and ids travel on instead of its events
(:mod:`riskscore.integrations._spark_partition` describes the stages).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.exceptions import RiskscoreError, SchemaError
from riskscore.features.accounts import account_parts
from riskscore.features.states import conversation_states
from riskscore.integrations._spark_blocks import key_blocks, state_array, widened
from riskscore.integrations._spark_columns import (
    ADULT_IS_INITIATOR,
    FIRST_TS,
    INITIATOR,
    KIND_ERROR,
    KIND_PART,
    KIND_ROOM,
    KIND_STATE,
    LAST_TS,
    N_EVENTS,
    PAIR_ID,
    RESPONDER,
    STATE,
    fold_schema,
    parts_schema,
    states_schema,
)
from riskscore.integrations._spark_tallies import TallySpec, part_rows, read_block, refused_row
from riskscore.io import MessageTable
from riskscore.io.groups import clashing_pair_id, pair_like, split_room_ids

__all__ = ["fold_partition"]


def fold_partition(batches: Iterable[pa.RecordBatch], spec: TallySpec) -> Iterator[pa.RecordBatch]:
    """Part rows and state rows of one partition of events.

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        Schema v1 events (ids normalized as :mod:`riskscore.integrations.spark` does),
        every event of a conversation in this partition, contiguous and in input order
        (repartitioned by ``conversation_id``, sorted by it and by input order).
    spec : TallySpec
        Block size, id kinds and the limits of the validator.

    Yields
    ------
    pyarrow.RecordBatch
        Columns as :func:`~riskscore.integrations._spark_columns.fold_schema`: per block
        of whole conversations, its part rows (``KIND`` = :data:`KIND_PART`, as
        :func:`~riskscore.integrations._spark_tallies.parts_partition` gives them), then
        one state row per conversation (``KIND`` = :data:`KIND_STATE`; group rooms split
        into pair conversations, broadcasts set aside, as by :func:`riskscore.read_messages`).
        A block that :func:`riskscore.read_messages` refuses for two conversations under one
        id (:func:`riskscore.io.groups.clashing_pair_id`) gives two state rows of that
        :data:`PAIR_ID` and nothing else, so that the driver's check of pair ids raises the
        error, not the task. A block refused otherwise gives one row of its error
        (``KIND`` = :data:`KIND_ERROR`,
        :func:`~riskscore.integrations._spark_tallies.refused_row`), which the driver
        raises; the next blocks are read, so that it names the first bad row of all.
    """
    ids = {
        "string_conversation_ids": spec.string_conversation_ids,
        "string_account_ids": spec.string_account_ids,
    }
    schema = fold_schema(**ids)
    parts = parts_schema(string_account_ids=spec.string_account_ids)
    states = states_schema(**ids)
    for block in key_blocks(batches, spec.block_events):
        # Rows are in input order within each conversation: read_messages sorts by time
        # and keeps that order for equal timestamps, as it does on one machine.
        try:
            msgs = read_block(block, spec)
        except RiskscoreError as exc:
            pair_id = clashing_pair_id(exc) if isinstance(exc, SchemaError) else None
            if pair_id is None:  # the driver raises it
                yield widened(refused_row(block, spec, exc), schema, KIND_ERROR)
            else:
                # two conversations of the block under one id: left to the driver, which
                # compares the ids of every block and raises read_messages' error
                yield widened(_shared(pair_id), schema, KIND_STATE)
            continue
        if len(msgs) == 0:  # every event of the block was a broadcast
            continue
        yield widened(part_rows(account_parts(msgs), msgs.accounts, parts), schema, KIND_PART)
        yield widened(_state_rows(msgs, states), schema, KIND_STATE)
        rooms = _pair_like_rooms(block, msgs)
        if len(rooms):
            yield widened(pa.RecordBatch.from_arrays([rooms], [PAIR_ID]), schema, KIND_ROOM)


def _pair_like_rooms(block: pa.Table, msgs: MessageTable) -> pa.Array:
    """The ids of the group rooms of ``block`` that hold the pair id separator
    (:func:`riskscore.io.groups.split_room_ids`; ``msgs.source_row`` numbers the rows of
    the block it kept): another block's pair id equal to one is the same id taken twice,
    which the driver's check of :data:`PAIR_ID` finds."""
    if not msgs.groups.n_rooms:
        return pa.array([], pa.string())
    given = block.column("conversation_id").take(pa.array(msgs.source_row))
    return pa.array(split_room_ids(given, msgs.conversations), pa.string())


def _shared(pair_id: str) -> pa.RecordBatch:
    """Two state rows that give ``pair_id`` (nothing else): a block that holds two
    conversations under one id, as two blocks that each hold one show it."""
    return pa.RecordBatch.from_arrays([pa.array([pair_id] * 2, pa.string())], [PAIR_ID])


def _state_rows(msgs: MessageTable, schema: pa.Schema) -> pa.RecordBatch:
    """One row per conversation of ``msgs``: its state, ids and span (``schema``)."""
    states = conversation_states(msgs)
    conversation, pair = _conversation_columns(
        states.conversation_id, schema.field("conversation_id").type
    )
    starts, ends = msgs.segment_starts, msgs.segment_ends
    accounts = schema.field(INITIATOR).type
    columns = {
        "conversation_id": conversation,
        PAIR_ID: pair,
        INITIATOR: pa.array(states.initiator_id, type=accounts),
        RESPONDER: pa.array(states.responder_id, type=accounts),
        ADULT_IS_INITIATOR: pa.array(states.adult_is_initiator),
        STATE: state_array(states.states),
        N_EVENTS: pa.array((ends - starts).astype(np.int64)),
        FIRST_TS: pa.array(msgs.timestamp[starts].astype(np.int64)),
        LAST_TS: pa.array(msgs.timestamp[ends - 1].astype(np.int64)),
    }
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


def _conversation_columns(ids: np.ndarray, type_: pa.DataType) -> tuple[pa.Array, pa.Array]:
    """``conversation_id`` and :data:`PAIR_ID` of the state rows.

    :data:`PAIR_ID` holds the ids that hold the pair id separator
    (:func:`riskscore.io.groups.pair_like`: a group room's pair ids, and text ids that
    look like them), null for the others: the only ids two blocks can both give, which
    the driver compares. A block with a group room holds every conversation id as text
    (:func:`riskscore.io.groups.text_conversation_ids`); with integer ids in the input,
    whether any block had one is known only once every block is read, so the integer ids
    go back to integers, the pair ids (decimal text never holds the separator) are left
    null there, and stage 3 makes them all text if needed.
    """
    if ids.dtype != object:  # integer ids, no group room in the block
        return pa.array(ids, type=type_), pa.nulls(len(ids), pa.string())
    text = pa.array(ids, type=pa.string())
    is_pair = pair_like(text)
    pair = pc.if_else(is_pair, text, pa.scalar(None, pa.string()))
    if pa.types.is_string(type_):
        return text, pair
    integer = pc.cast(pc.if_else(is_pair, pa.scalar(None, pa.string()), text), type_)
    return integer, pair
