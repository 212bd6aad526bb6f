"""The values of the online scorer's state as a checkpoint holds them (private): numbers
(NaN written as null), times, conversation state vectors and account id sets, each read
back with the checks of its range, and refused with a message naming the value.

A restore reads every live conversation and account: a list of numbers is checked at once
(:func:`numbers_in_range`), and one that fails is read again value by value for the message.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore._checks import is_real
from riskscore.features.kernel import PAIR_KEY_CHANNELS
from riskscore.features.slots import (
    DECAYED_LONG,
    DECAYED_SHORT,
    N_EVENTS,
    N_STATE,
    OFFSET,
    STATE_SLOTS,
    T_FIRST,
    T_LAST,
)
from riskscore.io.ids import stored_id_problem
from riskscore.io.raw import show
from riskscore.io.schema import (
    MAX_AGE,
    MAX_TIMESTAMP,
    MAX_TZ_OFFSET_MIN,
    MIN_AGE,
    MIN_TIMESTAMP,
    MIN_TZ_OFFSET_MIN,
    Channel,
)
from riskscore.io.tz_offsets import one_tz_offset_problem

__all__ = [
    "extra_data",
    "finite_or_none",
    "ids_in",
    "inf_if_none",
    "number_in",
    "numbers_in_range",
    "oldest_in",
    "out_value",
    "pair_facts_in",
    "state_in",
    "time_of",
]

FloatArray = npt.NDArray[np.float64]
_INF = math.inf


def finite_or_none(value: float) -> float | None:
    """An option as a checkpoint stores it: None for no limit (infinity)."""
    return None if math.isinf(value) else value


def inf_if_none(value: float | None) -> float:
    """Inverse of :func:`finite_or_none`."""
    return math.inf if value is None else float(value)


def out_value(value: float) -> float | None:
    return None if value != value else value


def number_in(value: Any, what: str = "value") -> float:
    """A number read from a checkpoint: None is NaN; anything but a finite int or float
    (a bool, text, infinity) is refused."""
    if value is None:
        return math.nan
    if not is_real(value):  # a bool, text, infinity or an int too large for a float
        raise ValueError(f"{what} must be a finite number or null, found {value!r:.80}")
    return float(value)


def time_of(value: Any, what: str) -> int:
    """A time read from a checkpoint: an int of epoch seconds in the accepted range."""
    if type(value) is not int or not MIN_TIMESTAMP <= value < MAX_TIMESTAMP:
        raise ValueError(
            f"{what} must be an int of epoch seconds in [{MIN_TIMESTAMP}, {MAX_TIMESTAMP}), "
            f"found {value!r}"
        )
    return value


def pair_facts_in(first: Any, private: Any) -> tuple[float, float]:
    """A pair's facts read from a checkpoint, as :func:`riskscore.online.pairs.meet` keeps
    them: ``first`` the key of its first event (``PAIR_KEY_CHANNELS`` x epoch seconds + the
    channel's code, a whole number), ``private`` null (none yet: infinity) or the time of
    its first event on a private channel, not before the first event. Another value is
    refused: the features read the channel from the key (``pair_met_channel`` 0.5, or 7,
    which no channel is) and the hours from one time to the other (negative hours)."""
    key = number_in(first, "pair first")  # null is NaN, refused below
    whole = math.isfinite(key) and key == math.floor(key)
    ts = math.floor(key / PAIR_KEY_CHANNELS) if whole else 0
    if not (
        whole
        and MIN_TIMESTAMP <= ts < MAX_TIMESTAMP
        and key - PAIR_KEY_CHANNELS * ts <= max(Channel)
    ):
        raise ValueError(
            f"pair first must be {PAIR_KEY_CHANNELS} x the epoch seconds of the pair's first "
            f"event (from {MIN_TIMESTAMP} to {MAX_TIMESTAMP}) + its channel's code (0 to "
            f"{int(max(Channel))}), found {first!r:.40}"
        )
    if private is None:
        return key, _INF
    when = number_in(private, "pair private")
    if not (when == math.floor(when) and ts <= when < MAX_TIMESTAMP):
        raise ValueError(
            f"pair private must be null or the epoch seconds of the pair's first private "
            f"event, from its first event ({ts}) to {MAX_TIMESTAMP}, found {private!r:.40}"
        )
    return key, when


def oldest_in(meta: Mapping[str, Any]) -> float:
    """The time a checkpoint's scorer expiry next looked from (``expiry_oldest``, stored as
    the scorer had it: expiry stops at the first live entry, so when it runs decides what
    goes); null, or a file without it, is minus infinity: at the next event that moves the
    clock."""
    value = meta.get("expiry_oldest")
    return -math.inf if value is None else number_in(value, "time")


#: The range of each conversation state slot in a checkpoint (NaN allowed where True);
#: a slot not named is a count or a decayed count: >= 0.
_SLOT_RANGES: dict[str, tuple[float, float, bool]] = {
    "age": (MIN_AGE, MAX_AGE, True),
    "t_first": (MIN_TIMESTAMP, MAX_TIMESTAMP, False),
    "t_last": (MIN_TIMESTAMP, MAX_TIMESTAMP, False),
    "run_side": (-1, 1, False),
    "offset": (MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN, True),
    "recent_night": (0, 1, False),
    "recent_sent": (0, 1, False),
    "first_channel": (-1, max(Channel), False),
    "max_channel": (-1, max(Channel), False),
    "channels_used": (0, 2 ** len(Channel) - 1, False),
    "first_secure_t": (MIN_TIMESTAMP, MAX_TIMESTAMP, True),
}
_STATE_RANGES = tuple(
    _SLOT_RANGES.get(name.removesuffix("+1"), (0, _INF, False)) for name in STATE_SLOTS
)
#: The slots that hold a fraction (an age, decayed counts, weighted averages) and the
#: offsets (whole quarter hours, by the events' own rule in :func:`_state_facts`). Every
#: other slot is a count, a time in whole seconds or a code (a side, a channel, a bit mask).
_NOT_COUNTS = frozenset(
    {"age", "decayed_short", "decayed_long", "recent_night", "recent_sent", "offset"}
)
_STATE_WHOLE = np.array([name.removesuffix("+1") not in _NOT_COUNTS for name in STATE_SLOTS])


def numbers_in_range(
    values: list[Any], low: Any, high: Any, nan_ok: Any = False
) -> FloatArray | None:
    """``values`` as floats when each is a finite int or float in ``[low, high]`` (or None,
    NaN, where ``nan_ok``), else None: a restore reads every live conversation and account,
    so their numbers are checked at once, and the caller reads a list that fails again
    value by value (:func:`number_in`), for the message naming the value."""
    if not all(type(v) is float or type(v) is int or v is None for v in values):
        return None  # a bool, text or a list
    try:
        numbers = np.array(values, dtype=np.float64)  # None is NaN
    except OverflowError:  # an int too large for a float
        return None
    finite = np.isfinite(numbers) & (low <= numbers) & (numbers <= high)
    return numbers if bool(np.all(finite | (nan_ok & np.isnan(numbers)))) else None


_STATE_LOW = np.array([lo for lo, _, _ in _STATE_RANGES])
_STATE_HIGH = np.array([hi for _, hi, _ in _STATE_RANGES])
_STATE_NAN_OK = np.array([nan_ok for _, _, nan_ok in _STATE_RANGES])


def state_in(values: Any) -> FloatArray:
    """A conversation's state vector read from a checkpoint, each slot in its range."""
    if not isinstance(values, list) or len(values) != N_STATE:
        raise ValueError(f"conversation state must be a list of {N_STATE} numbers")
    fast = numbers_in_range(values, _STATE_LOW, _STATE_HIGH, _STATE_NAN_OK)
    if fast is not None:
        return _state_facts(fast, values)
    state = np.empty(N_STATE)
    for i, (name, value, (lo, hi, nan_ok)) in enumerate(
        zip(STATE_SLOTS, values, _STATE_RANGES, strict=True)
    ):
        x = number_in(value, f"state slot {name!r}")
        if not (lo <= x <= hi or (nan_ok and x != x)):
            raise ValueError(f"state slot {name!r} must be in [{lo}, {hi}], found {value!r}")
        state[i] = x
    return _state_facts(state, values)


