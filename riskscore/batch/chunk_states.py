"""Step 2 of out-of-core scoring (:mod:`riskscore.batch.out_of_core`): each chunk read
and validated once, its bad rows quarantined, its account parts taken, and its
conversations folded into states (:func:`riskscore.features.states.conversation_states`)
spilled to the job's temporary directory (:mod:`riskscore.batch.state_spill`) until the
tallies of every chunk are merged (:func:`fold_step`: the file read as sorted, or
partitioned once found not sorted); and how a chunk's ids are read so that every chunk
reads them as the whole file does (text ids beyond int64 and with group rooms)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.batch.parquet_chunks import (
    ROW_COLUMN,
    NotSortedError,
    partitioned_chunks,
    sorted_chunks,
)
from riskscore.batch.prefetch import one_ahead
from riskscore.batch.reports import ReportEvents
from riskscore.batch.score import QuarantineFile
from riskscore.batch.state_spill import write_states
from riskscore.features.accounts import AccountParts, account_parts
from riskscore.features.states import ConversationStates, conversation_states
from riskscore.io import MessageTable, read_chunk
from riskscore.io.given_ids import IntegerAndPairIds
from riskscore.io.groups import pair_like, split_pair_id_error, split_room_ids, text_ids_of_chunk
from riskscore.io.schema import INT64_MAX, INT64_MIN
from riskscore.io.summaries import GroupSummary, Quarantine
from riskscore.io.text import parquet_file
from riskscore.io.timestamps import FutureLimit
from riskscore.io.validate import Errors

__all__ = [
    "SpilledChunk",
    "as_text",
    "fold_file",
    "fold_step",
    "text_order",
    "validated_chunk",
]


def validated_chunk(
    chunk: pa.Table, errors: Errors, max_room_members: int, future: FutureLimit
) -> MessageTable:
    """A chunk through the one validator, its rows named by their position in the file
    (every chunk read with the one reference time of the ``future`` limit)."""
    rows = np.asarray(chunk.column(ROW_COLUMN).to_numpy(), dtype=np.int64)
    return read_chunk(
        chunk.drop_columns([ROW_COLUMN]),
        rows,
        errors=errors,
        max_room_members=max_room_members,
        now=future.now,
        max_future_s=future.max_future_s,
    )


def as_text(table: pa.Table, names: tuple[str, ...]) -> pa.Table:
    """``table`` with the columns ``names`` cast to text (decimal text for integers)."""
    for name in names:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(i).cast(pa.string()))
    return table


def ids_beyond_int64(source: Path) -> tuple[str, ...]:
    """The id columns of ``source`` that are integers (unsigned, or whole decimals: a
    warehouse's ``NUMBER(38, 0)``) with a value beyond int64.

    Read in memory, such a column is decimal text on every row and the other account
    column's integers become text beside it (:mod:`riskscore.io.ids`); a chunk sees only
    its own rows, so every chunk must be given text ids from the start, or chunks would
    hold the same account as an integer in one and as text in another.
    """
    beyond: set[str] = set()
    with parquet_file(source) as parquet:
        schema = parquet.schema_arrow
        wide = [
            n
            for n in ("conversation_id", "sender_id", "recipient_id")
            if n in schema.names and _wider_than_int64(schema.field(n).type)
        ]
        for batch in parquet.iter_batches(columns=wide) if wide else ():
            for name, column in zip(wide, batch.columns, strict=True):
                low, top = pc.min_max(column).values()
                if (
                    top.as_py() is not None
                    and not INT64_MIN <= low.as_py() <= top.as_py() <= INT64_MAX
                ):
                    beyond.add(name)
    if beyond & {"sender_id", "recipient_id"}:
        beyond |= {"sender_id", "recipient_id"}
    return tuple(sorted(beyond))


@dataclass(frozen=True, slots=True)
class SpilledChunk:
    """One chunk between the passes: its states file (None when no row was kept), its
    input rows and its kept events, and its report events when it has some and they are
    collected (given their risk from this chunk's scores alone)."""

    path: Path | None
    n_rows: int
    n_events: int
    reports: ReportEvents | None = None


@dataclass(frozen=True, slots=True)
class FoldedChunk:
    """What step 2 keeps of one chunk: its input rows, quarantined rows and groups, and
    when some rows were kept, its states file, kept events, account parts, time span and
    the conversation ids that hold :data:`PAIR_ID_SEPARATOR` (see :func:`fold_file`):
    those of its conversations (``pair_like``) and those its rows give (``named``)."""

    n_rows: int
    quarantined: Quarantine
    groups: GroupSummary
    path: Path | None = None
    n_events: int = 0
    parts: AccountParts | None = None
    span: tuple[int, int] | None = None
    pair_like: tuple[str, ...] = ()
    named: tuple[str, ...] = ()
    reports: ReportEvents | None = None
    #: Its conversation ids are integers (held as such, or as decimal text beside pair ids
    #: or an id beyond int64: :attr:`riskscore.MessageTable.decimal_id_columns`).
    integer_ids: bool = False
    #: Its conversation ids are integers held as decimal text though it has no group room:
    #: a file riskscore wrote, its column marked so
    #: (:func:`riskscore.io.given_ids.mark_integer_text`).
    integer_text: bool = False


def text_order(
    states: ConversationStates, text_ids: bool, integers: bool = False
) -> ConversationStates:
    """``states`` as a chunk read with text conversation ids gives them, when the file
    has group rooms (in memory every id is then text): integer ids as their decimal text
    (:func:`riskscore.io.groups.text_ids_of_chunk`), rows in text order. With
    ``integers`` (the file's conversation ids are integers held as decimal text beside
    pair ids, as in memory), ids spilled as text are held so again
    (:class:`~riskscore.io.given_ids.IntegerAndPairIds`): alerts carry them as given."""
    text = text_ids_of_chunk(states.conversation_id, text_ids)
    if integers and text.dtype == object and not isinstance(text, IntegerAndPairIds):
        text = text.view(IntegerAndPairIds)
        if states.conversation_id.dtype == object:  # in text order already
            return replace(states, conversation_id=text)
    if text is states.conversation_id:
        return states
    order = np.argsort(text, kind="stable")
    return replace(states.take(order), conversation_id=text[order])


@dataclass(slots=True)
class FoldedFile:
    """Step 2 over every chunk: the quarantine file, the chunks kept for step 3, the
    account parts and time span of each, and what the chunks showed."""

    quarantine: QuarantineFile
    spilled: list[SpilledChunk] = field(default_factory=list)
    parts: list[AccountParts] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    groups: GroupSummary = field(default_factory=GroupSummary)
    n_rows: int = 0
    n_kept: int = 0
    text_ids: bool = False
    #: The account ids are integers, held as decimal text because one is beyond int64.
    decimal_ids: bool = False
    #: The id columns of integers held as decimal text because one is beyond int64.
    text_columns: tuple[str, ...] = ()
    #: A chunk's conversation ids were integers (:attr:`FoldedChunk.integer_ids`): one
    #: column of the file, so every chunk's.
    integer_conversation_ids: bool = False
    #: A chunk's conversation ids were marked as integers held as decimal text
    #: (:attr:`FoldedChunk.integer_text`).
    integer_text: bool = False

    @property
    def decimal_id_columns(self) -> tuple[str, ...]:
        """The id columns of integers held as decimal text, as
        :attr:`riskscore.MessageTable.decimal_id_columns` has them in memory: those of
        :attr:`text_columns`, and with group rooms (which make every conversation id text)
        the conversation ids when they are integers."""
        if self.groups.n_rooms == 0 and not self.integer_text:
            return self.text_columns
        accounts = tuple(n for n in self.text_columns if n != "conversation_id")
        integers = self.integer_conversation_ids or "conversation_id" in self.text_columns
        return (*accounts, *(("conversation_id",) if integers else ()))


def fold_file(
    chunks: Iterator[pa.Table],
    tmp: Path,
    quarantine: QuarantineFile,
    text_columns: tuple[str, ...],
    validate: Callable[[pa.Table], MessageTable],
    progress: Callable[[int], object] | None = None,
    reports: bool = True,
) -> FoldedFile:
    """Step 2: each chunk validated (bad rows to ``quarantine``), its account parts,
    its report events (with ``reports``: :attr:`SpilledChunk.reports`),
    and its conversations' states spilled to ``tmp``; two chunks at once, taken from
    ``chunks`` in turn; ``progress``, when given, is called after each chunk with the
    input rows done. When ``chunks`` raises
    :class:`~riskscore.batch.parquet_chunks.NotSortedError`, or step 2 fails, what was
    written is removed and ``chunks`` closed before the exception propagates. A
    conversation id that is also the pair id of a room in another chunk is refused as
    in memory, and so is a pair id that rooms of two chunks derive
    (:func:`riskscore.io.groups.split_pair_id_error`)."""
    # Group rooms make every conversation id text (a pair id is text); chunks hold whole
    # conversations, so a chunk shows each of its rooms.
    done = FoldedFile(
        quarantine,
        text_ids="conversation_id" in text_columns,
        decimal_ids="sender_id" in text_columns,  # both account columns or neither
        text_columns=text_columns,
    )

    def fold(item: tuple[int, pa.Table]) -> FoldedChunk:
        index, chunk = item
        chunk = as_text(chunk, text_columns)
        msgs = validate(chunk)
        named = _named_pair_like(chunk.column("conversation_id"))
        folded = FoldedChunk(chunk.num_rows, msgs.quarantined, msgs.groups, named=named)
        if not len(msgs):  # every event was quarantined or a broadcast
            return folded
        path = tmp / f"states_{index:06d}.arrow"
        write_states(path, conversation_states(msgs))
        span = (int(msgs.timestamp.min()), int(msgs.timestamp.max()))
        events = ReportEvents.of(msgs) if reports else ReportEvents.none()
        ids = _pair_like(msgs.conversations)
        integers = msgs.conversation_id.dtype.kind in "iu" or (
            "conversation_id" in msgs.decimal_id_columns
        )
        return replace(folded, path=path, n_events=len(msgs), parts=account_parts(msgs),
                       span=span, pair_like=ids + _rooms(chunk, msgs, named, ids),
                       reports=events if len(events) else None,
                       integer_ids=integers,
                       integer_text=msgs.groups.n_rooms == 0
                       and isinstance(msgs.conversation_id, IntegerAndPairIds))  # fmt: skip

    # A room's pair ids are checked against the other ids of its chunk by the validator;
    # the ids of other chunks can only clash with them if they hold the separator too.
    pair_like: set[str] = set()
    named: set[str] = set()  # the ids of the input among them
    results = one_ahead(_numbered(chunks), fold, workers=2)
    try:
        for folded in results:
            named.update(folded.named)
            clash = pair_like.intersection(folded.pair_like)
            if clash:
                raise split_pair_id_error(min(clash), named=min(clash) in named)
            pair_like.update(folded.pair_like)
            done.quarantine.write(folded.quarantined)
            done.text_ids = done.text_ids or folded.groups.n_rooms > 0
            done.integer_conversation_ids |= folded.integer_ids
            done.integer_text |= folded.integer_text
            done.groups += folded.groups
            if folded.parts is not None and folded.span is not None:
                done.parts.append(folded.parts)
                done.spans.append(folded.span)
                done.n_kept += folded.n_events
            done.spilled.append(
                SpilledChunk(folded.path, folded.n_rows, folded.n_events, folded.reports)
            )
            done.n_rows += folded.n_rows
            if progress is not None:
                progress(done.n_rows)
    except BaseException:
        # NotSortedError (step 2 starts again) or a failed job: nothing of it is left,
        # as in memory, where a refusal comes before any output
        results.close()  # the work in progress finished, the chunks closed
        written, _ = done.quarantine.close()
        if written is not None:
            written.unlink()
        for chunk in done.spilled:
            if chunk.path is not None:
                chunk.path.unlink()
        raise
    return done


def fold_step(
    source: Path,
    chunk_rows: int,
    tmp: Path,
    quarantine: Callable[[], QuarantineFile],
    validate: Callable[[pa.Table], Any],
    read_progress: Callable[[int], object] | None,
    reports: bool = True,
) -> tuple[FoldedFile, bool]:
    """Step 2: every chunk validated, tallied and folded into spilled states (with its
    report events, with ``reports``); and whether the file was read as sorted. A file
    found not sorted (the order is checked as its batches stream: no pass before) is
    partitioned and step 2 starts again, with a new quarantine file (``quarantine()``:
    the first one is removed with what it wrote)."""
    # Ids beyond int64 make their columns text in memory: so in every chunk.
    text_columns = ids_beyond_int64(source)

    def fold(chunks: Iterator[pa.Table]) -> FoldedFile:
        return fold_file(chunks, tmp, quarantine(), text_columns, validate, read_progress, reports)

    try:
        return fold(sorted_chunks(source, chunk_rows)), True
    except NotSortedError:
        return fold(partitioned_chunks(source, chunk_rows, tmp)), False


def _numbered(chunks: Iterator[pa.Table]) -> Iterator[tuple[int, pa.Table]]:
    """``enumerate(chunks)`` that closes ``chunks`` when it is closed: :func:`one_ahead`
    closes the source it is given when step 2 stops, and an ``enumerate`` has no close."""
    try:
        yield from enumerate(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _wider_than_int64(kind: pa.DataType) -> bool:
    """Whether a column of type ``kind`` holds integers an int64 may not (the type of an
    id column read in memory as the integers it holds, or beyond int64 as their text)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_uint64(kind) or (pa.types.is_decimal(kind) and kind.scale == 0))


def _named_pair_like(column: pa.ChunkedArray) -> tuple[str, ...]:
    """:func:`_pair_like` of the distinct ids of an input ``conversation_id`` column. Ids
    of a type without text (integers, decimals, floats, booleans, nulls) hold no separator: their
    column is not hashed for its distinct values (a pass over every row of every chunk)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    without_text = (
        pa.types.is_integer,
        pa.types.is_decimal,
        pa.types.is_floating,
        pa.types.is_boolean,
        pa.types.is_null,
    )
    if any(is_kind(kind) for is_kind in without_text):
        return ()
    return _pair_like(column.unique().to_numpy(zero_copy_only=False))


def _rooms(
    chunk: pa.Table, msgs: MessageTable, named: tuple[str, ...], ids: tuple[str, ...]
) -> tuple[str, ...]:
    """The ids of the chunk's group rooms that hold the separator
    (:func:`riskscore.io.groups.split_room_ids` of the ids given on the rows ``msgs``
    kept); none to look for when every id the chunk names with the separator (``named``)
    is one of its conversations' (``ids``)."""
    if not set(named).difference(ids):
        return ()
    rows = np.asarray(chunk.column(ROW_COLUMN).to_numpy(), dtype=np.int64)
    order = np.argsort(rows)
    kept = order[np.searchsorted(rows, msgs.source_row, sorter=order)]
    given = chunk.column("conversation_id").take(pa.array(kept))
    return tuple(split_room_ids(given, msgs.conversations))


def _pair_like(ids: npt.NDArray[Any]) -> tuple[str, ...]:
    """The text ids among ``ids`` that hold the pair id separator
    (:func:`riskscore.io.groups.pair_like`; conversation ids are disjoint between chunks
    but for these: pair ids and ids that look like them)."""
    if ids.dtype != object or not len(ids):
        return ()
    text = pa.array(ids, type=pa.large_string())
    return tuple(text.filter(pair_like(text)).to_pylist())
