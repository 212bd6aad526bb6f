"""How one event changes a conversation's state: the event kernel's update (compiled).

:func:`update_conversation` applies one event to a conversation's state vector (slots
in :mod:`riskscore.features.slots`) in O(1); :func:`new_state` and :func:`reset_state`
give the state before the first event. Batch extraction and the online scorer both
call it through :mod:`riskscore.features.kernel`, which turns the state into the
feature row. With ``NUMBA_DISABLE_JIT=1`` (or through ``.py_func``) the same source runs
uncompiled: the reference the tests compare against.
"""

from __future__ import annotations

import math
from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk
from riskscore._plain import plain
from riskscore.features.constants import (
    NIGHT_END_MIN,
    NIGHT_START_MIN,
    RECENT_WEIGHT,
    TAU_LONG_S,
    TAU_SHORT_S,
)
from riskscore.features.slots import (
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
    N_EVENTS,
    N_STATE,
    NIGHT,
    NIGHT_MEDIA,
    OFFSET,
    PRIVATE_NIGHT,
    RECENT_NIGHT,
    RECENT_SENT,
    REQUESTS,
    RUN_LENGTH,
    RUN_MAX,
    RUN_SIDE,
    SAFETY,
    SENT_KNOWN,
    T_FIRST,
    T_LAST,
    UPWARD_MOVES,
)
from riskscore.io.groups import GROUP_MIN_ROOM_SIZE
from riskscore.io.schema import Channel, EventType

__all__ = ["new_state", "reset_state", "update_conversation"]

FloatArray = npt.NDArray[np.float64]

_MESSAGE: Final = int(EventType.MESSAGE)
_MEDIA: Final = int(EventType.MEDIA)
_REQUEST: Final = int(EventType.CONTACT_REQUEST)
_BLOCK: Final = int(EventType.BLOCK)
_REPORT: Final = int(EventType.REPORT)
_SECURE: Final = int(Channel.EPHEMERAL)
_GROUP_MIN: Final = GROUP_MIN_ROOM_SIZE
_EXTERNAL_CHANNEL: Final = int(Channel.EXTERNAL)
_KEEP: Final = 1.0 - RECENT_WEIGHT


