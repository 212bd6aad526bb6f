"""The rules that one event's rows give one room size, and that a room holds at least the
accounts one event reached, shared by batch reading (:func:`mixed_room_sizes`,
:func:`understated_rooms`) and the online scorer (:class:`RoomReach`).

A group event is given as one row per member it reached (``docs/schema.md``, "Group
conversations"), each with ``room_size``: the accounts in the room when it was sent, the
sender included. So one event's rows can name at most ``room_size - 1`` distinct
recipients. A ``room_size`` below that (a message fanned out to a hundred accounts, each
row claiming a room of three) contradicts its own rows, and would let a broadcast escape
the ``max_room_members`` rule and be scored as group contact between every pair. Such a
row is refused (column ``room_size``). The rows of one event are those, among the rows
that give a ``room_size``, with one ``conversation_id``, ``timestamp``, ``sender_id``,
``channel`` and ``event``; taken in input order, a row whose recipient is new to its
event while the event already reached ``room_size - 1`` distinct recipients is refused,
the rows before it kept. And one event was sent to one room, of one size: a row whose
``room_size`` is not that of the first row of its event is refused (column ``room_size``),
broadcasts included; rows that each claimed their own size would otherwise be read as
a broadcast set aside beside group or private contact of the same message. Online, where
events arrive in time order, the scorer holds the
events of the latest second (at most :data:`MAX_EVENTS_HELD`), so batch and online refuse
the same rows (a row arriving after a later second, or after that many other events of its
second, is checked with the rows of its event that arrive with it).
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.io.coding import factorize
from riskscore.io.ids import integer_id_problem, text_id_problem
from riskscore.io.problems import event_at

__all__ = [
    "EVENT_KEY",
    "MAX_EVENTS_HELD",
    "MIXED_ROOM_SIZES",
    "UNDERSTATED_ROOM",
    "RoomReach",
    "mixed_room_sizes",
    "understated_rooms",
]

AnyArray = npt.NDArray[Any]
BoolArray = npt.NDArray[np.bool_]

#: The columns whose values together name one event.
EVENT_KEY: Final = ("conversation_id", "timestamp", "sender_id", "channel", "event")

#: Events of one second the online scorer holds at most (a stream of events all dated
#: in one second would otherwise grow it without bound): the oldest is forgotten.
MAX_EVENTS_HELD: Final = 16_384

#: Why a row is refused, after its ``room_size``.
UNDERSTATED_ROOM: Final = (
    "is fewer accounts than this event reached: its rows (one conversation_id, timestamp, "
    "sender_id, channel and event) name more distinct recipients than room_size - 1 (the "
    "sender counts in the room); give the room's size when the event was sent"
)

#: Why a row is refused, after its ``room_size``.
MIXED_ROOM_SIZES: Final = (
    "is not the room_size of the first row of its event: the rows of one event (one "
    "conversation_id, timestamp, sender_id, channel and event) are one message to one room; "
    "give each of them the room's size when the event was sent"
)


class RoomReach:
    """The recipients each event of the latest second reached (online).

    Examples
    --------
    >>> reach = RoomReach()
    >>> for kid in ("k1", "k2", "k1"):  # rows taken
    ...     reach.record(("g", 1, "a", 2, 0), kid, 3)
    >>> reach.refuses(("g", 1, "a", 2, 0), "k3", 3)  # a third recipient in a room of three
    True
    >>> reach.refuses(("g", 1, "b", 2, 0), "k3", 3)  # another sender's event
    False
    >>> reach.refuses(("g", 1, "a", 2, 0), "k1", 5)  # another size for the first event
    'mixed'
    """

    __slots__ = ("events", "second")

    def __init__(self) -> None:
        self.second = -1
        #: per event of the latest second: its room size and the recipients it reached
        self.events: dict[tuple[object, ...], tuple[int, set[object]]] = {}

    def refuses(
        self, key: tuple[object, ...], recipient: object, room_size: int, broadcast: bool = False
    ) -> str | bool:
        """Whether a row of event ``key`` (:data:`EVENT_KEY`: its timestamp second) to
        ``recipient`` in a room of ``room_size`` accounts is refused: ``"mixed"`` when an
        earlier row of its event gave another room size, True when its room is smaller
        than the event reached, else False. Nothing is recorded: a row taken is, by
        :meth:`record` (a row refused for another reason reached no one)."""
        if key[1] != self.second:  # a new second holds nothing yet; a late row is checked
            return False  # with the rows of its event that come with it
        held = self.events.get(key)
        if held is None:
            return False
        size, reached = held
        if room_size != size:
            return "mixed"
        if broadcast or recipient in reached:
            return False
        return len(reached) + 1 >= room_size  # the sender and the recipients so far fill it

    def record(
        self, key: tuple[object, ...], recipient: object, room_size: int, broadcast: bool = False
    ) -> None:
        """Record a row of event ``key`` that was taken (the recipients of a ``broadcast``,
        which is set aside, are not: only its size)."""
        second = key[1]
        if second != self.second:
            if not isinstance(second, int) or second < self.second:
                return  # a late row
            self.second, self.events = second, {}
        events = self.events
        held = events.get(key)
        if held is None:
            held = events[key] = (room_size, set())
            if len(events) > MAX_EVENTS_HELD:  # the oldest event's rows came long ago
                del events[next(iter(events))]
        if not broadcast:
            held[1].add(recipient)

    def check(
        self,
        key: tuple[object, ...],
        recipient: object,
        room_size: int,
        row: int | None,
        broadcast: bool = False,
    ) -> None:
        """Raise the SchemaError of event ``row`` when :meth:`refuses` it."""
        refused = self.refuses(key, recipient, room_size, broadcast)
        if refused:
            reason = MIXED_ROOM_SIZES if refused == "mixed" else UNDERSTATED_ROOM
            raise SchemaError(
                f"column 'room_size'{event_at(row)}: {room_size} {reason}",
                column="room_size",
                row=row,
                value=room_size,
            )

    def to_json(self) -> dict[str, Any]:
        """The events held, for a checkpoint: a scorer resumed without them took rows an
        uninterrupted one refuses (a broadcast's row to a child claiming a room of three)."""
        return {
            "second": self.second,
            "events": [[list(key), size, list(got)] for key, (size, got) in self.events.items()],
        }

    @classmethod
    def from_json(cls, data: object) -> RoomReach:
        """The reach a checkpoint holds (None: one written before it was kept, none).

        Raises
        ------
        ValueError
            What is not what :meth:`to_json` writes.
        """
        reach = cls()
        if data is None:
            return reach
        if not isinstance(data, dict) or set(data) != {"second", "events"}:
            raise ValueError("expected an object of 'second' and 'events'")
        second, events = data["second"], data["events"]
        if type(second) is not int or not isinstance(events, list):
            raise ValueError("expected an integer 'second' and a list of 'events'")
        if len(events) > MAX_EVENTS_HELD:
            raise ValueError(f"more than {MAX_EVENTS_HELD} events")
        reach.second = second
        for entry in events:
            if not (isinstance(entry, list) and len(entry) == 3):
                raise ValueError(f"event {entry!r:.80} is not [key, room_size, recipients]")
            key, size, reached = entry
            if not (isinstance(key, list) and len(key) == len(EVENT_KEY) and key[1] == second):
                raise ValueError(f"event key {key!r:.80} is not one of second {second}")
            if type(size) is not int or size < 2 or not isinstance(reached, list):
                raise ValueError(f"event {entry!r:.80}: room_size or recipients malformed")
            if len(reached) >= size or not all(_is_id(r) for r in reached):
                raise ValueError(f"event {entry!r:.80}: recipients malformed")
            reach.events[tuple(key)] = (size, set(reached))
        return reach


def _is_id(value: object) -> bool:
    """Whether ``value`` is an id as a checkpoint holds one, by the rule of the events' id
    columns (:func:`~riskscore.io.ids.integer_id_problem`,
    :func:`~riskscore.io.ids.text_id_problem`)."""
    if type(value) is int:
        return integer_id_problem(value) is None
    return type(value) is str and text_id_problem(value) is None


def understated_rooms(cols: dict[str, AnyArray], considered: BoolArray) -> BoolArray:
    """Rows of ``cols`` (validated columns) refused by the rule of the module docstring,
    among the ``considered`` rows (those otherwise taken) that give a ``room_size``.

    Examples
    --------
    >>> cols = {"conversation_id": np.array(["g"] * 4, dtype=object),
    ...         "timestamp": np.full(4, 1_700_000_000, dtype=np.int64),
    ...         "sender_id": np.array(["a"] * 4, dtype=object),
    ...         "recipient_id": np.array(["k1", "k2", "k1", "k3"], dtype=object),
    ...         "channel": np.full(4, 2, dtype=np.uint8), "event": np.zeros(4, dtype=np.uint8),
    ...         "room_size": np.full(4, 3, dtype=np.int32)}
    >>> understated_rooms(cols, np.ones(4, dtype=bool)).tolist()
    [False, False, False, True]
    """
    out = np.zeros(len(considered), dtype=bool)
    events = _sized_events(cols, considered)
    if events is None:
        return out
    rows, order, starts, n_rows, recipient, sizes = events
    room = cols["room_size"]
    # an event of fewer rows than its smallest room names no more recipients than it
    # holds: only the others are walked, by the online rule itself
    suspect = np.flatnonzero(n_rows >= np.minimum.reduceat(sizes, starts))
    reach = RoomReach()
    for event in suspect.tolist():
        for i in order[starts[event] : starts[event] + n_rows[event]].tolist():
            row = int(rows[i])
            key, size = (event, 0), int(room[row])
            refused = reach.refuses(key, int(recipient[row]), size)
            out[row] = refused is True  # a mixed size: mixed_room_sizes refuses it
            if refused is False:
                reach.record(key, int(recipient[row]), size)
    return out


def mixed_room_sizes(cols: dict[str, AnyArray], considered: BoolArray) -> BoolArray:
    """Rows of ``cols`` (validated columns) whose ``room_size`` is not that of the first
    row of their event (:data:`EVENT_KEY`, input order), among the ``considered`` rows
    that give a ``room_size`` (broadcasts too).

    Examples
    --------
    >>> cols = {"conversation_id": np.array(["g"] * 4, dtype=object),
    ...         "timestamp": np.array([1_700_000_000] * 3 + [1_700_000_001]),
    ...         "sender_id": np.array(["a"] * 4, dtype=object),
    ...         "recipient_id": np.array(["k1", "k2", "k3", "k1"], dtype=object),
    ...         "channel": np.full(4, 2, dtype=np.uint8), "event": np.zeros(4, dtype=np.uint8),
    ...         "room_size": np.array([30, 30, 3, 3], dtype=np.int32)}
    >>> mixed_room_sizes(cols, np.ones(4, dtype=bool)).tolist()
    [False, False, True, False]
    """
    out = np.zeros(len(considered), dtype=bool)
    events = _sized_events(cols, considered)
    if events is None:
        return out
    rows, order, starts, n_rows, _, sizes = events
    out[rows[order]] = sizes != np.repeat(sizes[starts], n_rows)
    return out


class _SizedEvents(NamedTuple):
    """The rows that give a ``room_size`` grouped by event (:func:`_sized_events`)."""

    rows: npt.NDArray[np.intp]  # the rows, ascending
    order: npt.NDArray[np.intp]  # positions in ``rows`` putting each event's rows together
    starts: npt.NDArray[np.intp]  # where each event starts in ``order``
    n_rows: npt.NDArray[np.intp]  # each event's number of rows
    recipient: AnyArray  # the recipients' codes, one per row of the columns
    sizes: AnyArray  # the room sizes of ``rows`` in ``order``


def _sized_events(cols: dict[str, AnyArray], considered: BoolArray) -> _SizedEvents | None:
    """The ``considered`` rows of ``cols`` that give a ``room_size``, by event (each
    event's rows in input order); None when no such row."""
    room = cols["room_size"]
    rows = np.flatnonzero(considered & (room > 0))
    if rows.size == 0:
        return None
    # one code per event key (conversation, time, sender, channel, event), by a stable
    # sort of integer codes: an event's rows stay in input order
    _, (conversation,) = factorize(cols["conversation_id"])
    _, (sender, recipient) = factorize(cols["sender_id"], cols["recipient_id"])
    # two keys of 64 bits: (conversation, sender) codes, below 2**31 each (a table holds
    # fewer rows), and (time, channel, event), a time below 2**57 (the schema ends in
    # 2200) beside two 3-bit codes
    who = (conversation[rows] << 31) | sender[rows]
    when = cols["timestamp"][rows].astype(np.int64) << 6
    when |= (cols["channel"][rows].astype(np.int64) << 3) | cols["event"][rows]
    order = np.lexsort((when, who))
    new = np.zeros(rows.size, dtype=bool)
    new[0] = True
    for key in (who, when):
        ordered = key[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(new)
    n_rows = np.diff(np.append(starts, rows.size))
    return _SizedEvents(rows, order, starts, n_rows, recipient, room[rows][order])
