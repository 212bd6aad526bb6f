"""What an online scorer holds between events: live conversations and accounts, the index
of each adult's conversations, idle expiry, and checkpoints of all that.

:class:`ScorerMemory` is the base of :class:`~riskscore.online.OnlineScorer`, which adds
scoring and alerting; the checkpoint file format is in :mod:`riskscore.online.checkpoint`.
"""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

import riskscore.online.checkpoint as _checkpoint
from riskscore._version import __version__
from riskscore.exceptions import CheckpointError, SchemaError
from riskscore.features.registry import feature_index
from riskscore.io.events import EventTuple
from riskscore.io.groups import (
    DEFAULT_MAX_ROOM_MEMBERS,
    check_max_room_members,
    pair_conversation_id,
)
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.model import RiskModel
from riskscore.online.state import AccountState, ConversationState, pair_facts_of

__all__ = [
    "DEFAULT_MAX_CONVERSATIONS",
    "DEFAULT_MAX_FUTURE_S",
    "LiveConversation",
    "ScorerMemory",
    "TimeSource",
]

FloatArray = npt.NDArray[np.float64]

#: Default cap on live conversations of one scorer (about 1.9 GB of state at the cap).
DEFAULT_MAX_CONVERSATIONS = 1_000_000
#: Default tolerance of event time ahead of the scorer's reference clock: one day.
DEFAULT_MAX_FUTURE_S = 86_400.0

#: ``"wall"`` (the system clock), ``"events"`` (replay: the latest accepted event time) or a
#: callable returning epoch seconds.
TimeSource = Literal["wall", "events"] | Callable[[], float]

_MAX_CHANNEL = feature_index("max_channel")
_COUNTERS = ("clock", "n_events", "n_clamped", "n_too_late", "n_expired")
_OPTIONAL_COUNTERS = ("n_rescored", "n_refused_future", "n_evicted", "n_broadcast")


@dataclass(frozen=True, slots=True)
class LiveConversation:
    """Who a live conversation is between, and how far it has gone (no risk; see
    :meth:`ScorerMemory.score_of`).

    Attributes
    ----------
    adult_id, child_id : int or str
        The accounts in the adult and child roles (the older and the younger; before
        any age is known, the initiator is taken as the adult).
    n_events : int
        Events applied to the conversation.
    last_timestamp : int
        Time of its latest event (epoch seconds).
    alerted_tier : int
        Highest tier already alerted (0: none yet).
    """

    adult_id: Any
    child_id: Any
    n_events: int
    last_timestamp: int
    alerted_tier: int


