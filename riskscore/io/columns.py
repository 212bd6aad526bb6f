"""Checks of the age, channel, event, UTC offset and room size columns: each turns raw
values into their coded form and reports the rows it refuses (:mod:`riskscore.io.ids` and
:mod:`riskscore.io.timestamps` check the id and timestamp columns)."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.io.float_width import FloatWidth
from riskscore.io.ids import Coded
from riskscore.io.number_rules import NumberRules, Sink, beyond_exact_floats, check_numbers
from riskscore.io.one_value import PLAIN_KINDS, Undecided
from riskscore.io.schema import (
    MAX_AGE,
    MAX_ROOM_SIZE,
    MAX_TZ_OFFSET_MIN,
    MIN_AGE,
    MIN_TZ_OFFSET_MIN,
    OPTIONAL_COLUMNS,
    ROOM_SIZE_UNKNOWN,
    TZ_OFFSET_STEP_MIN,
    TZ_UNKNOWN,
    Channel,
    EventType,
    is_null,
)
from riskscore.io.text import NUMBER_TEXT, all_text, arrow_text, is_number_text

__all__ = [
    "ages",
    "categories",
    "category_text",
    "has_clock_offsets",
    "number_text_column",
    "one_age_problem",
    "one_category_problem",
    "one_room_size_problem",
    "one_tz_offset_problem",
    "optional",
    "room_sizes",
    "to_float",
    "tz_offsets",
    "unknown_column",
    "whole_numbers",
]

BoolArray = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]


def unknown_column(n_rows: int, code: int, dtype: type[np.integer], problems: Sink) -> AnyArray:
    """An optional column that is not given: unknown on every row."""
    return np.full(n_rows, code, dtype=dtype)


def optional(raw: Mapping[str, AnyArray], name: str, n: int) -> AnyArray:
    """The column ``name`` of ``raw``, or its default on each of ``n`` rows when not given."""
    if name in raw:
        return raw[name]
    return np.full(n, OPTIONAL_COLUMNS[name], dtype=object)


def is_missing(arr: AnyArray) -> BoolArray:
    """True where a cell is empty (None or NaN)."""
    if arr.dtype == object:
        flags = np.frompyfunc(is_null, 1, 1)(arr)
        return np.asarray(flags, dtype=bool)
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    return np.zeros(len(arr), dtype=bool)


#: Text that stands for a missing number (what ``str`` writes for NaN, with a sign or not).
_NAN_TEXT: Final = frozenset({"nan", "+nan", "-nan"})


@functools.cache
def _nan_arrow() -> pa.Array:
    """:data:`_NAN_TEXT` as an Arrow array, built at first use: ``pa.array`` at import
    loads pandas (0.4-0.6 CPU s) in every command, ``--help`` included."""
    return pa.array(sorted(_NAN_TEXT))


def _number_of(v: object) -> float | None:
    """The number of one cell of an object column (NaN: empty, unknown); None for a cell
    that is no number (refused by :func:`to_float`). An infinite float is a number: the
    column's range refuses it, as in a float column."""
    if is_null(v) or (isinstance(v, str) and not v.strip()):
        return float("nan")
    if isinstance(v, (bool, np.bool_)):  # numpy's too: float(np.True_) is 1.0
        return None  # refused as a boolean
    if isinstance(v, np.complexfloating):  # float() keeps its real part; Python's fails
        return None
    if isinstance(v, str) and not is_number_text(v):
        # "nan" is a missing number as text (str(math.nan)); "1_3", other scripts'
        # digits and "infinity", which float() also reads, are refused
        return float("nan") if v.strip().lower() in _NAN_TEXT else None
    try:
        number = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    except OverflowError:  # an integer beyond float range: out of any range checked
        return 1e308 if v > 0 else -1e308  # type: ignore[operator]
    # Text such as "1e999" reads as infinity in Python, but no export writes it: text
    # that is no finite number is no number.
    return None if isinstance(v, str) and math.isinf(number) else number


def _boolean_reason(what: str) -> str:
    return f"is a boolean, not {what}"


def _not_a_number_reason(what: str) -> str:
    return f"is not a number: expected {what}"