def new_state() -> FloatArray:
    """A fresh conversation state (before its first event). Built by the uncompiled source
    of :func:`reset_state`, so that a module may build one on import without loading
    compiled code (``import riskscore`` checks the compiled caches last)."""
    state = np.empty(N_STATE)
    plain(reset_state)(state)
    return state


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def reset_state(s: FloatArray) -> None:
    """Set ``s`` to the state of a conversation with no event yet."""
    s[:] = 0.0
    s[AGE] = np.nan
    s[AGE + 1] = np.nan
    s[OFFSET] = np.nan
    s[OFFSET + 1] = np.nan
    s[FIRST_SECURE_T] = np.nan
    s[RUN_SIDE] = -1.0
    s[MAX_CHANNEL] = -1.0
    s[FIRST_CHANNEL] = -1.0


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _at_night(minute: int, offset: float) -> bool:
    # Offsets are whole minutes (int16 in a MessageTable): integer arithmetic, as a float
    # modulo is a library call that cost 6 % of out-of-core scoring's CPU.
    local = (minute + int(offset)) % 1440
    return local >= NIGHT_START_MIN or local < NIGHT_END_MIN


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _count_night(s: FloatArray, who: int, minute: int, clock: float, channel: int) -> float:
    """Count one communication event on side ``who``'s clock (known: ``clock`` is not
    NaN); return 1.0 if it fell at night there, else 0.0."""
    night = 1.0 if _at_night(minute, clock) else 0.0
    s[CLOCK_KNOWN + who] += 1.0
    s[NIGHT + who] += night
    s[RECENT_NIGHT + who] = _KEEP * s[RECENT_NIGHT + who] + RECENT_WEIGHT * night
    # Branch-free: a conditional store here (its branch unpredictable from one event to
    # the next) made the whole batch fold twice as slow.
    s[PRIVATE_NIGHT + who] += night * (channel >= _SECURE)
    return night


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def update_conversation(
    s: FloatArray,
    side: int,
    timestamp: int,
    sender_age: float,
    recipient_age: float,
    channel: int,
    event: int,
    tz_offset: float,
    room_size: int,
) -> None:
    """Apply one event, sent by ``side`` (1: the initiator, 0: the responder), to ``s``.

    Events reach a conversation in non-decreasing time (the online scorer clamps a
    slightly late event to the latest time first). ``tz_offset`` is the event's
    ``recipient_tz_offset_min`` (NaN: unknown); ``room_size`` its ``room_size`` (0: not
    given). A ``message`` or ``media`` event to a room of five or more accounts is group
    contact (:mod:`riskscore.io.groups`): it counts in the events, timing and channels,
    and in ``group``, not as a message one side sent the other.
    """
    other = 1 - side
    # Ages: the last declared one stays until another is declared.
    if sender_age == sender_age:
        s[AGE + side] = sender_age
    if recipient_age == recipient_age:
        s[AGE + other] = recipient_age
    t = float(timestamp)
    if s[N_EVENTS] == 0.0:
        s[T_FIRST] = t
        s[T_LAST] = t
        s[DECAYED_SHORT] = 1.0
        s[DECAYED_LONG] = 1.0
        s[FIRST_CHANNEL] = channel
        s[MAX_CHANNEL] = channel
    else:
        if t != s[T_LAST]:
            dt = t - s[T_LAST]
            s[DECAYED_SHORT] = s[DECAYED_SHORT] * math.exp(-dt / TAU_SHORT_S) + 1.0
            s[DECAYED_LONG] = s[DECAYED_LONG] * math.exp(-dt / TAU_LONG_S) + 1.0
            s[T_LAST] = t
        else:
            s[DECAYED_SHORT] += 1.0
            s[DECAYED_LONG] += 1.0
        if channel > s[MAX_CHANNEL]:
            s[UPWARD_MOVES] += 1.0
            s[MAX_CHANNEL] = channel
    # A side's clock is the latest known offset of the events it received (unknown,
    # NaN, until one is known): an unknown offset is never taken as UTC.
    if tz_offset == tz_offset:
        s[OFFSET + other] = tz_offset
    communication = (event == _MESSAGE) | (event == _MEDIA)
    if communication and room_size >= _GROUP_MIN:
        s[GROUP + side] += 1.0
    elif communication:
        s[COMM + side] += 1.0
        if s[RUN_SIDE] == side:
            s[RUN_LENGTH] += 1.0
        else:
            s[RUN_SIDE] = side
            s[RUN_LENGTH] = 1.0
        if s[RUN_LENGTH] > s[RUN_MAX + side]:
            s[RUN_MAX + side] = s[RUN_LENGTH]
        s[RECENT_SENT + side] = _KEEP * s[RECENT_SENT + side] + RECENT_WEIGHT
        s[RECENT_SENT + other] = _KEEP * s[RECENT_SENT + other]
        minute = timestamp // 60
        # Night only on a known clock: the recipient's, then the sender's.
        clock = s[OFFSET + other]
        if clock == clock:
            night_other = _count_night(s, other, minute, clock, channel)
            s[SENT_KNOWN + side] += 1.0
            if event == _MEDIA:
                s[NIGHT_MEDIA + side] += night_other
        clock = s[OFFSET + side]
        if clock == clock:
            _count_night(s, side, minute, clock, channel)
        if event == _MEDIA:
            s[MEDIA + side] += 1.0
        if channel == _EXTERNAL_CHANNEL:
            s[EXTERNAL + side] += 1.0
    else:
        if event == _BLOCK or event == _REPORT:  # noqa: SIM109
            s[SAFETY + side] += 1.0
        elif event == _REQUEST:
            s[REQUESTS + side] += 1.0
        if channel == _EXTERNAL_CHANNEL:
            s[EXTERNAL + side] += 1.0
    s[CHANNELS_USED] = float(int(s[CHANNELS_USED]) | (1 << channel))
    if channel >= _SECURE and s[FIRST_SECURE_T] != s[FIRST_SECURE_T]:
        s[FIRST_SECURE_T] = t
    s[N_EVENTS] += 1.0
