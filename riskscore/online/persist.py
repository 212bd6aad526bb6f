"""Saving and restoring what an online scorer holds: a checkpoint's meta (versions, model and
policy fingerprints, options, counters, rooms, the adult index) and its rows, with checks.

:class:`ScorerCheckpoints` is mixed into :class:`~riskscore.online.memory.ScorerMemory`
(:meth:`~riskscore.OnlineScorer.checkpoint`); :func:`config_of` gives
:meth:`~riskscore.OnlineScorer.restore` the stored options. The file format (SQLite,
JSON rows, no pickle) is in :mod:`riskscore.online.checkpoint`.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING, Any, TypeVar

import riskscore.online.checkpoint as _checkpoint
import riskscore.online.checkpoint_values as _values
import riskscore.online.pairs as _pairs
from riskscore._checks import is_real
from riskscore._version import __version__
from riskscore.exceptions import CheckpointError
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS, pair_conversation_id
from riskscore.io.ids import integer_id_problem, text_id_problem
from riskscore.io.raw import show
from riskscore.io.room_reach import RoomReach
from riskscore.io.schema import MAX_ID_LENGTH, MAX_PAIR_ID_LENGTH
from riskscore.model import RiskModel
from riskscore.online.checkpoint_values import extra_data, finite_or_none, inf_if_none, time_of
from riskscore.online.lock import CheckpointLock, claim, lock_path
from riskscore.online.options import (
    DEFAULT_MAX_ACCOUNT_CONTACTS,
    DEFAULT_MAX_CONVERSATIONS,
    DEFAULT_MAX_FUTURE_S,
    MAX_CONVERSATIONS_LIMIT,
    TimeSource,
)
from riskscore.online.pairs import PairConversations, pair_facts_of
from riskscore.online.state import AccountState, ConversationState
from riskscore.policy import AlertPolicy

__all__ = [
    "CHECKPOINTED_OPTIONS",
    "MAX_COUNT",
    "ScorerCheckpoints",
    "config_of",
]

T = TypeVar("T")

#: The options of a checkpoint's meta ``config`` that hold seconds (null: no limit).
_NUMBER_CONFIG = ("idle_expiry_s", "cooldown_s", "reorder_tolerance_s", "max_future_s")
#: The scorer options a checkpoint keeps and a restored scorer takes from it, each the name
#: of its constructor argument and attribute (``time_source`` aside: a restore may change it).
_CAP_OPTIONS = ("max_conversations", "max_room_members", "max_account_contacts")
CHECKPOINTED_OPTIONS = (*_NUMBER_CONFIG, *_CAP_OPTIONS)

#: Largest count a checkpoint holds (a counter, a count of lines): an int64, which a
#: billion events a second take 292 years to reach; a larger one was not written by a scorer.
MAX_COUNT = 2**63 - 1

#: The options of a checkpoint's meta ``config`` that hold whole numbers, with the range a
#: scorer takes (``max_room_members`` has no upper bound of its own: a larger one sets no
#: room aside, as :data:`~riskscore.io.schema.MAX_ROOM_SIZE` does).
_WHOLE_CONFIG = (
    ("max_conversations", 1, MAX_CONVERSATIONS_LIMIT),
    ("max_account_contacts", 1, MAX_CONVERSATIONS_LIMIT),
)

_COUNTERS = ("clock", "n_events", "n_clamped", "n_too_late", "n_expired")
_OPTIONAL_COUNTERS = (  # absent from the files of earlier versions: 0
    "n_rescored",
    "n_refused_future",
    "n_evicted",
    "n_broadcast",
    "n_rescore_skipped",
    "n_rescore_deferred",
    "n_contacts_capped",
)


class ScorerCheckpoints:
    """The checkpoint half of :class:`~riskscore.online.memory.ScorerMemory` (mixed in):
    it writes and reads back the state that class holds."""

    model: RiskModel
    idle_expiry_s: float
    cooldown_s: float
    reorder_tolerance_s: float
    max_future_s: float
    time_source: TimeSource
    max_conversations: int
    max_room_members: int
    max_account_contacts: int
    clock: int
    n_events: int
    n_clamped: int
    n_too_late: int
    n_expired: int
    n_rescored: int
    n_refused_future: int
    n_evicted: int
    n_broadcast: int
    checkpoint_extra: dict[str, Any]
    shadow_sha256: str | None
    policy: AlertPolicy
    _conversations: OrderedDict[object, ConversationState]
    _accounts: OrderedDict[object, AccountState]
    _adult_convs: dict[object, dict[object, None]]
    _rooms: OrderedDict[object, int]
    _room_pairs: dict[object, dict[object, None]]
    _pair_convs: PairConversations
    _claims: dict[str, CheckpointLock]

    if TYPE_CHECKING:

        def _index(self, account_id: object, cid: object) -> None: ...

        def _forget(self, cid: object, conv: ConversationState) -> None: ...

        def _join_room(self, room_id: object, cid: object, conv: ConversationState) -> None: ...

        def _settle_all(self) -> None: ...

    def checkpoint(
        self, path: str | os.PathLike[str], *, extra: Mapping[str, Any] | None = None
    ) -> None:
        """Write the scorer's whole state to a SQLite file, atomically.

        One transaction in WAL mode: a process killed while writing leaves the previous
        checkpoint readable. Nothing is pickled; the policy's sha256 is (:meth:`restore`).

        The first save (or :meth:`restore`) makes this process the owner of ``path``
        until :meth:`release_checkpoints` or exit (:meth:`claim_checkpoint`).

        Parameters
        ----------
        path : str or path-like
            The checkpoint file, created or replaced.
        extra : mapping, optional
            JSON-ready data stored with the state (e.g. an input offset);
            :meth:`restore` puts it in :attr:`checkpoint_extra`.

        Raises
        ------
        CheckpointError
            Another process owns ``path``; the file is not changed.
        TypeError, ValueError
            ``extra`` holds what JSON cannot (a numpy number, NaN, a key not text); the
            message names the entry, and the file is not changed.

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
        self._settle_all()  # every stored risk is the conversation's current one
        meta = {
            "riskscore_version": _version(),
            "model_sha256": self.model.parameters_sha256(),
            "shadow_model_sha256": self.shadow_sha256,
            "policy_sha256": self.policy.sha256(),
            "config": {
                "idle_expiry_s": finite_or_none(self.idle_expiry_s),
                "cooldown_s": finite_or_none(self.cooldown_s),
                "reorder_tolerance_s": finite_or_none(self.reorder_tolerance_s),
                "max_future_s": finite_or_none(self.max_future_s),
                "time_source": self.time_source if isinstance(self.time_source, str) else None,
                "max_conversations": self.max_conversations,
                "max_room_members": self.max_room_members,
                "max_account_contacts": self.max_account_contacts,
            },
            "counters": {name: getattr(self, name) for name in _COUNTERS + _OPTIONAL_COUNTERS},
            "rooms": [[room, ts] for room, ts in self._rooms.items()],
            "room_reach": self._reach.to_json(),  # rows of the latest second's group events
            "own_pairs": _pairs.own_pair_facts(self._conversations, self._accounts),  # past cap
            "expiry_oldest": finite_or_none(self._oldest),  # when expiry next looks: as is
            # The adult index is rebuilt from the conversations on restore; only its
            # order (that of the alerts one event raises) needs keeping, for adults
            # with more than one live conversation.
            "adult_index": [
                [aid, list(convs)] for aid, convs in self._adult_convs.items() if len(convs) > 1
            ],
            "extra": extra_data(extra),
        }
        _checkpoint.write(
            path,
            meta,
            (
                (cid, conv.initiator, conv.responder, conv.to_json())
                for cid, conv in self._conversations.items()
            ),
            ((aid, acc.to_json()) for aid, acc in self._accounts.items()),
            before_open=self.claim_checkpoint,
        )

    def claim_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Make this process the only one that may resume from or save to ``path``.

        An exclusive advisory lock on the sidecar ``path + ".lock"`` (created ``0600``),
        held while this scorer (or another of this process) claims the file, until
        :meth:`release_checkpoints`, or until the process exits or is killed: a crash
        leaves no stale lock. :meth:`checkpoint` and :meth:`restore` claim their file;
        ``riskscore stream`` and ``riskscore serve`` claim theirs at start, so that a
        second one fails before reading anything. Not on Windows (no ``fcntl``), where
        nothing is locked.

        Raises
        ------
        CheckpointError
            Another process owns ``path``.
        """
        key = str(lock_path(path))
        if key not in self._claims:
            self._claims[key] = claim(path)

    def release_checkpoints(self) -> None:
        """Give up this scorer's claims on checkpoint files (:meth:`claim_checkpoint`):
        once no scorer of this process claims a file, another process may take it."""
        claims, self._claims = self._claims, {}
        for held in claims.values():
            held.release()

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
            value = count_of(
                counters.get(name, 0 if name in _OPTIONAL_COUNTERS else None),
                path,
                f"counter {name!r}",
            )
            if name == "clock":
                _row(path, "counter 'clock'", lambda t: time_of(t, "time"), value)
            setattr(self, name, value)
        extra = snap.meta.get("extra", {})
        if not isinstance(extra, dict):
            raise CheckpointError(f"{path}: meta 'extra' is not an object")
        self.checkpoint_extra = dict(extra)
        self._oldest = _row(path, "meta 'expiry_oldest'", _values.oldest_in, snap.meta)
        # a file written before the cap (without it in its config) may hold more: kept whole
        capped = "max_account_contacts" in snap.meta["config"]
        for aid, state in snap.accounts():
            key = _key(aid, path, what="account id")
            if key in self._accounts:
                raise CheckpointError(f"{path}: account {key!r} appears twice")
            account = _row(path, f"account {key!r}", AccountState.from_json, state)
            held = max(len(account.contacts), len(account.met or ()))
            if capped and held > self.max_account_contacts:
                raise CheckpointError(
                    f"{path}: account {key!r} holds {held} contacts or pairs, more than its "
                    f"max_account_contacts {self.max_account_contacts}: the file was changed "
                    "after it was written"
                )
            self._accounts[key] = account
            self._check_held(path, "accounts", self._accounts, 2 * self.max_conversations)
        for cid, initiator, responder, state in snap.conversations():
            key = _key(cid, path, MAX_PAIR_ID_LENGTH, "conversation id")
            if key in self._conversations:
                raise CheckpointError(f"{path}: conversation {key!r} appears twice")
            side = f"conversation {key!r}: account id"
            read = partial(
                ConversationState.from_json,
                _key(initiator, path, what=side),
                _key(responder, path, what=side),
            )
            conv = _row(path, f"conversation {key!r}", read, state)
            if conv.room is not None:
                _check_room(path, key, conv)
            conv.pair = pair_facts_of(self._accounts, conv.initiator, conv.responder)
            self._conversations[key] = conv
            self._index(conv.adult_id(), key)
            self._pair_convs.join(key, conv)
            self._check_held(path, "conversations", self._conversations, self.max_conversations)
        own = partial(_pairs.restore_own_pair_facts, self._conversations)
        _row(path, "meta 'own_pairs'", own, snap.meta.get("own_pairs", []))
        rooms = snap.meta.get("rooms", [])
        if not isinstance(rooms, list):
            raise CheckpointError(f"{path}: meta 'rooms' is not a list of [id, time]")
        for entry in rooms:
            if not (isinstance(entry, list) and len(entry) == 2):
                raise CheckpointError(f"{path}: meta 'rooms' entry {entry!r} is not [id, time]")
            room = _key(entry[0], path)
            if room in self._rooms:
                raise CheckpointError(f"{path}: room {room!r} appears twice in meta 'rooms'")
            self._rooms[room] = _row(path, f"room {room!r}", lambda t: time_of(t, "time"), entry[1])
            self._check_held(path, "group rooms", self._rooms, self.max_conversations)
        self._pair_rooms(path)
        reach = snap.meta.get("room_reach")  # absent from the files of earlier versions
        self._reach = _row(path, "meta 'room_reach'", RoomReach.from_json, reach)
        self._check_clock(path)
        # Membership comes from the conversations; the stored order (absent from
        # checkpoints of earlier versions) only reorders it.
        for aid, cids in _adult_index(snap):
            convs = self._adult_convs.get(aid)
            if convs is not None:  # an adult no longer held is passed on
                ordered: dict[object, None] = dict.fromkeys(cid for cid in cids if cid in convs)
                ordered.update(convs)
                self._adult_convs[aid] = ordered

    def _pair_rooms(self, path: object) -> None:
        """Index each pair under its room, refusing a pair whose room is not held: a scorer
        forgets a room with its pairs (idle expiry, the room cap), so it never writes one.

        Raises
        ------
        CheckpointError
            A pair of a room the file does not hold (meta ``rooms``).
        """
        for cid, conv in self._conversations.items():
            if conv.room is None:
                continue
            if conv.room not in self._rooms:
                raise CheckpointError(
                    f"{path}: conversation {cid!r} is stored as the pair of group room "
                    f"{conv.room!r}, which meta 'rooms' does not hold; a scorer forgets a room "
                    "with its pairs, so the file was changed after it was written"
                )
            self._join_room(conv.room, cid, conv)

    def _check_clock(self, path: object) -> None:
        """Refuse a clock earlier than a time the file holds: a scorer's clock is the latest
        time of the events it applied, so no conversation, room or account is later (one
        that were would hold every later event to a past clock's limits)."""
        convs = (c.max_ts for c in self._conversations.values())
        accounts = (a.last_seen for a in self._accounts.values())
        # expiry_oldest is the time of an entry held too: later, nothing would ever expire
        latest = max(chain(convs, self._rooms.values(), accounts, [self._oldest]))
        if latest > self.clock:
            raise CheckpointError(
                f"{path}: counter 'clock' {self.clock} is earlier than the latest event time it "
                f"holds ({latest}); a scorer's clock is the latest time of the events it "
                "applied, so the file was changed after it was written"
            )

    def _check_held(self, path: object, what: str, held: Mapping[Any, Any], cap: int) -> None:
        """Refuse a checkpoint holding more than the scorer keeps (its ``max_conversations``
        stored with it): a scorer never writes one, and it would be restored over its cap."""
        if len(held) > cap:
            raise CheckpointError(
                f"{path}: holds more {what} than its limit of {cap} (max_conversations "
                f"{self.max_conversations}): the file was changed after it was written"
            )


def count_of(value: Any, path: object, what: str) -> int:
    """A count read from a checkpoint (``what`` names it in the error): an int from 0 to
    :data:`MAX_COUNT`, as a scorer writes it.

    Raises
    ------
    CheckpointError
        Naming ``path``, ``what`` and the value (cut).
    """
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise CheckpointError(
            f"{path}: {what} must be an int from 0 to {MAX_COUNT}, found {show(value)}"
        )
    return value


def _adult_index(snap: _checkpoint.Snapshot) -> list[tuple[Any, list[Any]]]:
    """The stored order of each adult's live conversations, checked: ``[id, [ids]]``
    entries of ids (:func:`_key`), no adult twice and no conversation twice in one entry,
    as a scorer writes them (an adult or a conversation no longer held is passed on).

    Raises
    ------
    CheckpointError
        A malformed entry, naming it.
    """
    path = snap.path
    entries = snap.meta.get("adult_index", [])
    if not isinstance(entries, list):
        raise CheckpointError(f"{path}: meta 'adult_index' is not a list of [id, [ids]]")
    out: dict[Any, list[Any]] = {}
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], list)):
            raise CheckpointError(
                f"{path}: meta 'adult_index' entry {show(entry)} is not [id, [ids]]"
            )
        aid = _key(entry[0], path, what="meta 'adult_index': adult")
        if aid in out:
            raise CheckpointError(f"{path}: meta 'adult_index': adult {aid!r} appears twice")
        what = f"meta 'adult_index': a conversation of adult {aid!r}"
        cids = [_key(cid, path, MAX_PAIR_ID_LENGTH, what) for cid in entry[1]]
        if len(set(cids)) != len(cids):
            twice = next(cid for i, cid in enumerate(cids) if cid in cids[:i])
            raise CheckpointError(
                f"{path}: meta 'adult_index': conversation {twice!r} appears twice for "
                f"adult {aid!r}"
            )
        out[aid] = cids
    return list(out.items())