def to_float(name: str, arr: AnyArray, problems: Sink, what: str) -> AnyArray:
    """Numbers as float64 (NaN where empty; a float64 column itself, not a copy); text
    that is not a number is a problem."""
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64, copy=False)
    if arr.dtype.kind == "b":
        problems.add(name, np.ones(len(arr), dtype=bool), _boolean_reason(what))
        return np.full(len(arr), np.nan)
    # numpy 2.5 checks the floating-point status after an object loop: the NaN that
    # stands for a missing number would warn "invalid value" on every read
    with np.errstate(invalid="ignore"):
        parsed: npt.NDArray[np.object_] = np.asarray(
            np.frompyfunc(_number_of, 1, 1)(arr), dtype=object
        )
    notnum: npt.NDArray[np.bool_] = np.asarray(
        np.frompyfunc(lambda v: v is None, 1, 1)(parsed), dtype=bool
    )
    if notnum.any():
        flags = np.frompyfunc(lambda v: isinstance(v, (bool, np.bool_)), 1, 1)(arr[notnum])
        boolean = np.zeros(len(arr), dtype=bool)
        boolean[np.flatnonzero(notnum)[np.asarray(flags, dtype=bool)]] = True
        problems.add(name, boolean, _boolean_reason(what))
        parsed[notnum] = math.nan
    problems.add(name, notnum, _not_a_number_reason(what))
    return np.asarray(parsed, dtype=np.float64)


def _one_number_problem(value: object, what: str, rules: NumberRules) -> str | None:
    """Why one cell of a number column (an object column's: not a number, a boolean, or
    a number that breaks ``rules``) is refused, as :func:`to_float` and
    :func:`~riskscore.io.number_rules.check_numbers` refuse it in a column; None when
    accepted. For the plain Python kinds only (:data:`~riskscore.io.one_value.PLAIN_KINDS`).

    Raises
    ------
    Undecided
        ``value`` is of another kind (a numpy scalar, a decimal): the column check decides.
    """
    if type(value) not in PLAIN_KINDS:
        raise Undecided
    number = _number_of(value)
    if number is None:
        return _boolean_reason(what) if type(value) is bool else _not_a_number_reason(what)
    return rules.reason_of(number)


def number_text_column(text: Any) -> Any:
    """A text column (Arrow strings: a CSV file's cells) as the numbers :func:`to_float`
    reads in it, when it reads every cell as a number or as empty: int64 when every cell is
    a whole number written without a fraction or exponent, float64 otherwise (empty cells
    null), as Arrow's CSV reader types a column of numbers. None for any other column,
    which stays text for the rule to refuse its cells by row and name what they hold:
    Arrow's own reading of a CSV cell (``0x0c`` the number 12, ``NA`` or ``#N/A`` empty)
    is no other source's.

    Examples
    --------
    >>> number_text_column(pa.array(["12", " 13 ", "", "nan"])).to_pylist()
    [12, 13, None, None]
    >>> number_text_column(pa.array(["12", "1.5e1"])).to_pylist()
    [12.0, 15.0]
    >>> number_text_column(pa.array(["12", "0x0c"])) is None
    True
    """
    trimmed = pc.utf8_trim_whitespace(text)
    number = pc.match_substring_regex(trimmed, f"^{NUMBER_TEXT}$")
    empty = pc.or_(pc.equal(trimmed, ""), pc.is_in(pc.utf8_lower(trimmed), value_set=_nan_arrow()))
    if not pc.all(pc.or_kleene(number, empty)).as_py():
        return None
    numbers = pc.if_else(pc.fill_null(number, False), trimmed, pa.scalar(None, pa.string()))
    try:
        return numbers.cast(pa.int64())
    except pa.ArrowInvalid:  # a fraction, an exponent, a sign or beyond int64
        floats = numbers.cast(pa.float64())
    return None if pc.any(pc.is_inf(floats)).as_py() else floats  # 1e999: refused by row


#: What an age cell is expected to be, in the reasons it is refused with.
_AN_AGE: Final = "an age in years (empty for unknown)"


def ages(name: str, arr: AnyArray, problems: Sink) -> AnyArray:
    """Ages in years as float64 (NaN for unknown); implausible ones refused, and so are
    16-bit floats, too coarse for an age."""
    ages = to_float(name, arr, problems, _AN_AGE)
    half = _AGE_WIDTH.cells(arr) & ~np.isnan(ages)  # an unknown age is not a rounded one
    if half.any():  # float16 or object cells: ``ages`` is a new array, not ``arr``
        problems.add(name, half, _AGE_WIDTH.reason(16))  # float16: the only narrower one
        ages[half] = math.nan
    return check_numbers(name, ages, _AGE_RULES, problems, math.nan)


#: Floats too narrow for an age: float16, numpy's only float narrower than 32 bits. Its
#: steps are 1/64 of a year (5.7 days) between 16 and 32, so ``np.float16(17.999)`` is
#: exactly 18.0, a minor made an adult. A float32 holds an age to within minutes (steps of
#: 2**-17 years, 4 minutes, up to 128), so it is read.
_AGE_WIDTH: Final = FloatWidth(
    min_bits=32,
    quantity="an age in years",
    steps="steps of days: 17.999 is stored as 18.0",
    fix="32- or 64-bit floats",
)


_AGE_RULES: Final = NumberRules(
    low=MIN_AGE,
    high=MAX_AGE,
    out_of_range=f"is not a plausible age: expected years in [{MIN_AGE:g}, {MAX_AGE:g}], "
    "or empty for unknown",
)


