"""The event kernel: the one definition of every feature, as state and its update.

A conversation's state is a float64 vector (slots in :mod:`riskscore.features.slots`);
:func:`update_conversation` (:mod:`riskscore.features.update`) applies one event to it
in O(1), and :func:`conversation_features` turns the state, with the adult account's
tallies, into the feature row in registry order. Batch extraction loops the update over
sorted events in one compiled call (:func:`run_conversations`, or :func:`run_states` then
:func:`finish_states` when the tallies come later); the online scorer calls
the same functions once per event (:func:`apply_event`). An account's tallies (distinct
contacts, minors and private-channel minors; requests sent, accepts received, blocks and
reports from minors) are a float64 vector too (:data:`ACCOUNT_SLOTS`). This module
re-exports the names of the update and of the slots it had before they moved.

The functions are plain Python compiled with numba; with ``NUMBA_DISABLE_JIT=1`` (or
through ``.py_func``) the same source runs uncompiled and is the reference the tests
compare against. Compiled code is cached on disk (``cache=``, True unless no directory can
be written: :func:`riskscore._jit_cache.jit_cache_on_disk`), so the compile cost
(a few seconds) is paid once per installation. numba checks a cached function against
its own file only; ``import riskscore`` clears every cache when any source of a compiled
subpackage changed (:mod:`riskscore._jit_cache`), so an edit of ``update.py`` reaches the
batch loop too.
"""

from __future__ import annotations

import math
from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk
from riskscore.features.constants import (
    SHARE_PRIOR_EVENTS,
    SUPERVISED_SHARE_STEPS,
    TAU_LONG_S,
    TAU_SECURE_MOVE_S,
    TAU_SHORT_S,
)
from riskscore.features.registry import feature_index
from riskscore.features.slots import (
    A_ACCEPTS,
    A_CONTACTS,
    A_FLAGGED,
    A_MINOR_EVENTS,
    A_MINORS,
    A_PRIVATE_MINORS,
    A_REQUESTS,
    A_SUPERVISED_EVENTS,
    ACCOUNT_SLOTS,
    AGE,
    CHANNELS_USED,
    CLOCK_KNOWN,
    COMM,
    DECAYED_LONG,
    DECAYED_SHORT,
    EXTERNAL,
    FIRST_CHANNEL,
    FIRST_SECURE_T,
    GROUP,
    MAX_CHANNEL,
    MEDIA,
    N_ACCOUNT_SLOTS,
    N_EVENTS,
    N_STATE,
    NIGHT,
    NIGHT_MEDIA,
    PRIVATE_NIGHT,
    RECENT_NIGHT,
    RECENT_SENT,
    REQUESTS,
    RUN_MAX,
    SAFETY,
    SENT_KNOWN,
    STATE_SLOTS,
    T_FIRST,
    T_LAST,
    UPWARD_MOVES,
)
from riskscore.features.update import new_state, reset_state, update_conversation
from riskscore.io.groups import GROUP_MIN_ROOM_SIZE
from riskscore.io.schema import MINOR_AGE, TZ_UNKNOWN, Channel

__all__ = [
    "ACCOUNT_SLOTS",
    "N_ACCOUNT_SLOTS",
    "N_STATE",
    "PAIR_KEY_CHANNELS",
    "STATE_SLOTS",
    "adult_side",
    "apply_event",
    "conversation_features",
    "finish_states",
    "fold_events",
    "is_supervised",
    "new_state",
    "reset_state",
    "run_conversations",
    "run_states",
    "supervised_share",
    "update_conversation",
]


FloatArray = npt.NDArray[np.float64]

_SECURE: Final = int(Channel.EPHEMERAL)
_DIRECT: Final = int(Channel.DIRECT)
_GROUP_MIN: Final = GROUP_MIN_ROOM_SIZE
_TZ_UNKNOWN: Final = TZ_UNKNOWN
_N_CHANNELS: Final = len(Channel)

