"""The validated, columnar table of message events every module reads; built sorted and coded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from riskscore._optional import import_extra
from riskscore._read_only import read_only
from riskscore.io.ids import as_given
from riskscore.io.passes import in_order, lookup_codes, mark_present, run_codes
from riskscore.io.schema import (
    CHANNEL_NAMES,
    EVENT_NAMES,
    ROOM_SIZE_UNKNOWN,
    SCHEMA_COLUMNS,
    TZ_UNKNOWN,
)
from riskscore.io.segments import spread
from riskscore.io.threads import executor_for

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["GroupSummary", "MessageTable", "Quarantine"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Quarantine:
    """Rows refused by :func:`riskscore.read_messages` with ``errors="quarantine"``.

    Attributes
    ----------
    row : array of shape (n_quarantined,)
        0-based position of each refused row in the input as given (for a Parquet file,
        Arrow table, DataFrame or dict, its row index; for a CSV file, the data rows after
        the header; for JSON lines, the event lines, blank lines not counted).
    column : tuple of str
        The column blamed for each row (``"line"`` for a JSON line refused as a whole).
    value : tuple
        The offending value as it was read (text, number, None for an empty cell; bytes
        as text with invalid UTF-8 escaped; text over
        :data:`~riskscore.io.schema.MAX_SHOWN_CHARS` characters cut and marked).
    reason : tuple of str
        Why the row was refused.
    line : array of shape (n_quarantined,)
        1-based line of each row in its file: the physical line where the row starts in a
        CSV file (the header is line 1; quoted line breaks and blank lines counted), the
        line in a JSON lines file. -1 for inputs without lines (Parquet, Arrow, pandas,
        dicts), and for a CSV row after a cell too large for the line count.
    conversation_id : tuple
        The row's conversation id when it was readable (the row was refused for another
        column), else None.
    """

    row: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    column: tuple[str, ...] = ()
    value: tuple[object, ...] = ()
    reason: tuple[str, ...] = ()
    line: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    conversation_id: tuple[object, ...] = ()

    def __len__(self) -> int:
        return len(self.row)

    def counts(self) -> dict[str, int]:
        """Number of refused rows per blamed column."""
        out: dict[str, int] = {}
        for col in self.column:
            out[col] = out.get(col, 0) + 1
        return out

    def to_records(self) -> list[dict[str, object]]:
        """One dict per refused row, for logs or a JSON report: ``row``, ``line`` (None
        when the input has no lines), ``conversation_id`` (None when unreadable),
        ``column``, ``value`` (as read) and ``reason``."""
        lines = self.line if len(self.line) == len(self.row) else np.full(len(self.row), -1)
        ids = self.conversation_id or (None,) * len(self.row)  # when built without them
        return [
            {
                "row": int(r),
                "line": None if line < 0 else int(line),
                "conversation_id": conv,
                "column": c,
                "value": v,
                "reason": why,
            }
            for r, line, conv, c, v, why in zip(
                self.row, lines, ids, self.column, self.value, self.reason, strict=True
            )
        ]


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """What reading did with group conversations (:mod:`riskscore.io.groups`).

    Attributes
    ----------
    n_rooms : int
        Conversations of more than two accounts, split into pair conversations.
    n_pairs : int
        Pair conversations derived from them (every pair of accounts of a room that
        exchanged an event).
    n_without_room_size : int
        Events of those rooms without ``room_size``: each counted as an event between its
        sender and recipient, not as group contact.
    n_broadcast : int
        Events set aside as broadcasts (``message`` or ``media`` events to a room of more
        than ``max_room_members`` accounts).
    broadcast_rows : array of shape (n_broadcast,)
        Their 0-based input rows (empty where rows are not kept: out-of-core totals).
    """

    n_rooms: int = 0
    n_pairs: int = 0
    n_without_room_size: int = 0
    n_broadcast: int = 0
    broadcast_rows: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __add__(self, other: GroupSummary) -> GroupSummary:
        """Totals of two summaries (of disjoint parts); rows are not kept."""
        return GroupSummary(
            n_rooms=self.n_rooms + other.n_rooms,
            n_pairs=self.n_pairs + other.n_pairs,
            n_without_room_size=self.n_without_room_size + other.n_without_room_size,
            n_broadcast=self.n_broadcast + other.n_broadcast,
        )

    def describe(self) -> list[str]:
        """One line per fact worth printing (none when there were no groups)."""
        lines = []
        if self.n_rooms:
            lines.append(
                f"{self.n_rooms} group conversation(s) of more than two accounts split into "
                f"{self.n_pairs} pair conversations (id: room|account|account)"
            )
        if self.n_without_room_size:
            lines.append(
                f"{self.n_without_room_size} event(s) of group conversations without "
                "room_size, each counted as an event between its sender and recipient"
            )
        if self.n_broadcast:
            lines.append(
                f"{self.n_broadcast} event(s) to rooms above max_room_members set aside as "
                "broadcasts (not conversations)"
            )
        return lines


@dataclass(frozen=True, slots=True, eq=False)
class MessageTable:
    """Validated message events, sorted by conversation then time.

    Build one with :func:`riskscore.read_messages`; the constructor trusts its
    arguments. Columns are numpy arrays of length ``n_events``. Categorical
    columns hold the integer codes of :class:`~riskscore.io.schema.Channel` and
    :class:`~riskscore.io.schema.EventType`; unknown ages are NaN.

    Attributes
    ----------
    conversation_id, sender_id, recipient_id : array of shape (n_events,)
        Ids as given: int64, or an object array of str (never fixed-width numpy text,
        whose memory would follow the longest id).
    timestamp : array of shape (n_events,)
        UTC epoch seconds, int64.
    sender_age, recipient_age : array of shape (n_events,)
        Years, float64, NaN where unknown.
    channel, event : array of shape (n_events,)
        Integer codes (uint8).
    recipient_tz_offset_min : array of shape (n_events,)
        Recipient's UTC offset in minutes, int16; :data:`~riskscore.io.schema.TZ_UNKNOWN`
        where unknown.
    room_size : array of shape (n_events,)
        Accounts in the room when the event was sent (sender included), int32; 0 where
        not given (an event between two accounts).
    conversation_code : array of shape (n_events,)
        Dense code of each event's conversation, non-decreasing.
    conversations : array of shape (n_conversations,)
        Conversation ids in code order (sorted).
    segment_starts : array of shape (n_conversations,)
        Index of each conversation's first event.
    sender_code, recipient_code : array of shape (n_events,)
        Dense codes into :attr:`accounts` (senders and recipients share them).
    accounts : array of shape (n_accounts,)
        Account ids in code order (sorted).
    source_row : array of shape (n_events,)
        Position of each event in the input as given.
    quarantined : Quarantine
        Rows refused on input (empty unless ``errors="quarantine"``).
    groups : GroupSummary
        Group conversations split into pairs, and broadcast events set aside.
    unread_columns : tuple of str
        Columns of the source that are not schema v1 columns, never read (a column under
        another name, ``tz_offset`` for ``recipient_tz_offset_min``, shows here).
    decimal_ids : bool
        The account ids are integers held as their decimal text, because an integer id
        was beyond int64 (:mod:`riskscore.io.ids`): they join integer ids (of per-account
        features, :meth:`riskscore.features.AccountFeatures.for_ids`) as that
        text, never text ids; written (:meth:`to_arrow`), they are integers again.
    """

    conversation_id: npt.NDArray[Any]
    timestamp: IntArray
    sender_id: npt.NDArray[Any]
    recipient_id: npt.NDArray[Any]
    sender_age: FloatArray
    recipient_age: FloatArray
    channel: npt.NDArray[np.uint8]
    event: npt.NDArray[np.uint8]
    recipient_tz_offset_min: npt.NDArray[np.int16]
    room_size: npt.NDArray[np.int32]
    conversation_code: IntArray
    conversations: npt.NDArray[Any]
    segment_starts: IntArray
    sender_code: IntArray
    recipient_code: IntArray
    accounts: npt.NDArray[Any]
    source_row: IntArray
    quarantined: Quarantine = field(default_factory=Quarantine)
    groups: GroupSummary = field(default_factory=GroupSummary)
    unread_columns: tuple[str, ...] = ()
    decimal_ids: bool = False

    def __len__(self) -> int:
        return len(self.timestamp)

    def __repr__(self) -> str:
        return (
            f"MessageTable(n_events={len(self)}, n_conversations={self.n_conversations}, "
            f"n_accounts={len(self.accounts)}, quarantined={len(self.quarantined)})"
        )

    @property
    def n_conversations(self) -> int:
        """Number of distinct conversations."""
        return len(self.conversations)

    @property
    def segment_ends(self) -> IntArray:
        """Index one past each conversation's last event."""
        return np.append(self.segment_starts[1:], len(self)).astype(np.int64)

    @property
    def position_in_conversation(self) -> IntArray:
        """0-based index of each event within its conversation."""
        starts = self.segment_starts
        return np.arange(len(self), dtype=np.int64) - spread(starts, starts, len(self))

    def columns(self, *, decoded: bool = True) -> dict[str, npt.NDArray[Any]]:
        """The schema v1 columns as a dict of arrays.

        Parameters
        ----------
        decoded : bool, default True
            Give ``channel`` and ``event`` as their names rather than codes, unknown
            ``recipient_tz_offset_min`` and ``room_size`` as None (an object array, only
            when some are unknown), and leave ``room_size`` out when no event has one.
            ``decoded=False`` gives the stored arrays as they are.
        """
        cols: dict[str, npt.NDArray[Any]] = {name: getattr(self, name) for name in SCHEMA_COLUMNS}
        if decoded:
            cols["channel"] = np.asarray(CHANNEL_NAMES, dtype=object)[self.channel]
            cols["event"] = np.asarray(EVENT_NAMES, dtype=object)[self.event]
            tz = _with_none(self.recipient_tz_offset_min, TZ_UNKNOWN)
            cols["recipient_tz_offset_min"] = tz
            if (self.room_size == ROOM_SIZE_UNKNOWN).all():
                del cols["room_size"]
            else:
                cols["room_size"] = _with_none(self.room_size, ROOM_SIZE_UNKNOWN)
        return cols

    def _ids_as_given(self, *, arrow: bool = False) -> dict[str, Any]:  # as ids were given
        return as_given(self.columns(), self.source_row, decimal_ids=self.decimal_ids, arrow=arrow)

    def to_arrow(self) -> pa.Table:
        """The events as a :class:`pyarrow.Table` with schema v1 columns (unknown time
        zones and room sizes null; ``room_size`` only when some event has one; integer ids
        beyond int64 as uint64, :func:`riskscore.io.ids.as_given`)."""
        import pyarrow as pa

        table = pa.table(self._ids_as_given(arrow=True))
        for name, kind in (("recipient_tz_offset_min", pa.int16()), ("room_size", pa.int32())):
            if name in table.column_names:
                i = table.schema.get_field_index(name)
                table = table.set_column(i, name, table.column(name).cast(kind))
        return table

    def to_pandas(self) -> pd.DataFrame:
        """The events as a :class:`pandas.DataFrame` (needs ``riskscore-metadata[pandas]``)."""
        pandas = import_extra("pandas", "pandas", needed_by="MessageTable.to_pandas()")
        return pandas.DataFrame(self._ids_as_given())  # type: ignore[no-any-return]

    def iter_events(self) -> Iterator[dict[str, object]]:
        """Yield each event as a dict of schema v1 fields, in time order.

        This is the one-event-at-a-time view an online scorer consumes; batch
        code should use the columns instead. Events with equal timestamps come
        in input order; values are plain Python objects (integer ids are ints, beyond
        int64 too; unknown ages and time zones are ``None``; ``room_size`` is there only
        when some event has one), so each event is ready for ``json.dumps``.

        Examples
        --------
        >>> import riskscore as rs
        >>> msgs = rs.read_messages({"conversation_id": [1, 1], "timestamp": [20, 10],
        ...                          "sender_id": [1, 2], "recipient_id": [2, 1],
        ...                          "channel": ["direct", "public"]})
        >>> [(e["timestamp"], e["sender_id"], e["sender_age"]) for e in msgs.iter_events()]
        [(10, 2, None), (20, 1, None)]
        """
        order = np.lexsort((self.source_row, self.timestamp))
        cols = self._ids_as_given()
        names = list(cols)
        block = 65_536  # convert to Python objects a block at a time: memory stays small
        for start in range(0, len(order), block):
            rows = order[start : start + block]
            lists: list[list[object]] = []
            for name in names:
                values = cols[name][rows].tolist()  # plain Python ints, floats and str
                if name in ("sender_age", "recipient_age"):
                    values = [None if v != v else v for v in values]
                lists.append(values)
            for row in zip(*lists, strict=True):
                yield dict(zip(names, row, strict=True))

    def take_conversations(self, codes: npt.ArrayLike) -> MessageTable:
        """A new table holding only the conversations with the given codes.

        Parameters
        ----------
        codes : array-like of int
            Conversation codes (positions in :attr:`conversations`).
        """
        return subset_conversations(self, np.asarray(codes, dtype=np.int64))