def _state_facts(state: FloatArray, values: list[Any]) -> FloatArray:
    """``state`` when the facts that tie its slots together hold, else ValueError."""
    # a count, a time or a code is whole: 2.5 events sent, or a max_channel of 2.5 (no
    # channel), would be read by the features as they are
    part = _STATE_WHOLE & (state != np.floor(state)) & ~np.isnan(state)
    if part.any():
        slot = int(np.argmax(part))
        raise ValueError(
            f"state slot {STATE_SLOTS[slot]!r} must be a whole number (a count, a time or a "
            f"code), found {values[slot]!r}"
        )
    # 1 at a conversation's first event, then decayed and 1 added: never below 1 once it
    # has events (a divisor of its features); 0 before any (a state just created)
    for slot in (DECAYED_SHORT, DECAYED_LONG):
        if state[N_EVENTS] > 0 and not state[slot] >= 1:
            name = STATE_SLOTS[slot]
            raise ValueError(
                f"state slot {name!r} must be at least 1 once the conversation has events, "
                f"found {values[slot]!r}"
            )
    if state[T_FIRST] > state[T_LAST]:
        raise ValueError(
            f"state slot 't_first' ({values[T_FIRST]!r}) is after 't_last' ({values[T_LAST]!r})"
        )
    for slot in (OFFSET, OFFSET + 1):  # as an event's offset: whole quarter hours
        problem = None if math.isnan(state[slot]) else one_tz_offset_problem(values[slot])
        if problem is not None:
            raise ValueError(f"state slot {STATE_SLOTS[slot]!r}: {values[slot]!r} {problem}")
    return state


