"""From Matrix room events to schema v1 events (private, no Synapse import).

What is read from a Matrix event: its type, room id, sender, state key and
``origin_server_ts``, plus exactly three state fields needed to map rooms to
channels (:data:`STATE_FIELDS_READ`): ``join_rule`` of ``m.room.join_rules``,
``membership`` of ``m.room.member`` and ``is_direct`` of an invite, and the
``rel_type`` of a message's ``m.relates_to`` (cleartext by the Matrix spec, also in
``m.room.encrypted``), which tells an edit or a reaction from a new message
(:data:`NOT_MESSAGES`). Message content, including the ciphertext of
``m.room.encrypted``, is never read: every content access goes through
:func:`_state_field`, which refuses other fields. What the module keeps of an event
until it is scored is an :class:`EventMeta`, which has no content.

A Matrix room can hold many accounts; a riskscore conversation is between two. The
module follows riskscore's one rule for group rooms (:mod:`riskscore.io.groups`): a
message from S in a room with joined members M becomes one event per R in M - {S}
(:func:`~riskscore.io.groups.fan_out`), each with ``room_size = len(M)`` (an invite and
its join: joined or invited members), so that a message to a room of five or more is
group contact, in a room of three or four contact with each member; rooms of more than
``max_fanout_members`` members are broadcast surfaces and produce no pair events.
Conversation ids are :func:`~riskscore.io.groups.pair_conversation_id` of the pair (and
of the room with ``conversation_scope: room``).

An alert belongs in the room of its own conversation, which is not always the room of
the event that raised it (:class:`ConversationRooms`, in
:mod:`~riskscore.integrations._synapse_rooms`). Durable room facts are kept by
:class:`RoomStore` (:mod:`~riskscore.integrations._synapse_store`); both are re-exported
here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple, Protocol

from riskscore.integrations._synapse_ages import AgeSource, Profile, user_clock
from riskscore.integrations._synapse_log import EventWarnings
from riskscore.integrations._synapse_rooms import ConversationRooms
from riskscore.integrations._synapse_store import RoomStore, is_room_id
from riskscore.io.groups import fan_out, pair_conversation_id
from riskscore.io.schema import MAX_ROOM_SIZE

__all__ = [
    "MAX_DIRECT_ROOMS_PER_UPDATE",
    "STATE_FIELDS_READ",
    "ConversationRooms",
    "EventMeta",
    "EventTranslator",
    "RoomEvent",
    "RoomStore",
    "RoomView",
    "conversation_id",
]

#: The only content fields the module reads, and from which state event types.
STATE_FIELDS_READ: Final = {
    "m.room.join_rules": "join_rule",
    "m.room.member": "membership",  # and "is_direct" on an invite, see _state_field
}

MESSAGE_TYPES: Final = {
    "m.room.message": "message",
    "m.room.encrypted": "message",  # opaque: only its type is read
    "m.sticker": "media",
}

#: Relation types (``m.relates_to.rel_type``) of events that are not a new message: an
#: edit re-renders a message already counted (``m.replace``); a reaction (``m.annotation``)
#: and a reference (``m.reference``: poll answers, in-room key verification) are counted
#: as nothing in cleartext (``m.reaction``, ``m.key.verification.*``), so not when an
#: encrypted room sends them as ``m.room.encrypted`` either. Replies and thread messages
#: (``m.in_reply_to``, ``m.thread``) are messages.
NOT_MESSAGES: Final = frozenset({"m.replace", "m.annotation", "m.reference"})

# What _state_field lets through: the fields above, is_direct of a member event, and the
# cleartext relation of a message (of which only rel_type is kept).
_ALLOWED: Final = frozenset(
    {
        *STATE_FIELDS_READ.items(),
        ("m.room.member", "is_direct"),
        *((kind, "m.relates_to") for kind in MESSAGE_TYPES),
    }
)

#: Log lines about events go to the module's logger, which operators configure.
logger = logging.getLogger("riskscore.integrations.synapse")
#: Kind of warning (:class:`EventWarnings`) of a remote event scored at its receipt.
CLAMPED: Final = "remote events dated far from their receipt"


class RoomEvent(Protocol):
    """The attributes of a Synapse ``EventBase`` the module uses."""

    @property
    def event_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def room_id(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def origin_server_ts(self) -> int: ...
    @property
    def content(self) -> Mapping[str, Any]: ...
    def get_state_key(self) -> str | None: ...


StateMap = Mapping[tuple[str, str], RoomEvent]


def _state_field(event: RoomEvent, key: str) -> object:
    """Read one of the allowed state fields; anything else is refused."""
    if (event.type, key) not in _ALLOWED:
        raise PermissionError(f"riskscore reads no {key!r} of {event.type!r} events")
    return event.content.get(key)


class EventMeta(NamedTuple):
    """What the module keeps of a room event until it is scored: metadata, never content
    (a queue of Synapse's events held every queued message's body). A named tuple, not a
    frozen dataclass: it is built on Synapse's delivery path, and costs a fifth as much."""

    event_id: str
    type: str
    room_id: str
    sender: str
    state_key: str | None
    #: Event time in epoch seconds (``origin_server_ts``, or the receipt time for a remote
    #: event dated far from it: :meth:`EventTranslator.read`).
    timestamp: int
    #: When this server received it (epoch seconds, this server's clock).
    received: float
    membership: object = None  # of an m.room.member event
    is_direct: bool = False  # of an invite
    relation: object = None  # rel_type of a message's m.relates_to


