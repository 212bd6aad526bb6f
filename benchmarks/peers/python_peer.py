"""riskscore's features as a plain Python loop (benchmark peer and readability reference).

Written to be read next to ``docs/features.md``, not to be fast: the events of each
conversation are walked in time order, each participant's counts are kept in a
:class:`Side`, and the features are computed from them the way the documentation words
them. The per-account tallies are a second walk over all events. Nothing here calls
riskscore's feature code; only the constants come from the registry.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.features.registry import (
    NIGHT_END_MIN,
    NIGHT_START_MIN,
    RECENT_WEIGHT,
    SHARE_PRIOR_EVENTS,
    SUPERVISED_SHARE_STEPS,
    TAU_LONG_S,
    TAU_SECURE_MOVE_S,
    TAU_SHORT_S,
)
from riskscore.io.schema import MINOR_AGE

from ._codes import PEER_FEATURES

COMMUNICATION = {"message", "media"}
CONTACT = {"message", "media", "contact_request"}
SAFETY = {"block", "report"}
PRIVATE_CHANNELS = {"ephemeral", "encrypted", "external"}
SUPERVISED_CHANNELS = {"public", "group"}
CHANNEL_LEVEL = {
    "public": 0,
    "group": 1,
    "direct": 2,
    "ephemeral": 3,
    "encrypted": 4,
    "external": 5,
}
NAN = math.nan


def known(age: float | None) -> bool:
    return age is not None and not math.isnan(age)


def at_night(timestamp: int, offset: int) -> bool:
    """Whether a UTC timestamp falls at night (22:00 to 06:00) at a UTC offset in minutes."""
    local_minute = (timestamp // 60 + offset) % 1440
    return local_minute >= NIGHT_START_MIN or local_minute < NIGHT_END_MIN


def recent(average: float, value: float) -> float:
    """One step of an exponentially weighted average (weight RECENT_WEIGHT on the newest)."""
    return (1.0 - RECENT_WEIGHT) * average + RECENT_WEIGHT * value


@dataclass
class Side:
    """What one participant of a conversation did, and what we know about it."""

    account: Any
    age: float = NAN  # last age declared for it in this conversation
    offset: int | None = None  # latest known UTC offset of the events it received
    sent: int = 0  # communication events sent
    media: int = 0  # media events sent
    night_media: int = 0  # media sent at night on the recipient's clock
    requests: int = 0  # contact requests sent
    external: int = 0  # events of any kind sent on the external channel
    safety: int = 0  # blocks and reports sent
    longest_run: int = 0  # longest run of communication events with no reply in between
    known: int = 0  # communication events (either way) timed on its known clock
    sent_known: int = 0  # communication events it sent while the recipient's clock was known
    night: int = 0  # communication events (either way) at night on its own clock
    private_night: int = 0  # ... of them on ephemeral, encrypted or external
    recent_night: float = 0.0  # weighted average of "at night on its clock"
    recent_sent: float = 0.0  # weighted average of "sent by it"


@dataclass
class Conversation:
    initiator: Side
    responder: Side
    times: list[int] = field(default_factory=list)
    channels: set[str] = field(default_factory=set)
    first_channel: int = -1
    max_channel: int = -1
    first_private_time: int | None = None
    upward_moves: int = 0
    run_side: Side | None = None
    run_length: int = 0

    def side(self, account: Any) -> Side:
        return self.initiator if account == self.initiator.account else self.responder

    def add(self, event: dict[str, Any]) -> None:
        sender = self.side(event["sender_id"])
        recipient = self.responder if sender is self.initiator else self.initiator
        t, kind, channel = event["timestamp"], event["event"], CHANNEL_LEVEL[event["channel"]]
        if known(event["sender_age"]):
            sender.age = event["sender_age"]
        if known(event["recipient_age"]):
            recipient.age = event["recipient_age"]
        if not self.times:
            self.first_channel = channel
        elif channel > self.max_channel:  # higher than every earlier event's
            self.upward_moves += 1
        self.max_channel = max(self.max_channel, channel)
        self.times.append(t)
        self.channels.add(event["channel"])
        if event["channel"] in PRIVATE_CHANNELS and self.first_private_time is None:
            self.first_private_time = t
        # A side's clock is the latest known offset of the events it received (this event's
        # for the recipient, when it carries one); unknown (None) until one is known.
        if event["recipient_tz_offset_min"] is not None:
            recipient.offset = event["recipient_tz_offset_min"]
        if event["channel"] == "external":
            sender.external += 1
        if kind in SAFETY:
            sender.safety += 1
        if kind == "contact_request":
            sender.requests += 1
        if kind not in COMMUNICATION:
            return
        sender.sent += 1
        if self.run_side is sender:
            self.run_length += 1
        else:
            self.run_side, self.run_length = sender, 1
        sender.longest_run = max(sender.longest_run, self.run_length)
        for side in (sender, recipient):
            if side.offset is None:  # an unknown clock: not timed
                continue
            night = at_night(t, side.offset)
            side.known += 1
            side.night += night
            side.private_night += night and event["channel"] in PRIVATE_CHANNELS
            side.recent_night = recent(side.recent_night, night)
        sender.recent_sent = recent(sender.recent_sent, 1.0)
        recipient.recent_sent = recent(recipient.recent_sent, 0.0)
        sender.sent_known += recipient.offset is not None
        if kind == "media":
            sender.media += 1
            if recipient.offset is not None:
                sender.night_media += at_night(t, recipient.offset)

    def adult_and_child(self) -> tuple[Side, Side]:
        """The role rule of docs/features.md."""
        i, r = self.initiator, self.responder
        if known(i.age) and known(r.age):
            return (i, r) if i.age >= r.age else (r, i)
        if known(i.age):
            return (i, r) if i.age >= MINOR_AGE else (r, i)
        if known(r.age):
            return (r, i) if r.age >= MINOR_AGE else (i, r)
        # no age known: signs that the initiator approached the responder, minus the
        # other way round; the initiator on a tie
        points = 0
        points += (i.requests > 0) - (r.requests > 0)
        points += (i.external > r.external) - (r.external > i.external)
        points += (i.sent > r.sent) - (r.sent > i.sent)
        points += (r.safety > 0) - (i.safety > 0)  # blocked or reported by the other
        return (i, r) if points >= 0 else (r, i)


@dataclass
class Account:
    """An account's tallies over every event of the table."""

    contacts: set[Any] = field(default_factory=set)
    minors: set[Any] = field(default_factory=set)
    private_minors: set[Any] = field(default_factory=set)
    requests: int = 0
    accepts: int = 0
    flagged: int = 0  # blocks and reports received from minors
    minor_events: int = 0  # contact events sent to minors
    supervised_minor_events: int = 0  # ... on a public or group channel