# Feature columns, by name.
F_CHILD_AGE: Final = feature_index("child_age")
F_ADULT_AGE: Final = feature_index("adult_age")
F_AGE_GAP: Final = feature_index("age_gap")
F_CHILD_IS_MINOR: Final = feature_index("child_is_minor")
F_CHILD_AGE_KNOWN: Final = feature_index("child_age_known")
F_ADULT_AGE_KNOWN: Final = feature_index("adult_age_known")
F_ADULT_INITIATED: Final = feature_index("adult_initiated")
F_ADULT_SENT_REQUEST: Final = feature_index("adult_sent_request")
F_N_EVENTS: Final = feature_index("n_events")
F_SPAN_HOURS: Final = feature_index("span_hours")
F_ADULT_MESSAGE_SHARE: Final = feature_index("adult_message_share")
F_ADULT_RECENT_SHARE: Final = feature_index("adult_recent_share")
F_ADULT_MAX_UNANSWERED_RUN: Final = feature_index("adult_max_unanswered_run")
F_RECENT_RATE: Final = feature_index("recent_rate_per_day")
F_ESCALATION: Final = feature_index("escalation_ratio")
F_NIGHT_SHARE: Final = feature_index("child_night_share")
F_RECENT_NIGHT: Final = feature_index("child_recent_night_share")
F_MAX_CHANNEL: Final = feature_index("max_channel")
F_N_CHANNELS: Final = feature_index("n_channels_used")
F_UPWARD_MOVES: Final = feature_index("upward_channel_moves")
F_SECURE_SPEED: Final = feature_index("secure_move_speed")
F_ADULT_EXTERNAL: Final = feature_index("adult_external_events")
F_ADULT_MEDIA_RATE: Final = feature_index("adult_media_rate")
F_CHILD_MEDIA_RATE: Final = feature_index("child_media_rate")
F_CHILD_SAFETY: Final = feature_index("child_blocks_reports")
F_ADULT_NIGHT_MEDIA: Final = feature_index("adult_night_media_rate")
F_PRIVATE_NIGHT: Final = feature_index("private_night_share")
F_MINOR_FANOUT: Final = feature_index("adult_minor_fanout")
F_MINOR_SHARE: Final = feature_index("adult_minor_contact_share")
F_PRIVATE_MINORS: Final = feature_index("adult_private_minor_fanout")
F_UNACCEPTED: Final = feature_index("adult_unaccepted_requests")
F_UNACCEPTED_SHARE: Final = feature_index("adult_unaccepted_share")
F_FLAGGED: Final = feature_index("adult_blocks_reports_from_minors")
F_FLAGGED_PER_MINOR: Final = feature_index("adult_flagged_per_minor")
F_SUPERVISED_SHARE: Final = feature_index("adult_supervised_minor_share")
F_TZ_KNOWN: Final = feature_index("child_tz_known_share")
F_GROUP_EVENTS: Final = feature_index("group_contact_events")
F_PAIR_MET: Final = feature_index("pair_met_channel")
F_PAIR_TO_PRIVATE: Final = feature_index("pair_hours_to_private")

#: A pair's first contact, as ``8 * timestamp + channel``: the earliest event between two
#: accounts, the most public channel among events of that second. ``inf``: none yet.
PAIR_KEY_CHANNELS: Final = 8


