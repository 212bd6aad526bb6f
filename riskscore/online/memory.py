"""What an online scorer holds between events: live conversations and accounts, the index
of each adult's conversations, group rooms, idle expiry and the caps, and what a caller
can ask about a live conversation.

:class:`ScorerMemory` is the base of :class:`~riskscore.online.OnlineScorer`, which adds
scoring and alerting. Checkpoints of all that are written and read by
:mod:`riskscore.online.persist` (mixed in), its reference clock by
:mod:`riskscore.online.clock` (mixed in too); the option defaults and ``TimeSource`` live
in :mod:`riskscore.online.options` and are re-exported here.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from riskscore._checks import check_seconds, check_whole
from riskscore.io.events import EventTuple
from riskscore.io.groups import (
    DEFAULT_MAX_ROOM_MEMBERS,
    check_max_room_members,
    group_room_text,
    is_broadcast,
    pair_conversation_id,
    pair_id_clash_at,
    room_of_pair_id,
)
from riskscore.io.raw import show
from riskscore.io.room_reach import RoomReach
from riskscore.model import RiskModel, checked_model
from riskscore.online.clock import ScorerClock
from riskscore.online.lock import CheckpointLock
from riskscore.online.options import (
    DEFAULT_MAX_ACCOUNT_CONTACTS,
    DEFAULT_MAX_CONVERSATIONS,
    DEFAULT_MAX_FUTURE_S,
    MAX_CONVERSATIONS_LIMIT,
    TimeSource,
    check_time_source,
)
from riskscore.online.pairs import PairConversations
from riskscore.online.persist import ScorerCheckpoints
from riskscore.online.state import AccountState, ConversationState

__all__ = [
    "DEFAULT_MAX_CONVERSATIONS",
    "DEFAULT_MAX_FUTURE_S",
    "LiveConversation",
    "ScorerMemory",
    "TimeSource",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LiveConversation:
    """Who a live conversation is between, and how far it has gone (no risk; see
    :meth:`OnlineScorer.score_of <riskscore.online.OnlineScorer.score_of>`).

    Attributes
    ----------
    adult_id, child_id : int or str
        The accounts in the adult and child roles (the older and the younger; before
        any age is known, the initiator is taken as the adult).
    n_events : int
        Events applied to the conversation.
    last_timestamp : int
        Time of its latest event (epoch seconds).
    first_timestamp : int
        Time of its first event (epoch seconds): with ``last_timestamp``, what an alert
        records as ``first_event_at`` and ``last_event_at``.
    alerted_tier : int
        Highest tier already alerted (0: none yet).
    """

    adult_id: Any
    child_id: Any
    n_events: int
    last_timestamp: int
    alerted_tier: int
    first_timestamp: int


class ScorerMemory(ScorerClock, ScorerCheckpoints):
    """The state of an online scorer, its expiry and its checkpoints (see
    :class:`~riskscore.online.OnlineScorer` for the parameters)."""

    def __init__(
        self,
        model: RiskModel,
        *,
        idle_expiry_s: float,
        cooldown_s: float,
        reorder_tolerance_s: float,
        max_future_s: float = DEFAULT_MAX_FUTURE_S,
        time_source: TimeSource = "wall",
        max_conversations: int = DEFAULT_MAX_CONVERSATIONS,
        max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
        max_account_contacts: int = DEFAULT_MAX_ACCOUNT_CONTACTS,
    ) -> None:
        checked_model(model)
        self.max_room_members = check_max_room_members(max_room_members)
        check_time_source(time_source)
        check_whole("max_conversations", max_conversations, 1, MAX_CONVERSATIONS_LIMIT)
        check_whole("max_account_contacts", max_account_contacts, 1, MAX_CONVERSATIONS_LIMIT)
        self.max_account_contacts = max_account_contacts
        self.model = model
        self.idle_expiry_s = check_seconds("idle_expiry_s", idle_expiry_s, positive=True)
        self.cooldown_s = check_seconds("cooldown_s", cooldown_s)
        self.reorder_tolerance_s = check_seconds("reorder_tolerance_s", reorder_tolerance_s)
        self.max_future_s = check_seconds("max_future_s", max_future_s)
        self.time_source = time_source
        self.max_conversations = max_conversations
        self._conversations: OrderedDict[object, ConversationState] = OrderedDict()
        self._accounts: OrderedDict[object, AccountState] = OrderedDict()
        # account id -> ids of the live conversations where it has the adult role, in the
        # order they joined (a dict as an ordered set: holding only ids, it stays out of the
        # garbage collector's passes). Kept apart from _accounts so that an account's expiry
        # and return (its counts restart) leaves its live conversations reachable.
        self._adult_convs: dict[object, dict[object, None]] = {}
        # the live conversations of each pair of accounts: when the facts of a pair move, its
        # other conversations are found here, not among every conversation of its accounts
        self._pair_convs = PairConversations()
        # group rooms (conversation ids that named more than two accounts) -> latest event
        # time, least recently active first; their events go to pair conversations
        self._rooms: OrderedDict[object, int] = OrderedDict()
        # group room -> ids of its live pairs: a room is forgotten with its pairs (its latest
        # time is theirs at least), or a lingering pair would meet its room's return
        self._room_pairs: dict[object, dict[object, None]] = {}
        self._reach = RoomReach()  # the recipients of the latest event with a room_size
        self.clock = 0
        self.n_events = 0
        self.n_clamped = 0
        self.n_too_late = 0
        self.n_expired = 0
        self.n_rescored = 0
        self.n_rescore_skipped = 0
        self.n_rescore_deferred = 0
        self.n_refused_future = 0
        self.n_evicted = 0
        self.n_broadcast = 0
        #: Contacts and pairs not held because their account held max_account_contacts.
        self.n_contacts_capped = 0
        self.checkpoint_extra: dict[str, Any] = {}
        # this scorer's claims on checkpoint files, by lock file (ScorerCheckpoints)
        self._claims: dict[str, CheckpointLock] = {}
        #: The last event ``update_one`` parsed (None before the first; see
        #: OnlineScorer.last_event), for callers that keep its metadata (the service's
        #: timeline) without parsing it a second time.
        self.last_event: EventTuple | None = None
        #: The latest chat of two that became a group room: (room id, the pair id its events
        #: so far continue under), for callers that keep events by conversation id.
        self.last_room_opened: tuple[object, object] | None = None
        #: Fingerprint of the shadow model whose alert bookkeeping the conversations
        #: hold (None: no shadow); set by the scorer, stored in checkpoints.
        self.shadow_sha256: str | None = None
        self._oldest = -math.inf  # lower bound of the oldest activity held (for expiry)
        # The wall clock's limit as last read: it only grows, so an event up to it needs
        # no clock reading (wall time source only; -inf otherwise).
        self._within_wall_limit = -math.inf

    # ------------------------------------------------------------------ state

    def _evict_oldest(self) -> None:
        """Forget the least recently active conversation (the live-conversation cap)."""
        key = next(iter(self._conversations))
        self._forget(key, self._conversations.pop(key))
        self.n_evicted += 1

    def _forget(self, cid: object, conv: ConversationState) -> None:
        """Take a conversation just removed out of the adult index, the pair index and its
        room's pairs."""
        self._unindex(conv.adult_id(), cid)
        self._pair_convs.leave(cid, conv)
        if conv.room is not None:
            pairs = self._room_pairs.get(conv.room)
            if pairs is not None:
                pairs.pop(cid, None)
                if not pairs:
                    del self._room_pairs[conv.room]

    def _forget_idle(self, cid: object, conv: ConversationState | None, room: bool) -> None:
        """Forget what is idle for longer than ``idle_expiry_s``: conversation ``conv``, held
        under ``cid``, or with ``room`` the group room ``cid`` and its pairs. :meth:`_expire`
        forgets so what the clock leaves behind; an event, what it finds idle before it is
        applied (it then starts afresh)."""
        if room:
            del self._rooms[cid]
            self.n_expired += self._drop_room(cid)
        if conv is not None:
            del self._conversations[cid]
            self._forget(cid, conv)
            self.n_expired += 1

    def _join_room(self, room_id: object, cid: object, conv: ConversationState) -> None:
        """Hold conversation ``cid`` as a pair of group room ``room_id``."""
        conv.room = room_id
        pairs = self._room_pairs.get(room_id)
        if pairs is None:
            self._room_pairs[room_id] = {cid: None}
        else:
            pairs[cid] = None

    def _drop_room(self, room_id: object) -> int:
        """Forget a group room (removed from ``_rooms`` by the caller) and its live pairs;
        return how many pairs went. Its pairs are no more recent than the room, so they
        expire or are evicted with it."""
        dropped = self._room_pairs.pop(room_id, {})
        for cid in dropped:
            self._forget(cid, self._conversations.pop(cid))
        return len(dropped)

    def _room_event(self, event: EventTuple, row: int | None) -> bool:
        """Whether ``event`` (with a ``room_size``) is a broadcast, counted; refuse it when
        too far ahead (a broadcast too, as batch reading refuses its row before setting
        broadcasts aside), when an earlier row of its event gave another room size (a
        broadcast too), or when its room is smaller than it reached
        (:mod:`riskscore.io.room_reach`)."""
        cid, ts, sender_id, recipient_id, _, _, channel, kind, _, room = event
        if ts > self.clock and ts > self._within_wall_limit:
            self._check_future(ts, row)
        broadcast = is_broadcast(room, kind, self.max_room_members)
        key = (cid, ts, sender_id, channel, kind)
        self._reach.check(key, recipient_id, room, row, broadcast)
        if broadcast:  # set aside: taken, its size recorded
            self._reach.record(key, recipient_id, room, broadcast)
            self.n_broadcast += 1
        return broadcast

    def _open_room(
        self, room_id: object, conv: ConversationState, sender_id: object, recipient_id: object,
        ts: int, row: int | None, horizon: float,
    ) -> object:  # fmt: skip
        """A third account in conversation ``room_id`` (event ``row``): it becomes a group
        room. Its pair so far continues under its pair id (state, alerted tier and adult
        index kept); return the pair id of the event's accounts (:mod:`riskscore.io.groups`).
        What holds a pair id idle since before ``horizon`` (the event's time less
        ``idle_expiry_s``) is forgotten first (:meth:`_forget_idle`), never a clash.

        Raises
        ------
        SchemaError
            A pair id is already the id of another live conversation or group room, or the
            event's pair derives the pair id of the pair so far (state unchanged).
        """
        conversations, rooms = self._conversations, self._rooms
        known = pair_conversation_id(room_id, conv.initiator, conv.responder)
        new = pair_conversation_id(room_id, sender_id, recipient_id)
        if known == new:  # two pairs, one id: "a|b" and "c" against "a" and "b|c"
            raise pair_id_clash_at(new, row, room_id)
        for derived in (known, new):
            holder = conversations.get(derived)
            if holder is not None and holder.max_ts >= horizon:
                raise pair_id_clash_at(derived, row, holder.room)
            if derived in rooms and rooms[derived] >= horizon:  # batch compares rooms' ids too
                raise pair_id_clash_at(derived, row)
        for derived in (known, new):  # held, if at all, by what idled past expiry
            self._forget_idle(derived, conversations.get(derived), derived in rooms)
        del conversations[room_id]
        conversations[known] = conv
        self.last_room_opened = (room_id, known)
        self._join_room(room_id, known, conv)
        self._unindex(conv.adult_id(), room_id)
        self._index(conv.adult_id(), known)
        self._pair_convs.leave(room_id, conv)
        self._pair_convs.join(known, conv)
        # as recent as its latest pair: an opening event dated earlier (a new pair may be
        # late by any time) made the room look idle, and it expired with its pair early
        self._touch_room(room_id, max(ts, conv.max_ts))
        return new

    def _refuse_a_pair_id(
        self, cid: str, sender_id: object, recipient_id: object, row: int | None, horizon: float
    ) -> None:
        """Refuse event ``row`` if its own conversation id is a pair id of a known group room
        (batch refuses the same file): derived for its two accounts, or held by a pair of
        other accounts. It would otherwise join that pair's conversation (or turn it into
        a room of both pairs). What idled since before ``horizon`` is no clash (forgotten).

        Raises
        ------
        SchemaError
            ``cid`` is ``room|a|b`` for a live room ``room`` this scorer holds.
        """
        rooms, holder = self._rooms, self._conversations.get(cid)
        room = room_of_pair_id(cid, sender_id, recipient_id, rooms)
        if (room is not None and rooms[room] >= horizon) or (
            holder is not None and holder.room is not None and holder.max_ts >= horizon
        ):  # its accounts' pair id in a room, or the id of another pair of a room
            raise pair_id_clash_at(cid, row)

    def _refuse_another_pair(
        self, pair_id: object, conv: ConversationState, room_id: object, row: int | None
    ) -> None:
        """Refuse event ``row`` of group room ``room_id`` whose pair id is held by a conversation
        that is not that room's pair: one whose own id it is (given before the room had
        three accounts), or the pair of room ``"1"`` for room ``1``. Batch refuses both
        files (a pair id given as an id; a column mixing integer and text ids).

        Raises
        ------
        SchemaError
            ``conv``, held under ``pair_id``, is not a pair of ``room_id``.
        """
        room = conv.room
        if room is None or type(room) is not type(room_id):  # not a pair, or room "1" for 1
            raise pair_id_clash_at(pair_id, row)
        if room != room_id:
            raise pair_id_clash_at(pair_id, row, room)

    def _touch_room(self, room_id: object, ts: int) -> None:
        rooms = self._rooms
        latest = rooms.pop(room_id, ts)
        rooms[room_id] = ts if ts > latest else latest
        if len(rooms) > self.max_conversations:
            oldest = next(iter(rooms))
            del rooms[oldest]
            self.n_evicted += self._drop_room(oldest)

    if TYPE_CHECKING:

        def _settle(self, conv: ConversationState) -> None: ...

    def _drop_account(self, account_id: object) -> None:
        """Forget an account's state (expired, or over the cap), first scoring its live
        conversations as adult whose re-scoring was deferred, with the state they were
        deferred under (a room's pair can outlive it: :meth:`_open_room` makes it newest)."""
        conversations = self._conversations
        for cid in self._adult_convs.get(account_id, ()):
            conv = conversations[cid]
            if conv.slack:
                self._settle(conv)
        del self._accounts[account_id]

    def _evict_accounts(self) -> None:
        """Accounts are capped at twice ``max_conversations``, least recently active out."""
        accounts = self._accounts
        while len(accounts) > 2 * self.max_conversations:
            self._drop_account(next(iter(accounts)))

    def _expire(self) -> None:
        """Forget conversations and accounts idle since before ``clock - idle_expiry_s``.

        Both maps are kept least-recently-active first, so this stops at the first
        one still active. ``_oldest`` remembers a lower bound of the next candidate's
        time, so that most events skip the call.
        """
        horizon = self.clock - self._expiry_whole
        conversations = self._conversations
        oldest = math.inf
        while conversations:
            key = next(iter(conversations))
            conv = conversations[key]
            if conv.max_ts >= horizon:
                oldest = conv.max_ts
                break
            self._forget_idle(key, conv, room=False)
        accounts = self._accounts
        while accounts:
            key = next(iter(accounts))
            last_seen = accounts[key].last_seen
            if last_seen >= horizon:
                oldest = min(oldest, last_seen)
                break
            self._drop_account(key)
        rooms = self._rooms
        while rooms:
            key = next(iter(rooms))
            if rooms[key] >= horizon:
                oldest = min(oldest, rooms[key])
                break
            self._forget_idle(key, None, room=True)
        self._oldest = oldest

    def _new_account(self, account_id: object) -> AccountState:
        """A new account state. When the account still has live conversations as adult (its
        state expired or was evicted before them), their risks were scored with the state
        it had: the next change of its features re-scores them all."""
        account = AccountState()
        if account_id in self._adult_convs:
            account.stale = True
        return account

    def _index(self, account_id: object, cid: object) -> None:
        convs = self._adult_convs.get(account_id)
        if convs is None:
            self._adult_convs[account_id] = {cid: None}
        else:
            convs[cid] = None

    def _unindex(self, account_id: object, cid: object) -> None:
        convs = self._adult_convs.get(account_id)
        if convs is not None:
            convs.pop(cid, None)
            if not convs:
                del self._adult_convs[account_id]

    def _features(self, conv: ConversationState) -> FloatArray:
        return conv.features(self._accounts)

    def _live(self, conversation_id: object) -> ConversationState:
        """The state of a live conversation, or a KeyError that says why it may be missing.
        A bool or a float is no id (``True`` and ``1.0`` equal ``1`` as dictionary keys, and
        would find conversation 1): refused by type."""
        if isinstance(conversation_id, bool | float | np.bool_ | np.floating):
            raise TypeError(
                f"conversation id {show(conversation_id)} is {type(conversation_id).__name__}: "
                "ids are integers or text, as events give them"
            )
        conv = self._conversations.get(conversation_id)
        if conv is None:
            pairs = self.room_pairs_of(conversation_id)
            why = "is unknown to this scorer (never seen, or expired after idle_expiry_s)"
            why = why if pairs is None else group_room_text(len(pairs))
            raise KeyError(f"conversation {conversation_id!r} {why}")
        return conv

    def room_pairs_of(self, room_id: object) -> tuple[object, ...] | None:
        """Ids of the live pair conversations of group room ``room_id``, where its events
        go (:mod:`riskscore.io.groups`), or None when it is no live group room."""
        if room_id not in self._rooms:
            return None
        return tuple(self._room_pairs.get(room_id, ()))

    def features_of(self, conversation_id: object) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Current feature vector of a conversation, in ``FEATURE_NAMES`` order."""
        conv = self._live(conversation_id)
        return np.asarray(self._features(conv), dtype=np.float64)

    def conversation_of(self, conversation_id: object) -> LiveConversation:
        """The accounts and progress of a live conversation.

        Raises
        ------
        KeyError
            The conversation has not been seen, or has expired, or the id is a group
            room's (whose events go to its pairs' conversations).
        """
        conv = self._live(conversation_id)
        adult_i = conv.adult_i
        return LiveConversation(
            adult_id=conv.initiator if adult_i else conv.responder,
            child_id=conv.responder if adult_i else conv.initiator,
            n_events=conv.n_events,
            last_timestamp=conv.max_ts,
            alerted_tier=conv.n_alerted_tier,
            first_timestamp=conv.min_ts,
        )

    def alerted_tier_of(self, conversation_id: object) -> int:
        """Highest tier already alerted for a conversation (0: none yet)."""
        conv = self._live(conversation_id)
        return conv.n_alerted_tier

    def conversation_id_of(self, event: EventTuple) -> object:
        """The id of the live conversation an event just applied went to (``event`` as
        :attr:`last_event` holds it): in a group room, its pair's id
        (:mod:`riskscore.io.groups`), the id its scores and alerts carry; else its own.

        Examples
        --------
        >>> import riskscore as rs
        >>> scorer = rs.OnlineScorer(rs.load_model())
        >>> for t, child in enumerate(["c1", "c2"]):
        ...     _ = scorer.update_one({"conversation_id": "r", "timestamp": 1_700_000_000 + t,
        ...                            "sender_id": "a", "recipient_id": child,
        ...                            "channel": "group"})
        >>> scorer.conversation_id_of(scorer.last_event)
        'r|a|c2'
        """
        cid = event[0]
        if self._rooms and cid in self._rooms:
            return pair_conversation_id(cid, event[2], event[3])
        return cid

    @property
    def conversation_ids(self) -> tuple[object, ...]:
        """Ids of the live conversations, least recently active first (a group room's
        pairs under their pair ids, :mod:`riskscore.io.groups`)."""
        return tuple(self._conversations)

    @property
    def n_conversations(self) -> int:
        """Conversations currently held in memory."""
        return len(self._conversations)

    @property
    def n_accounts(self) -> int:
        """Accounts currently held in memory."""
        return len(self._accounts)
