"""O(1) per-event state that reproduces the batch features (private).

One ``ConversationState`` per conversation and one ``AccountState`` per account.
Each update is a handful of float operations; :meth:`ConversationState.features`
assembles the same vector :func:`riskscore.extract_features` computes for the
events seen so far (to 1e-9; ``tests/test_online.py`` checks it).
"""

from __future__ import annotations

import math

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
        return (
            n_minors,
            n_minors / max(float(len(self.contacts)), 1.0),
            float(max(self.requests - self.accepts, 0)),
            float(self.flagged),
        )


def update_accounts(
    sender: AccountState,
    recipient: AccountState,
    recipient_id: object,
    event: int,
    sender_age: float,
    recipient_age: float,
) -> None:
    """Apply one event to its two accounts."""
    if event in (_MESSAGE, _MEDIA, _REQUEST):
        sender.contacts.add(recipient_id)
        if recipient_age < MINOR_AGE:  # False for NaN, as in the batch code
            sender.minors.add(recipient_id)
        if event == _REQUEST:
            sender.requests += 1
    elif event == _ACCEPT:
        recipient.accepts += 1
    elif (event in (_BLOCK, _REPORT)) and sender_age < MINOR_AGE:
        recipient.flagged += 1


class ConversationState:
    """Running aggregates of one conversation. Index 1 is the initiator, 0 the responder."""

    __slots__ = (
        "ages",
        "channels_used",
        "comm",
        "external",
        "first_secure",
        "initiator",
        "last_alert_ts",
        "last_event_index",
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
        self.last_event_index = -1

    def update(
        self,
        from_initiator: bool,
        ts: int,
        sender_age: float,
        recipient_age: float,
        channel: int,
        event: int,
        tz_offset: int,
    ) -> None:
        """Apply one event, in time order."""
        side = 1 if from_initiator else 0
        other = 1 - side
        if sender_age == sender_age:
            self.ages[side] = sender_age
        if recipient_age == recipient_age:
            self.ages[other] = recipient_age
        # Exponentially decayed counts, kept relative to the latest time seen.
        if self.n_events == 0:
            self.min_ts = self.max_ts = ts
            self.short = self.long = 1.0
        elif ts >= self.max_ts:
            dt = float(ts - self.max_ts)
            self.short = self.short * math.exp(-dt / TAU_SHORT_S) + 1.0
            self.long = self.long * math.exp(-dt / TAU_LONG_S) + 1.0
            self.max_ts = ts
        else:
            dt = float(self.max_ts - ts)
            self.short += math.exp(-dt / TAU_SHORT_S)
            self.long += math.exp(-dt / TAU_LONG_S)
            self.min_ts = min(self.min_ts, ts)
        # The recipient's own offset is known from this event; the sender's is its latest.
        self.last_offset[other] = tz_offset
        if event in (_MESSAGE, _MEDIA):
            self.comm[side] += 1
            if self.run_side == side:
                self.run_length += 1
            else:
                self.run_side = side
                self.run_length = 1
            if self.run_length > self.run_max[side]:
                self.run_max[side] = self.run_length
            minute = ts // 60
            for who in (0, 1):
                known = self.last_offset[who]
                local = (minute + (tz_offset if known is None else known)) % 1440
                if local >= NIGHT_START_MIN or local < NIGHT_END_MIN:
                    self.night[who] += 1
            if event == _MEDIA:
                self.media[side] += 1
        elif event in (_BLOCK, _REPORT):
            self.safety[side] += 1
        if self.n_events and channel > self.max_channel:
            self.upward_moves += 1
        if channel > self.max_channel:
            self.max_channel = channel
        self.channels_used |= 1 << channel
        if channel >= _EPHEMERAL and (self.first_secure is None or ts < self.first_secure):
            self.first_secure = ts
        if channel == _EXTERNAL:
            self.external[side] += 1
        self.n_events += 1

    def features(self, adult_account: AccountState | None) -> list[float]:
        """The feature vector, in :data:`riskscore.feature_specs.FEATURE_NAMES` order."""
        age_i, age_r = self.ages[1], self.ages[0]
        adult_i = adult_is_initiator(age_i, age_r)
        a, c = (1, 0) if adult_i else (0, 1)
        adult_age, child_age = self.ages[a], self.ages[c]
        child_known = child_age == child_age
        n_comm = max(float(self.comm[0] + self.comm[1]), 1.0)
        if self.first_secure is None:
            secure_speed = 0.0
        else:
            secure_speed = math.exp(-float(self.first_secure - self.min_ts) / TAU_SECURE_MOVE_S)
        rate_short = self.short / _SHORT_DAYS
        sender = adult_account.sender_features() if adult_account else (0.0, 0.0, 0.0, 0.0)
        return [
            child_age,
            adult_age,
            adult_age - child_age,
            1.0 if child_known and child_age < MINOR_AGE else 0.0,
            1.0 if child_known else 0.0,
            1.0 if adult_age == adult_age else 0.0,
            1.0 if adult_i else 0.0,
            float(self.n_events),
            (self.max_ts - self.min_ts) / 3600.0,
            rate_short,
            rate_short / (self.long / _LONG_DAYS),
            self.comm[a] / n_comm,
            float(self.run_max[a]),
            self.night[c] / n_comm,
            float(self.max_channel),
            float(bin(self.channels_used).count("1")),
            float(self.upward_moves),
            secure_speed,
            float(self.external[a]),
            float(self.media[a]),
            float(self.media[c]),
            float(self.safety[c]),
            *sender,
        ]

    def adult_is_initiator(self) -> bool:
        return adult_is_initiator(self.ages[1], self.ages[0])
