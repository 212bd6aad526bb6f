"""Per-conversation and per-account state of the online scorer (private).

A conversation's state is the event kernel's state vector
(:mod:`riskscore.features.kernel`): each event is one call of the same compiled
update that batch extraction loops over (:mod:`riskscore.online.risk` makes it, with the
accounts' :func:`tally`, the pair's :func:`~riskscore.online.pairs.meet` and the model, one
compiled call), so after every event :meth:`ConversationState.features_with` gives the batch
features of the events seen so far (``tests/test_online.py`` checks it). An account keeps the sets
that make its distinct counts (contacts, minors, minors on private channels;
:meth:`AccountState.note_contact`) and its tallies.

Events reach a conversation in non-decreasing time: the scorer clamps a slightly
late event to the conversation's latest time before applying it.

Both classes serialize to JSON-ready lists (``to_json`` / ``from_json``) for
checkpoints; NaN is written as ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk
from riskscore.features.kernel import (
    adult_side,
    conversation_features,
    is_supervised,
    new_state,
    supervised_share,
)
from riskscore.features.registry import FEATURE_NAMES
from riskscore.features.slots import (
    A_ACCEPTS,
    A_CONTACTS,
    A_FLAGGED,
    A_MINOR_EVENTS,
    A_MINORS,
    A_PRIVATE_MINORS,
    A_REQUESTS,
    A_SUPERVISED_EVENTS,
    ACCOUNT_PARTS,
    ACCOUNT_SLOTS,
    N_ACCOUNT_SLOTS,
    N_EVENTS,
    T_FIRST,
    T_LAST,
)
from riskscore.io.groups import is_group_contact
from riskscore.io.schema import (
    MINOR_AGE,
    Channel,
    EventType,
)
from riskscore.online.checkpoint_values import (
    ids_in,
    number_in,
    numbers_in_range,
    out_value,
    pair_facts_in,
    state_in,
    time_of,
)

FloatArray = npt.NDArray[np.float64]

_MESSAGE, _MEDIA = int(EventType.MESSAGE), int(EventType.MEDIA)
_REQUEST, _ACCEPT = int(EventType.CONTACT_REQUEST), int(EventType.CONTACT_ACCEPT)
_BLOCK, _REPORT = int(EventType.BLOCK), int(EventType.REPORT)
_PRIVATE = int(Channel.EPHEMERAL)
_DIRECT = int(Channel.DIRECT)
_INF = math.inf
_CONTACT = frozenset((_MESSAGE, _MEDIA, _REQUEST))
_N_FEATURES = len(FEATURE_NAMES)
_FRESH = new_state()  # the state before any event (copied: cheaper than building one)
_FRESH.flags.writeable = False
#: Bits of :meth:`AccountState.note_contact`: the event is direct contact (not group
#: contact), and it added its recipient to the sender's contacts, minors, private minors.
DIRECT_CONTACT, NEW_CONTACT, NEW_MINOR, NEW_PRIVATE_MINOR = 1, 2, 4, 8
#: Bit of :meth:`AccountState.note_contact`: the recipient is new to the sender, whose
#: contacts are full (``max_account_contacts``), so it is not held nor counted.
CONTACT_CAPPED = 16
#: Bits of what an event (:func:`tally`, :func:`~riskscore.online.pairs.meet`) changed beyond
#: its own conversation: the per-account features of the sender (1) or the recipient (2),
#: and the pair's facts (4).
ACCOUNT_CHANGED = 3
PAIR_CHANGED = 4
#: Tallies of an account that did nothing else (read only).
NO_ACCOUNT = np.zeros(N_ACCOUNT_SLOTS)
NO_ACCOUNT.flags.writeable = False


#: The facts of a pair of accounts (:mod:`riskscore.features.pairs`): ``[first, private]``,
#: one array shared by the pair's conversations and held by the pair's lower account id.
PairFacts = FloatArray


def _in_one_order(ids: set[object]) -> list[object]:
    """The ids of a set as a checkpoint lists them: integers, then texts, each ascending.
    A set's own order is its hash table's, and a text's hash changes with every process
    (``PYTHONHASHSEED``): the same events gave checkpoints of other bytes."""
    return sorted(ids, key=lambda i: (isinstance(i, str), i))


class AccountState:
    """What one account did, for the per-account features: the sets behind its distinct
    counts and its tallies (:data:`riskscore.features.kernel.ACCOUNT_SLOTS`), and the facts
    of its pairs with accounts of higher id (``met``, None until it has any)."""

    __slots__ = ("contacts", "last_seen", "met", "minors", "private_minors", "stale", "tallies")

    def __init__(self) -> None:
        self.contacts: set[object] = set()
        self.minors: set[object] = set()
        self.private_minors: set[object] = set()
        self.tallies = np.zeros(N_ACCOUNT_SLOTS)
        self.last_seen = 0
        self.met: dict[object, PairFacts] | None = None
        #: Its conversations' risks may have been scored with another state of this account
        #: (it expired and came back): its next change re-scores them all.
        self.stale = False

    def note_contact(
        self,
        recipient_id: object,
        recipient_age: float,
        channel: int,
        event: int,
        room_size: int,
        most: int,
    ) -> int:
        """Add the recipient of an event this account sent to its distinct counts, when
        they hold fewer than ``most`` accounts; return the bits :func:`tally` reads (0 for
        an event that is no direct contact; :data:`CONTACT_CAPPED` for a new recipient not
        held). Group contact is not contact with each member (:mod:`riskscore.io.groups`).
        """
        if event not in _CONTACT or (room_size and is_group_contact(room_size, event)):
            return 0
        novel = DIRECT_CONTACT
        if recipient_id not in self.contacts:
            if len(self.contacts) >= most:  # a flood of new ids: the counts stop here
                return DIRECT_CONTACT | CONTACT_CAPPED
            self.contacts.add(recipient_id)
            novel |= NEW_CONTACT
        if recipient_age < MINOR_AGE:  # False for NaN, as in the batch code
            if recipient_id not in self.minors:
                self.minors.add(recipient_id)
                novel |= NEW_MINOR
            if channel >= _PRIVATE and recipient_id not in self.private_minors:
                self.private_minors.add(recipient_id)
                novel |= NEW_PRIVATE_MINOR
        return novel

    def to_json(self) -> list[Any]:
        """JSON-ready state (for checkpoints)."""
        met = [[other, float(first), _finite(float(private))] for other, (first, private) in
               (self.met or {}).items()]  # fmt: skip
        return [
            _in_one_order(self.contacts),
            _in_one_order(self.minors),
            _in_one_order(self.private_minors),
            [float(v) for v in self.tallies],
            self.last_seen,
            met,
            self.stale,
        ]

    @classmethod
    def from_json(cls, data: list[Any]) -> AccountState:
        """Inverse of :meth:`to_json`.

        Raises
        ------
        ValueError
            A value of the wrong type or out of its range, named.
        """
        state = cls()
        if len(data) != 7:
            raise ValueError(
                "account state must be [contacts, minors, private minors, tallies, last seen, "
                "pairs, stale]"
            )
        contacts, minors, private_minors, tallies, last_seen, met, stale = data
        if type(stale) is not bool:
            raise ValueError(f"account 'stale' must be true or false, found {stale!r}")
        state.stale = stale
        state.contacts = ids_in(contacts, "contacts")
        state.minors = ids_in(minors, "minors")
        state.private_minors = ids_in(private_minors, "private minors")
        if not isinstance(tallies, list) or len(tallies) != N_ACCOUNT_SLOTS:
            raise ValueError(
                f"account tallies must hold {N_ACCOUNT_SLOTS} numbers, got "
                f"{len(tallies) if isinstance(tallies, list) else repr(tallies)}: a checkpoint "
                "of another riskscore version; replay the events into a new scorer"
            )
        tallies_in = numbers_in_range(tallies, 0.0, _INF)
        if tallies_in is None:
            tallies_in = np.array(
                [number_in(v, "account tally") for v in tallies], dtype=np.float64
            )
        state.tallies = tallies_in
        if not ((state.tallies >= 0) & (state.tallies == np.floor(state.tallies))).all():
            raise ValueError(
                f"account tallies must be numbers >= 0, whole (counts), found {tallies!r}"
            )
        for part, whole in ACCOUNT_PARTS:  # as a file's: a share above 1 otherwise
            if state.tallies[part] > state.tallies[whole]:
                raise ValueError(
                    f"account tally {ACCOUNT_SLOTS[part]!r} ({tallies[part]!r}) is more than "
                    f"its {ACCOUNT_SLOTS[whole]!r} ({tallies[whole]!r})"
                )
        state.last_seen = time_of(last_seen, "account last seen")
        if not isinstance(met, list):
            raise ValueError("account pairs must be a list of [id, first, private]")
        if met:
            state.met = {}
            for entry in met:
                if not (isinstance(entry, list) and len(entry) == 3):
                    raise ValueError(f"account pair {entry!r} is not [id, first, private]")
                other, first, private = entry
                if type(other) not in (int, str) or other in state.met:
                    raise ValueError(f"account pair id {other!r} is not an int or str, or twice")
                state.met[other] = np.array(pair_facts_in(first, private))
        return state


def _finite(value: float) -> float | None:
    return None if value == _INF else value


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def tally(
    sender: FloatArray,
    recipient: FloatArray,
    novel: int,
    recipient_age: float,
    sender_age: float,
    channel: int,
    event: int,
    room_size: int,
) -> int:
    """Update both accounts' tallies with one event; return which one's per-account
    features moved: 0 neither (most events), 1 the sender's, 2 the recipient's.

    ``novel`` holds the bits of :meth:`AccountState.note_contact` (whether the event is
    direct contact, and what it added to the sender's distinct counts). Group contact
    counts in the events sent to minors, not as contact with each member
    (:mod:`riskscore.io.groups`).
    """
    changed = 0
    contact = (event == _MESSAGE) | (event == _MEDIA) | (event == _REQUEST)
    # False for a NaN age, as in the batch code; group contact counts here.
    if contact and recipient_age < MINOR_AGE:
        share = supervised_share(sender[A_SUPERVISED_EVENTS], sender[A_MINOR_EVENTS])
        sender[A_MINOR_EVENTS] += 1.0
        if is_supervised(channel, room_size):
            sender[A_SUPERVISED_EVENTS] += 1.0
        if supervised_share(sender[A_SUPERVISED_EVENTS], sender[A_MINOR_EVENTS]) != share:
            changed = 1
    if novel & DIRECT_CONTACT:
        if novel & NEW_CONTACT:
            sender[A_CONTACTS] += 1.0
            if sender[A_MINORS] > 0.0:  # the minor share moves with every new contact
                changed = 1
        if novel & NEW_MINOR:
            sender[A_MINORS] += 1.0
            changed = 1
        if novel & NEW_PRIVATE_MINOR:
            sender[A_PRIVATE_MINORS] += 1.0
            changed = 1
        if event == _REQUEST:
            # Unaccepted requests (and their share) move unless accepts still cover them.
            if sender[A_REQUESTS] >= sender[A_ACCEPTS]:
                changed = 1
            sender[A_REQUESTS] += 1.0
    elif event == _ACCEPT:
        if recipient[A_REQUESTS] > recipient[A_ACCEPTS]:
            changed = 2
        recipient[A_ACCEPTS] += 1.0
    elif ((event == _BLOCK) | (event == _REPORT)) and sender_age < MINOR_AGE:
        recipient[A_FLAGGED] += 1.0
        changed = 2
    return changed


class ConversationState:
    """One conversation: the kernel's state vector, its two accounts' ids, and alert
    bookkeeping (of the production model, and of a shadow model when one is scored)."""

    __slots__ = (
        "adult_i",
        "initiator",
        "last_alert_ts",
        "max_ts",
        "n_alerted_tier",
        "pair",
        "responder",
        "risk",
        "room",
        "shadow_alert_ts",
        "shadow_tier",
        "slack",
        "state",
    )

    def __init__(self, initiator: object, responder: object) -> None:
        self.initiator = initiator
        self.responder = responder
        self.state = _FRESH.copy()
        self.pair: PairFacts | None = None  # shared with the pair's other conversations
        self.adult_i = True  # the role rule before any event
        self.n_alerted_tier = 0
        self.last_alert_ts: int | None = None
        self.risk = math.nan
        #: 0.0 when ``risk`` is the conversation's current risk. Otherwise re-scoring it was
        #: deferred (riskscore.online.rescore): its margin may have moved from the one
        #: ``risk`` was computed at by up to this much, not enough to reach a review
        #: threshold, and ``risk`` is computed again before anyone reads it.
        self.slack = 0.0
        # the shadow model's alerts (riskscore.online.shadow), apart from production's
        self.shadow_tier = 0
        self.shadow_alert_ts: int | None = None
        #: Time of the latest event (0 before any), as an int (the state holds it too).
        self.max_ts = 0
        #: The group room whose pair this is, None for a conversation of its own: only it
        #: reaches the pair (a pair id may also be a given id, or that of room "1" for 1).
        self.room: object = None

    @property
    def min_ts(self) -> int:
        """Time of the first event (0 before any)."""
        return int(self.state[T_FIRST])

    @property
    def n_events(self) -> int:
        """Events applied."""
        return int(self.state[N_EVENTS])

    def adult_id(self) -> object:
        """The account id currently taken as the adult's."""
        return self.initiator if self.adult_i else self.responder

    def features(self, accounts: Mapping[object, AccountState]) -> FloatArray:
        """The feature row, in :data:`riskscore.FEATURE_NAMES` order; the adult's account
        state (zeros when it is not held) gives the per-account features."""
        return self.features_with(accounts.get(self.adult_id()))

    def features_with(self, adult: AccountState | None) -> FloatArray:
        """:meth:`features` given the adult's account state (None: not held)."""
        row = np.empty(_N_FEATURES)
        first, private = (_INF, _INF) if self.pair is None else self.pair
        conversation_features(
            self.state, NO_ACCOUNT if adult is None else adult.tallies, first, private, row
        )
        return row

    def to_json(self) -> list[Any]:
        """JSON-ready state (for checkpoints); ids are stored by the caller. The shadow
        model's alert bookkeeping is appended only when a shadow alerted or the pair has a
        room, which comes last."""
        data = [
            [out_value(float(v)) for v in self.state],
            self.n_alerted_tier,
            self.last_alert_ts,
            out_value(self.risk),
        ]
        if self.shadow_tier or self.shadow_alert_ts is not None or self.room is not None:
            data += [self.shadow_tier, self.shadow_alert_ts]
        if self.room is not None:
            data.append(self.room)
        return data

    @classmethod
    def from_json(cls, initiator: object, responder: object, data: list[Any]) -> ConversationState:
        """Inverse of :meth:`to_json` (the caller checks a room against the pair's id).

        Raises
        ------
        ValueError
            A value of the wrong type or out of its range, named, or the same account
            as initiator and responder.
        """
        if initiator == responder:
            # an event from an account to itself is refused (riskscore.io.validate)
            raise ValueError(f"its two accounts must differ, found {initiator!r} on both sides")
        s = cls(initiator, responder)
        if len(data) not in (4, 6, 7):
            raise ValueError(
                "conversation state must be [state, tier, alert time, risk] (and the shadow "
                "model's tier and alert time, and the group room)"
            )
        if len(data) == 7:
            *data, s.room = data
        if len(data) == 6:
            *data, s.shadow_tier, s.shadow_alert_ts = data
            if type(s.shadow_tier) is not int or not 0 <= s.shadow_tier <= 2:
                raise ValueError(f"shadow tier must be 0, 1 or 2, found {s.shadow_tier!r}")
            if s.shadow_alert_ts is not None:
                time_of(s.shadow_alert_ts, "shadow alert time")
        state, s.n_alerted_tier, s.last_alert_ts, risk = data
        if type(s.n_alerted_tier) is not int or not 0 <= s.n_alerted_tier <= 2:
            raise ValueError(f"alerted tier must be 0, 1 or 2, found {s.n_alerted_tier!r}")
        if s.last_alert_ts is not None:
            time_of(s.last_alert_ts, "alert time")
        s.state = state_in(state)
        s.adult_i = adult_side(s.state) == 1
        s.max_ts = int(s.state[T_LAST])
        s.risk = number_in(risk, "risk")
        if not (0.0 <= s.risk <= 1.0 or s.risk != s.risk):
            raise ValueError(f"risk must be in [0, 1] or null, found {risk!r}")
        return s