def account_tallies(events: list[dict[str, Any]]) -> dict[Any, Account]:
    accounts: dict[Any, Account] = defaultdict(Account)
    for e in events:
        sender, recipient, kind = accounts[e["sender_id"]], accounts[e["recipient_id"]], e["event"]
        to_minor = known(e["recipient_age"]) and e["recipient_age"] < MINOR_AGE
        from_minor = known(e["sender_age"]) and e["sender_age"] < MINOR_AGE
        if kind in CONTACT:
            sender.contacts.add(e["recipient_id"])
            if to_minor:
                sender.minor_events += 1
                sender.supervised_minor_events += e["channel"] in SUPERVISED_CHANNELS
                sender.minors.add(e["recipient_id"])
                if e["channel"] in PRIVATE_CHANNELS:
                    sender.private_minors.add(e["recipient_id"])
        if kind == "contact_request":
            sender.requests += 1
        if kind == "contact_accept":
            recipient.accepts += 1
        if kind in SAFETY and from_minor:
            recipient.flagged += 1
    return accounts


def conversation_features(c: Conversation, accounts: dict[Any, Account]) -> dict[str, float]:
    adult, child = c.adult_and_child()
    n_comm = adult.sent + child.sent
    t_first, t_last = c.times[0], c.times[-1]
    span = t_last - t_first
    decayed_short = sum(math.exp(-(t_last - t) / TAU_SHORT_S) for t in c.times)
    decayed_long = sum(math.exp(-(t_last - t) / TAU_LONG_S) for t in c.times)
    rate_short = decayed_short / (TAU_SHORT_S / 86_400)
    rate_long = decayed_long / (TAU_LONG_S / 86_400)
    # a move from a visible start (public, group, direct) to a private surface
    if c.first_private_time is not None and c.first_channel < CHANNEL_LEVEL["ephemeral"]:
        secure_move_speed = math.exp(-(c.first_private_time - t_first) / TAU_SECURE_MOVE_S)
    else:
        secure_move_speed = 0.0
    tally = accounts[adult.account]
    unaccepted = max(tally.requests - tally.accepts, 0)
    steps = SUPERVISED_SHARE_STEPS
    supervised_share = (
        math.floor(steps * tally.supervised_minor_events / tally.minor_events) / steps
        if tally.minor_events
        else 0.0
    )
    prior = SHARE_PRIOR_EVENTS
    return {
        "child_age": child.age,
        "adult_age": adult.age,
        "age_gap": adult.age - child.age,
        "child_is_minor": known(child.age) and child.age < MINOR_AGE,
        "child_age_known": known(child.age),
        "adult_age_known": known(adult.age),
        "adult_initiated": adult is c.initiator,
        "adult_sent_request": adult.requests > 0,
        "n_events": len(c.times),
        "span_hours": span / 3600,
        "adult_message_share": (adult.sent + prior / 2) / (n_comm + prior),
        "adult_recent_share": adult.recent_sent,
        "adult_max_unanswered_run": adult.longest_run,
        "recent_rate_per_day": rate_short,
        "escalation_ratio": (rate_short / rate_long) ** min(1.0, span / TAU_LONG_S),
        "child_night_share": child.night / (child.known + prior),
        "child_recent_night_share": child.recent_night,
        "max_channel": c.max_channel,
        "n_channels_used": len(c.channels),
        "upward_channel_moves": c.upward_moves,
        "secure_move_speed": secure_move_speed,
        "adult_external_events": adult.external,
        "adult_media_rate": adult.media / (adult.sent + prior),
        "child_media_rate": child.media / (child.sent + prior),
        "adult_night_media_rate": adult.night_media / (adult.sent_known + prior),
        "private_night_share": child.private_night / (child.known + prior),
        "child_blocks_reports": child.safety,
        "adult_minor_fanout": len(tally.minors),
        "adult_minor_contact_share": len(tally.minors) / max(len(tally.contacts), 1),
        "adult_private_minor_fanout": len(tally.private_minors),
        "adult_unaccepted_requests": unaccepted,
        "adult_unaccepted_share": unaccepted / max(tally.requests, 1),
        "adult_blocks_reports_from_minors": tally.flagged,
        "adult_flagged_per_minor": tally.flagged / max(len(tally.minors), 1),
        "adult_supervised_minor_share": supervised_share,
    }


def features(table: Any) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    """Features of every conversation of a pyarrow table of schema v1 events."""
    events = table.to_pylist()
    # by conversation, then time; events in the same second keep their input order
    events.sort(key=lambda e: (e["conversation_id"], e["timestamp"]))
    conversations: dict[Any, Conversation] = {}
    for e in events:
        c = conversations.get(e["conversation_id"])
        if c is None:
            c = Conversation(Side(e["sender_id"]), Side(e["recipient_id"]))
            conversations[e["conversation_id"]] = c
        c.add(e)
    accounts = account_tallies(events)
    ids = list(conversations)
    rows = [conversation_features(conversations[cid], accounts) for cid in ids]
    values = np.array([[float(row[name]) for name in PEER_FEATURES] for row in rows])
    return np.asarray(ids), values.reshape(len(ids), len(PEER_FEATURES))
