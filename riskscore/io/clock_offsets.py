"""UTC offsets written as a clock writes them, in hours and minutes (``+0300``,
``+05:30``): the one rule by which every reader of ``recipient_tz_offset_min``, which
counts minutes, and the online scorer refuse them by row rather than read ``+0300`` as 300
minutes."""

from __future__ import annotations

import re
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc

from riskscore.io.text import all_text

__all__ = [
    "CLOCK_REASON",
    "clock_offset_cells",
    "has_clock_offsets",
    "is_clock_text",
]

#: A UTC offset written as a clock writes it, in hours and minutes (``+03:00``, ``-0330``,
#: ``0545``, and with a colon one digit of hours, ``+5:30``; trimmed): hours 00 to 14 and
#: minutes 00 to 59, which read as a number ``+0300`` would be 300 minutes, UTC+5 instead
#: of UTC+3, moving the child's night (and ``+5:30``, no number, is named for what it is).
_CLOCK_NOTATION: Final = r"^[+-]?((0?\d|1[0-4]):|(0\d|1[0-4]))[0-5]\d$"
_CLOCK_MATCH: Final = re.compile(_CLOCK_NOTATION, re.ASCII).match
CLOCK_REASON: Final = (
    "is a UTC offset in hours and minutes (+hh:mm or +hhmm), which the column does not read: "
    "it counts minutes (+0300 read as a number is 300, UTC+5); give minutes, such as 180 "
    "for +03:00, 330 for +05:30 or -210 for -03:30"
)


def is_clock_text(value: object) -> bool:
    """Whether one cell is text in clock notation (:data:`_CLOCK_NOTATION`).

    Examples
    --------
    >>> is_clock_text(" +05:30 "), is_clock_text("+530"), is_clock_text(300)
    (True, False, False)
    """
    return isinstance(value, str) and _CLOCK_MATCH(value.strip()) is not None


def _clock_cells(text: Any) -> Any:
    """Which cells of Arrow text (trimmed as
    :func:`~riskscore.io.columns.number_text_column` trims them) are in clock notation
    (:data:`_CLOCK_NOTATION`); null cells are not."""
    trimmed = pc.utf8_trim_whitespace(text)
    return pc.fill_null(pc.match_substring_regex(trimmed, _CLOCK_NOTATION), False)


def has_clock_offsets(text: Any) -> bool:
    """Whether a text column of UTC offsets (Arrow strings: a CSV file's cells) holds one in
    hours and minutes (``+0300``), which :func:`~riskscore.io.columns.tz_offsets` refuses
    by row: such a column is not read as numbers first
    (:func:`~riskscore.io.columns.number_text_column`), which would take it for minutes.

    Examples
    --------
    >>> import pyarrow as pa
    >>> has_clock_offsets(pa.array(["60", "+0300"])), has_clock_offsets(pa.array(["+300"]))
    (True, False)
    >>> has_clock_offsets(pa.array(["+5:30"])), has_clock_offsets(pa.array(["530", "+130"]))
    (True, False)
    """
    return bool(pc.any(_clock_cells(text)).as_py())


def clock_offset_cells(arr: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which cells of a ``recipient_tz_offset_min`` column (as read, an array) are text in
    clock notation.

    Examples
    --------
    >>> clock_offset_cells(np.array(["+0300", 60, "330", None], dtype=object)).tolist()
    [True, False, False, False]
    """
    if arr.dtype.kind not in "OUS":
        return np.zeros(len(arr), dtype=bool)
    text = all_text(arr.astype(object, copy=False))
    if text is not None:  # all text (a CSV's, a Parquet string column): one pass in C
        return np.asarray(_clock_cells(text), dtype=bool)
    return np.fromiter(map(is_clock_text, arr.tolist()), dtype=bool, count=len(arr))