def _with_none(values: npt.NDArray[Any], unknown: int) -> npt.NDArray[Any]:
    """``values`` as they are when none is ``unknown``, else an object array with None
    there (so that Arrow, pandas and JSON see a null, never the stored code)."""
    missing = values == unknown
    if not missing.any():
        return values
    out = values.astype(object)
    out[missing] = None
    return out


# ------------------------------------------------------------ building a table

#: Integer ids spanning at most this many values per row are coded with a lookup table
#: (O(n + span)) instead of a sort (O(n log n)).
_DENSE_SPAN_PER_ROW = 4


def factorize(*columns: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], list[IntArray]]:
    """Sorted unique values over all the columns, and each column's dense codes."""
    dense = _dense_lookup(columns)
    if dense is not None:
        uniques, code_of, low = dense

        def code(col: npt.NDArray[Any]) -> IntArray:
            if col.dtype == np.int64:  # the common case: one compiled pass, no temporary
                out = np.empty(len(col), dtype=np.int64)
                lookup_codes(read_only(col), low, code_of, out)
                return out
            coded: IntArray = code_of[col - low if low else col]
            return coded

        with executor_for(len(columns[0]) if len(columns) > 1 else 0) as pool:
            return uniques, list(pool.map(code, columns))
    both = columns[0] if len(columns) == 1 else np.concatenate(columns)
    uniques, codes = np.unique(both, return_inverse=True)
    codes = codes.astype(np.int64, copy=False).reshape(-1)
    bounds = np.cumsum([len(c) for c in columns])[:-1]
    return uniques, np.split(codes, bounds)