def one_age_problem(value: object) -> str | None:
    """Why one age (of an event's ``sender_age`` or ``recipient_age``) is refused, as
    :func:`ages` refuses it in a column; None when accepted (:func:`_one_number_problem`).

    Examples
    --------
    >>> one_age_problem(-3)
    'is not a plausible age: expected years in [0, 120], or empty for unknown'
    >>> one_age_problem(12), one_age_problem(None)
    (None, None)
    """
    return _one_number_problem(value, _AN_AGE, _AGE_RULES)


def category_key(value: object) -> str:
    """What a category cell is looked up by among the names: its text without the
    whitespace around it, in lower case (``" Direct "`` is ``"direct"``).

    Python's own text, never numpy's fixed-width strings, which drop trailing NUL
    characters: ``"direct\\x00"`` would be read as ``"direct"``, and ``"\\x00"`` as an
    empty cell. A NUL is no whitespace: such a value names no category.

    Examples
    --------
    >>> category_key(" Direct "), category_key("direct\\x00")
    ('direct', 'direct\\x00')
    """
    return str(value).strip().lower()


#: The library's own enums of category values: a member is read as its name
#: (``Channel.DIRECT`` as ``"direct"``), never as the integer it also is.
_NAMED_MEMBERS: Final = (Channel, EventType)


def category_text(value: object) -> str:
    """A category cell of a column that is not all text, as the text it is read as when
    the column is: a member of :class:`~riskscore.io.schema.Channel` or
    :class:`~riskscore.io.schema.EventType` as its name (``str()`` of an ``IntEnum`` is
    its number, ``"2"``, which names no category); bytes of UTF-8 as that text, whatever
    the other rows hold (one row of other bytes made every row its ``repr``,
    ``b'direct'``); anything else as ``str()``. :func:`category_key` then looks it up.

    Examples
    --------
    >>> category_text(Channel.DIRECT), category_text(b"group"), category_text(2)
    ('DIRECT', 'group', '2')
    """
    if isinstance(value, _NAMED_MEMBERS):
        return value.name
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return str(value)


def categories(
    name: str, arr: AnyArray, names: tuple[str, ...], problems: Sink
) -> npt.NDArray[np.uint8]:
    """Category names to codes. Only the distinct values are cleaned and looked up, so a
    million rows cost one hash pass rather than a million string operations."""
    default = OPTIONAL_COLUMNS.get(name)
    if isinstance(arr, Coded) and arr.distinct is not None:
        distinct, index = arr.distinct, arr.view(np.ndarray)  # read from a dictionary column
    else:
        try:
            encoded = arrow_text(arr).dictionary_encode()
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: each cell's own text
            as_text = np.asarray(arr, dtype=object).copy()
            present = ~is_missing(arr)
            as_text[present] = np.asarray(
                np.frompyfunc(category_text, 1, 1)(as_text[present]), dtype=object
            )
            as_text[~present] = None
            encoded = arrow_text(as_text).dictionary_encode()
        if isinstance(encoded, pa.ChunkedArray):  # chunked result for empty input
            encoded = encoded.combine_chunks()
        distinct = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        index = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int64)
    # one extra "" at the end, where the index -1 of an empty cell points
    cleaned = np.array([*map(category_key, distinct.tolist()), ""], dtype=object)
    lookup = {n: code for code, n in enumerate(names)}
    if default is not None:  # an empty cell in an optional column takes its default
        lookup[""] = lookup[str(default)]
    code_of_distinct = np.array([lookup.get(c, -1) for c in cleaned], dtype=np.int64)
    unknown = code_of_distinct < 0
    codes = np.where(unknown, 0, code_of_distinct).astype(np.uint8)[index]
    # Row masks only when some row may be refused (the last entry is the empty cell's).
    if unknown[:-1].any() or (unknown[-1] and bool((index < 0).any())):
        refused = unknown[index]
        missing, not_recognised = _category_reasons(names)
        problems.add(name, refused & (cleaned == "")[index], missing)
        problems.add(name, refused, not_recognised)
    return codes


@functools.cache
def _category_reasons(names: tuple[str, ...]) -> tuple[str, str]:
    """Why a category cell is refused: it is empty (in a column without a default), or
    names none of ``names``."""
    expected = f"expected one of {', '.join(names)}"
    return f"is missing: {expected}", f"is not recognised: {expected}"