class ScorerMemory:
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
    ) -> None:
        self.max_room_members = check_max_room_members(max_room_members)
        if not max_future_s >= 0:
            raise ValueError(f"max_future_s must be >= 0, got {max_future_s}")
        if not (time_source in ("wall", "events") or callable(time_source)):
            raise ValueError(
                f"time_source must be 'wall', 'events' or a callable, got {time_source!r}"
            )
        if isinstance(max_conversations, bool) or not (
            isinstance(max_conversations, int) and max_conversations >= 1
        ):
            raise ValueError(f"max_conversations must be an int >= 1, got {max_conversations!r}")
        if not idle_expiry_s > 0:
            raise ValueError(f"idle_expiry_s must be positive, got {idle_expiry_s}")
        if not cooldown_s >= 0:
            raise ValueError(f"cooldown_s must be >= 0, got {cooldown_s}")
        if not reorder_tolerance_s >= 0:
            raise ValueError(f"reorder_tolerance_s must be >= 0, got {reorder_tolerance_s}")
        self.model = model
        self.idle_expiry_s = float(idle_expiry_s)
        self.cooldown_s = float(cooldown_s)
        self.reorder_tolerance_s = float(reorder_tolerance_s)
        self.max_future_s = float(max_future_s)
        self.time_source = time_source
        self.max_conversations = max_conversations
        self._conversations: OrderedDict[object, ConversationState] = OrderedDict()
        self._accounts: OrderedDict[object, AccountState] = OrderedDict()
        # account id -> ids of the live conversations where it has the adult role, in the
        # order they joined (a dict as an ordered set: holding only ids, it stays out of the
        # garbage collector's passes). Kept apart from _accounts so that an account's expiry
        # and return (its counts restart) leaves its live conversations reachable.
        self._adult_convs: dict[object, dict[object, None]] = {}
        # group rooms (conversation ids that named more than two accounts) -> latest event
        # time, least recently active first; their events go to pair conversations
        self._rooms: OrderedDict[object, int] = OrderedDict()
        self.clock = 0
        self.n_events = 0
        self.n_clamped = 0
        self.n_too_late = 0
        self.n_expired = 0
        self.n_rescored = 0
        self.n_refused_future = 0
        self.n_evicted = 0
        self.n_broadcast = 0
        self.checkpoint_extra: dict[str, Any] = {}
        #: The last event ``update_one`` parsed (None before the first; see
        #: OnlineScorer.last_event), for callers that keep its metadata (the service's
        #: timeline) without parsing it a second time.
        self.last_event: EventTuple | None = None
        #: Fingerprint of the shadow model whose alert bookkeeping the conversations
        #: hold (None: no shadow); set by the scorer, stored in checkpoints.
        self.shadow_sha256: str | None = None
        self._oldest = -math.inf  # lower bound of the oldest activity held (for expiry)

    # ------------------------------------------------------------------ state

    def future_limit(self) -> float:
        """Latest event time accepted now: the reference clock plus ``max_future_s``.

        The reference clock is the system clock (``time_source="wall"``), a callable's
        value, or with ``"events"`` the latest accepted event time (no limit before
        the first event).
        """
        source = self.time_source
        if source == "wall":
            return time.time() + self.max_future_s
        if source == "events":
            return self.clock + self.max_future_s if self.n_events else math.inf
        assert callable(source)
        return float(source()) + self.max_future_s

    def _evict_oldest(self) -> None:
        """Forget the least recently active conversation (the live-conversation cap)."""
        key = next(iter(self._conversations))
        conv = self._conversations.pop(key)
        self._unindex(conv.adult_id(), key)
        self.n_evicted += 1

    def _open_room(
        self, room_id: object, conv: ConversationState, sender_id: object, recipient_id: object,
        ts: int,
    ) -> object:  # fmt: skip
        """A third account in conversation ``room_id``: it becomes a group room. Its pair so
        far continues under its pair id (state, alerted tier and adult index kept); return
        the pair id of the event's accounts (:mod:`riskscore.io.groups`).

        Raises
        ------
        SchemaError
            A pair id is already the id of another conversation (state unchanged).
        """
        conversations = self._conversations
        known = pair_conversation_id(room_id, conv.initiator, conv.responder)
        new = pair_conversation_id(room_id, sender_id, recipient_id)
        for derived in (known, new):
            if derived in conversations:
                raise SchemaError(
                    f"column 'conversation_id', event {self.n_events}: {derived!r} is the id "
                    f"of a conversation and also the pair id derived for two accounts of group "
                    f"conversation {room_id!r}; rename that conversation",
                    column="conversation_id",
                    row=self.n_events,
                    value=room_id,
                )
        del conversations[room_id]
        conversations[known] = conv
        self._unindex(conv.adult_id(), room_id)
        self._index(conv.adult_id(), known)
        self._touch_room(room_id, ts)
        return new

    def _touch_room(self, room_id: object, ts: int) -> None:
        rooms = self._rooms
        latest = rooms.pop(room_id, ts)
        rooms[room_id] = ts if ts > latest else latest
        if len(rooms) > self.max_conversations:
            del rooms[next(iter(rooms))]

    def _evict_accounts(self) -> None:
        """Accounts are capped at twice ``max_conversations``, least recently active out."""
        accounts = self._accounts
        while len(accounts) > 2 * self.max_conversations:
            del accounts[next(iter(accounts))]

    def _expire(self) -> None:
        """Forget conversations and accounts idle since before ``clock - idle_expiry_s``.

        Both maps are kept least-recently-active first, so this stops at the first
        one still active. ``_oldest`` remembers a lower bound of the next candidate's
        time, so that most events skip the call.
        """
        horizon = self.clock - self.idle_expiry_s
        conversations = self._conversations
        oldest = math.inf
        while conversations:
            key = next(iter(conversations))
            conv = conversations[key]
            if conv.max_ts >= horizon:
                oldest = conv.max_ts
                break
            del conversations[key]
            self._unindex(conv.adult_id(), key)
            self.n_expired += 1
        accounts = self._accounts
        while accounts:
            key = next(iter(accounts))
            last_seen = accounts[key].last_seen
            if last_seen >= horizon:
                oldest = min(oldest, last_seen)
                break
            del accounts[key]
        rooms = self._rooms
        while rooms:
            key = next(iter(rooms))
            if rooms[key] >= horizon:
                oldest = min(oldest, rooms[key])
                break
            del rooms[key]
        self._oldest = oldest

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
        """The state of a live conversation, or a KeyError that says why it may be missing."""
        conv = self._conversations.get(conversation_id)
        if conv is None:
            raise KeyError(
                f"conversation {conversation_id!r} is unknown to this scorer (never seen, or "
                "expired after idle_expiry_s)"
            )
        return conv

    def score_of(self, conversation_id: object) -> float:
        """Current risk of a conversation (as of its latest event).

        Raises
        ------
        KeyError
            The conversation has not been seen, or has expired.
        """
        return self._live(conversation_id).risk

    def features_of(self, conversation_id: object) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Current feature vector of a conversation, in ``FEATURE_NAMES`` order."""
        conv = self._live(conversation_id)
        return np.asarray(self._features(conv), dtype=np.float64)

    def conversation_of(self, conversation_id: object) -> LiveConversation:
        """The accounts and progress of a live conversation.

        Raises
        ------
        KeyError
            The conversation has not been seen, or has expired.
        """
        conv = self._live(conversation_id)
        adult_i = conv.adult_i
        return LiveConversation(
            adult_id=conv.initiator if adult_i else conv.responder,
            child_id=conv.responder if adult_i else conv.initiator,
            n_events=conv.n_events,
            last_timestamp=conv.max_ts,
            alerted_tier=conv.n_alerted_tier,
        )

    def channel_of(self, conversation_id: object) -> str | None:
        """The most private channel a live conversation has reached (schema v1 name), or
        None when it is not known.

        Raises
        ------
        KeyError
            The conversation has not been seen, or has expired.
        """
        level = self.features_of(conversation_id)[_MAX_CHANNEL]
        return CHANNEL_NAMES[int(level)] if math.isfinite(level) else None

    def alerted_tier_of(self, conversation_id: object) -> int:
        """Highest tier already alerted for a conversation (0: none yet)."""
        conv = self._live(conversation_id)
        return conv.n_alerted_tier

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

    def checkpoint(
        self, path: str | os.PathLike[str], *, extra: Mapping[str, Any] | None = None
    ) -> None:
        """Write the scorer's whole state to a SQLite file, atomically.

        One transaction in WAL mode: a process killed while writing leaves the
        previous checkpoint readable. Nothing is pickled. The policy is not
        stored; pass it again to :meth:`restore`.

        Parameters
        ----------
        path : str or path-like
            The checkpoint file, created or replaced.
        extra : mapping, optional
            JSON-ready data stored with the state (e.g. an input offset);
            :meth:`restore` puts it in :attr:`checkpoint_extra`.

        Examples
        --------
        >>> import os, tempfile
        >>> import riskscore as rs
        >>> model = rs.load_model()
        >>> scorer = rs.OnlineScorer(model)
        >>> _ = scorer.update_one({"conversation_id": 1, "timestamp": 1_700_000_000,
        ...                        "sender_id": "a", "recipient_id": "b", "channel": "direct"})
        >>> path = os.path.join(tempfile.mkdtemp(), "state.sqlite")
        >>> scorer.checkpoint(path)
        >>> rs.OnlineScorer.restore(path, model).score_of(1) == scorer.score_of(1)
        True
        """
        meta = {
            "riskscore_version": _version(),
            "model_sha256": self.model.parameters_sha256(),
            "shadow_model_sha256": self.shadow_sha256,
            "config": {
                "idle_expiry_s": finite_or_none(self.idle_expiry_s),
                "cooldown_s": self.cooldown_s,
                "reorder_tolerance_s": finite_or_none(self.reorder_tolerance_s),
                "max_future_s": finite_or_none(self.max_future_s),
                "time_source": self.time_source if isinstance(self.time_source, str) else None,
                "max_conversations": self.max_conversations,
                "max_room_members": self.max_room_members,
            },
            "counters": {
                "clock": self.clock,
                "n_events": self.n_events,
                "n_clamped": self.n_clamped,
                "n_too_late": self.n_too_late,
                "n_expired": self.n_expired,
                "n_rescored": self.n_rescored,
                "n_refused_future": self.n_refused_future,
                "n_evicted": self.n_evicted,
                "n_broadcast": self.n_broadcast,
            },
            "rooms": [[room, ts] for room, ts in self._rooms.items()],
            # The adult index is rebuilt from the conversations on restore; only its
            # order (that of the alerts one event raises) needs keeping, for adults
            # with more than one live conversation.
            "adult_index": [
                [aid, list(convs)] for aid, convs in self._adult_convs.items() if len(convs) > 1
            ],
            "extra": dict(extra or {}),
        }
        _checkpoint.write(
            path,
            meta,
            (
                (cid, conv.initiator, conv.responder, conv.to_json())
                for cid, conv in self._conversations.items()
            ),
            ((aid, acc.to_json()) for aid, acc in self._accounts.items()),
        )

    def _load(self, snap: _checkpoint.Snapshot) -> None:
        """Counters, accounts, conversations and the adult index of a checkpoint.

        Raises
        ------
        CheckpointError
            A missing or malformed meta entry or row.
        """
        path = snap.path
        counters = snap.meta.get("counters")
        if not isinstance(counters, dict):
            raise CheckpointError(f"{path}: meta 'counters' is missing or not an object")
        for name in _COUNTERS + _OPTIONAL_COUNTERS:
            value = counters.get(name, 0 if name in _OPTIONAL_COUNTERS else None)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CheckpointError(
                    f"{path}: counter {name!r} must be an int >= 0, found {value!r}"
                )
            setattr(self, name, value)
        extra = snap.meta.get("extra", {})
        if not isinstance(extra, dict):
            raise CheckpointError(f"{path}: meta 'extra' is not an object")
        self.checkpoint_extra = dict(extra)
        try:
            for aid, state in snap.accounts():
                self._accounts[_key(aid, path)] = AccountState.from_json(state)
            for cid, initiator, responder, state in snap.conversations():
                conv = ConversationState.from_json(
                    _key(initiator, path), _key(responder, path), state
                )
                conv.pair = pair_facts_of(self._accounts, conv.initiator, conv.responder)
                self._conversations[_key(cid, path)] = conv
                self._index(conv.adult_id(), cid)
            rooms = snap.meta.get("rooms", [])
            if not isinstance(rooms, list):
                raise CheckpointError(f"{path}: meta 'rooms' is not a list of [id, time]")
            for room, ts in rooms:
                self._rooms[_key(room, path)] = int(ts)
        except (ValueError, TypeError, OverflowError) as exc:
            raise CheckpointError(f"{path}: a state row is malformed ({exc})") from None
        # Membership comes from the conversations; the stored order (absent from
        # checkpoints of earlier versions) only reorders it.
        adult_index = snap.meta.get("adult_index", [])
        if not isinstance(adult_index, list) or not all(
            isinstance(e, list) and len(e) == 2 and isinstance(e[1], list) for e in adult_index
        ):
            raise CheckpointError(f"{path}: meta 'adult_index' is not a list of [id, [ids]]")
        for aid, cids in adult_index:
            convs = self._adult_convs.get(aid) if isinstance(aid, (int, str)) else None
            if convs is not None:
                ordered: dict[object, None] = dict.fromkeys(
                    cid for cid in cids if isinstance(cid, (int, str)) and cid in convs
                )
                ordered.update(convs)
                self._adult_convs[aid] = ordered


def _key(value: Any, path: object) -> Any:
    """An id read from a checkpoint: int or str only."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise CheckpointError(f"{path}: id {value!r} is not an int or str")
    return value


