"""Events of synthetic conversations: times, senders, channels and kinds, what the
platform records of them, and where grooming starts (``onset_index``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore._units import DAY_S, HOUR_S
from riskscore.features.constants import NIGHT_END_MIN, NIGHT_MINUTES, NIGHT_START_MIN
from riskscore.io.schema import Channel, EventType
from riskscore.synthetic.accounts import Accounts
from riskscore.synthetic.conversations import Plan
from riskscore.synthetic.portable import power
from riskscore.synthetic.world import Platform

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Night in the child's local time, the features' one definition (22:00-06:00), in seconds
#: after local midnight, and its length.
_NIGHT_START_S = NIGHT_START_MIN * 60
_NIGHT_END_S = NIGHT_END_MIN * 60
_NIGHT_S = NIGHT_MINUTES * 60
#: Day times: from an hour after the night ends to the night's start (07:00-22:00).
_DAY_START_S = _NIGHT_END_S + HOUR_S
_DAY_S = _NIGHT_START_S - _DAY_START_S


@dataclass(frozen=True, slots=True)
class Events:
    """Events in generation order: grouped by conversation, in time order within it."""

    conv: IntArray  # generation index of the conversation
    timestamp: IntArray
    from_a: BoolArray
    channel: IntArray
    event: IntArray


def _time_of_day(night: BoolArray, rng: np.random.Generator) -> FloatArray:
    """Seconds after local midnight: night times cluster after the night's start, day
    times in the afternoon and evening."""
    n = len(night)
    night_s = _NIGHT_START_S + np.minimum(rng.exponential(2.5 * HOUR_S, n), _NIGHT_S - 1)
    day_s = _DAY_START_S + _DAY_S * rng.beta(2.0, 1.6, n)
    return np.where(night, night_s % DAY_S, day_s)


def draw_events(
    plan: Plan,
    accounts: Accounts,
    window: tuple[int, int],
    reciprocity: float,
    rng: np.random.Generator,
) -> Events:
    """Draw every event of every planned conversation, grouped by conversation in time order."""
    n_events = plan.n_events
    total = int(n_events.sum())
    conv = np.repeat(np.arange(len(n_events)), n_events)
    starts = np.cumsum(n_events) - n_events
    pos = np.arange(total) - starts[conv]

    # Stratified times, warped so that contact accelerates when warp > 1; increasing in pos.
    frac = power((pos + rng.random(total)) / n_events[conv], 1.0 / plan.warp[conv])
    offset = plan.span_s[conv] * frac
    local = plan.t0[conv] + offset

    n_body = n_events - plan.n_open - plan.n_end
    body = (pos >= plan.n_open[conv]) & (pos < (n_events - plan.n_end)[conv])
    timed = plan.move_within_s > 0
    early = np.bincount(
        conv, weights=body & (offset < plan.move_within_s[conv]), minlength=len(n_events)
    )
    into_body = np.where(timed, early, np.floor(plan.onset_u * n_body)).astype(np.int64)
    phase2_start = plan.n_open + np.clip(into_body, 0, np.maximum(n_body - 1, 0))
    phase2 = pos >= phase2_start[conv]

    # Conversations longer than a day: each event keeps its day, but its time of day is
    # drawn (night with the phase's probability); times are then re-sorted so that the
    # i-th event of a conversation is still its i-th in time.
    long_conv = (plan.span_s > DAY_S)[conv]
    night = rng.random(total) < np.where(phase2, plan.night2[conv], plan.night1[conv])
    retimed = np.floor(local / DAY_S) * DAY_S + _time_of_day(night, rng)
    local = np.where(long_conv, retimed, local)
    local = np.clip(local[np.lexsort((local, conv))], window[0], window[1] - 1)

    event = np.full(total, EventType.MESSAGE, dtype=np.int64)
    request = (pos == 0) & (plan.n_open[conv] >= 1)
    accept = (pos == 1) & (plan.n_open[conv] == 2)
    closing_pos = pos - (n_events - plan.n_end)[conv]
    block = (closing_pos == 0) & plan.has_block[conv]
    report = (closing_pos >= 0) & ~block
    event[request] = EventType.CONTACT_REQUEST
    event[accept] = EventType.CONTACT_ACCEPT
    event[block] = EventType.BLOCK
    event[report] = EventType.REPORT

    a_init = plan.a_initiates[conv]
    # Grooming: the child answers more once trust is built (reciprocity rises in phase 2).
    a_share = plan.a_share[conv]
    a_share = np.where(phase2 & plan.marked[conv], 0.5 + reciprocity * (a_share - 0.5), a_share)
    from_a = np.where(plan.unanswered[conv], a_init, rng.random(total) < a_share)
    from_a = np.where(request, a_init, np.where(accept, ~a_init, from_a))
    # Blocks and reports come from the younger account, or from whoever got the unwanted request.
    from_a = np.where(block | report, plan.unanswered[conv] & ~a_init, from_a)

    media_p = plan.media[conv]
    p_media = np.where(phase2, np.where(from_a, media_p[:, 1], media_p[:, 2]), media_p[:, 0])
    event[body & (rng.random(total) < p_media)] = EventType.MEDIA

    channel = np.where(phase2, plan.c2[conv], plan.c1[conv])
    channel = np.where(request | accept, plan.c_open[conv], channel)
    stray = body & (rng.random(total) < plan.p_stray[conv])
    channel = np.where(stray, rng.integers(0, Channel.DIRECT + 1, size=total), channel)
    ext = plan.external[conv]
    shares_handle = rng.random(total) < np.where(from_a, ext[:, 0], ext[:, 1])
    channel = np.where(body & phase2 & shares_handle, Channel.EXTERNAL, channel)

    # Grooming: phase 2 opens on a secure channel, or (without one) with the adult's media.
    at_onset = body & (pos == phase2_start[conv]) & plan.marked[conv]
    secure_path = (plan.c2 >= Channel.EPHEMERAL)[conv]
    channel = np.where(
        at_onset & secure_path & (channel != Channel.EXTERNAL), plan.c2[conv], channel
    )
    media_onset = at_onset & ~secure_path
    event[media_onset] = EventType.MEDIA
    from_a = from_a | media_onset
    # The adult's first message in phase 2 shares a handle where the plan asks for one.
    candidate = np.flatnonzero(
        body & phase2 & from_a & (event == EventType.MESSAGE) & plan.asks_external[conv]
    )
    if len(candidate):
        first_of_conv = np.ones(len(candidate), dtype=bool)
        first_of_conv[1:] = conv[candidate[1:]] != conv[candidate[:-1]]
        channel[candidate[first_of_conv]] = Channel.EXTERNAL

    tz_b = accounts.tz_offset_min[accounts.b][conv]
    timestamp = np.floor(local).astype(np.int64) - 60 * tz_b
    return Events(conv=conv, timestamp=timestamp, from_a=from_a, channel=channel, event=event)


def onset_index(
    timestamp: IntArray,
    child_tz: IntArray,
    channel: IntArray,
    event: IntArray,
    segment_starts: IntArray,
    is_grooming: BoolArray,
) -> IntArray:
    """First event of each grooming conversation that departs from ordinary contact.

    That is a message or media at night (22:00-06:00) in the child's local time, any
    event on an ephemeral, encrypted or external channel, or any media event. Events
    are grouped by conversation (starting at ``segment_starts``) in time order.
    """
    time_of_day = (timestamp + 60 * child_tz) % DAY_S
    media = event == EventType.MEDIA
    communication = (event == EventType.MESSAGE) | media
    at_night = (time_of_day >= _NIGHT_START_S) | (time_of_day < _NIGHT_END_S)
    marker = (communication & at_night) | (channel >= Channel.EPHEMERAL) | media
    never = np.iinfo(np.int64).max
    index = np.where(marker, np.arange(len(marker), dtype=np.int64), never)
    first = np.minimum.reduceat(index, segment_starts) if len(marker) else index
    if np.any(is_grooming & (first == never)):
        raise RuntimeError("a grooming conversation has no onset event: generator bug")
    return np.where(is_grooming, first - segment_starts, -1).astype(np.int64)


def record(
    columns: dict[str, npt.NDArray[Any]], platform: Platform
) -> tuple[dict[str, npt.NDArray[Any]], BoolArray]:
    """What the platform records of the events: kinds and channels it does not log are
    mapped to what it does, unrecorded time zones become 0 (UTC).

    ``columns`` holds the coded ``channel``, ``event`` and ``recipient_tz_offset_min``
    (and any other per-event columns, filtered alike). Returns the recorded columns and
    the mask of events kept: only blocks and reports can be dropped (a platform without
    them), and they close their conversation, so every conversation keeps its events
    up to its last message.
    """
    event = columns["event"].copy()
    if not platform.contact_events:
        event[(event == EventType.CONTACT_REQUEST) | (event == EventType.CONTACT_ACCEPT)] = (
            EventType.MESSAGE
        )
    if not platform.media_events:
        event[event == EventType.MEDIA] = EventType.MESSAGE
    keep = np.ones(len(event), dtype=bool)
    if not platform.safety_events:
        keep = (event != EventType.BLOCK) & (event != EventType.REPORT)
    recorded = dict(columns)
    recorded["event"] = event
    recorded["channel"] = np.asarray(platform.channel_map, dtype=np.int64)[columns["channel"]]
    if not platform.time_zones:
        recorded["recipient_tz_offset_min"] = np.zeros_like(columns["recipient_tz_offset_min"])
    if not keep.all():
        recorded = {name: values[keep] for name, values in recorded.items()}
    return recorded, keep