def _key(value: Any, path: object, max_length: int = MAX_ID_LENGTH, what: str = "id") -> Any:
    """An id read from a checkpoint, by the rule of the id columns of events: an int
    (:func:`~riskscore.io.ids.integer_id_problem`) or printable, non-blank text of at most
    ``max_length`` characters (:func:`~riskscore.io.ids.text_id_problem`;
    :data:`MAX_PAIR_ID_LENGTH` for a conversation, which may be the pair of a group room);
    ``what`` names it in the error."""
    if type(value) is int:
        if integer_id_problem(value) is None:
            return value
    elif type(value) is str and len(value) <= max_length:
        problem = text_id_problem(value, max_length=max_length)
        if problem is None:
            return value
        raise CheckpointError(f"{path}: {what} {show(value)} {problem}")
    raise CheckpointError(
        f"{path}: {what} {show(value)} is not an integer id or a str of at most {max_length} "
        "characters"
    )


def _check_room(path: object, cid: Any, conv: ConversationState) -> None:
    """Refuse a conversation whose stored room is not an id, or does not derive its id
    with its two accounts: restored, it would take another conversation's events."""
    room = _key(conv.room, path, what=f"conversation {cid!r}: group room")
    if cid != pair_conversation_id(room, conv.initiator, conv.responder):
        raise CheckpointError(
            f"{path}: conversation {cid!r} is stored as the pair of group room {room!r}, "
            "whose pair id for its two accounts it is not: the file was changed after it "
            "was written"
        )