def _relation(event: RoomEvent) -> object:
    """``rel_type`` of a message's cleartext ``m.relates_to`` (nothing else of it)."""
    relates_to = _state_field(event, "m.relates_to")
    return relates_to.get("rel_type") if isinstance(relates_to, Mapping) else None


def conversation_id(a: str, b: str, room_id: str | None = None) -> str:
    """Stable id of the conversation between two accounts (optionally per room): riskscore's
    one pair id (:func:`riskscore.io.groups.pair_conversation_id`).

    Examples
    --------
    >>> conversation_id("@a:x", "@b:x") == conversation_id("@b:x", "@a:x")
    True
    >>> conversation_id("@a:x", "@b:x", "!r:x")
    '!r:x|@a:x|@b:x'
    """
    return pair_conversation_id(room_id, a, b)


#: At most this many rooms of one ``m.direct`` update are remembered (the rest counted):
#: a local user writes that account data, and Synapse awaits the callback that reads it.
MAX_DIRECT_ROOMS_PER_UPDATE: Final = 1_000


@dataclass(frozen=True, slots=True)
class RoomView:
    """What the module keeps of a room's state at one event (never the state map itself,
    which Synapse builds anew for every event: a queue of them grew with room size)."""

    join_rule: str
    #: Joined members, sorted; empty when more than ``n_joined`` fits the fan-out bound.
    joined: tuple[str, ...]
    n_joined: int
    n_members: int  # joined or invited
    encrypted: bool

    @property
    def broadcast(self) -> bool:
        """More joined members than the bound the view was taken with (no pair events)."""
        return len(self.joined) != self.n_joined


def _view(state: StateMap, max_joined: int) -> RoomView:
    join_rule = "invite"
    rules = state.get(("m.room.join_rules", ""))
    if rules is not None:
        join_rule = str(_state_field(rules, "join_rule") or "invite")
    joined = []
    n_members = 0
    for (kind, user), ev in state.items():
        if kind != "m.room.member":
            continue
        membership = _state_field(ev, "membership")
        if membership == "join":
            joined.append(user)
            n_members += 1
        elif membership == "invite":
            n_members += 1
    encrypted = ("m.room.encryption", "") in state
    kept = tuple(sorted(joined)) if len(joined) <= max_joined else ()
    return RoomView(join_rule, kept, len(joined), n_members, encrypted)


