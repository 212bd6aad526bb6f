"""O(1) per-event state that reproduces the batch features (private).

One ``ConversationState`` per conversation and one ``AccountState`` per account.
Each update is a handful of float operations; :meth:`ConversationState.features`
assembles the same vector :func:`riskscore.extract_features` computes for the
events seen so far (to 1e-9; ``tests/test_online.py`` checks it).

Events reach a conversation in non-decreasing time: the scorer clamps a
slightly late event to the conversation's latest time before calling
:meth:`ConversationState.update` (see ``docs/online.md``), so every running
aggregate here is a plain forward update.

Both classes serialize to JSON-ready lists (``to_json`` / ``from_json``) for
checkpoints; NaN ages are written as ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from riskscore.feature_specs import (
    NIGHT_END_MIN,
    NIGHT_START_MIN,
    TAU_LONG_S,
    TAU_SECURE_MOVE_S,
    TAU_SHORT_S,
)
from riskscore.schema import MINOR_AGE, Channel, EventType

NAN = math.nan
_MESSAGE, _MEDIA = int(EventType.MESSAGE), int(EventType.MEDIA)
_REQUEST, _ACCEPT = int(EventType.CONTACT_REQUEST), int(EventType.CONTACT_ACCEPT)
_BLOCK, _REPORT = int(EventType.BLOCK), int(EventType.REPORT)
_EPHEMERAL, _EXTERNAL = int(Channel.EPHEMERAL), int(Channel.EXTERNAL)
_SHORT_DAYS = TAU_SHORT_S / 86_400.0
_LONG_DAYS = TAU_LONG_S / 86_400.0
_EXP = math.exp
# Bits of the events of each kind, for one set-membership test per event.
_COMM = frozenset((_MESSAGE, _MEDIA))
_CONTACT = frozenset((_MESSAGE, _MEDIA, _REQUEST))
_SAFETY = frozenset((_BLOCK, _REPORT))


def adult_is_initiator(initiator_age: float, responder_age: float) -> bool:
    """Scalar twin of :func:`riskscore._roles.adult_is_initiator`."""
    i_known = initiator_age == initiator_age
    r_known = responder_age == responder_age
    if i_known and r_known:
        return initiator_age >= responder_age
    if i_known:
        return initiator_age >= MINOR_AGE
    if r_known:
        return responder_age < MINOR_AGE
    return True


def _age_out(age: float) -> float | None:
    return None if age != age else age


def _age_in(age: Any) -> float:
    return NAN if age is None else float(age)


class AccountState:
    """What one account did, for the per-sender features."""

    __slots__ = ("accepts", "contacts", "flagged", "last_seen", "minors", "requests")

    def __init__(self) -> None:
        self.contacts: set[object] = set()
        self.minors: set[object] = set()
        self.requests = 0
        self.accepts = 0
        self.flagged = 0
        self.last_seen = 0

    def sender_features(self) -> tuple[float, float, float, float]:
        n_minors = float(len(self.minors))
        n_contacts = len(self.contacts)
        return (
            n_minors,
            n_minors / n_contacts if n_contacts else 0.0,
            float(self.requests - self.accepts if self.requests > self.accepts else 0),
            float(self.flagged),
        )

    def to_json(self) -> list[Any]:
        """JSON-ready state (for checkpoints)."""
        return [
            list(self.contacts),
            list(self.minors),
            self.requests,
            self.accepts,
            self.flagged,
            self.last_seen,
        ]

    @classmethod
    def from_json(cls, data: list[Any]) -> AccountState:
        """Inverse of :meth:`to_json`."""
        state = cls()
        contacts, minors, state.requests, state.accepts, state.flagged, state.last_seen = data
        state.contacts = set(contacts)
        state.minors = set(minors)
        return state


def update_accounts(
    sender: AccountState,
    recipient: AccountState,
    recipient_id: object,
    event: int,
    sender_age: float,
    recipient_age: float,
) -> None:
    """Apply one event to its two accounts."""
    if event in _CONTACT:
        sender.contacts.add(recipient_id)
        if recipient_age < MINOR_AGE:  # False for NaN, as in the batch code
            sender.minors.add(recipient_id)
        if event == _REQUEST:
            sender.requests += 1
    elif event == _ACCEPT:
        recipient.accepts += 1
    elif event in _SAFETY and sender_age < MINOR_AGE:
        recipient.flagged += 1


class ConversationState:
    """Running aggregates of one conversation. Index 1 is the initiator, 0 the responder."""

    __slots__ = (
        "adult_i",
        "ages",
        "channels_used",
        "comm",
        "external",
        "first_secure",
        "initiator",
        "last_alert_ts",
        "last_offset",
        "long",
        "max_channel",
        "max_ts",
        "media",
        "min_ts",
        "n_alerted_tier",
        "n_events",
        "night",
        "responder",
        "risk",
        "run_length",
        "run_max",
        "run_side",
        "safety",
        "short",
        "upward_moves",
    )

    def __init__(self, initiator: object, responder: object) -> None:
        self.initiator = initiator
        self.responder = responder
        self.ages = [NAN, NAN]
        self.adult_i = True  # the role rule with no age known
        self.n_events = 0
        self.min_ts = 0
        self.max_ts = 0
        self.short = 0.0
        self.long = 0.0
        self.comm = [0, 0]
        self.run_side = -1
        self.run_length = 0
        self.run_max = [0, 0]
        self.last_offset: list[int | None] = [None, None]
        self.night = [0, 0]
        self.max_channel = -1
        self.channels_used = 0
        self.upward_moves = 0
        self.first_secure: int | None = None
        self.external = [0, 0]
        self.media = [0, 0]
        self.safety = [0, 0]
        self.n_alerted_tier = 0
        self.last_alert_ts: int | None = None
        self.risk = NAN

    def update(
        self,
        side: int,
        ts: int,
        sender_age: float,
        recipient_age: float,
        channel: int,
        event: int,
        tz_offset: int,
    ) -> None:
        """Apply one event sent by ``side`` (1: initiator); ``ts`` is never below ``max_ts``."""
        other = 1 - side
        ages = self.ages
        # NaN means unknown on this event: the last known age stays. The role is
        # re-derived only when an age actually changes (NaN != x is True).
        if sender_age == sender_age and sender_age != ages[side]:
            ages[side] = sender_age
            self.adult_i = adult_is_initiator(ages[1], ages[0])
        if recipient_age == recipient_age and recipient_age != ages[other]:
            ages[other] = recipient_age
            self.adult_i = adult_is_initiator(ages[1], ages[0])
        # Exponentially decayed counts, kept relative to the latest time seen.
        if self.n_events == 0:
            self.min_ts = self.max_ts = ts
            self.short = self.long = 1.0
            self.max_channel = channel
        else:
            if ts != self.max_ts:
                dt = float(ts - self.max_ts)
                self.short = self.short * _EXP(-dt / TAU_SHORT_S) + 1.0
                self.long = self.long * _EXP(-dt / TAU_LONG_S) + 1.0
                self.max_ts = ts
            else:
                self.short += 1.0
                self.long += 1.0
            if channel > self.max_channel:
                self.upward_moves += 1
                self.max_channel = channel
        # The recipient's own offset is known from this event; the sender's is its latest.
        last_offset = self.last_offset
        last_offset[other] = tz_offset
        if event in _COMM:
            self.comm[side] += 1
            if self.run_side == side:
                self.run_length += 1
            else:
                self.run_side = side
                self.run_length = 1
            if self.run_length > self.run_max[side]:
                self.run_max[side] = self.run_length
            minute = ts // 60
            known = last_offset[side]
            # The recipient's local time uses tz_offset; the sender's its latest known one.
            local = (minute + tz_offset) % 1440
            if local >= NIGHT_START_MIN or local < NIGHT_END_MIN:
                self.night[other] += 1
            if known is not None:
                local = (minute + known) % 1440
            if local >= NIGHT_START_MIN or local < NIGHT_END_MIN:
                self.night[side] += 1
            if event == _MEDIA:
                self.media[side] += 1
        elif event in _SAFETY:
            self.safety[side] += 1
        self.channels_used |= 1 << channel
        if channel >= _EPHEMERAL:
            if self.first_secure is None:
                self.first_secure = ts
            if channel == _EXTERNAL:
                self.external[side] += 1
        self.n_events += 1

    def features(self, accounts: Mapping[object, AccountState]) -> list[float]:
        """The feature vector, in :data:`riskscore.feature_specs.FEATURE_NAMES` order.

        ``accounts`` maps account ids to their state; the adult's gives the
        per-sender features (zeros when it is not held). Counts are left as
        ``int`` (they convert exactly).
        """
        age_r, age_i = self.ages
        adult_i = self.adult_i
        if adult_i:
            a, c = 1, 0
            adult_age, child_age = age_i, age_r
            adult = accounts.get(self.initiator)
        else:
            a, c = 0, 1
            adult_age, child_age = age_r, age_i
            adult = accounts.get(self.responder)
        child_known = child_age == child_age
        comm = self.comm
        n_comm = comm[0] + comm[1] or 1
        first_secure = self.first_secure
        if first_secure is None:
            secure_speed = 0.0
        else:
            secure_speed = _EXP((self.min_ts - first_secure) / TAU_SECURE_MOVE_S)
        rate_short = self.short / _SHORT_DAYS
        minor_share = 0.0
        if adult is None:
            n_minors = unaccepted = flagged = 0
        else:
            n_minors = len(adult.minors)
            if n_minors:
                minor_share = n_minors / len(adult.contacts)
            unaccepted = adult.requests - adult.accepts
            if unaccepted < 0:
                unaccepted = 0
            flagged = adult.flagged
        return [
            child_age,
            adult_age,
            adult_age - child_age,
            1.0 if child_known and child_age < MINOR_AGE else 0.0,
            1.0 if child_known else 0.0,
            1.0 if adult_age == adult_age else 0.0,
            1.0 if adult_i else 0.0,
            self.n_events,
            (self.max_ts - self.min_ts) / 3600.0,
            rate_short,
            rate_short / (self.long / _LONG_DAYS),
            comm[a] / n_comm,
            self.run_max[a],
            self.night[c] / n_comm,
            self.max_channel,
            self.channels_used.bit_count(),
            self.upward_moves,
            secure_speed,
            self.external[a],
            self.media[a],
            self.media[c],
            self.safety[c],
            n_minors,
            minor_share,
            unaccepted,
            flagged,
        ]

    def adult_is_initiator(self) -> bool:
        return self.adult_i

    def to_json(self) -> list[Any]:
        """JSON-ready state (for checkpoints); ids are stored by the caller."""
        return [
            [_age_out(self.ages[0]), _age_out(self.ages[1])],
            self.n_events,
            self.min_ts,
            self.max_ts,
            self.short,
            self.long,
            self.comm,
            self.run_side,
            self.run_length,
            self.run_max,
            self.last_offset,
            self.night,
            self.max_channel,
            self.channels_used,
            self.upward_moves,
            self.first_secure,
            self.external,
            self.media,
            self.safety,
            self.n_alerted_tier,
            self.last_alert_ts,
            _age_out(self.risk),
        ]

    @classmethod
    def from_json(cls, initiator: object, responder: object, data: list[Any]) -> ConversationState:
        """Inverse of :meth:`to_json`."""
        s = cls(initiator, responder)
        (
            ages,
            s.n_events,
            s.min_ts,
            s.max_ts,
            s.short,
            s.long,
            s.comm,
            s.run_side,
            s.run_length,
            s.run_max,
            s.last_offset,
            s.night,
            s.max_channel,
            s.channels_used,
            s.upward_moves,
            s.first_secure,
            s.external,
            s.media,
            s.safety,
            s.n_alerted_tier,
            s.last_alert_ts,
            risk,
        ) = data
        s.ages = [_age_in(ages[0]), _age_in(ages[1])]
        s.adult_i = adult_is_initiator(s.ages[1], s.ages[0])
        s.risk = _age_in(risk)
        return s