def _version() -> str:
    return __version__


def finite_or_none(value: float) -> float | None:
    return None if math.isinf(value) else value


def inf_if_none(value: float | None) -> float:
    return math.inf if value is None else float(value)


def config_of(snap: _checkpoint.Snapshot) -> dict[str, Any]:
    """The scorer's constructor arguments stored in a checkpoint, checked."""
    config = snap.meta.get("config")
    if not isinstance(config, dict):
        raise CheckpointError(f"{snap.path}: meta 'config' is missing or not an object")
    try:
        out: dict[str, Any] = {
            "idle_expiry_s": inf_if_none(config["idle_expiry_s"]),
            "cooldown_s": float(config["cooldown_s"]),
            "reorder_tolerance_s": inf_if_none(config["reorder_tolerance_s"]),
            "max_future_s": inf_if_none(config.get("max_future_s", DEFAULT_MAX_FUTURE_S)),
            "max_conversations": config.get("max_conversations", DEFAULT_MAX_CONVERSATIONS),
            "max_room_members": config.get("max_room_members", DEFAULT_MAX_ROOM_MEMBERS),
            "time_source": "events" if config.get("time_source") == "events" else "wall",
        }
    except KeyError as exc:
        raise CheckpointError(f"{snap.path}: meta 'config' has no {exc}") from None
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{snap.path}: meta 'config' is malformed ({exc})") from None
    return out
