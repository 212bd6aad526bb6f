"""The rule that a room holds at least the accounts one event reached, shared by batch
reading (:func:`understated_rooms`) and the online scorer (:class:`RoomReach`).

A group event is given as one row per member it reached (``docs/schema.md``, "Group
conversations"), each with ``room_size``: the accounts in the room when it was sent, the
sender included. So one event's rows can name at most ``room_size - 1`` distinct
recipients. A ``room_size`` below that (a message fanned out to a hundred accounts, each
row claiming a room of three) contradicts its own rows, and would let a broadcast escape
the ``max_room_members`` rule and be scored as group contact between every pair. Such a
row is refused (column ``room_size``): the rows of one event are the consecutive rows,
among those that give a ``room_size``, with one ``conversation_id``, ``timestamp``,
``sender_id``, ``channel`` and ``event``, as a platform writes them; a row whose
recipient is new to its event while the event already reached ``room_size - 1`` distinct
recipients is refused, the rows before it kept. Online, events arrive in that order, so
batch and online refuse the same rows.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.io.problems import event_at

__all__ = ["UNDERSTATED_ROOM", "RoomReach", "understated_rooms"]

AnyArray = npt.NDArray[Any]
BoolArray = npt.NDArray[np.bool_]

#: Why a row is refused, after its ``room_size``.
UNDERSTATED_ROOM: Final = (
    "is fewer accounts than this event reached: its rows (one conversation_id, timestamp, "
    "sender_id, channel and event) name more distinct recipients than room_size - 1 (the "
    "sender counts in the room); give the room's size when the event was sent"
)


class RoomReach:
    """The recipients the current event reached, one event at a time (online).

    Examples
    --------
    >>> reach = RoomReach()
    >>> [reach.refuses(("g", 1, "a", 2, 0), kid, 3) for kid in ("k1", "k2", "k1", "k3")]
    [False, False, False, True]
    >>> reach.refuses(("g", 2, "a", 2, 0), "k3", 3)  # the next event
    False
    """

    __slots__ = ("key", "reached")

    def __init__(self) -> None:
        self.key: tuple[object, ...] | None = None
        self.reached: set[object] = set()

    def refuses(self, key: tuple[object, ...], recipient: object, room_size: int) -> bool:
        """Whether a row of event ``key`` (conversation, timestamp, sender, channel, event)
        to ``recipient`` in a room of ``room_size`` accounts is refused; a row taken is
        recorded."""
        if key != self.key:
            self.key, self.reached = key, set()
        reached = self.reached
        if recipient in reached:
            return False
        if len(reached) + 1 >= room_size:  # the sender and the recipients so far fill it
            return True
        reached.add(recipient)
        return False

    def check(
        self, key: tuple[object, ...], recipient: object, room_size: int, row: int | None
    ) -> None:
        """Raise the SchemaError of event ``row`` when :meth:`refuses` it."""
        if self.refuses(key, recipient, room_size):
            raise SchemaError(
                f"column 'room_size'{event_at(row)}: {room_size} {UNDERSTATED_ROOM}",
                column="room_size",
                row=row,
                value=room_size,
            )


def understated_rooms(cols: dict[str, AnyArray], considered: BoolArray) -> BoolArray:
    """Rows of ``cols`` (validated columns) refused by the rule of the module docstring,
    among the ``considered`` rows (those otherwise taken) that give a ``room_size``.

    Examples
    --------
    >>> cols = {"conversation_id": np.array(["g"] * 4, dtype=object),
    ...         "timestamp": np.zeros(4, dtype=np.int64),
    ...         "sender_id": np.array(["a"] * 4, dtype=object),
    ...         "recipient_id": np.array(["k1", "k2", "k1", "k3"], dtype=object),
    ...         "channel": np.full(4, 2, dtype=np.uint8), "event": np.zeros(4, dtype=np.uint8),
    ...         "room_size": np.full(4, 3, dtype=np.int32)}
    >>> understated_rooms(cols, np.ones(4, dtype=bool)).tolist()
    [False, False, False, True]
    """
    out = np.zeros(len(considered), dtype=bool)
    room = cols["room_size"]
    rows = np.flatnonzero(considered & (room > 0))
    if rows.size == 0:
        return out
    keys = ("conversation_id", "timestamp", "sender_id", "channel", "event")
    new = np.zeros(rows.size, dtype=bool)
    new[0] = True
    for name in keys:
        values = cols[name][rows]
        new[1:] |= np.asarray(values[1:] != values[:-1], dtype=bool)
    run = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    # distinct recipients of each run against its smallest room: only runs that may break
    # the rule are walked one row at a time, by the online rule itself
    _, recipient = np.unique(cols["recipient_id"][rows], return_inverse=True)
    distinct = np.bincount(np.unique(np.stack([run, recipient.reshape(-1)]), axis=1)[0])
    smallest = np.minimum.reduceat(room[rows], starts)
    for r in np.flatnonzero(distinct >= smallest).tolist():
        stop = starts[r + 1] if r + 1 < starts.size else rows.size
        reach = RoomReach()
        for i in range(starts[r], stop):
            row = rows[i]
            key = tuple(cols[name][row] for name in keys)
            out[row] = reach.refuses(key, cols["recipient_id"][row], int(room[row]))
    return out
