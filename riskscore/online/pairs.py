"""The facts of a pair of accounts online (private): when and on which channel the two first
met, and when they first went private (``pair_met_channel``, ``pair_hours_to_private``). A
pair's facts are held by the account state of its lower id, keyed by the other id; the
compiled :func:`meet` updates them with each event, as the batch kernel does."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numba
import numpy as np

from riskscore._jit_cache import jit_cache_on_disk
from riskscore.features.kernel import PAIR_KEY_CHANNELS
from riskscore.io.schema import Channel
from riskscore.online.checkpoint_values import pair_facts_in
from riskscore.online.state import AccountState, ConversationState, PairFacts

__all__ = [
    "PairConversations",
    "meet",
    "own_pair_facts",
    "pair_facts",
    "pair_facts_of",
    "pair_key",
    "restore_own_pair_facts",
]

_DIRECT = int(Channel.DIRECT)
_INF = math.inf
#: The facts of a pair before its first event (copied for each new pair).
_NEW_PAIR = np.full(2, _INF)
_NEW_PAIR.flags.writeable = False


def _first_of_two_types(a: Any) -> bool:
    """Whether ``a`` comes first of two ids that do not compare, an integer and a text (an
    event's integer id beside the decimal text of one beyond int64): the integer does.
    Ids that compare come lower first (:func:`pair_key`; inline, a call less per event)."""
    return isinstance(a, int)


def pair_key(a: object, b: object) -> tuple[object, object]:
    """The ids of a pair of accounts in one order, the lower first (as its facts are held).

    Examples
    --------
    >>> pair_key("b", "a"), pair_key(7, "7")
    (('a', 'b'), (7, '7'))
    """
    try:
        lower = a <= b  # type: ignore[operator]
    except TypeError:
        lower = _first_of_two_types(a)
    return (a, b) if lower else (b, a)


def pair_facts(
    sender: AccountState,
    recipient: AccountState,
    sender_id: object,
    recipient_id: object,
    held: PairFacts | None,
    most: int,
) -> PairFacts | None:
    """The facts of the pair of an event, held by its lower account id (new ones, ``inf``
    both, the first time the two meet; :func:`meet` then fills them in). When that account
    holds the facts of ``most`` pairs already, a new pair's are not held by it: the event's
    conversation keeps them (``held``, its facts so far; None for a new conversation, whose
    facts :meth:`PairConversations.kept` gives)."""
    try:  # inline, one call less per event: the ids of an event are mostly of one type
        lower = sender_id <= recipient_id  # type: ignore[operator]
    except TypeError:
        lower = _first_of_two_types(sender_id)
    if lower:
        holder, other = sender, recipient_id
    else:
        holder, other = recipient, sender_id
    met = holder.met
    if met is None:
        met = holder.met = {}
    facts = met.get(other)
    if facts is None:
        if len(met) >= most:  # a flood of new ids: the conversations keep them
            return held
        facts = met[other] = _NEW_PAIR.copy()  # a copy: a fraction of np.full's cost
    return facts


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def meet(facts: PairFacts, ts: int, channel: int) -> bool:
    """Update the facts of a pair with an event on ``channel`` at ``ts``; return whether
    facts the pair already had changed (its other conversations' features then change)."""
    key = float(ts) * PAIR_KEY_CHANNELS + channel
    if facts[0] == _INF:  # the pair's first event
        facts[0] = key
        facts[1] = float(ts) if channel >= _DIRECT else _INF
        return False
    moved = False
    if key < facts[0]:
        facts[0] = key
        moved = True
    if channel >= _DIRECT and ts < facts[1]:
        facts[1] = float(ts)
        moved = True
    return moved


def pair_facts_of(
    accounts: Mapping[object, AccountState], a: object, b: object
) -> PairFacts | None:
    """The facts of the pair ``(a, b)`` as held, or None."""
    lo, hi = pair_key(a, b)
    holder = accounts.get(lo)
    if holder is None or holder.met is None:
        return None
    return holder.met.get(hi)


def own_pair_facts(
    conversations: Mapping[object, ConversationState], accounts: Mapping[object, AccountState]
) -> list[list[Any]]:
    """``[conversation id, first, private]`` (``private`` None while infinite) of each
    conversation keeping its pair's facts itself, as :func:`pair_facts` leaves them past
    ``max_account_contacts``: the pair's lower account does not hold them, so a checkpoint
    of the accounts alone loses them (:func:`restore_own_pair_facts` reads them back)."""
    out = []
    for cid, conv in conversations.items():
        facts = conv.pair
        if facts is not None and facts is not pair_facts_of(
            accounts, conv.initiator, conv.responder
        ):
            private = float(facts[1])
            out.append([cid, float(facts[0]), None if private == _INF else private])
    return out


def restore_own_pair_facts(
    conversations: Mapping[object, ConversationState], entries: object
) -> None:
    """Give back each conversation the pair facts :func:`own_pair_facts` stored with it.

    Raises
    ------
    ValueError
        An entry that is not ``[id, first, private]`` of a conversation held, or twice.
    """
    if not isinstance(entries, list):
        raise ValueError("must be a list of [conversation id, first, private]")
    seen = set()
    shared: dict[tuple[object, ...], PairFacts] = {}  # a pair's conversations share them
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 3):
            raise ValueError(f"{entry!r:.80} is not [conversation id, first, private]")
        cid, first, private = entry
        if type(cid) not in (int, str) or cid not in conversations or cid in seen:
            raise ValueError(f"conversation {cid!r:.80} is not held, or is given twice")
        seen.add(cid)
        conv = conversations[cid]
        facts = pair_facts_in(first, private)
        key = (*pair_key(conv.initiator, conv.responder), *facts)
        conv.pair = shared.setdefault(key, np.array(facts))


class PairConversations:
    """The ids of the live conversations of each pair of accounts, in the order they joined.

    When an event moves the facts of a pair (:func:`meet`), the pair's other conversations
    are re-scored: found here, the cost is that of the pair's own conversations, not of
    every conversation its two accounts have (an account in touch with thousands). One
    entry per live conversation: a pair's one id as is, the ids of several as a tuple.
    """

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held: dict[tuple[object, object], object] = {}

    def join(self, cid: object, conv: ConversationState) -> None:
        """Hold live conversation ``cid`` under the pair of its two accounts."""
        key = pair_key(conv.initiator, conv.responder)
        held = self._held.get(key)
        if held is None:
            self._held[key] = cid
        else:
            self._held[key] = (*held, cid) if isinstance(held, tuple) else (held, cid)

    def leave(self, cid: object, conv: ConversationState) -> None:
        """Forget conversation ``cid`` (no longer live, or held under another id)."""
        key = pair_key(conv.initiator, conv.responder)
        held = self._held.get(key)
        if not isinstance(held, tuple):  # the pair's one conversation (ids are int or str)
            if _same_id(held, cid):
                del self._held[key]
            return
        rest = tuple(other for other in held if not _same_id(other, cid))
        self._held[key] = rest[0] if len(rest) == 1 else rest

    def of(self, a: object, b: object) -> tuple[object, ...]:
        """Ids of the live conversations between accounts ``a`` and ``b``."""
        held = self._held.get(pair_key(a, b))
        if held is None:
            return ()
        return held if isinstance(held, tuple) else (held,)

    def kept(
        self, conv: ConversationState, conversations: Mapping[object, ConversationState]
    ) -> PairFacts:
        """The facts of the pair of ``conv`` another of its live conversations has, or new
        ones: a new conversation of a pair whose lower account holds ``max_account_contacts``
        pairs shares them (:func:`pair_facts`), as batch reads one pair across its
        conversations."""
        for cid in self.of(conv.initiator, conv.responder):
            other = conversations.get(cid)
            if other is not None and other.pair is not None:
                return other.pair
        return _NEW_PAIR.copy()

    def pairs(self) -> dict[tuple[object, object], tuple[object, ...]]:
        """Every pair held (:func:`pair_key`) and the ids of its live conversations."""
        return {key: self.of(*key) for key in self._held}


def _same_id(a: object, b: object) -> bool:
    """Whether two conversation ids are one: equal and of one type (7 is not "7")."""
    return type(a) is type(b) and a == b