_PUBLIC: Final = int(Channel.PUBLIC)
_GROUP: Final = int(Channel.GROUP)


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def is_supervised(
    channel: int | npt.NDArray[np.uint8], room_size: int | npt.NDArray[np.int32]
) -> bool | npt.NDArray[np.bool_]:
    """Whether contact is in a supervised setting: on the ``public`` channel, in a room of
    :data:`~riskscore.io.groups.GROUP_MIN_ROOM_SIZE` or more accounts (group contact), or
    on a ``group`` channel whose room size is not given (0). A smaller room is a private
    circle: an adult with two or three children there is not where others can see.

    Works on one event (ints) and on arrays of events alike (one definition for the
    online scorer and the batch tallies).
    """
    return (
        (channel == _PUBLIC) | (room_size >= _GROUP_MIN) | ((channel == _GROUP) & (room_size == 0))
    )


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def supervised_share(supervised_events: float, minor_events: float) -> float:
    """``adult_supervised_minor_share`` from an account's tallies: the share of its
    contact events to minors sent in a supervised setting, rounded down to a step of
    ``1 / SUPERVISED_SHARE_STEPS``; 0 when it sent none."""
    if minor_events <= 0.0:
        return 0.0
    steps = SUPERVISED_SHARE_STEPS
    return math.floor(steps * supervised_events / minor_events) / steps


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _sign(x: float) -> int:
    return int(x > 0.0) - int(x < 0.0)


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def adult_side(s: FloatArray) -> int:
    """The side (1: initiator, 0: responder) that takes the adult role.

    Ages known on both sides: the older (the initiator on a tie). One age known: a
    known adult is the adult, a known minor's counterpart is. No age known: the side
    with more signs of approaching the other (it sent a contact request, shared more
    links to other apps, wrote more, or was blocked or reported by the other); the
    initiator when the signs are even.
    """
    age_i = s[AGE + 1]
    age_r = s[AGE]
    if age_i == age_i and age_r == age_r:
        return 1 if age_i >= age_r else 0
    if age_i == age_i:
        return 1 if age_i >= MINOR_AGE else 0
    if age_r == age_r:
        return 0 if age_r >= MINOR_AGE else 1
    signs = (
        _sign(s[REQUESTS + 1])
        - _sign(s[REQUESTS])
        + _sign(s[EXTERNAL + 1] - s[EXTERNAL])
        + _sign(s[COMM + 1] - s[COMM])
        + _sign(s[SAFETY])
        - _sign(s[SAFETY + 1])
    )
    return 1 if signs >= 0 else 0


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def conversation_features(
    s: FloatArray,
    adult_account: FloatArray,
    pair_first: float,
    pair_private: float,
    out: FloatArray,
) -> None:
    """Write the feature row of state ``s`` into ``out`` (registry order).

    ``adult_account`` holds the tallies (:data:`ACCOUNT_SLOTS`) of the account that
    has the adult role (:func:`adult_side`); zeros when it did nothing else.
    ``pair_first`` and ``pair_private`` are the facts of the conversation's two accounts
    over all their conversations (:mod:`riskscore.features.pairs`): their first contact as
    ``PAIR_KEY_CHANNELS * timestamp + channel`` and the time of their first event on
    ``direct`` or a more private channel (``inf``: none).
    """
    a = adult_side(s)
    c = 1 - a
    adult_age = s[AGE + a]
    child_age = s[AGE + c]
    child_known = child_age == child_age
    n_comm = s[COMM] + s[COMM + 1]
    out[F_CHILD_AGE] = child_age
    out[F_ADULT_AGE] = adult_age
    out[F_AGE_GAP] = adult_age - child_age
    out[F_CHILD_IS_MINOR] = 1.0 if child_known and child_age < MINOR_AGE else 0.0
    out[F_CHILD_AGE_KNOWN] = 1.0 if child_known else 0.0
    out[F_ADULT_AGE_KNOWN] = 1.0 if adult_age == adult_age else 0.0
    out[F_ADULT_INITIATED] = 1.0 if a == 1 else 0.0
    out[F_ADULT_SENT_REQUEST] = 1.0 if s[REQUESTS + a] > 0.0 else 0.0
    out[F_N_EVENTS] = s[N_EVENTS]
    span_s = s[T_LAST] - s[T_FIRST]
    out[F_SPAN_HOURS] = span_s / 3600.0
    out[F_ADULT_MESSAGE_SHARE] = (s[COMM + a] + SHARE_PRIOR_EVENTS / 2) / (
        n_comm + SHARE_PRIOR_EVENTS
    )
    out[F_ADULT_RECENT_SHARE] = s[RECENT_SENT + a]
    out[F_ADULT_MAX_UNANSWERED_RUN] = s[RUN_MAX + a]
    rate_short = s[DECAYED_SHORT] / (TAU_SHORT_S / 86_400.0)
    out[F_RECENT_RATE] = rate_short
    ratio = rate_short / (s[DECAYED_LONG] / (TAU_LONG_S / 86_400.0))
    out[F_ESCALATION] = math.exp(min(1.0, span_s / TAU_LONG_S) * math.log(ratio))
    out[F_NIGHT_SHARE] = s[NIGHT + c] / (s[CLOCK_KNOWN + c] + SHARE_PRIOR_EVENTS)
    out[F_RECENT_NIGHT] = s[RECENT_NIGHT + c]
    out[F_MAX_CHANNEL] = s[MAX_CHANNEL]
    used = int(s[CHANNELS_USED])
    n_used = 0
    for bit in range(_N_CHANNELS):
        n_used += (used >> bit) & 1
    out[F_N_CHANNELS] = n_used
    out[F_UPWARD_MOVES] = s[UPWARD_MOVES]
    first_secure = s[FIRST_SECURE_T]
    if s[FIRST_CHANNEL] < _SECURE and first_secure == first_secure:
        out[F_SECURE_SPEED] = math.exp(-(first_secure - s[T_FIRST]) / TAU_SECURE_MOVE_S)
    else:
        out[F_SECURE_SPEED] = 0.0
    out[F_ADULT_EXTERNAL] = s[EXTERNAL + a]
    out[F_ADULT_MEDIA_RATE] = s[MEDIA + a] / (s[COMM + a] + SHARE_PRIOR_EVENTS)
    out[F_CHILD_MEDIA_RATE] = s[MEDIA + c] / (s[COMM + c] + SHARE_PRIOR_EVENTS)
    out[F_CHILD_SAFETY] = s[SAFETY + c]
    out[F_ADULT_NIGHT_MEDIA] = s[NIGHT_MEDIA + a] / (s[SENT_KNOWN + a] + SHARE_PRIOR_EVENTS)
    out[F_PRIVATE_NIGHT] = s[PRIVATE_NIGHT + c] / (s[CLOCK_KNOWN + c] + SHARE_PRIOR_EVENTS)
    minors = adult_account[A_MINORS]
    requests = adult_account[A_REQUESTS]
    unaccepted = max(requests - adult_account[A_ACCEPTS], 0.0)
    flagged = adult_account[A_FLAGGED]
    out[F_MINOR_FANOUT] = minors
    out[F_MINOR_SHARE] = minors / max(adult_account[A_CONTACTS], 1.0)
    out[F_PRIVATE_MINORS] = adult_account[A_PRIVATE_MINORS]
    out[F_UNACCEPTED] = unaccepted
    out[F_UNACCEPTED_SHARE] = unaccepted / max(requests, 1.0)
    out[F_FLAGGED] = flagged
    out[F_FLAGGED_PER_MINOR] = flagged / max(minors, 1.0)
    out[F_SUPERVISED_SHARE] = supervised_share(
        adult_account[A_SUPERVISED_EVENTS], adult_account[A_MINOR_EVENTS]
    )
    out[F_TZ_KNOWN] = s[CLOCK_KNOWN + c] / n_comm if n_comm > 0.0 else 0.0
    out[F_GROUP_EVENTS] = s[GROUP] + s[GROUP + 1]
    if pair_first < math.inf:
        first_t = math.floor(pair_first / PAIR_KEY_CHANNELS)
        met = pair_first - PAIR_KEY_CHANNELS * first_t
        out[F_PAIR_MET] = met
        if met < _DIRECT and pair_private < math.inf:
            out[F_PAIR_TO_PRIVATE] = (pair_private - first_t) / 3600.0
        else:
            out[F_PAIR_TO_PRIVATE] = np.nan
    else:  # no facts about the pair (account features given without them)
        out[F_PAIR_MET] = np.nan
        out[F_PAIR_TO_PRIVATE] = np.nan


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def fold_events(
    s: FloatArray,
    first_event: int,
    end: int,
    from_initiator: npt.NDArray[np.bool_],
    timestamp: npt.NDArray[np.int64],
    sender_age: FloatArray,
    recipient_age: FloatArray,
    channel: npt.NDArray[np.uint8],
    event: npt.NDArray[np.uint8],
    tz_offset: npt.NDArray[np.int16],
    room_size: npt.NDArray[np.int32],
) -> None:
    """The state of one conversation (into ``s``) from its sorted events
    ``first_event .. end - 1``. A ``tz_offset`` of
    :data:`~riskscore.io.schema.TZ_UNKNOWN` is unknown."""
    reset_state(s)
    for e in range(first_event, end):
        update_conversation(
            s,
            1 if from_initiator[e] else 0,
            timestamp[e],
            sender_age[e],
            recipient_age[e],
            channel[e],
            event[e],
            np.nan if tz_offset[e] == _TZ_UNKNOWN else float(tz_offset[e]),
            room_size[e],
        )


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def run_conversations(
    starts: npt.NDArray[np.int64],
    from_initiator: npt.NDArray[np.bool_],
    timestamp: npt.NDArray[np.int64],
    sender_age: FloatArray,
    recipient_age: FloatArray,
    channel: npt.NDArray[np.uint8],
    event: npt.NDArray[np.uint8],
    tz_offset: npt.NDArray[np.int16],
    room_size: npt.NDArray[np.int32],
    initiator: npt.NDArray[np.int64],
    responder: npt.NDArray[np.int64],
    accounts: FloatArray,
    pair_first: FloatArray,
    pair_private: FloatArray,
    first: int,
    stop: int,
    out: FloatArray,
    adult: npt.NDArray[np.int64],
) -> None:
    """Batch: the kernel over the events of conversations ``first .. stop - 1``.

    Events are sorted by conversation, then time; conversation ``k`` holds events
    ``starts[k] .. starts[k + 1] - 1`` (the last one up to the end). Row ``k`` of
    ``out`` receives its features, ``adult[k]`` the account code of its adult;
    ``accounts`` holds every account's tallies over all events, ``pair_first[k]`` and
    ``pair_private[k]`` the facts of conversation ``k``'s two accounts.
    """
    s = np.empty(N_STATE)
    n_rows = len(timestamp)
    for k in range(first, stop):
        end = starts[k + 1] if k + 1 < len(starts) else n_rows
        fold_events(s, starts[k], end, from_initiator, timestamp, sender_age, recipient_age,
                    channel, event, tz_offset, room_size)  # fmt: skip
        code = initiator[k] if adult_side(s) == 1 else responder[k]
        adult[k] = code
        conversation_features(s, accounts[code], pair_first[k], pair_private[k], out[k])


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def run_states(
    starts: npt.NDArray[np.int64],
    from_initiator: npt.NDArray[np.bool_],
    timestamp: npt.NDArray[np.int64],
    sender_age: FloatArray,
    recipient_age: FloatArray,
    channel: npt.NDArray[np.uint8],
    event: npt.NDArray[np.uint8],
    tz_offset: npt.NDArray[np.int16],
    room_size: npt.NDArray[np.int32],
    first: int,
    stop: int,
    states: FloatArray,
    adult_is_initiator: npt.NDArray[np.bool_],
) -> None:
    """:func:`run_conversations` up to the states: row ``k`` of ``states`` receives the
    state of conversation ``k``, ``adult_is_initiator[k]`` its role rule. The features
    follow once every account's tallies are known (:func:`finish_states`): out of core,
    after every chunk was read."""
    n_rows = len(timestamp)
    for k in range(first, stop):
        end = starts[k + 1] if k + 1 < len(starts) else n_rows
        fold_events(states[k], starts[k], end, from_initiator, timestamp, sender_age,
                    recipient_age, channel, event, tz_offset, room_size)  # fmt: skip
        adult_is_initiator[k] = adult_side(states[k]) == 1


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def finish_states(
    states: FloatArray,
    adult_accounts: FloatArray,
    pair_first: FloatArray,
    pair_private: FloatArray,
    first: int,
    stop: int,
    out: FloatArray,
) -> None:
    """Row ``k`` of ``out``: the features of the conversation whose state is row ``k``
    of ``states`` (:func:`run_states`), its adult's tallies row ``k`` of
    ``adult_accounts``."""
    for k in range(first, stop):
        conversation_features(states[k], adult_accounts[k], pair_first[k], pair_private[k], out[k])


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def apply_event(
    s: FloatArray,
    side: int,
    timestamp: int,
    sender_age: float,
    recipient_age: float,
    channel: int,
    event: int,
    tz_offset: float,
    room_size: int,
) -> int:
    """:func:`update_conversation`, then :func:`adult_side`: one compiled call per event
    for the online scorer."""
    update_conversation(
        s, side, timestamp, sender_age, recipient_age, channel, event, tz_offset, room_size
    )
    return adult_side(s)
