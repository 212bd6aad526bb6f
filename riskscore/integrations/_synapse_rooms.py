"""The room of each live conversation's latest event (private, no Synapse import): where
an alert belongs in Matrix, which is not always the room of the event that raised it
(:class:`ConversationRooms`, saved in the scorer's checkpoint)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, cast

from riskscore._checks import is_int
from riskscore.integrations._synapse_store import is_room_id
from riskscore.io.raw import show
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.online.checkpoint_values import time_of
from riskscore.policy import Alert

__all__ = ["ConversationRooms"]


class ConversationRooms:
    """The room and channel of each live conversation's latest event.

    An event can raise alerts on conversations other than its own
    (:meth:`riskscore.OnlineScorer.update_one_all`: a new child contacted by an adult
    re-scores the adult's other conversations), and each such alert belongs in the
    room of *its* conversation, where a moderator would look. With
    ``conversation_scope: pair`` a conversation spans rooms: its room is that of its
    latest event.

    Entries follow the scorer's idle expiry in event time, so the map holds about the
    conversations the scorer holds; it is saved in the scorer's checkpoint
    (:meth:`to_json`, :meth:`from_json`).

    Parameters
    ----------
    idle_expiry_s : float
        Entries with no event for this long (in event time) are forgotten.

    Examples
    --------
    >>> rooms = ConversationRooms(idle_expiry_s=3600)
    >>> rooms.note("mx-1", "!dm:x", "direct", 1_700_000_000)
    >>> rooms.note("mx-1", "!e2e:x", "encrypted", 1_700_000_060)
    >>> rooms.get("mx-1")
    ('!e2e:x', 'encrypted')
    >>> rooms.note("mx-2", "!other:x", "group", 1_700_009_000)  # mx-1 is now idle
    >>> rooms.get("mx-1") is None
    True
    """

    def __init__(self, idle_expiry_s: float) -> None:
        if not idle_expiry_s > 0:
            raise ValueError(f"idle_expiry_s must be positive, got {idle_expiry_s}")
        self.idle_expiry_s = float(idle_expiry_s)
        # conversation id -> (room id, channel, latest event time), least recent first
        self._rooms: OrderedDict[str, tuple[str, str, int]] = OrderedDict()
        self._clock = -math.inf

    def __len__(self) -> int:
        return len(self._rooms)

    def note(self, conversation_id: str, room_id: str, channel: str, timestamp: int) -> None:
        """Record an event of ``conversation_id`` in ``room_id`` (once the scorer took it)."""
        rooms = self._rooms
        old = rooms.get(conversation_id)
        latest = timestamp if old is None or timestamp > old[2] else old[2]
        rooms[conversation_id] = (room_id, channel, latest)
        rooms.move_to_end(conversation_id)
        if timestamp > self._clock:
            self._clock = timestamp
            horizon = timestamp - self.idle_expiry_s
            while rooms:
                first = next(iter(rooms))
                if rooms[first][2] >= horizon:
                    break
                del rooms[first]

    def get(self, conversation_id: str) -> tuple[str, str] | None:
        """``(room_id, channel)`` of the conversation's latest event; None if unknown."""
        hit = self._rooms.get(conversation_id)
        return None if hit is None else (hit[0], hit[1])

    def context(self, alert: Alert, event_id: str, event_room_id: str) -> dict[str, Any]:
        """Where ``alert`` belongs in Matrix (its record's ``matrix``): the room and channel
        of its conversation's latest event, and the event that raised it (in another room
        when the adult's activity elsewhere re-scored this conversation)."""
        room = self.get(cast("str", alert.conversation_id))
        return {
            "room_id": None if room is None else room[0],
            "channel": None if room is None else room[1],
            "max_channel": alert.max_channel,
            "event_id": event_id,
            "event_room_id": event_room_id,
        }

    def to_json(self) -> list[list[object]]:
        """The map as JSON-ready rows ``[conversation_id, room_id, channel, timestamp]``."""
        return [[cid, room, channel, ts] for cid, (room, channel, ts) in self._rooms.items()]

    @classmethod
    def from_json(cls, rows: Iterable[object], idle_expiry_s: float) -> ConversationRooms:
        """A map from :meth:`to_json` rows.

        Raises
        ------
        ValueError
            A row is not ``[conversation_id, room_id, channel, timestamp]`` of a Matrix
            room id, a channel name and epoch seconds in the events' range, or names a
            conversation an earlier row named (:meth:`to_json` writes each once).
        """
        rooms = cls(idle_expiry_s)
        for i, row in enumerate(rows):
            if not (
                isinstance(row, list)
                and len(row) == 4
                and all(isinstance(v, str) for v in row[:3])
                and is_int(row[3])  # not a bool: JSON's true is no time
            ):
                raise ValueError(
                    f"conversation room {i}: expected [conversation_id, room_id, channel, "
                    f"timestamp], found {row!r}"
                )
            conversation, room, channel, timestamp = row
            problem = None
            if not is_room_id(room):  # shown to moderators as where the conversation is
                problem = f"room id {show(room)} is not a Matrix room id ('!abc:example.org')"
            elif channel not in CHANNEL_NAMES:
                problem = f"channel {show(channel)} is not one of {', '.join(CHANNEL_NAMES)}"
            elif conversation in rooms._rooms:  # the later row would win in silence
                problem = f"conversation {show(conversation)} is listed twice"
            else:
                try:  # a time of year 30000 held every entry past any expiry
                    time_of(timestamp, "timestamp")
                except ValueError as exc:
                    problem = str(exc)
            if problem is not None:
                raise ValueError(f"conversation room {i}: {problem}")
            rooms.note(conversation, room, channel, int(timestamp))
        return rooms