class EventTranslator:
    """Turn Matrix room events into schema v1 event mappings for :class:`OnlineScorer`.

    Parameters
    ----------
    store : RoomStore
        Durable room facts.
    ages : AgeSource
        Declared ages and UTC offsets.
    scope : {"pair", "room"}
        ``pair``: one conversation per pair of accounts across rooms, so a move
        from a public room to a direct then an encrypted one is seen as one
        conversation climbing channels; ``room``: one per pair and room.
    max_fanout_members : int
        Rooms with more joined members produce no pair events (broadcasts).
    default_tz_offset_min, default_time_zone : int or str, optional
        UTC offset, or IANA time zone, of recipients whose clock the age source does not
        know (at most one); None (default): unknown, counted in no night-time feature.
    ignored_rooms, ignored_users : set of str
        Rooms and senders never scored (the module's own moderation room and user).
    profile_ttl_s : float
        How long a user's declared age and offset are cached.
    server_name : str, optional
        This homeserver's name: the ``origin_server_ts`` of other servers' senders is
        checked against the receipt time. None (default): every sender is local.
    time_tolerance_s : float
        A remote event dated more than this far from its receipt is scored at its receipt
        (counted in ``n_clamped_timestamps``); the module passes ``reorder_tolerance_s``.
    clock : callable
        This server's clock, in epoch seconds (``time.time``).
    warnings : EventWarnings, optional
        Where warnings about single events go, rate-limited (default: the module logger's).
    """

    def __init__(
        self,
        store: RoomStore,
        ages: AgeSource,
        *,
        scope: Literal["pair", "room"] = "pair",
        max_fanout_members: int = 20,
        default_tz_offset_min: int | None = None,
        default_time_zone: str | None = None,
        ignored_rooms: set[str] | None = None,
        ignored_users: set[str] | None = None,
        profile_ttl_s: float = 60.0,
        server_name: str | None = None,
        time_tolerance_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        warnings: EventWarnings | None = None,
    ) -> None:
        self.warnings = EventWarnings(logger) if warnings is None else warnings
        self.store = store
        self.ages = ages
        self.scope = scope
        self.max_fanout_members = max_fanout_members
        self.default_clock = user_clock(default_tz_offset_min, default_time_zone)
        self.ignored_rooms = ignored_rooms if ignored_rooms is not None else set()
        self.ignored_users = ignored_users if ignored_users is not None else set()
        self.profile_ttl_s = profile_ttl_s
        self.server_name = server_name
        self.time_tolerance_s = time_tolerance_s
        self.clock = clock
        self._views: dict[str, RoomView] = {}
        self._profiles: dict[str, tuple[float, Profile]] = {}
        self.n_skipped_large_rooms = 0
        self.n_direct_rooms_ignored = 0
        self.n_clamped_timestamps = 0

    def read(self, event: RoomEvent) -> EventMeta:
        """What the module keeps of ``event`` (no content), received now.

        A remote server sets the ``origin_server_ts`` of its users' events, and can date
        them hours ahead or back: a message dated ahead made this server's later events of
        the conversation look late, refused by the scorer until that time came. An event
        whose sender is on another server and whose time (as an integer of milliseconds)
        is more than ``time_tolerance_s`` from its receipt is scored at its receipt time,
        counted and logged with its id and value. This server's own events keep their
        time.
        """
        received = self.clock()
        sender = event.sender
        ts = event.origin_server_ts
        remote = self.server_name is not None and sender.partition(":")[2] != self.server_name
        # A remote time is checked as sent: an int of milliseconds (never a bool or a float).
        if remote and not (type(ts) is int and abs(ts / 1000 - received) <= self.time_tolerance_s):
            self.n_clamped_timestamps += 1
            self.warnings.warn(
                CLAMPED,
                logging.WARNING,
                "riskscore: event %s from %s has origin_server_ts %s, more than %g s from its "
                "receipt at %d ms; scored at its receipt",
                event.event_id,
                sender.partition(":")[2],
                ts if type(ts) is int and abs(ts) < 2**63 else f"<{type(ts).__name__}>",
                self.time_tolerance_s,
                int(received * 1000),
            )
            ts = int(received * 1000)
        kind = event.type
        membership, is_direct, relation = None, False, None
        if kind == "m.room.member":
            membership = _state_field(event, "membership")
            is_direct = membership == "invite" and _state_field(event, "is_direct") is True
        elif kind in MESSAGE_TYPES:
            relation = _relation(event)
        return EventMeta(
            event.event_id,
            kind,
            event.room_id,
            sender,
            event.get_state_key(),
            int(ts) // 1000,
            received,
            membership,
            is_direct,
            relation,
        )

    def profile(self, user_id: str) -> Profile:
        """Declared age and offset of a user, cached for ``profile_ttl_s`` seconds."""
        now = time.monotonic()
        hit = self._profiles.get(user_id)
        if hit is not None and now - hit[0] < self.profile_ttl_s:
            return hit[1]
        found = self.ages.get_or_unknown(user_id, self.warnings)  # never raises
        if len(self._profiles) > 100_000:
            self._profiles.clear()
        self._profiles[user_id] = (now, found)
        return found

    def mark_direct_rooms(self, room_ids: object, *, user_id: str) -> None:
        """Apply ``user_id``'s ``m.direct`` account data: ``{user_id: [room_id, ...]}``.

        It replaces the user's earlier listing (account data is written whole). A listed
        room is direct only while the user is one of its at most two members
        (:meth:`channel`): the user writes this data, for any room id. At most
        :data:`MAX_DIRECT_ROOMS_PER_UPDATE` rooms, in one write; the rest are counted in
        ``n_direct_rooms_ignored``.
        """
        if not isinstance(room_ids, Mapping):
            return
        listed = [
            room_id
            for rooms in room_ids.values()
            if isinstance(rooms, list)
            for room_id in rooms
            if is_room_id(room_id)  # another text names no room: never a room's claim
        ]
        kept = list(dict.fromkeys(listed))[:MAX_DIRECT_ROOMS_PER_UPDATE]
        self.n_direct_rooms_ignored += len(set(listed)) - len(kept)
        self.store.set_direct_claims(user_id, kept)

    def view(self, event: EventMeta, state: StateMap) -> RoomView:
        """The room's view at ``event``: taken again from ``state`` for a state event or an
        unknown room, else the cached one (O(1) for a message)."""
        if event.state_key is not None or event.room_id not in self._views:
            if len(self._views) > 100_000:
                self._views.clear()
            self._views[event.room_id] = _view(state, self.max_fanout_members)
        return self._views[event.room_id]

    def forget_view(self, room_id: str) -> None:
        """Forget ``room_id``'s view: a state event of it was dropped (a full queue)."""
        self._views.pop(room_id, None)

    @staticmethod
    def members(event: EventMeta, view: RoomView) -> int:
        """The accounts of the room at ``event``, joined or invited: they decide its channel
        and are the ``room_size`` of an invite and of the join answering it. A message's
        sender counts even if it has just left; never fewer than two."""
        n_members = view.n_members
        if event.type in MESSAGE_TYPES and event.sender not in view.joined:
            n_members += 1  # (a broadcast room's view lists no one: it is large anyway)
        return min(max(n_members, 2), MAX_ROOM_SIZE)

    def channel(self, event: EventMeta, view: RoomView) -> str:
        """The schema v1 channel of a room event, from its room view and remembered facts.

        ``direct`` and ``encrypted`` are one-to-one channels: a room of at most two members
        (joined or invited) that is not publicly joinable, or is flagged direct by an invite
        or by the ``m.direct`` of one of its members; ``encrypted`` if it is encrypted too.
        An encrypted room of more is ``group`` (or ``public``), as Element encrypts every
        private room by default. A message's sender counts among the members whether the
        view lists it or not: it was one when it sent the message (it may have just left),
        as it counts in the room's size (:func:`~riskscore.io.groups.fan_out`).
        """
        room_id = event.room_id
        n_members = self.members(event, view)
        is_direct, is_encrypted = self.store.status(room_id)
        if not is_encrypted and (view.encrypted or event.type == "m.room.encrypted"):
            self.store.mark_encrypted(room_id)
            is_encrypted = True
        if n_members <= 2 and (
            view.join_rule != "public"
            or is_direct
            or not self.store.direct_claimants(room_id).isdisjoint(view.joined)
        ):
            return "encrypted" if is_encrypted else "direct"
        return "public" if view.join_rule == "public" else "group"

    def _event(
        self,
        sender: str,
        recipient: str,
        ts: int,
        room_id: str,
        channel: str,
        kind: str,
        room_size: int | None = None,
    ) -> dict[str, object]:
        s, r = self.profile(sender), self.profile(recipient)
        return {
            "conversation_id": conversation_id(
                sender, recipient, room_id if self.scope == "room" else None
            ),
            "timestamp": ts,
            "sender_id": sender,
            "recipient_id": recipient,
            "sender_age": s.age,
            "recipient_age": r.age,
            "channel": channel,
            "event": kind,
            "recipient_tz_offset_min": r.offset_at(ts, self.default_clock),
            "room_size": room_size,
        }

    def translate(self, event: RoomEvent, state: StateMap) -> list[dict[str, object]]:
        """Schema v1 events for one Matrix room event (often none).

        Parameters
        ----------
        event : EventBase
            The new event.
        state : mapping of (type, state_key) to EventBase
            The room's current state, as Synapse passes it to ``on_new_event``.

        Returns
        -------
        list of dict
            ``message``/``media`` events to each other joined member,
            ``contact_request`` for an invite, ``contact_accept`` for the join
            that answers one; empty for anything else.
        """
        meta = self.read(event)
        return self.translate_view(meta, self.view(meta, state))

    def translate_view(self, event: EventMeta, view: RoomView) -> list[dict[str, object]]:
        """:meth:`translate` of an event already read (:meth:`read`) with the room's view
        already taken (:meth:`view`)."""
        room_id, sender = event.room_id, event.sender
        if room_id in self.ignored_rooms or sender in self.ignored_users:
            return []
        kind = event.type
        ts = event.timestamp
        if kind == "m.room.encryption":
            self.store.mark_encrypted(room_id)
            return []
        if kind in MESSAGE_TYPES:
            channel = self.channel(event, view)  # an encrypted edit still says: encrypted
            if event.relation in NOT_MESSAGES:
                return []
            reached = (
                None if view.broadcast else fan_out(sender, view.joined, self.max_fanout_members)
            )
            if reached is None:  # a broadcast surface, not a conversation
                self.n_skipped_large_rooms += 1
                return []
            recipients, room_size = reached
            return [
                self._event(sender, other, ts, room_id, channel, MESSAGE_TYPES[kind], room_size)
                for other in recipients
                if other not in self.ignored_users
            ]
        if kind != "m.room.member":
            return []
        target = event.state_key
        membership = event.membership
        if target is None or target in self.ignored_users:
            return []
        if membership == "invite" and target != sender:
            if event.is_direct:
                self.store.mark_direct(room_id)
            self.store.add_invite(room_id, target, sender, event.received)
            channel, size = self.channel(event, view), self.members(event, view)
            return [self._event(sender, target, ts, room_id, channel, "contact_request", size)]
        if membership == "join" and target == sender:
            channel, size = self.channel(event, view), self.members(event, view)
            inviter = self.store.pop_invite(room_id, sender, event.received)
            if inviter is None or inviter == sender or inviter in self.ignored_users:
                return []
            return [self._event(sender, inviter, ts, room_id, channel, "contact_accept", size)]
        if membership in ("leave", "ban"):  # rejected or withdrawn: a later join answers none
            self.store.pop_invite(room_id, target, event.received)
        return []
