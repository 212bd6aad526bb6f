"""Timestamps given as text (private to :mod:`riskscore.io.timestamps`): epoch seconds
written as digits, or ISO 8601 with a UTC offset, read into epoch seconds; and what text
that is not a timestamp lacks (a date, a time, a UTC offset), in the one wording of a
column's cells and of one event's field."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.io.number_rules import Sink
from riskscore.io.one_value import Undecided
from riskscore.io.text import NUMBER_TEXT, arrow_text

__all__ = [
    "NOT_A_TIMESTAMP",
    "one_text_time",
    "parse_time_text",
    "report_incomplete",
]

AnyArray = npt.NDArray[Any]
BoolArray = npt.NDArray[np.bool_]

# ISO 8601 date-time that carries an explicit UTC offset (or Z).
_ISO_DATE_TIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
# A UTC offset in use: from UTC-12:00 to UTC+14:00, the range of recipient_tz_offset_min
# (MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN; a test holds the two rules equal), as +hh:mm,
# +hhmm or +hh. One pattern, so the check costs no second pass over the text.
_OFFSET_IN_USE = r"(Z|\+(0\d|1[0-3])(:?[0-5]\d)?|\+14(:?00)?|-(0\d|1[01])(:?[0-5]\d)?|-12(:?00)?)$"
_ISO_WITH_OFFSET = _ISO_DATE_TIME + _OFFSET_IN_USE
#: The two patterns of :func:`parse_time_text` for one text in Python (RE2 compiles its
#: pattern on every call): the same matches on printable ASCII text, as ``$`` meets no
#: line break there.
_ISO_MATCH: Final = re.compile(_ISO_WITH_OFFSET, re.ASCII).match
_NUMBER_MATCH: Final = re.compile(NUMBER_TEXT, re.ASCII).fullmatch


#: Why text (or a value of no kind of time) is refused as a timestamp.
NOT_A_TIMESTAMP: Final = (
    "is not a timestamp: expected epoch seconds or ISO 8601 with a UTC offset, "
    "like 2024-05-01T21:30:00+01:00"
)


_GIVE = "give the instant, like 2024-05-01T21:30:00+01:00, or epoch seconds"

#: Text that is almost a timestamp, and what it lacks or gets wrong: (pattern, reason), in
#: check order.
_INCOMPLETE: Final = (
    (r"^\d{4}-\d{2}-\d{2}$", f"is a date without a time and UTC offset: {_GIVE}"),
    (
        r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$",
        f"is a date and time without a UTC offset (time zone), so the instant is unknown: {_GIVE}",
    ),
    (
        r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$",
        f"is a time of day without a date and UTC offset (time zone): {_GIVE}",
    ),
    (
        r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s?(Z|[+-]\d{2}(:?\d{2})?)$",
        f"is a time of day without a date: {_GIVE}",
    ),
    (
        # the shape of an instant with an offset in use, yet no instant: a field out of range
        _ISO_WITH_OFFSET,
        "is not a date and time on the calendar (such as 2023-02-29, hour 24 or the leap "
        f"second 23:59:60, which epoch seconds do not count): {_GIVE}",
    ),
    (
        _ISO_DATE_TIME + r"[+-]\d{2}(:?\d{2})?$",
        "has a UTC offset that no clock uses: expected one from -12:00 to +14:00 (as "
        "recipient_tz_offset_min), like 2024-05-01T21:30:00+01:00",
    ),
)
_INCOMPLETE_MATCHES: Final = tuple(
    (re.compile(pattern).match, reason) for pattern, reason in _INCOMPLETE
)


def incomplete_reason(text: str) -> str | None:
    """What text that is not a timestamp lacks or gets wrong (a date, a time, a UTC offset),
    by the first pattern of :data:`_INCOMPLETE` it matches once stripped; None when it
    matches none (it is then :data:`NOT_A_TIMESTAMP`). The one wording of a column's
    refused text (:func:`report_incomplete`) and of one event's
    (:func:`riskscore.io.timestamps.one_timestamp_problem`).

    Examples
    --------
    >>> incomplete_reason("2024-05-01")[:39], incomplete_reason("yesterday")
    ('is a date without a time and UTC offset', None)
    """
    stripped = text.strip()
    return next((reason for match, reason in _INCOMPLETE_MATCHES if match(stripped)), None)


def report_incomplete(values: AnyArray, rows: npt.NDArray[np.intp], n: int, problems: Sink) -> None:
    """Name what is missing (a date, a time, a UTC offset) in refused text ``values``, which
    sit at ``rows`` of a column of ``n`` rows (:func:`incomplete_reason`)."""
    reasons = [incomplete_reason(v) if isinstance(v, str) else None for v in values.tolist()]
    for _, reason in _INCOMPLETE:
        hit = np.asarray([found == reason for found in reasons], dtype=bool)
        if hit.any():
            mask = np.zeros(n, dtype=bool)
            mask[rows[hit]] = True
            problems.add("timestamp", mask, reason)


def one_text_time(text: str) -> float | str:
    """One text timestamp read as :func:`parse_time_text` reads a column of them (epoch
    seconds, floored), or why it is refused (:func:`incomplete_reason`, else
    :data:`NOT_A_TIMESTAMP`): the rule of a column's text cells, for one event without a
    one-row table. Raises :class:`~riskscore.io.one_value.Undecided` for text that is not
    printable ASCII (Arrow and Python trim other whitespace differently), which the
    one-row table reads.

    Examples
    --------
    >>> one_text_time(" 2024-05-01T21:30:00+01:00 "), one_text_time("1.7e9")
    (1714595400.0, 1700000000.0)
    >>> one_text_time("yesterday") == NOT_A_TIMESTAMP
    True
    """
    if not (text.isascii() and text.isprintable()):  # trimmed as Arrow trims: plain text
        raise Undecided
    stripped = text.strip()  # spaces only: no other whitespace is printable ASCII
    if _ISO_MATCH(stripped):
        seconds = _iso_in_python(stripped)
        if seconds is None:
            seconds = _cast_iso(pa.array([stripped], pa.string()))[0]
    elif _NUMBER_MATCH(stripped):
        seconds = _number_in_python(stripped)
        if seconds is None:
            seconds = _floor_number_text(pa.array([stripped], pa.string()))[0]
    else:
        seconds = math.nan
    if math.isnan(seconds):
        return incomplete_reason(text) or NOT_A_TIMESTAMP
    return float(seconds)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
#: Microseconds from the epoch that a float64 holds exactly: within them the column's rule
#: (:func:`_cast_iso`, microseconds as a float floored to seconds) is the exact floor.
_EXACT_MICROS: Final = 2**53


def _iso_in_python(text: str) -> float | None:
    """Epoch seconds of ISO text that :data:`_ISO_MATCH` accepted, read by the standard
    library as :func:`_cast_iso` reads it (floored to the second) in about a microsecond
    instead of a one-row Arrow cast's forty; None where the two rules might differ (text
    Python refuses, such as month 13 or hour 24, or an instant beyond the float-exact
    range), which :func:`_cast_iso` then reads. ``tests/test_time_text_fast.py`` holds
    the two equal."""
    try:
        micros = (datetime.fromisoformat(text) - _EPOCH) // _MICROSECOND
    except (ValueError, OverflowError):
        return None
    if abs(micros) >= _EXACT_MICROS:
        return None
    return float(micros // 1_000_000)


def _number_in_python(text: str) -> float | None:
    """Epoch seconds of number text that :data:`_NUMBER_MATCH` accepted, floored by the rule
    of :func:`_floor_number_text` (by its digits where the float is whole but the text is
    not) without a one-row Arrow cast; None for text beyond the finite floats, which that
    function then reads."""
    value = float(text)  # correctly rounded, as Arrow's cast
    if not math.isfinite(value):
        return None
    seconds = float(math.floor(value))
    if seconds == value and ("." in text or "e" in text or "E" in text):
        seconds = float(math.floor(Decimal(text)))
    return seconds


def parse_time_text(
    values: AnyArray, as_arrow: pa.Array | None = None
) -> tuple[AnyArray, BoolArray]:
    """Epoch seconds from non-missing text (a number, or ISO 8601 with a UTC offset), and
    which entries could not be parsed; ``as_arrow``: the same text as an Arrow array."""
    text = pc.utf8_trim_whitespace(arrow_text(values) if as_arrow is None else as_arrow)
    is_iso = pc.fill_null(pc.match_substring_regex(text, _ISO_WITH_OFFSET), False)
    out = np.full(len(values), np.nan)
    iso = np.asarray(is_iso)
    if iso.all():  # every cell ISO text (a common case): no copy, no other pattern
        out[:] = _cast_iso(text)
        return out, np.isnan(out)
    if iso.any():
        out[iso] = _cast_iso(pc.filter(text, is_iso))
    # epoch seconds as text: digits, with a fraction or an exponent as JSON numbers may
    # have (1.7e9 in a CSV cell is the number it is in a JSON line)
    is_digits = pc.fill_null(pc.match_substring_regex(text, f"^{NUMBER_TEXT}$"), False)
    digits = np.asarray(is_digits)
    if digits.any():
        out[digits] = _floor_number_text(pc.filter(text, is_digits))
    return out, np.isnan(out)


def _floor_number_text(text: Any) -> AnyArray:
    """Numbers written as text (:data:`~riskscore.io.text.NUMBER_TEXT`) floored to whole
    seconds as written, not as their nearest float: ``"1704067200.9999999999"`` is
    1704067201.0 as a float, but its second is 1704067200. Only a text whose float is
    whole (and finite) while the text has a fraction or exponent can differ; those few
    are floored by their digits (:class:`decimal.Decimal`)."""
    values = np.asarray(text.cast(pa.float64()), dtype=np.float64)
    secs = np.floor(values)
    # a fraction or an exponent: literal matches (a regex is compiled on every call)
    exact = np.zeros(len(values), dtype=bool)
    for mark in ".eE":
        exact |= np.asarray(pc.fill_null(pc.match_substring(text, mark), False))
    for i in np.flatnonzero(exact & (secs == values) & np.isfinite(values)):
        secs[i] = math.floor(Decimal(text[i].as_py()))  # within float range: few digits
    return secs


def _cast_iso(text: Any) -> AnyArray:
    """Parse ISO 8601 strings with offsets; unparsable ones (e.g. month 13) become NaN."""
    target = pa.timestamp("us", tz="UTC")
    try:  # the common case in one cast; else normalised first (digits beyond micros)
        return np.asarray(text.cast(target).cast(pa.int64()), dtype=np.float64) // 1_000_000
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = pc.replace_substring_regex(text, r"([+-]\d{2})$", r"\1:00")
    # whole seconds are kept: digits beyond microseconds (nanoseconds) are dropped
    text = pc.replace_substring_regex(text, r"(\.\d{1,6})\d*", r"\1")
    try:
        return np.asarray(text.cast(target).cast(pa.int64()), dtype=np.float64) // 1_000_000
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # Rare: a string that looks ISO but is not a real instant. Find which, one by one.
    out = np.full(len(text), np.nan)
    for i, value in enumerate(text.to_pylist()):
        try:
            micros = pa.array([value]).cast(target).cast(pa.int64())[0].as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        out[i] = micros // 1_000_000
    return out
