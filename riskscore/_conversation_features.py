"""Per-conversation features, vectorized over sorted segments (private).

Each function returns arrays of shape (n_conversations,). Definitions are in
``docs/features.md``; the online scorer keeps O(1) state that reproduces them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskscore._roles import Roles
from riskscore._segments import (
    count_by_role_in_segments,
    count_in_segments,
    forward_fill_index,
    max_by,
    running_max_within,
    spread,
)
from riskscore.feature_specs import (
    NIGHT_END_MIN,
    NIGHT_START_MIN,
    TAU_LONG_S,
    TAU_SECURE_MOVE_S,
    TAU_SHORT_S,
)
from riskscore.messages import MessageTable
from riskscore.schema import MINOR_AGE, Channel, EventType

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Columns = dict[str, FloatArray]


def is_communication(event: npt.NDArray[np.uint8]) -> BoolArray:
    """Messages and media: the events that make up the exchange itself."""
    return np.asarray((event == EventType.MESSAGE) | (event == EventType.MEDIA), dtype=bool)


def age_features(roles: Roles) -> Columns:
    child_age, adult_age = roles.child_age, roles.adult_age
    child_known = ~np.isnan(child_age)
    with np.errstate(invalid="ignore"):
        child_is_minor = child_known & (child_age < MINOR_AGE)
    return {
        "child_age": child_age,
        "adult_age": adult_age,
        "age_gap": adult_age - child_age,
        "child_is_minor": child_is_minor.astype(np.float64),
        "child_age_known": child_known.astype(np.float64),
        "adult_age_known": (~np.isnan(adult_age)).astype(np.float64),
    }


def contact_features(msgs: MessageTable, roles: Roles) -> Columns:
    starts, ends = msgs.segment_starts, msgs.segment_ends
    comm = is_communication(msgs.event)
    per_role = count_by_role_in_segments(comm, roles.from_initiator, starts)
    n_comm = per_role.sum(axis=1)
    return {
        "adult_initiated": roles.adult_is_initiator.astype(np.float64),
        "n_events": (ends - starts).astype(np.float64),
        "span_hours": (msgs.timestamp[ends - 1] - msgs.timestamp[starts]) / 3600.0,
        "adult_message_share": roles.pick(per_role, adult=True) / np.maximum(n_comm, 1.0),
        "adult_max_unanswered_run": roles.pick(_max_runs(msgs, roles, comm), adult=True),
    }


def _max_runs(msgs: MessageTable, roles: Roles, comm: BoolArray) -> FloatArray:
    """Longest run of consecutive messages per (conversation, participant), shape (n, 2)."""
    n = msgs.n_conversations
    idx = np.flatnonzero(comm)
    conv = msgs.conversation_code[idx]
    side = roles.from_initiator[idx]
    if idx.size == 0:
        return np.zeros((n, 2))
    new_run = np.ones(idx.size, dtype=bool)
    new_run[1:] = (conv[1:] != conv[:-1]) | (side[1:] != side[:-1])
    run_starts = np.flatnonzero(new_run)
    lengths = np.diff(np.append(run_starts, idx.size)).astype(np.float64)
    key = conv[run_starts] * 2 + side[run_starts].astype(np.int64)
    return max_by(key, 2 * n, lengths).reshape(n, 2)


def escalation_features(msgs: MessageTable) -> Columns:
    n = msgs.n_conversations
    conv = msgs.conversation_code
    t_last = msgs.timestamp[msgs.segment_ends - 1]
    age_s = (spread(t_last, msgs.segment_starts, len(msgs)) - msgs.timestamp).astype(np.float64)
    short = count_by_weights(conv, n, np.exp(-age_s / TAU_SHORT_S))
    long = count_by_weights(conv, n, np.exp(-age_s / TAU_LONG_S))
    rate_short = short / (TAU_SHORT_S / 86_400.0)
    rate_long = long / (TAU_LONG_S / 86_400.0)
    return {
        "recent_rate_per_day": rate_short,
        "escalation_ratio": rate_short / rate_long,
    }


def count_by_weights(codes: npt.NDArray[np.int64], n: int, weights: FloatArray) -> FloatArray:
    return np.bincount(codes, weights=weights, minlength=n).astype(np.float64)


def night_features(msgs: MessageTable, roles: Roles) -> Columns:
    """Share of messages at night in the child's local time.

    A participant's UTC offset is known from the events it receives. For an
    event it sends, its latest earlier known offset is used; before any is
    known, the recipient's (its counterpart's) offset stands in.
    """
    starts = msgs.segment_starts
    first = spread(starts, starts, len(msgs))
    tz = msgs.recipient_tz_offset_min.astype(np.int64)
    comm = is_communication(msgs.event)
    minutes = msgs.timestamp // 60
    local_night = []
    for receives in (~roles.from_initiator, roles.from_initiator):  # initiator, responder
        known_at = forward_fill_index(receives, first)
        offset = np.where(known_at >= 0, tz[np.maximum(known_at, 0)], tz)
        local_min = (minutes + offset) % 1440
        night = (local_min >= NIGHT_START_MIN) | (local_min < NIGHT_END_MIN)
        local_night.append(count_in_segments(comm & night, starts))
    per_role = np.column_stack([local_night[1], local_night[0]])  # column 1: initiator
    n_comm = count_in_segments(comm, starts)
    return {"child_night_share": roles.pick(per_role, adult=False) / np.maximum(n_comm, 1.0)}


def channel_features(msgs: MessageTable, roles: Roles) -> Columns:
    n = msgs.n_conversations
    conv = msgs.conversation_code
    starts = msgs.segment_starts
    channel = msgs.channel
    used = np.bitwise_or.reduceat(np.left_shift(1, channel.astype(np.int64)), starts)
    n_used = np.zeros(n)
    for level in Channel:
        n_used += (used >> level) & 1
    running = running_max_within(channel, conv, len(Channel))
    moved_up = np.zeros(len(channel), dtype=bool)
    moved_up[1:] = (conv[1:] == conv[:-1]) & (channel[1:] > running[:-1])
    secure = channel >= Channel.EPHEMERAL
    never = np.iinfo(np.int64).max
    first_secure = np.minimum.reduceat(np.where(secure, msgs.timestamp, never), starts)
    delay_s = (first_secure - msgs.timestamp[starts]).astype(np.float64)
    speed = np.where(first_secure == never, 0.0, np.exp(-delay_s / TAU_SECURE_MOVE_S))
    external = channel == Channel.EXTERNAL
    media = msgs.event == EventType.MEDIA
    safety = (msgs.event == EventType.BLOCK) | (msgs.event == EventType.REPORT)
    fi = roles.from_initiator
    media_by_role = count_by_role_in_segments(media, fi, starts)
    return {
        "max_channel": np.maximum.reduceat(channel, starts).astype(np.float64),
        "n_channels_used": n_used,
        "upward_channel_moves": count_in_segments(moved_up, starts),
        "secure_move_speed": speed,
        "adult_external_events": roles.pick(
            count_by_role_in_segments(external, fi, starts), adult=True
        ),
        "adult_media_events": roles.pick(media_by_role, adult=True),
        "child_media_events": roles.pick(media_by_role, adult=False),
        "child_blocks_reports": roles.pick(
            count_by_role_in_segments(safety, fi, starts), adult=False
        ),
    }