def _dense_lookup(
    columns: tuple[npt.NDArray[Any], ...],
) -> tuple[npt.NDArray[Any], IntArray, int] | None:
    """For integer ids with a compact range: the sorted unique values, a table from
    ``value - low`` to code, and ``low`` (0 when small ids can index the table as they
    are). None otherwise."""
    n = sum(len(c) for c in columns)
    if n == 0 or any(c.dtype.kind not in "iu" for c in columns):
        return None
    low = min(int(c.min()) for c in columns if len(c))
    high = max(int(c.max()) for c in columns if len(c))
    limit = _DENSE_SPAN_PER_ROW * n + 1024
    if high - low + 1 > limit:
        return None
    if 0 <= low <= high - low + 1:  # a table at most twice as long, without the subtraction
        low = 0
    present = np.zeros(high - low + 1, dtype=bool)
    for col in columns:
        if col.dtype == np.int64:
            mark_present(read_only(col), low, present)
        else:
            present[col - low if low else col] = True
    code_of = np.cumsum(present, dtype=np.int64) - 1
    uniques = np.flatnonzero(present) + low
    return uniques.astype(np.result_type(*columns), copy=False), code_of, low


def _is_sorted(
    conversation_id: npt.NDArray[Any], timestamp: IntArray, source_row: IntArray
) -> bool:
    """Whether rows are already sorted by (conversation, timestamp, source row): then the
    sort is the identity and can be skipped (one O(n) pass instead of O(n log n))."""
    if len(conversation_id) < 2:
        return True
    if conversation_id.dtype.kind in "iu":  # integer ids: one compiled pass
        return bool(in_order(*map(read_only, (conversation_id, timestamp, source_row))))
    same = conversation_id[1:] == conversation_id[:-1]
    if not np.all(same | (conversation_id[1:] > conversation_id[:-1])):
        return False
    tie = same & (timestamp[1:] == timestamp[:-1])
    later = timestamp[1:] > timestamp[:-1]
    return bool(np.all(~same | later | (tie & (source_row[1:] > source_row[:-1]))))


