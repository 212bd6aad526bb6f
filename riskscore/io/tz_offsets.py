"""The ``recipient_tz_offset_min`` column's rule: UTC offsets in whole minutes, in range,
in whole quarter hours (the offsets in use), never text in hours and minutes (``+0300``,
which read as a number is 300 minutes, UTC+5): :func:`tz_offsets` for a column (rows
refused are reported), :func:`one_tz_offset_problem` for one value (the online scorer,
checkpoints, the Synapse module, vignette files), by the same rules and words."""

from __future__ import annotations

import math
import re
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc

from riskscore.io.columns import number_of, one_number_problem, whole_number_rules, whole_numbers
from riskscore.io.number_rules import Sink
from riskscore.io.schema import MAX_TZ_OFFSET_MIN, MIN_TZ_OFFSET_MIN, TZ_OFFSET_STEP_MIN, TZ_UNKNOWN
from riskscore.io.text import all_text

__all__ = ["has_clock_offsets", "one_tz_offset_problem", "tz_offsets"]

BoolArray = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]

_TZ_OFFSET: Final = "a UTC offset in whole minutes"
_TZ_RULES: Final = whole_number_rules(_TZ_OFFSET, (MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN))


_OFF_STEP: Final = (
    f"is no time zone's offset: offsets in use are whole quarter hours ({TZ_OFFSET_STEP_MIN} "
    "minutes), such as 60, -300 or 330; hours given for minutes? (UTC+5 is 300)"
)


#: A UTC offset written as a clock writes it, in hours and minutes (``+03:00``, ``-0330``,
#: ``0545``, and with a colon one digit of hours, ``+5:30``; trimmed): hours 00 to 14 and
#: minutes 00 to 59, which read as a number ``+0300`` would be 300 minutes, UTC+5 instead
#: of UTC+3, moving the child's night (and ``+5:30``, no number, is named for what it is).
_CLOCK_NOTATION: Final = r"^[+-]?((0?\d|1[0-4]):|(0\d|1[0-4]))[0-5]\d$"
_CLOCK_MATCH: Final = re.compile(_CLOCK_NOTATION, re.ASCII).match
_CLOCK_REASON: Final = (
    "is a UTC offset in hours and minutes (+hh:mm or +hhmm), which the column does not read: "
    "it counts minutes (+0300 read as a number is 300, UTC+5); give minutes, such as 180 "
    "for +03:00, 330 for +05:30 or -210 for -03:30"
)


def _is_clock_text(value: object) -> bool:
    """Whether one cell is text in clock notation (:data:`_CLOCK_NOTATION`)."""
    return isinstance(value, str) and _CLOCK_MATCH(value.strip()) is not None


def _clock_cells(text: Any) -> Any:
    """Which cells of Arrow text (trimmed as
    :func:`~riskscore.io.columns.number_text_column` trims them) are in clock notation
    (:data:`_CLOCK_NOTATION`); null cells are not."""
    trimmed = pc.utf8_trim_whitespace(text)
    return pc.fill_null(pc.match_substring_regex(trimmed, _CLOCK_NOTATION), False)


def has_clock_offsets(text: Any) -> bool:
    """Whether a text column of UTC offsets (Arrow strings: a CSV file's cells) holds one in
    hours and minutes (``+0300``), which :func:`tz_offsets` refuses by row: such a column
    is not read as numbers first (:func:`~riskscore.io.columns.number_text_column`), which
    would take it for minutes.

    Examples
    --------
    >>> import pyarrow as pa
    >>> has_clock_offsets(pa.array(["60", "+0300"])), has_clock_offsets(pa.array(["+300"]))
    (True, False)
    >>> has_clock_offsets(pa.array(["+5:30"])), has_clock_offsets(pa.array(["530", "+130"]))
    (True, False)
    """
    return bool(pc.any(_clock_cells(text)).as_py())


def _clock_offsets(arr: AnyArray) -> BoolArray:
    """Which cells of a ``recipient_tz_offset_min`` column are text in clock notation."""
    if arr.dtype.kind not in "OUS":
        return np.zeros(len(arr), dtype=bool)
    text = all_text(arr.astype(object, copy=False))
    if text is not None:  # all text (a CSV's, a Parquet string column): one pass in C
        return np.asarray(_clock_cells(text), dtype=bool)
    return np.fromiter(map(_is_clock_text, arr.tolist()), dtype=bool, count=len(arr))


def tz_offsets(arr: AnyArray, problems: Sink) -> npt.NDArray[np.int16]:
    """UTC offsets in whole minutes; :data:`TZ_UNKNOWN` where empty (unknown, not UTC).
    Text in hours and minutes (``+0300``) is refused, never read as minutes."""
    clock = _clock_offsets(arr)
    if clock.any():
        problems.add("recipient_tz_offset_min", clock, _CLOCK_REASON)
        arr = arr.astype(object)  # a copy: the caller's cells are not written to
        arr[clock] = None  # refused above: read as empty
    offsets = whole_numbers(
        "recipient_tz_offset_min", arr, problems, _TZ_OFFSET, _TZ_RULES, TZ_UNKNOWN, np.int16
    )
    off_step = (offsets % TZ_OFFSET_STEP_MIN != 0) & (offsets != TZ_UNKNOWN)
    if off_step.any():
        problems.add("recipient_tz_offset_min", off_step, _OFF_STEP)
        offsets = np.where(off_step, TZ_UNKNOWN, offsets)
    return offsets.astype(np.int16, copy=False)


def one_tz_offset_problem(value: object) -> str | None:
    """Why one ``recipient_tz_offset_min`` is refused, as :func:`tz_offsets` refuses it in
    a column; None when accepted (:func:`~riskscore.io.columns.one_number_problem`).

    Examples
    --------
    >>> one_tz_offset_problem(90.5)
    'is not a whole number: expected a UTC offset in whole minutes'
    >>> one_tz_offset_problem(5)[:25]
    "is no time zone's offset:"
    >>> one_tz_offset_problem("+0300")[:46]
    'is a UTC offset in hours and minutes (+hh:mm o'
    """
    if _is_clock_text(value):
        return _CLOCK_REASON
    reason = one_number_problem(value, _TZ_OFFSET, _TZ_RULES)
    number = number_of(value) if reason is None else None  # a whole number in range, or NaN
    off_step = number is not None and not math.isnan(number) and number % TZ_OFFSET_STEP_MIN
    return _OFF_STEP if off_step else reason
