"""Timestamps of schema v1 as given (epoch seconds, or ISO 8601 text with a UTC offset)
checked and turned into epoch seconds, for the validator; epoch seconds written back as
ISO 8601 UTC (:func:`iso_utc`); and the one rule for events dated in the future
(:class:`FutureLimit`, :func:`future_reason`), shared by the batch readers and the online
scorer."""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore._checks import check_seconds, is_int, is_real
from riskscore.io.float_width import FloatWidth
from riskscore.io.number_rules import NumberRules, Sink, check_numbers
from riskscore.io.one_value import Undecided
from riskscore.io.schema import (
    EARLIEST_EVENT_TIMESTAMP,
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    is_null,
)
from riskscore.io.text import TextCells, all_text
from riskscore.io.time_text import (
    NOT_A_TIMESTAMP,
    one_text_time,
    parse_time_text,
    report_incomplete,
)

__all__ = [
    "DEFAULT_MAX_FUTURE_S",
    "DEFAULT_READ_MAX_FUTURE_S",
    "FutureLimit",
    "Sink",
    "check_timestamps",
    "first_event_future_s",
    "future_reason",
    "iso_utc",
    "iso_utc_z",
    "one_timestamp_problem",
    "times_as_text",
]

#: Default tolerance of event time ahead of the online scorer's clock: one day, for clocks
#: that differ. A live event dated later is an error of its sender's clock or of the data.
DEFAULT_MAX_FUTURE_S: Final = 86_400.0
#: Default tolerance of event time ahead of the time of reading, in batch: five years.
#: Batch input may be replayed or synthetic data dated ahead on purpose, which a tighter
#: default would refuse whole; five years still refuses sentinel and corrupt dates (2038,
#: 2099, 2199) that would stretch a conversation over decades. Pass ``max_future_s`` (or
#: ``--max-future-s``) to tighten it for live logs.
DEFAULT_READ_MAX_FUTURE_S: Final = 5 * 365 * 86_400.0

BoolArray = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]


def iso_utc(epoch: int) -> str:
    """Epoch seconds as ISO 8601 UTC with an explicit offset (``2026-01-05T10:00:00+00:00``).

    Examples
    --------
    >>> iso_utc(1_767_225_600)
    '2026-01-01T00:00:00+00:00'
    """
    return datetime.fromtimestamp(int(epoch), tz=UTC).isoformat()


def iso_utc_z(epoch: int) -> str:
    """Epoch seconds as ISO 8601 UTC with a ``Z``, to the second, as reports and exports
    print them (``2026-01-31T23:00:00Z``).

    Examples
    --------
    >>> iso_utc_z(1_769_900_400)
    '2026-01-31T23:00:00Z'
    """
    return iso_utc(epoch).replace("+00:00", "Z")


#: What the time of reading is called in a batch reader's message, and how to lift the rule.
_READ_CLOCK: Final = "the time of reading"
_READ_REMEDY: Final = "pass max_future_s=inf or now= (--max-future-s inf on the command line)"
#: The same for the online scorer (the event is refused and changes no state).
_ONLINE_REMEDY: Final = (
    "pass max_future_s=inf or time_source='events' (--max-future-s inf or --time-source "
    "events on the command line); the event was not applied"
)
#: The same for the first event of a scorer whose clock is its events (it has none yet).
_FIRST_REMEDY: Final = (
    "pass max_future_s=inf (--max-future-s inf on the command line); the event was not "
    "applied, and the first event accepted sets the scorer's clock"
)
#: The same for a scorer whose clock is its events already: the event follows a quiet gap.
_EVENTS_REMEDY: Final = (
    "pass a max_future_s above the longest quiet gap of the history, or inf (--max-future-s "
    "on the command line); the event was not applied"
)


def _instant(epoch: float) -> str:
    """``epoch`` as :func:`iso_utc` writes it, or as a number when out of its range."""
    if math.isfinite(epoch) and MIN_TIMESTAMP <= epoch < MAX_TIMESTAMP:
        return iso_utc(math.floor(epoch))
    return f"{epoch:g}"


