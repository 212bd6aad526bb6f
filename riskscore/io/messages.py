"""The validated, columnar table of message events every module reads; built sorted and coded.

Its codes and row order come from :mod:`riskscore.io.coding`; what reading set aside
(:class:`Quarantine`, :class:`GroupSummary`) is recorded by :mod:`riskscore.io.summaries`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from riskscore._optional import import_extra
from riskscore.io.coding import (
    factorize,
    forget_ranks,
    grouped_order,
    is_sorted,
    runs,
    take,
)
from riskscore.io.given_ids import (
    IntegerAndPairIds,
    as_given,
    decimal_id_columns,
    mark_integer_text,
)
from riskscore.io.raw import show
from riskscore.io.schema import (
    CHANNEL_NAMES,
    EVENT_NAMES,
    ROOM_SIZE_UNKNOWN,
    SCHEMA_COLUMNS,
    TZ_UNKNOWN,
)
from riskscore.io.segments import spread
from riskscore.io.summaries import GroupSummary, Quarantine

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GroupSummary", "MessageTable", "Quarantine"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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

    @property
    def decimal_id_columns(self) -> tuple[str, ...]:
        """The id columns whose integers are held as decimal text, one being beyond int64
        or a group room's pair id beside them (:func:`riskscore.io.given_ids.
        decimal_id_columns`): what the online scorer, reading each event alone, holds as
        integers (pair ids are text there too)."""
        return decimal_id_columns(self.columns(decoded=False), decimal_ids=self.decimal_ids)

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

    def _ids_as_given(self, *, arrow: bool = False) -> dict[str, Any]:
        """The columns with ids as given (:func:`riskscore.io.given_ids.as_given`)."""
        cols, rows = self.columns(), self.source_row
        return as_given(cols, rows, decimal_ids=self.decimal_ids, arrow=arrow)

    def to_arrow(self) -> pa.Table:
        """The events as a :class:`pyarrow.Table` with schema v1 columns (unknown time
        zones and room sizes null; ``room_size`` only when some event has one; integer ids
        beyond int64 as uint64, :func:`riskscore.io.given_ids.as_given`; integer
        conversation ids beside the pair ids of group rooms as text, the field marked so,
        :func:`riskscore.io.given_ids.mark_integer_text`, which reading gives back as
        integers)."""
        table = pa.table(self._ids_as_given(arrow=True))
        for name, kind in (("recipient_tz_offset_min", pa.int16()), ("room_size", pa.int32())):
            if name in table.column_names:
                i = table.schema.get_field_index(name)
                table = table.set_column(i, name, table.column(name).cast(kind))
        pairs = isinstance(self.conversation_id, IntegerAndPairIds)  # text: mark it
        return mark_integer_text(table, ("conversation_id",) if pairs else ())

    def to_pandas(self) -> pd.DataFrame:
        """The events as a :class:`pandas.DataFrame` (needs ``riskscore-metadata[pandas]``),
        ids as given: integer ids beyond int64, and integer conversation ids beside the
        pair ids of group rooms, as Python ints in an object column, which
        :func:`riskscore.read_messages` reads back as they were."""
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
        >>> msgs = rs.read_messages({"conversation_id": [1, 1],
        ...                          "timestamp": [1_700_000_020, 1_700_000_010],
        ...                          "sender_id": [1, 2], "recipient_id": [2, 1],
        ...                          "channel": ["direct", "public"]})
        >>> [(e["timestamp"], e["sender_id"], e["sender_age"]) for e in msgs.iter_events()]
        [(1700000010, 2, None), (1700000020, 1, None)]
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
        codes : array-like of int, or of bool
            Conversation codes (positions in :attr:`conversations`, from 0; a code given
            twice is taken once, and the events keep the table's order), or a boolean
            mask with one value per conversation.

        Raises
        ------
        IndexError
            A code is negative (not counted from the end) or beyond the last conversation.
        TypeError
            A code is not an integer (``0.5``, ``"3"``).
        ValueError
            The codes are not one-dimensional, or a mask's length is not
            :attr:`n_conversations`.

        Examples
        --------
        >>> import riskscore as rs
        >>> msgs = rs.synthetic.generate(20, prevalence=0.1, seed=1).messages
        >>> msgs.take_conversations([0, 2]).n_conversations
        2
        >>> msgs.take_conversations([msgs.n_conversations])
        Traceback (most recent call last):
        ...
        IndexError: take_conversations: code 20 (codes[0]) is out of range: the table has 20 \
conversations, codes 0 to 19 (a negative code is not counted from the end)
        """
        return subset_conversations(self, conversation_codes(codes, self.n_conversations))


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


def build_table(
    cols: dict[str, npt.NDArray[Any]],
    source_row: IntArray,
    quarantined: Quarantine | None = None,
    groups: GroupSummary | None = None,
    *,
    decimal_ids: bool = False,
    borrowed: Sequence[npt.NDArray[Any]] = (),
) -> MessageTable:
    """Sort validated columns by (conversation, timestamp, input order) and add codes.

    ``cols`` must already hold the schema v1 columns with their final dtypes. A column
    that may share memory with one of the ``borrowed`` arrays (the caller's, which it can
    still write) is copied when no sort copies it: a validated table must not change when
    its input does.
    """
    if is_sorted(cols["conversation_id"], cols["timestamp"], source_row):
        # Already in (conversation, timestamp) order, ties in input order: no sort needed.
        sorted_cols = {
            name: arr.copy() if any(np.may_share_memory(arr, b) for b in borrowed) else arr
            for name, arr in cols.items()
        }
        conv_code, segment_starts = runs(cols["conversation_id"])
        conversations = cols["conversation_id"][segment_starts]
        order = None
    else:
        conversations, (conv_code,) = factorize(cols["conversation_id"])
        order = grouped_order(conv_code, cols["timestamp"], source_row)
        if order is None:  # lexsort is stable: equal timestamps keep their input order
            order = np.lexsort((source_row, cols["timestamp"], conv_code))
        sorted_cols = {name: take(arr, order) for name, arr in cols.items()}
        conv_code, segment_starts = runs(conv_code[order])
    accounts, (sender_code, recipient_code) = factorize(
        sorted_cols["sender_id"], sorted_cols["recipient_id"]
    )
    forget_ranks(*cols.values(), *sorted_cols.values())
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


def conversation_codes(codes: npt.ArrayLike, n: int) -> IntArray:
    """``codes`` as positions in a table of ``n`` conversations (a boolean mask as its true
    positions), or an error naming the first that is not one (numpy would count a negative
    code from the end, cut ``0.5`` to 0 and take a mask's booleans for codes 0 and 1)."""
    given = np.asarray(codes)
    if given.ndim != 1:
        if given.ndim:
            raise ValueError(
                f"take_conversations: expected one-dimensional codes, found shape {given.shape}"
            )
        given = given.reshape(1)
    if given.dtype == np.bool_:
        if len(given) != n:
            raise ValueError(
                f"take_conversations: a boolean mask needs one value per conversation ({n}), "
                f"found {len(given)}"
            )
        return np.flatnonzero(given)
    if not len(given):
        return np.zeros(0, dtype=np.int64)
    integral = given.dtype.kind in "iu" or all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in given
    )
    if not integral:
        i, v = next((i, v) for i, v in enumerate(given.tolist()) if type(v) is not int)
        raise TypeError(
            f"take_conversations: codes[{i}] = {show(v)} ({type(v).__name__}) is not a "
            "conversation code: give integers (positions in conversations) or a boolean mask"
        )
    if given.dtype.kind in "iu":
        outside = np.flatnonzero((given < 0) | (given >= n))
    else:  # Python ints, some beyond int64
        outside = np.array([i for i, v in enumerate(given.tolist()) if not 0 <= v < n])
    if len(outside):
        raise IndexError(
            f"take_conversations: code {given[outside[0]]} (codes[{outside[0]}]) is out of "
            f"range: the table has {n} conversations, codes 0 to {n - 1} (a negative code is "
            "not counted from the end)"
        )
    return given.astype(np.int64)


def subset_conversations(table: MessageTable, codes: IntArray) -> MessageTable:
    """Keep the events of the conversations whose codes are given."""
    keep = np.zeros(table.n_conversations, dtype=bool)
    keep[codes] = True
    mask = spread(keep, table.segment_starts, len(table))
    cols = {name: arr[mask] for name, arr in table.columns(decoded=False).items()}
    return build_table(cols, table.source_row[mask], decimal_ids=table.decimal_ids)