def _row(path: object, what: str, read: Callable[[Any], T], data: Any) -> T:
    """``read(data)``, its ValueError or TypeError raised as a CheckpointError naming
    ``what`` (the row)."""
    try:
        return read(data)
    except (ValueError, TypeError, OverflowError) as exc:
        raise CheckpointError(f"{path}: {what} is malformed: {exc}") from None


def _version() -> str:
    return __version__


def config_of(snap: _checkpoint.Snapshot) -> dict[str, Any]:
    """The scorer's constructor arguments stored in a checkpoint, checked."""
    config = snap.meta.get("config")
    if not isinstance(config, dict):
        raise CheckpointError(f"{snap.path}: meta 'config' is missing or not an object")
    for name in _NUMBER_CONFIG:
        value: Any = config.get(name)
        if name in config and not (value is None or (is_real(value) and value >= 0)):
            raise CheckpointError(
                f"{snap.path}: meta 'config' {name!r} must be a finite number >= 0 or null "
                f"(no limit), found {show(value)}"
            )
    for name, low, high in _WHOLE_CONFIG:
        value = config.get(name)
        if name in config and not (type(value) is int and low <= value <= high):
            raise CheckpointError(
                f"{snap.path}: meta 'config' {name!r} must be an int from {low} to {high}, "
                f"found {show(value)}"
            )
    if config.get("time_source") not in ("wall", "events", None):
        raise CheckpointError(
            f"{snap.path}: meta 'config' 'time_source' must be \"wall\", \"events\" or null, "
            f"found {show(config.get('time_source'))}"
        )
    try:
        out: dict[str, Any] = {
            "idle_expiry_s": inf_if_none(config["idle_expiry_s"]),
            "cooldown_s": inf_if_none(config["cooldown_s"]),
            "reorder_tolerance_s": inf_if_none(config["reorder_tolerance_s"]),
            "max_future_s": inf_if_none(config.get("max_future_s", DEFAULT_MAX_FUTURE_S)),
            "max_conversations": config.get("max_conversations", DEFAULT_MAX_CONVERSATIONS),
            "max_room_members": config.get("max_room_members", DEFAULT_MAX_ROOM_MEMBERS),
            "max_account_contacts": config.get(
                "max_account_contacts", DEFAULT_MAX_ACCOUNT_CONTACTS
            ),
            "time_source": "events" if config.get("time_source") == "events" else "wall",
        }
    except KeyError as exc:
        raise CheckpointError(f"{snap.path}: meta 'config' has no {exc}") from None
    return out