def _seconds(value: float) -> str:
    """Seconds as a plain number (``157680000``, not ``1.5768e+08``)."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def future_reason(reference: float, max_future_s: float, *, online: str | None = None) -> str:
    """Why an event dated after ``reference + max_future_s`` is refused, and what to do:
    the one wording of batch readers (``online`` None: the reference is the time of
    reading) and of the online scorer (``online`` names its clock: ``"wall"``,
    ``"events"`` or ``"callable"``; ``"first event"``: a scorer with ``"events"`` before
    its first event, whose reference is the time of reading, as in batch).

    Examples
    --------
    >>> future_reason(1_700_000_000, 86_400)  # doctest: +NORMALIZE_WHITESPACE
    'is later than 2023-11-15T22:13:20+00:00: more than max_future_s=86400 s after the time
    of reading (2023-11-14T22:13:20+00:00); if the data is dated ahead on purpose (replayed
    or synthetic), pass max_future_s=inf or now= (--max-future-s inf on the command line)'
    """
    clock = (
        _READ_CLOCK
        if online in (None, "first event")
        else f"the scorer's reference clock ({online})"
    )
    remedies = {None: _READ_REMEDY, "events": _EVENTS_REMEDY, "first event": _FIRST_REMEDY}
    remedy = remedies.get(online, _ONLINE_REMEDY)
    return (
        f"is later than {_instant(reference + max_future_s)}: more than "
        f"max_future_s={_seconds(max_future_s)} s after {clock} ({_instant(reference)}); "
        f"if the data is dated ahead on purpose (replayed or synthetic), {remedy}"
    )


def first_event_future_s(max_future_s: float) -> float:
    """How far after the system clock the first event of an online scorer replaying
    events (``time_source="events"``, no event clock yet) may be dated: the batch
    readers' default (:data:`DEFAULT_READ_MAX_FUTURE_S`), or ``max_future_s`` if longer.

    Examples
    --------
    >>> first_event_future_s(86_400) == DEFAULT_READ_MAX_FUTURE_S, first_event_future_s(math.inf)
    (True, inf)
    """
    return max(max_future_s, DEFAULT_READ_MAX_FUTURE_S)


@dataclass(frozen=True, slots=True)
class FutureLimit:
    """The latest event time a batch reader accepts: ``now`` plus ``max_future_s``.

    Build one with :meth:`at`, once per read (a file read in chunks keeps one reference
    time for all of them).

    Attributes
    ----------
    now : float
        The reference time, epoch seconds (the time of reading, unless given).
    max_future_s : float
        How far after ``now`` an event may be dated (``inf``: no limit).
    """

    now: float
    max_future_s: float

    @classmethod
    def at(
        cls, now: object = None, max_future_s: object = DEFAULT_READ_MAX_FUTURE_S
    ) -> FutureLimit:
        """The limit for ``now`` (epoch seconds; None: the wall clock, read now) and
        ``max_future_s`` (seconds >= 0, ``math.inf`` lifting the limit), both checked.

        Raises
        ------
        ValueError
            ``max_future_s`` is not a number of seconds >= 0, or ``now`` is not epoch
            seconds from 1970 up to 2200.

        Examples
        --------
        >>> FutureLimit.at(1_700_000_000, 86_400).latest
        1700086400.0
        >>> FutureLimit.at(max_future_s=math.inf).latest
        inf
        """
        seconds = check_seconds("max_future_s", max_future_s)
        if now is None:
            return cls(time.time(), seconds)
        if not is_real(now) or not MIN_TIMESTAMP <= now < MAX_TIMESTAMP:
            raise ValueError(
                f"now must be epoch seconds from 1970 up to 2200 (a number), got {now!r}"
            )
        return cls(float(now), seconds)

    @property
    def latest(self) -> float:
        """The latest event time accepted (inclusive)."""
        return self.now + self.max_future_s

    def reason(self) -> str:
        """Why a later event is refused (:func:`future_reason`)."""
        return future_reason(self.now, self.max_future_s)


def times_as_text(arr: AnyArray) -> AnyArray:
    """``arr`` with :mod:`datetime` objects (dates, times, datetimes) as ISO 8601 text, so
    that the checks see what they lack and messages quote them as text; ``arr`` itself
    when it holds none (the common case: no copy), as :class:`TextCells` when every cell
    is text or empty (the checks then reuse its Arrow text)."""
    if arr.dtype.kind == "M":  # numpy times carry no zone: refused as such, as pandas' are
        out = np.asarray(np.datetime_as_string(arr), dtype=object)
        out[np.isnat(arr)] = None
        return out
    if arr.dtype != object:
        return arr
    text = all_text(arr)
    if text is not None:  # no dates or times among them; the checks reuse the Arrow text
        return TextCells.of(arr, text)
    kinds = (dt.date, dt.time, np.datetime64)
    is_time = np.asarray([isinstance(v, kinds) and not is_null(v) for v in arr], dtype=bool)
    if not is_time.any():
        return arr
    out = arr.copy()
    out[is_time] = [_time_text(v) for v in arr[is_time]]
    return out


def _time_text(value: Any) -> str | None:
    """A date, time or datetime (Python's or numpy's) as ISO 8601 text; None for NaT."""
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(np.datetime_as_string(value))
    return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()


def check_timestamps(arr: AnyArray, problems: Sink, future: FutureLimit | None = None) -> AnyArray:
    """Epoch seconds (int64) of a ``timestamp`` column; refused cells (0 in the result)
    reported to ``problems``: not a timestamp, missing, out of range, or (with
    ``future``) dated after ``future.latest``."""
    name = "timestamp"
    if arr.dtype.kind in "iu":  # whole seconds already: no float round trip
        return check_numbers(name, arr, _timestamp_rules(future), problems, 0)
    if _SECONDS_WIDTH.is_narrow_column(arr):
        problems.add(name, np.ones(len(arr), dtype=bool), _SECONDS_WIDTH.reason(8 * arr.itemsize))
        secs = np.zeros(len(arr))
    elif arr.dtype.kind == "f":
        secs = np.floor(arr.astype(np.float64, copy=False))
    elif arr.dtype.kind in "US":
        values = arr.astype(object)
        secs, bad = parse_time_text(values)
        rows = np.flatnonzero(bad)
        report_incomplete(values[rows], rows, len(arr), problems)
        problems.add(name, bad, NOT_A_TIMESTAMP)
    elif arr.dtype.kind == "O":
        secs = _object_timestamps(arr, problems)
    else:
        problems.add(name, np.ones(len(arr), dtype=bool), NOT_A_TIMESTAMP)
        secs = np.zeros(len(arr))
    # whole seconds (floored) or NaN; rows refused above are NaN and keep their first problem
    return check_numbers(name, secs, _timestamp_rules(future), problems, 0, np.int64)


#: Why an event time outside the range of :func:`_timestamp_rules` is refused.
_OUT_OF_RANGE: Final = (
    f"is out of range: expected epoch seconds from 2000-01-01 ({EARLIEST_EVENT_TIMESTAMP}) "
    "up to 2200 (UTC; "
    "a time before 2000 is a clock never set or a default value; if the clock counts "
    "milliseconds, divide by 1000, microseconds by 1e6, nanoseconds by 1e9)"
)


def _timestamp_rules(future: FutureLimit | None) -> NumberRules:
    """The rules of an event's epoch seconds: given, from 2000
    (:data:`~riskscore.io.schema.EARLIEST_EVENT_TIMESTAMP`) up to 2200, and (with
    ``future``) not after ``future.latest`` (whole seconds compared with it: an event at
    the limit itself is kept)."""
    latest, later = math.inf, None
    if future is not None and not math.isinf(future.latest):
        latest, later = math.floor(future.latest), future.reason()
    return NumberRules(
        low=EARLIEST_EVENT_TIMESTAMP,
        high=MAX_TIMESTAMP - 1,
        out_of_range=_OUT_OF_RANGE,
        empty="is missing: every event needs a timestamp",
        latest=latest,
        later=later,
    )


#: The rules of an online event's time (the scorer applies its own future limit).
_ONLINE_RULES: Final = _timestamp_rules(None)


def one_timestamp_problem(value: object) -> str | None:
    """Why one event's ``timestamp`` (a Python or numpy number, a boolean, None or text)
    is refused, as :func:`check_timestamps` refuses a column of one row without a future
    limit; None when accepted. Raises :class:`~riskscore.io.one_value.Undecided` for other kinds.

    >>> one_timestamp_problem(math.nan), one_timestamp_problem(1_700_000_000)
    ('is missing: every event needs a timestamp', None)
    >>> one_timestamp_problem("2024-05-01")  # doctest: +ELLIPSIS
    'is a date without a time and UTC offset: give the instant, like ...'
    """
    kind = type(value)
    if kind is bool:
        return NOT_A_TIMESTAMP
    if kind is str:  # text: read as a column's text cells are (time_text)
        read = one_text_time(value)  # type: ignore[arg-type]
        return read if isinstance(read, str) else _ONLINE_RULES.reason_of(read)
    if not (kind is int or kind is float or value is None or isinstance(value, _NUMPY_NUMBERS)):
        raise Undecided
    read = _value_kind(value)  # a numpy number: as a cell of an object column is read
    if read not in _KINDS:  # a float too narrow for epoch seconds (float32)
        return read
    if read == "other":
        return NOT_A_TIMESTAMP
    return _ONLINE_RULES.reason_of(math.nan if read == "missing" else _as_seconds(value))


#: The numpy scalars :func:`one_timestamp_problem` decides, by :func:`_value_kind`.
_NUMPY_NUMBERS: Final = (np.integer, np.floating)


#: Floats too narrow for epoch seconds: float32 steps are 128 s at today's epoch seconds,
#: so the instant is already lost (a column of them, or one such number in an object
#: column or an online event).
_SECONDS_WIDTH: Final = FloatWidth(
    min_bits=64,
    quantity="epoch seconds",
    steps="steps of minutes",
    fix="integers or 64-bit floats",
)


_KINDS: Final = frozenset({"missing", "number", "text", "other"})


def _value_kind(v: object) -> str:
    """The kind of one cell (one of :data:`_KINDS`), or the reason it is refused."""
    if is_null(v):
        return "missing"
    if isinstance(v, bool):
        return "other"
    if _SECONDS_WIDTH.is_narrow(v):
        return _SECONDS_WIDTH.reason(8 * v.itemsize)
    if isinstance(v, Decimal):
        # a decimal cell beside other kinds (an int, text, Infinity): the number it holds,
        # as in a column of decimals alone (riskscore.io.decimals); NaN is missing there too
        return "missing" if v.is_nan() else "number"
    if is_int(v) or isinstance(v, (float, np.floating)):
        return "number"
    if isinstance(v, str):
        return "text"
    return "other"


def _object_timestamps(arr: AnyArray, problems: Sink) -> AnyArray:
    """Object columns may mix numbers, text and empty cells; each kind is parsed as such."""
    text_cells = all_text(arr)
    if text_cells is not None:  # text and empty cells (a CSV's): no cell-by-cell kinds
        is_text = ~np.asarray(text_cells.is_null())
        number = other = np.zeros(len(arr), dtype=bool)
    else:
        with np.errstate(invalid="ignore"):  # NaN cells are compared as such
            kind = np.asarray(np.frompyfunc(_value_kind, 1, 1)(arr), dtype=str)
        is_text, number, other = kind == "text", kind == "number", kind == "other"
        for reason in sorted(set(kind.tolist()) - _KINDS):  # narrow floats
            problems.add("timestamp", kind == reason, reason)
    out = np.full(len(arr), np.nan)
    out[number] = [_as_seconds(v) for v in arr[number].tolist()]
    text = np.flatnonzero(is_text)
    if text.size:
        # the cells as Arrow text already, when the column was all text
        whole = text.size == len(arr)  # no empty cell: no copy of the column
        lent = None if text_cells is None else text_cells if whole else text_cells.take(text)
        parsed, bad = parse_time_text(arr if whole else arr[text], lent)
        out[text] = parsed
        report_incomplete(arr[text[bad]], text[bad], len(arr), problems)
        mask = np.zeros(len(arr), dtype=bool)
        mask[text[bad]] = True
        problems.add("timestamp", mask, NOT_A_TIMESTAMP)
    problems.add("timestamp", other, NOT_A_TIMESTAMP)
    return out


def _as_seconds(value: object) -> float:
    """A number as float seconds, floored; beyond float range (10**400) is +-inf, which
    the range check refuses. A decimal is floored by its digits, as a decimal column is
    (``1704067200.9999999999`` is second 1704067200, not the float 1704067201.0)."""
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() > 30:  # never an int of 10**6 digits
            return math.inf if value > 0 else -math.inf
        return float(math.floor(value))
    try:
        return float(np.floor(float(value)))  # type: ignore[arg-type]
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")  # type: ignore[operator]
