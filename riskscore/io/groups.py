"""Group conversations: the one rule that turns a room of several accounts into pair
conversations, shared by batch reading, the online scorer, Spark and the Synapse module.

Schema v1 carries a group event (a message to a room) as **one row per member it
reached**, all under the room's ``conversation_id``, with the same sender, timestamp,
channel and event, and optionally ``room_size``: how many accounts the room held when the
event was sent, the sender included (``docs/schema.md``, "Group conversations"). The rule:

1. **Membership at the time of each event** is what its rows say: the members an event
   reached are its recipients; ``room_size`` is the room's size at that moment.
2. **Broadcast.** A ``message`` or ``media`` event to a room of more than
   ``max_room_members`` accounts (default :data:`DEFAULT_MAX_ROOM_MEMBERS`) is a broadcast,
   not a conversation: its rows are set aside and counted
   (:attr:`GroupSummary.n_broadcast`), never turned into pair events.
3. **Pairs.** A ``conversation_id`` whose events involve more than two accounts is a group
   room: each of its events belongs to the pair conversation of its sender and recipient,
   whose id :func:`pair_conversation_id` derives from the room and the two accounts (one
   conversation per pair and room). A conversation of two accounts keeps its id. Nothing
   is cut: every pair of a room is scored, each as its own conversation.
4. **Group contact.** A ``message`` or ``media`` event with ``room_size`` of
   :data:`GROUP_MIN_ROOM_SIZE` (five) or more (:func:`is_group_contact`) is group contact
   between each pair it reached: it counts in the pair's events and timing and in
   ``group_contact_events``, never as a message one account sent the other (shares,
   unanswered runs, night, media, fan-out). A room of three or four is a private circle:
   its messages are contact between each pair, as in a one-to-one conversation.

Whether a conversation is a group is decided by the events seen so far, so the online
scorer (which renames a conversation's pair when a third account appears) and batch
reading of the same events agree after every event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore._checks import is_int
from riskscore.exceptions import SchemaError
from riskscore.io.given_ids import IntegerAndPairIds
from riskscore.io.ids import DecimalIds
from riskscore.io.messages import MessageTable, build_table
from riskscore.io.pair_ids import pair_conversation_id, room_of_pair_id
from riskscore.io.passes import outside_first_pair
from riskscore.io.problems import event_at
from riskscore.io.schema import PAIR_ID_SEPARATOR, EventType
from riskscore.io.segments import spread
from riskscore.io.summaries import GroupSummary

__all__ = [
    "DEFAULT_MAX_ROOM_MEMBERS",
    "GROUP_MIN_ROOM_SIZE",
    "PAIR_ID_SEPARATOR",
    "broadcast_mask",
    "broadcast_only_problem",
    "check_max_room_members",
    "clashing_pair_id",
    "fan_out",
    "group_contact_mask",
    "group_room_text",
    "integer_text_ids",
    "is_broadcast",
    "is_group_contact",
    "pair_conversation_id",
    "pair_id_clash_at",
    "pair_like",
    "room_of_pair_id",
    "split_groups",
    "split_pair_id_error",
    "split_room_ids",
    "text_conversation_ids",
    "text_ids_of_chunk",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Rooms of more accounts than this (the sender included) are broadcast surfaces.
DEFAULT_MAX_ROOM_MEMBERS: Final = 20
#: An event to a room of at least this many accounts (the sender included) is group
#: contact, in view of others: a team's, class's or club's channel. A room of three or four
#: is a private circle (an adult with two children), its messages contact between each pair.
GROUP_MIN_ROOM_SIZE: Final = 5

_MESSAGE: Final = int(EventType.MESSAGE)
_MEDIA: Final = int(EventType.MEDIA)


def check_max_room_members(value: object) -> int:
    """``max_room_members`` checked: an int of at least 2."""
    if not is_int(value) or value < 2:
        raise ValueError(
            f"max_room_members must be an int >= 2 (a room of two accounts is a pair), got "
            f"{value!r}"
        )
    return int(value)


def text_conversation_ids(ids: npt.NDArray[Any]) -> npt.NDArray[np.object_]:
    """Conversation ids as a table with group rooms holds them (a pair id is text, so
    every id is): integers as their decimal text, marked so
    (:class:`~riskscore.io.given_ids.IntegerAndPairIds`: the online scorer, the review
    queue and every result written as given hold them as those integers, the pair ids
    set among them as text); text ids as they are.

    Examples
    --------
    >>> ids = text_conversation_ids(np.array([7, 10]))
    >>> ids.tolist(), type(ids).__name__
    (['7', '10'], 'IntegerAndPairIds')
    >>> type(text_conversation_ids(np.array(["7"], dtype=object))).__name__
    'ndarray'
    """
    given = np.asanyarray(ids)
    text = np.asarray(given).astype(str).astype(object)
    if given.dtype.kind in "iu" or isinstance(given, (DecimalIds, IntegerAndPairIds)):
        return text.view(IntegerAndPairIds)
    return text


def integer_text_ids(table: MessageTable) -> MessageTable:
    """``table`` with its text conversation ids held as those of a table with group rooms
    whose ids are integers (:func:`text_conversation_ids`): the ids of a column marked as
    integers held as decimal text (:func:`riskscore.io.given_ids.mark_integer_text`, as
    :meth:`riskscore.MessageTable.to_arrow` writes them), or given as integers beside pair
    ids (JSON lines, pandas: :class:`~riskscore.io.pair_text.IntegerAndPairIds`), so that
    reading what was written gives ``6`` back as ``6`` beside the pair ids. Integer ids (a
    column that holds no text) are returned as they are.

    Examples
    --------
    >>> import riskscore as rs
    >>> msgs = rs.read_messages({"conversation_id": ["6"], "timestamp": [1_700_000_000],
    ...                          "sender_id": [1], "recipient_id": [2], "channel": ["direct"]})
    >>> type(integer_text_ids(msgs).conversations).__name__
    'IntegerAndPairIds'
    """
    if table.conversation_id.dtype != object:
        return table
    return replace(
        table,
        conversation_id=text_conversation_ids(table.conversation_id.view(IntegerAndPairIds)),
        conversations=text_conversation_ids(table.conversations.view(IntegerAndPairIds)),
    )


def text_ids_of_chunk(ids: npt.NDArray[Any], text_ids: bool) -> npt.NDArray[Any]:
    """A chunk's conversation ids as the whole table holds them in memory: with
    ``text_ids`` (the file has group rooms, or text ids), integer ids as their decimal text
    (:func:`text_conversation_ids`); ids already held as objects, and every id without
    ``text_ids``, unchanged (the same array)."""
    if not text_ids or ids.dtype == object:
        return ids
    return text_conversation_ids(ids)


def pair_like(text: pa.Array | pa.ChunkedArray) -> pa.BooleanArray | pa.ChunkedArray:
    """Which of the text conversation ids ``text`` hold :data:`PAIR_ID_SEPARATOR`: the
    pair ids of group rooms and the ids that look like them, the only ids that can be
    the same as a pair id (split across chunks or partitions, only these need comparing).

    Examples
    --------
    >>> pair_like(pa.array(["g|a|b", "c7", None])).to_pylist()
    [True, False, None]
    """
    return pc.match_substring(text, PAIR_ID_SEPARATOR)


def split_room_ids(
    kept_ids: pa.Array | pa.ChunkedArray, conversations: npt.NDArray[Any]
) -> list[str]:
    """The ids of the group rooms a read split that hold :data:`PAIR_ID_SEPARATOR`.

    ``kept_ids``: the conversation ids given on the rows the read kept (a broadcast's rows
    are set aside); ``conversations``: the conversation ids of the table it made (a room is
    split into pairs, so its own id is none of them). In memory a room's id is compared
    with every pair id (:func:`split_groups`); read in chunks, blocks or partitions, these
    ids are what the other parts' pair ids are compared with.

    Examples
    --------
    >>> split_room_ids(pa.array(["g|a|b", "g|a|b", "h", "c|d"]), np.array(["c|d", "h|x|y"]))
    ['g|a|b']
    """
    text = pc.unique(kept_ids.cast(pa.string()))
    rooms = pc.filter(text, pair_like(text))
    held = pa.array(np.asarray(conversations).astype(str), pa.string())
    return sorted(pc.filter(rooms, pc.invert(pc.is_in(rooms, value_set=held))).to_pylist())


def shared_pair_id_error(pair_id: str, where: str) -> SchemaError:
    """The error for two pairs of group rooms, of one room or of two, that derive the same
    pair id (ids that hold :data:`PAIR_ID_SEPARATOR`: accounts ``a|b`` and ``c`` against
    ``a`` and ``b|c`` in one room, or room ``g|a`` with accounts ``b`` and ``c`` against
    room ``g`` with ``a|b`` and ``c``): they would be merged into one conversation.
    ``where`` is how the caller names the place (``"row 7"``, ``"event 7"``, or ``""``).

    Examples
    --------
    >>> str(shared_pair_id_error("g|a|b|c", "event 2"))[:60]
    "column 'conversation_id', event 2: two pairs of group rooms "
    """
    at = f", {where}" if where else ""
    return SchemaError(
        f"column 'conversation_id'{at}: two pairs of group rooms (of one room or of two) "
        f"derive the same pair id {pair_id!r} (room and account ids joined by "
        f"{PAIR_ID_SEPARATOR!r}), which would merge them; give ids without "
        f"{PAIR_ID_SEPARATOR!r}",
        column="conversation_id",
        value=pair_id,
    )


def group_room_text(n_pairs: int) -> str:
    """Why the id of a group room names no live conversation of an online scorer, in the
    same words for :meth:`riskscore.OnlineScorer.score_of` and its kin and the service's
    ``GET /v1/conversations/{id}``: the room (the id its alerts carried while it held two
    accounts) is live, and its events go to the conversations of its pairs (rule 3), of
    which ``n_pairs`` are live.

    Examples
    --------
    >>> group_room_text(2)[:60]
    'is a group room: its events are scored as one conversation p'
    """
    return (
        "is a group room: its events are scored as one conversation per pair of its "
        f"accounts, with ids room|account|account ({n_pairs} live)"
    )


def is_group_contact(room_size: int, event: int) -> bool:
    """Whether an event is group contact: a ``message`` or ``media`` event (code) to a
    room of :data:`GROUP_MIN_ROOM_SIZE` or more accounts."""
    return room_size >= GROUP_MIN_ROOM_SIZE and (event == _MESSAGE or event == _MEDIA)  # noqa: SIM109


def is_broadcast(room_size: int, event: int, max_room_members: int) -> bool:
    """Whether an event is a broadcast: a ``message`` or ``media`` event (code) to a room
    of more than ``max_room_members`` accounts."""
    return room_size > max_room_members and (event == _MESSAGE or event == _MEDIA)  # noqa: SIM109


def group_contact_mask(
    room_size: npt.NDArray[np.integer], event: npt.NDArray[np.uint8]
) -> BoolArray:
    """:func:`is_group_contact` of every event."""
    return np.asarray(
        (room_size >= GROUP_MIN_ROOM_SIZE) & ((event == _MESSAGE) | (event == _MEDIA)), dtype=bool
    )


def broadcast_mask(
    room_size: npt.NDArray[np.integer], event: npt.NDArray[np.uint8], max_room_members: int
) -> BoolArray:
    """:func:`is_broadcast` of every event."""
    return np.asarray(
        (room_size > max_room_members) & ((event == _MESSAGE) | (event == _MEDIA)), dtype=bool
    )


def replay_room_limit(messages: MessageTable) -> int:
    """The ``max_room_members`` of an online scorer that replays a table's events: no
    event of ``messages`` is a broadcast (reading set those aside, by a limit the table
    does not keep), so the default limit, or the largest room an event of it reached
    when larger: a table read with ``max_room_members=50`` holds rooms of 30, which a
    scorer at the default would set aside as broadcasts, event by event, in silence.

    Examples
    --------
    >>> import riskscore as rs
    >>> replay_room_limit(rs.synthetic.generate(5, prevalence=0.2, seed=1).messages)
    20
    """
    largest = int(messages.room_size.max()) if len(messages) else 0  # unknown: 0
    return max(DEFAULT_MAX_ROOM_MEMBERS, largest)


def broadcast_only_problem(n_broadcast: int, max_room_members: int | None) -> str:
    """Why events of ``n_broadcast`` rows hold nothing to score: every row a broadcast, set
    aside (rule 2), in the same words for the CLI and the library; ``max_room_members``
    None when the limit the events were read with is not known (a ``MessageTable``).

    Examples
    --------
    >>> broadcast_only_problem(40, 20)
    'its 40 rows are all broadcasts (rooms of more than 20 accounts), set aside'
    >>> broadcast_only_problem(1, 20)
    'its one row is a broadcast (a room of more than 20 accounts), set aside'
    """
    limit = "max_room_members" if max_room_members is None else str(max_room_members)
    if n_broadcast == 1:
        return f"its one row is a broadcast (a room of more than {limit} accounts), set aside"
    return (
        f"its {n_broadcast} rows are all broadcasts (rooms of more than {limit} accounts), "
        "set aside"
    )


def fan_out(
    sender: str, members: Sequence[str], max_room_members: int
) -> tuple[tuple[str, ...], int] | None:
    """The recipients of a message from ``sender`` to a room whose members are ``members``,
    and the room size when the message was sent; None for a broadcast (more than
    ``max_room_members`` members).

    The sender was a member when it sent the message, and counts in the room's size
    whether ``members`` lists it or not: a room's membership read a moment later (the
    sender has just left) would otherwise make a two-person room's message one of a room
    of one, which no event can be.

    Examples
    --------
    >>> fan_out("@a:x", ["@a:x", "@b:x", "@c:x"], 20)
    (('@b:x', '@c:x'), 3)
    >>> fan_out("@a:x", ["@b:x"], 20)  # a has just left
    (('@b:x',), 2)
    >>> fan_out("@a:x", ["@a:x", "@b:x", "@c:x"], 2) is None
    True
    """
    recipients = tuple(m for m in members if m != sender)
    room_size = len(recipients) + 1
    if is_broadcast(room_size, _MESSAGE, max_room_members):
        return None
    return recipients, room_size


def split_groups(table: MessageTable, broadcast_rows: IntArray) -> MessageTable:
    """The table with each group room (a conversation of more than two accounts) split
    into pair conversations (rule 3 of the module docstring), and its :class:`GroupSummary`.

    ``broadcast_rows`` are the input rows already set aside as broadcasts. Without group
    rooms the table is returned as it is (one vectorized pass to find out). With them,
    every conversation id becomes text (a pair id is text) and the table is sorted again.

    Raises
    ------
    SchemaError
        A derived pair id equals the id of another conversation (a group room's too), or
        two pairs derive the same id (ids that hold :data:`PAIR_ID_SEPARATOR`).
    """
    rooms = _group_codes(table)
    if rooms.size == 0:
        summary = GroupSummary(n_broadcast=len(broadcast_rows), broadcast_rows=broadcast_rows)
        return replace(table, groups=summary)
    in_room = np.zeros(table.n_conversations, dtype=bool)
    in_room[rooms] = True
    rows = np.flatnonzero(spread(in_room, table.segment_starts, len(table)))
    n_acc = max(len(table.accounts), 1)
    sender, recipient = table.sender_code[rows], table.recipient_code[rows]
    pair = np.minimum(sender, recipient) * n_acc + np.maximum(sender, recipient)
    triples, inverse = np.unique(
        np.stack([table.conversation_code[rows], pair]), axis=1, return_inverse=True
    )
    derived = np.asarray(
        [
            pair_conversation_id(table.conversations[c], table.accounts[p // n_acc],
                                 table.accounts[p % n_acc])
            for c, p in zip(triples[0].tolist(), triples[1].tolist(), strict=True)
        ],
        dtype=object,
    )  # fmt: skip
    ids = text_conversation_ids(table.conversation_id)
    # against every conversation id given, rooms' too: the online scorer sees a room's
    # first two accounts as a conversation under the room's id, so a room named by
    # another room's pair id (``g|a|b`` beside room ``g``) is that pair id taken twice
    _check_distinct(derived, ids)
    ids[rows] = derived[inverse.reshape(-1)]
    cols = table.columns(decoded=False)
    cols["conversation_id"] = ids
    summary = GroupSummary(
        n_rooms=int(rooms.size),
        n_pairs=len(derived),
        n_without_room_size=int((table.room_size[rows] == 0).sum()),
        n_broadcast=len(broadcast_rows),
        broadcast_rows=broadcast_rows,
    )
    return build_table(
        cols, table.source_row, table.quarantined, summary, decimal_ids=table.decimal_ids
    )


def _group_codes(table: MessageTable) -> IntArray:
    """Codes of the conversations whose events involve more than two accounts (those
    of its first event and at least one other)."""
    if len(table) == 0:
        return np.empty(0, dtype=np.int64)
    return outside_first_pair(
        table.segment_starts.astype(np.int64, copy=False), table.sender_code, table.recipient_code
    )


def _check_distinct(derived: npt.NDArray[np.object_], others: npt.NDArray[np.object_]) -> None:
    if len(np.unique(derived)) != len(derived):
        values, counts = np.unique(derived, return_counts=True)
        raise shared_pair_id_error(str(values[counts > 1][0]), "")
    clash = np.intersect1d(derived.astype(str), others.astype(str))
    if clash.size:
        raise pair_id_clash_error(str(clash[0]))


def pair_id_clash_error(pair_id: str, where: str = "") -> SchemaError:
    """The error for a conversation whose id is the pair id derived for two accounts of
    a group conversation (out of core, the two can lie in different chunks). ``where`` is
    how the caller names the place (``"event 7"``, or ``""``).

    Examples
    --------
    >>> str(pair_id_clash_error("g|a|b"))[:52]
    "column 'conversation_id': 'g|a|b' is the id of a con"
    """
    at = f", {where}" if where else ""
    return SchemaError(
        f"column 'conversation_id'{at}: {pair_id!r} is the id of a conversation and also the "
        "pair id derived for two accounts of a group conversation (room and account ids "
        f"joined by {PAIR_ID_SEPARATOR!r}); rename that conversation",
        column="conversation_id",
        value=pair_id,
    )


def pair_id_clash_at(pair_id: object, row: int | None, other_room: object = None) -> SchemaError:
    """The error of :func:`riskscore.read_messages` for ``pair_id`` as the online scorer
    raises it: derived for two accounts of a group room and already the id of another
    conversation (event ``row`` is not applied): of a pair of ``other_room`` (two pairs
    of rooms derive it), or of a conversation given that id.

    Examples
    --------
    >>> pair_id_clash_at("g|a|b", 7).row
    7
    """
    where = event_at(row).removeprefix(", ")
    if other_room is None:
        error = pair_id_clash_error(str(pair_id), where)
    else:
        error = shared_pair_id_error(str(pair_id), where)
    error.row = row
    return error


def split_pair_id_error(pair_id: str, *, named: bool) -> SchemaError:
    """The error of :func:`split_groups` for ``pair_id``, an id that two parts of the
    input read apart (chunks, blocks) both give: :func:`pair_id_clash_error` when a
    conversation of the input is ``named`` so (a room's pair id is its id), else
    :func:`shared_pair_id_error` (pairs of two rooms derive it).

    Examples
    --------
    >>> str(split_pair_id_error("g|a|b|c", named=False))[:46]
    "column 'conversation_id': two pairs of group r"
    """
    return pair_id_clash_error(pair_id) if named else shared_pair_id_error(pair_id, "")


def clashing_pair_id(error: SchemaError) -> str | None:
    """The pair id of ``error`` when it is the error of :func:`split_groups` (two
    conversations under one id), else None: how a part read apart reports it to the
    place that compares the parts, which raises it as the whole input would.

    Examples
    --------
    >>> clashing_pair_id(pair_id_clash_error("g|a|b")), clashing_pair_id(SchemaError("x"))
    ('g|a|b', None)
    """
    value = error.value
    if not isinstance(value, str):
        return None
    text = str(error)
    if text in (str(pair_id_clash_error(value)), str(shared_pair_id_error(value, ""))):
        return value
    return None