def one_category_problem(name: str, names: tuple[str, ...], value: object) -> str | None:
    """Why one cell of category column ``name`` is refused, as :func:`categories` refuses
    it in a column: empty where the column has no default, or naming none of ``names``
    (read by :func:`category_key`; a :class:`~riskscore.io.schema.Channel` or
    :class:`~riskscore.io.schema.EventType` member by its name); None when accepted.

    Raises
    ------
    Undecided
        ``value`` is neither text, such a member nor empty (None, NaN): the column check
        decides.

    Examples
    --------
    >>> one_category_problem("channel", ("public", "direct"), "whatsapp")
    'is not recognised: expected one of public, direct'
    >>> one_category_problem("channel", ("public", "direct"), " Direct ") is None
    True
    """
    if type(value) is str:
        key = category_key(value)
    elif isinstance(value, _NAMED_MEMBERS):
        key = category_key(category_text(value))
    elif value is None or (type(value) is float and value != value):
        key = ""
    else:
        raise Undecided
    if key in names or (key == "" and OPTIONAL_COLUMNS.get(name) is not None):
        return None
    missing, not_recognised = _category_reasons(names)
    return missing if key == "" else not_recognised


def _whole_number_rules(what: str, bounds: tuple[int, int]) -> NumberRules:
    """The rules of a column of whole numbers ``what`` in ``bounds`` (inclusive), empty
    for unknown."""
    return NumberRules(
        low=bounds[0],
        high=bounds[1],
        out_of_range=f"is out of range: expected {what} in [{bounds[0]}, {bounds[1]}], or "
        "empty for unknown",
        fractional=f"is not a whole number: expected {what}",
    )


def whole_numbers(
    name: str,
    arr: AnyArray,
    problems: Sink,
    what: str,
    rules: NumberRules,
    unknown: int,
    dtype: type[np.integer[Any]],
) -> npt.NDArray[np.integer[Any]]:
    """Whole numbers ``what`` by ``rules`` (:func:`_whole_number_rules`) as ``dtype``,
    ``unknown`` where empty; others refused."""
    if arr.dtype.kind not in "iu":  # integers are whole numbers already
        rounded = beyond_exact_floats(arr)
        arr = to_float(name, arr, problems, what)
        for bits, mask in rounded.items():  # a float16 of 2049 is 2048.0: refused, not read
            problems.add(name, mask, _rounded_reason(bits))
            arr = np.where(mask, math.nan, arr)
    return check_numbers(name, arr, rules, problems, unknown, dtype)


def _rounded_reason(bits: int) -> str:
    return (
        f"is a float of 2**{bits} or more, where floats of its width round whole numbers "
        f"({2**bits + 1} is stored as {2**bits}): give the column as integers or 64-bit floats"
    )


_TZ_OFFSET: Final = "a UTC offset in whole minutes"
_TZ_RULES: Final = _whole_number_rules(_TZ_OFFSET, (MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN))
_ROOM_SIZE: Final = (
    "the number of accounts in the room when the event was sent (the sender included)"
)
_ROOM_RULES: Final = _whole_number_rules(_ROOM_SIZE, (2, MAX_ROOM_SIZE))


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
    """Which cells of Arrow text (trimmed as :func:`number_text_column` trims them) are in
    clock notation (:data:`_CLOCK_NOTATION`); null cells are not."""
    trimmed = pc.utf8_trim_whitespace(text)
    return pc.fill_null(pc.match_substring_regex(trimmed, _CLOCK_NOTATION), False)


def has_clock_offsets(text: Any) -> bool:
    """Whether a text column of UTC offsets (Arrow strings: a CSV file's cells) holds one in
    hours and minutes (``+0300``), which :func:`tz_offsets` refuses by row: such a column
    is not read as numbers first (:func:`number_text_column`), which would take it for
    minutes.

    Examples
    --------
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


def room_sizes(arr: AnyArray, problems: Sink) -> npt.NDArray[np.int32]:
    """Accounts in the room, the sender included; :data:`ROOM_SIZE_UNKNOWN` where empty."""
    sizes = whole_numbers(
        "room_size", arr, problems, _ROOM_SIZE, _ROOM_RULES, ROOM_SIZE_UNKNOWN, np.int32
    )
    return sizes.astype(np.int32, copy=False)


def one_tz_offset_problem(value: object) -> str | None:
    """Why one ``recipient_tz_offset_min`` is refused, as :func:`tz_offsets` refuses it in
    a column; None when accepted (:func:`_one_number_problem`).

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
    reason = _one_number_problem(value, _TZ_OFFSET, _TZ_RULES)
    number = _number_of(value) if reason is None else None  # a whole number in range, or NaN
    off_step = number is not None and not math.isnan(number) and number % TZ_OFFSET_STEP_MIN
    return _OFF_STEP if off_step else reason


def one_room_size_problem(value: object) -> str | None:
    """Why one ``room_size`` is refused, as :func:`room_sizes` refuses it in a column;
    None when accepted (:func:`_one_number_problem`)."""
    return _one_number_problem(value, _ROOM_SIZE, _ROOM_RULES)