def _runs(values: npt.NDArray[Any]) -> tuple[IntArray, IntArray]:
    """Each row's code (0, 1, ...) among the runs of equal sorted values, and each run's
    first row."""
    if values.dtype.kind in "iu":  # one compiled pass
        codes, starts = run_codes(read_only(values))
        return codes, starts
    is_start = np.ones(len(values), dtype=bool)
    if len(values):
        is_start[1:] = values[1:] != values[:-1]
    return np.cumsum(is_start, dtype=np.int64) - 1, np.flatnonzero(is_start).astype(np.int64)


def build_table(
    cols: dict[str, npt.NDArray[Any]],
    source_row: IntArray,
    quarantined: Quarantine | None = None,
    groups: GroupSummary | None = None,
    *,
    decimal_ids: bool = False,
) -> MessageTable:
    """Sort validated columns by (conversation, timestamp, input order) and add codes.

    ``cols`` must already hold the schema v1 columns with their final dtypes.
    """
    if _is_sorted(cols["conversation_id"], cols["timestamp"], source_row):
        # Already in (conversation, timestamp) order, ties in input order: no sort needed.
        sorted_cols = dict(cols)
        conv_code, segment_starts = _runs(cols["conversation_id"])
        conversations = cols["conversation_id"][segment_starts]
        order = None
    else:
        conversations, (conv_code,) = factorize(cols["conversation_id"])
        # lexsort is stable, so events with equal timestamps keep their input order.
        order = np.lexsort((source_row, cols["timestamp"], conv_code))
        sorted_cols = {name: arr[order] for name, arr in cols.items()}
        conv_code, segment_starts = _runs(conv_code[order])
    accounts, (sender_code, recipient_code) = factorize(
        sorted_cols["sender_id"], sorted_cols["recipient_id"]
    )
    return MessageTable(
        conversation_id=sorted_cols["conversation_id"],
        timestamp=sorted_cols["timestamp"],
        sender_id=sorted_cols["sender_id"],
        recipient_id=sorted_cols["recipient_id"],
        sender_age=sorted_cols["sender_age"],
        recipient_age=sorted_cols["recipient_age"],
        channel=sorted_cols["channel"],
        event=sorted_cols["event"],
        recipient_tz_offset_min=sorted_cols["recipient_tz_offset_min"],
        room_size=sorted_cols["room_size"],
        conversation_code=conv_code,
        conversations=conversations,
        segment_starts=segment_starts,
        sender_code=sender_code,
        recipient_code=recipient_code,
        accounts=accounts,
        source_row=source_row if order is None else source_row[order],
        quarantined=quarantined if quarantined is not None else Quarantine(),
        groups=groups if groups is not None else GroupSummary(),
        decimal_ids=decimal_ids,
    )


def subset_conversations(table: MessageTable, codes: IntArray) -> MessageTable:
    """Keep the events of the conversations whose codes are given."""
    keep = np.zeros(table.n_conversations, dtype=bool)
    keep[codes] = True
    mask = spread(keep, table.segment_starts, len(table))
    cols = {name: arr[mask] for name, arr in table.columns(decoded=False).items()}
    return build_table(cols, table.source_row[mask], decimal_ids=table.decimal_ids)
