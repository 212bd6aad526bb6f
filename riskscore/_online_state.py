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


class ConversationState:
    """Running aggregates of one conversation.

    Per-side aggregates are separate slots (``_i``: the initiator's, ``_r``: the
    responder's) rather than two-element lists: one object per conversation
    instead of nine keeps an update to a few cache lines and allocates less.
    """

    __slots__ = (
        "adult_i",
        "age_i",
        "age_r",
        "channels_used",
        "comm_i",
        "comm_r",
        "external_i",
        "external_r",
        "first_secure",
        "initiator",
        "last_alert_ts",
        "long",
        "max_channel",
        "max_ts",
        "media_i",
        "media_r",
        "min_ts",
        "n_alerted_tier",
        "n_events",
        "night_i",
        "night_r",
        "offset_i",
        "offset_r",
        "responder",
        "risk",
        "run_length",
        "run_max_i",
        "run_max_r",
        "run_side",
        "safety_i",
        "safety_r",
        "short",
        "upward_moves",
    )

    def __init__(self, initiator: object, responder: object) -> None:
        self.initiator = initiator
        self.responder = responder
        self.age_i = self.age_r = NAN
        self.adult_i = True  # the role rule with no age known
        self.n_events = 0
        self.min_ts = 0
        self.max_ts = 0
        self.short = 0.0
        self.long = 0.0
        self.comm_i = self.comm_r = 0
        self.run_side = -1  # 1: the initiator, 0: the responder
        self.run_length = 0
        self.run_max_i = self.run_max_r = 0
        self.offset_i: int | None = None
        self.offset_r: int | None = None
        self.night_i = self.night_r = 0
        self.max_channel = -1
        self.channels_used = 0
        self.upward_moves = 0
        self.first_secure: int | None = None
        self.external_i = self.external_r = 0
        self.media_i = self.media_r = 0
        self.safety_i = self.safety_r = 0
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
        sender: AccountState,
        recipient: AccountState,
        recipient_id: object,
    ) -> None:
        """Apply one event sent by ``side`` (1: initiator) to this state and its two accounts.

        ``ts`` is never below ``max_ts``. One call per event rather than one per
        object: a Python call costs about as much as the account update itself.
        """
        if ts > sender.last_seen:
            sender.last_seen = ts
        if ts > recipient.last_seen:
            recipient.last_seen = ts
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
        if side:
            age_i, age_r = sender_age, recipient_age
        else:
            age_i, age_r = recipient_age, sender_age
        # NaN means unknown on this event: the last known age stays. The role is
        # re-derived only when an age actually changes (NaN != x is True).
        changed = False
        if age_i == age_i and age_i != self.age_i:
            self.age_i = age_i
            changed = True
        if age_r == age_r and age_r != self.age_r:
            self.age_r = age_r
            changed = True
        if changed:
            self.adult_i = adult_is_initiator(self.age_i, self.age_r)
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
        # The recipient's own offset is known from this event; the sender's is its
        # latest (the event's own offset until one is known). Two mirrored branches
        # rather than indexing by side: see the class docstring.
        if side:
            self.offset_r = tz_offset
            if event in _COMM:
                self.comm_i += 1
                if self.run_side == 1:
                    run = self.run_length = self.run_length + 1
                else:
                    self.run_side = run = self.run_length = 1
                if run > self.run_max_i:
                    self.run_max_i = run
                minute = ts // 60
                local = (minute + tz_offset) % 1440
                if local >= NIGHT_START_MIN or local < NIGHT_END_MIN:
                    self.night_r += 1
                known = self.offset_i
                if known is not None:
                    local = (minute + known) % 1440
                if local >= NIGHT_START_MIN or local < NIGHT_END_MIN:
                    self.night_i += 1
                if event == _MEDIA:
                    self.media_i += 1
            elif event in _SAFETY:
                self.safety_i += 1
            if channel == _EXTERNAL:
                self.external_i += 1
        else:
            self.offset_i = tz_offset
            if event in _COMM:
                self.comm_r += 1
                if self.run_side == 0:
                    run = self.run_length = self.run_length + 1
                else:
                    self.run_side = 0
                    run = self.run_length = 1
                if run > self.run_max_r:
                    self.run_max_r = run
                minute = ts // 60
                local = (minute + tz_offset) % 1440
                if local >= NIGHT_START_MIN or local < NIGHT_END_MIN:
                    self.night_i += 1
                known = self.offset_r
                if known is not None:
                    local = (minute + known) % 1440
                if local >= NIGHT_START_MIN or local < NIGHT_END_MIN:
                    self.night_r += 1
                if event == _MEDIA:
                    self.media_r += 1
            elif event in _SAFETY:
                self.safety_r += 1
            if channel == _EXTERNAL:
                self.external_r += 1
        self.channels_used |= 1 << channel
        if channel >= _EPHEMERAL and self.first_secure is None:
            self.first_secure = ts
        self.n_events += 1

    def adult_id(self) -> object:
        """The account id currently taken as the adult's."""
        return self.initiator if self.adult_i else self.responder

    def features(self, accounts: Mapping[object, AccountState]) -> list[float]:
        """The feature vector, in :data:`riskscore.feature_specs.FEATURE_NAMES` order.

        ``accounts`` maps account ids to their state; the adult's gives the
        per-sender features (zeros when it is not held).
        """
        return self.features_with(accounts.get(self.adult_id()))

    def features_with(self, adult: AccountState | None) -> list[float]:
        """:meth:`features` given the adult's account state (None: not held).

        Counts are left as ``int`` (they convert exactly).
        """
        if self.adult_i:
            adult_age, child_age = self.age_i, self.age_r
            comm_a, run_max_a, night_c = self.comm_i, self.run_max_i, self.night_r
            external_a, media_a, media_c = self.external_i, self.media_i, self.media_r
            safety_c = self.safety_r
        else:
            adult_age, child_age = self.age_r, self.age_i
            comm_a, run_max_a, night_c = self.comm_r, self.run_max_r, self.night_i
            external_a, media_a, media_c = self.external_r, self.media_r, self.media_i
            safety_c = self.safety_i
        child_known = child_age == child_age
        n_comm = self.comm_i + self.comm_r or 1
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
            1.0 if self.adult_i else 0.0,
            self.n_events,
            (self.max_ts - self.min_ts) / 3600.0,
            rate_short,
            rate_short / (self.long / _LONG_DAYS),
            comm_a / n_comm,
            run_max_a,
            night_c / n_comm,
            self.max_channel,
            self.channels_used.bit_count(),
            self.upward_moves,
            secure_speed,
            external_a,
            media_a,
            media_c,
            safety_c,
            n_minors,
            minor_share,
            unaccepted,
            flagged,
        ]

    def to_json(self) -> list[Any]:
        """JSON-ready state (for checkpoints); ids are stored by the caller.

        Per-side values are pairs ``[responder's, initiator's]``.
        """
        return [
            [_age_out(self.age_r), _age_out(self.age_i)],
            self.n_events,
            self.min_ts,
            self.max_ts,
            self.short,
            self.long,
            [self.comm_r, self.comm_i],
            self.run_side,
            self.run_length,
            [self.run_max_r, self.run_max_i],
            [self.offset_r, self.offset_i],
            [self.night_r, self.night_i],
            self.max_channel,
            self.channels_used,
            self.upward_moves,
            self.first_secure,
            [self.external_r, self.external_i],
            [self.media_r, self.media_i],
            [self.safety_r, self.safety_i],
            self.n_alerted_tier,
            self.last_alert_ts,
            _age_out(self.risk),
        ]

    @classmethod
    def from_json(cls, initiator: object, responder: object, data: list[Any]) -> ConversationState:
        """Inverse of :meth:`to_json`."""
        s = cls(initiator, responder)
        (
            (age_r, age_i),
            s.n_events,
            s.min_ts,
            s.max_ts,
            s.short,
            s.long,
            (s.comm_r, s.comm_i),
            s.run_side,
            s.run_length,
            (s.run_max_r, s.run_max_i),
            (s.offset_r, s.offset_i),
            (s.night_r, s.night_i),
            s.max_channel,
            s.channels_used,
            s.upward_moves,
            s.first_secure,
            (s.external_r, s.external_i),
            (s.media_r, s.media_i),
            (s.safety_r, s.safety_i),
            s.n_alerted_tier,
            s.last_alert_ts,
            risk,
        ) = data
        s.age_i, s.age_r = _age_in(age_i), _age_in(age_r)
        s.adult_i = adult_is_initiator(s.age_i, s.age_r)
        s.risk = _age_in(risk)
        return s