def ids_in(values: Any, what: str) -> set[object]:
    """A set of account ids read from a checkpoint (ints or str, each once, as written, and
    each by the rule of the events' id columns, as the checkpoint's other ids)."""
    if not isinstance(values, list) or not all(type(v) is str or type(v) is int for v in values):
        raise ValueError(f"account {what} must be a list of ids (int or str)")
    for v in values:
        problem = stored_id_problem(v)
        if problem is not None:
            raise ValueError(f"account {what}: id {show(v)} {problem}")
    ids = set(values)
    if len(ids) != len(values):  # never merged in silence
        twice = next(v for i, v in enumerate(values) if v in values[:i])
        raise ValueError(f"account {what} must list each id once, found {show(twice)} twice")
    return ids


def extra_data(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """A checkpoint's ``extra`` as its JSON gives it back on restore, or a message naming
    the entry JSON cannot hold: a type of its own (a numpy integer, a ``Decimal``, bytes),
    NaN or infinity, or a key that is not text (JSON makes ``1`` the key ``"1"``, and ``1``
    and ``"1"`` one key).

    Raises
    ------
    TypeError
        ``extra`` is not a mapping, or holds a value of another type or a key not text.
    ValueError
        It holds NaN or infinity, or itself.

    Examples
    --------
    >>> extra_data({"offset": 17, "files": ["a.jsonl"]})
    {'offset': 17, 'files': ['a.jsonl']}
    >>> import numpy as np
    >>> extra_data({"offsets": [1, np.int64(2)]})
    Traceback (most recent call last):
    ...
    TypeError: checkpoint extra['offsets'][1]: 2 (int64) is not JSON data: give None, true \
or false, an int, a float, text, a list or a dict of those (int(x) for a numpy integer)
    """
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise TypeError(f"checkpoint extra: expected a mapping, found {type(extra).__name__}")
    extra = dict(extra)
    _check_json(extra, "extra", set())
    return extra


#: Deepest nesting of lists and dicts in a checkpoint's extra data (a stream offset, a
#: consumer's positions: two or three levels); deeper was a RecursionError.
MAX_EXTRA_DEPTH = 64


def _check_json(value: object, where: str, open_: set[int]) -> None:
    if value is None or isinstance(value, str):
        return
    if isinstance(value, int):  # bool is an int; JSON writes no more digits than str() does
        if value.bit_length() > 63:
            try:
                str(value)
            except ValueError:
                raise ValueError(
                    f"checkpoint {where}: an integer of more than "
                    f"{sys.get_int_max_str_digits()} digits, which JSON text here cannot hold: "
                    "give it as text"
                ) from None
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"checkpoint {where}: {value} is not a finite number (JSON has none)")
        return
    if not isinstance(value, (dict, list, tuple)):
        raise TypeError(
            f"checkpoint {where}: {show(value)} ({type(value).__name__}) is not JSON data: give "
            "None, true or false, an int, a float, text, a list or a dict of those (int(x) for "
            "a numpy integer)"
        )
    if id(value) in open_:
        raise ValueError(f"checkpoint {where}: holds itself")
    if len(open_) >= MAX_EXTRA_DEPTH:
        raise ValueError(f"checkpoint {where}: nested more than {MAX_EXTRA_DEPTH} levels deep")
    open_.add(id(value))
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"checkpoint {where}: key {show(key)} ({type(key).__name__}) is not text: "
                    "JSON keys are, so it would come back as text (and merged with an equal "
                    "text key): give str keys"
                )
            _check_json(item, f"{where}[{key!r}]", open_)
    else:
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]", open_)
    open_.discard(id(value))
