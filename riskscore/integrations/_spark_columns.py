"""The rows the Spark stages exchange (private; no pyspark import): the private column
names added to the events, the kinds of rows, the part rows' sets, the state rows'
columns, and the Arrow schemas of what each stage yields
(:mod:`riskscore.integrations._spark_partition` describes the stages)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pyarrow as pa

from riskscore.features import ACCOUNT_SLOTS
from riskscore.model.scores import reasons_type
from riskscore.policy import SCORE_COLUMNS

#: Private column names (prefixed so they cannot clash with input columns): the input
#: order of the events, the kind of a row of the fold stage, an account id, and the
#: tallies of a conversation's adult joined to its state row.
KIND = "_rs_kind"
ROW = "_rs_row"
ACCOUNT = "_rs_account"
ACCOUNT_VALUES = tuple(f"_rs_{slot}" for slot in ACCOUNT_SLOTS)

#: Values of :data:`KIND` in the rows of the fold stage: part rows, state rows, the
#: rows of blocks that riskscore refused (:data:`ERROR`), and the ids of group rooms a
#: block split that hold the pair id separator (:data:`PAIR_ID` only: compared with the
#: other blocks' pair ids, never scored).
KIND_PART = 0
KIND_STATE = 1
KIND_ERROR = 2
KIND_ROOM = 3
#: A refused block's error as data (:mod:`riskscore.integrations._spark_errors`; null in
#: the other rows): the driver raises it as :func:`riskscore.read_messages` would.
ERROR = "_rs_error"

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

#: State rows (stage 1): one per conversation, its
#: :class:`~riskscore.features.states.ConversationStates` row in ``conversation_id``,
#: :data:`INITIATOR`, :data:`RESPONDER`, :data:`ADULT_IS_INITIATOR` and :data:`STATE`
#: (the state's float64 values, slot by slot of
#: :data:`~riskscore.features.slots.STATE_SLOTS`, as the bytes of one binary value:
#: one column to move instead of 44, the same bits), with its events' count and time span
#: for the output. :data:`PAIR_ID` repeats the ids that hold the pair id separator (a
#: group room's pair ids and text ids that look like them; null for the others), the ids
#: the driver checks for clashes; with integer conversation ids, these rows have a null
#: ``conversation_id``.
INITIATOR = "_rs_initiator"
RESPONDER = "_rs_responder"
ADULT_IS_INITIATOR = "_rs_adult_is_initiator"
PAIR_ID = "_rs_pair_id"
STATE = "_rs_state"
N_EVENTS = "_rs_n_events"
FIRST_TS = "_rs_first_ts"
LAST_TS = "_rs_last_ts"
#: Stage 3: the pair of accounts of a state row (lower id, higher id) with its facts joined.
PAIR_LO = "_rs_pair_lo"
PAIR_HI = "_rs_pair_hi"


@dataclass(frozen=True, slots=True)
class OutputColumn:
    """One column of the scores: name and kind (``"conversation_id"``, ``"account_id"``,
    ``"float"``, ``"int"``, ``"long"``, ``"string"`` or ``"date"``)."""

    name: str
    kind: str


#: Columns a shadow model adds, after ``age_band``: its risk and its tier under the same policy.
SHADOW_COLUMNS: Final = (OutputColumn("shadow_risk", "float"), OutputColumn("shadow_tier", "int"))


def output_columns(*, shadow: bool = False) -> tuple[OutputColumn, ...]:
    """Columns of the per-conversation scores, in order: the scores file's
    (:data:`riskscore.policy.SCORE_COLUMNS`; with ``shadow``, the :data:`SHADOW_COLUMNS`
    after ``age_band``), then the events' count and span and the ``date`` Spark
    partitions by."""
    kinds = {"conversation_id": "conversation_id", "adult_id": "account_id",
             "child_id": "account_id", "tier": "int", "age_band": "string",
             "reasons": "reasons"}  # fmt: skip
    scores = [OutputColumn(name, kinds.get(name, "float")) for name in SCORE_COLUMNS]
    at = SCORE_COLUMNS.index("age_band") + 1
    return (
        *scores[:at],
        *(SHADOW_COLUMNS if shadow else ()),
        *scores[at:],
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
    "reasons": reasons_type(),
}


def arrow_schema(
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
            for c in output_columns(shadow=shadow)
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


def states_schema(*, string_conversation_ids: bool, string_account_ids: bool) -> pa.Schema:
    """The Arrow schema of the state rows of the fold stage."""
    ids = _ids_type(string_account_ids)
    return pa.schema(
        [
            pa.field("conversation_id", _ids_type(string_conversation_ids)),
            pa.field(PAIR_ID, pa.string()),
            pa.field(INITIATOR, ids),
            pa.field(RESPONDER, ids),
            pa.field(ADULT_IS_INITIATOR, pa.bool_()),
            pa.field(STATE, pa.binary()),
            pa.field(N_EVENTS, pa.int64()),
            pa.field(FIRST_TS, pa.int64()),
            pa.field(LAST_TS, pa.int64()),
        ]
    )


def fold_schema(*, string_conversation_ids: bool, string_account_ids: bool) -> pa.Schema:
    """The Arrow schema of the fold stage's rows: :data:`KIND`, then the columns of the
    part rows (null in state rows), then those of the state rows (null in part rows),
    then :data:`ERROR` (null but in the row of a refused block)."""
    parts = parts_schema(string_account_ids=string_account_ids)
    states = states_schema(
        string_conversation_ids=string_conversation_ids, string_account_ids=string_account_ids
    )
    return pa.schema([pa.field(KIND, pa.int32()), *parts, *states, pa.field(ERROR, pa.string())])


def refusable(schema: pa.Schema) -> pa.Schema:
    """``schema`` with :data:`ERROR`: the rows of a stage that reads events."""
    return schema.append(pa.field(ERROR, pa.string()))


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
