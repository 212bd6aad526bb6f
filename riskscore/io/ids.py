"""The checks of the id columns of schema v1 (``conversation_id``, ``sender_id``,
``recipient_id``) for the validator (private): ids kept exactly as given, never two merged,
empty, over-long or unprintable ids refused."""

from __future__ import annotations

import math
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore._checks import is_int
from riskscore.io.coding import ranked_text
from riskscore.io.decimals import EXACT_FLOAT_INT
from riskscore.io.joiners import JOINERS
from riskscore.io.number_rules import exact_float_bits
from riskscore.io.one_value import Undecided
from riskscore.io.pair_text import IntegerAndPairIds, integers_beside_pair_ids, is_long_pair_id
from riskscore.io.schema import (
    HIDDEN_RE2,
    INT64_MAX,
    INT64_MIN,
    MAX_ID_LENGTH,
    SENTENCE_ID_RE2,
    has_hidden_character,
    is_null,
    sentence_id,
)
from riskscore.io.text import all_text
from riskscore.io.timestamps import Sink

__all__ = [
    "Coded",
    "DecimalIds",
    "as_text",
    "check_ids",
    "coded_text",
    "first_bad_text_id",
    "integer_id_problem",
    "integer_ids",
    "mixed_id_kinds",
    "one_id_problem",
    "same_id_kind",
    "stored_id_problem",
    "text_id_problem",
]

AnyArray = npt.NDArray[Any]
BoolArray = npt.NDArray[np.bool_]


class Coded(np.ndarray):
    """A dictionary column, undecoded: each row's position in the dictionary
    (``distinct``), -1 for null. :func:`riskscore.io.columns.categories` looks up the few
    distinct values instead of every row, and only a refused row's value is ever decoded
    (:func:`riskscore.io.raw.cell`). Arrays derived from it (slices, masks) are plain
    arrays again."""

    distinct: AnyArray | None

    def __array_finalize__(self, obj: object) -> None:
        self.distinct = None


class DecimalIds(np.ndarray):
    """Integer ids of a column with a value beyond int64, kept as their decimal text: still
    integers, so the other id column's integers are text of the same kind beside them (a
    table of them records it: :attr:`riskscore.MessageTable.decimal_ids`)."""


def _inexact_reason(bits: int) -> str:
    return (
        f"is a float id beyond 2**{bits}, where floats of its width lose digits: give ids "
        "this large as strings or integers"
    )


_SENTENCE_ID = (
    "is text of three or more words, a sentence: ids are opaque keys, not text (give the "
    "platform's key of the account or conversation)"
)
_NOT_AN_ID = "is not an id: expected an integer or a string"
#: An infinity (JSON's ``Infinity``). NaN is the missing marker of every reader (a float
#: column's null, a dict's or JSON line's ``NaN``), so it is missing, not this.
NOT_FINITE_ID: Final = "is not an id: a number that is not finite"
_MISSING_ID = "is missing: every event needs an id"
_DECIMAL_BEYOND = (
    "is a decimal id with fraction digits beyond 2**53, where ids with fraction digits "
    "are read as floats, which lose digits: give ids this large without fraction digits, "
    "or as strings"
)

#: The integers whose decimal text is longer than :data:`MAX_ID_LENGTH` characters: from
#: these on (``-`` counts as a character).
_SHORTEST_OVER_LONG: Final = 10**MAX_ID_LENGTH
_SHORTEST_OVER_LONG_NEGATIVE: Final = -(10 ** (MAX_ID_LENGTH - 1))
_OVER_LONG_INTEGER: Final = (
    f"is longer than {MAX_ID_LENGTH} characters as decimal text: ids are opaque keys, at "
    f"most {MAX_ID_LENGTH} characters"
)


def coded_text(indices: pa.Array, dictionary: pa.Array) -> Coded:
    """A dictionary column of text (its ``indices`` into ``dictionary``) as :class:`Coded`:
    each row's position in the dictionary, -1 where the row is null or its value is (a null
    kept as a value is a missing cell, not the text ``"None"``)."""
    indices = indices.cast(pa.int64())
    if indices.null_count:  # a pass over every row only where some are null
        indices = pc.fill_null(indices, -1)
    codes = np.asarray(indices, dtype=np.int64)
    if dictionary.null_count:
        nulls = np.flatnonzero(np.asarray(dictionary.is_null()))
        codes = np.where(np.isin(codes, nulls), -1, codes)
    out: Coded = codes.view(Coded)
    out.distinct = np.asarray(dictionary.to_pylist(), dtype=object)
    return out


def check_ids(name: str, arr: AnyArray, problems: Sink) -> AnyArray:
    """Ids exactly as given, never two merged into one: int64 when every id is an integer
    that fits in 64 bits (or an integral float below 2**53; 2**24 for float32), otherwise
    text (an object array of str, so memory follows the data, not the longest id). Integer
    columns with a value beyond int64 are read as their decimal text. Text ids with control
    characters or longer than :data:`MAX_ID_LENGTH` are refused; so are bytes, booleans, containers
    and fractional or non-finite numbers."""
    if isinstance(arr, Coded) and arr.distinct is not None:
        index = arr.view(np.ndarray)
        missing = index < 0
        problems.add(name, missing, _MISSING_ID)
        if len(arr.distinct) == 0:
            return np.zeros(len(arr), dtype=np.int64)
        distinct = _text_ids(name, np.asarray(arr.distinct, dtype=object), None)
        if distinct.dtype == object:
            bad_distinct = _bad_text_ids(distinct)
            for reason in set(bad_distinct.values()):
                codes = [i for i, why in bad_distinct.items() if why == reason]
                problems.add(name, np.isin(index, codes), reason)
        if missing.any():
            return np.where(missing, "", distinct[np.where(missing, 0, index)]).astype(object)
        # one take: each row a reference to its distinct id (1M ids: 3 copies cost 20 ms)
        return ranked_text(distinct[index], distinct, index)  # ordered and coded by its ranks
    kind = arr.dtype.kind
    if kind == "i":
        return arr.astype(np.int64, copy=False)
    if kind == "u":
        if len(arr) and int(arr.max()) > INT64_MAX:  # keep identity: decimal text
            return _text_ids(name, arr.astype(object), problems).view(DecimalIds)
        return arr.astype(np.int64)
    if kind == "f":
        missing = ~np.isfinite(arr)
        problems.add(name, np.isnan(arr), _MISSING_ID)  # a null of a float column
        problems.add(name, np.isinf(arr), NOT_FINITE_ID)
        safe = np.where(missing, 0, arr).astype(np.float64)
        fractional = ~missing & (safe != np.floor(safe))
        problems.add(name, fractional, _NOT_AN_ID)
        bits = exact_float_bits(arr.dtype)
        inexact = ~missing & ~fractional & (np.abs(safe) > 2.0**bits)
        problems.add(name, inexact, _inexact_reason(bits))
        return np.where(missing | fractional | inexact, 0, safe).astype(np.int64)
    if kind == "U":
        return _text_ids(name, arr.astype(object), problems)
    if kind == "S":
        problems.add(name, np.ones(len(arr), dtype=bool), "is bytes, not an id: decode it to text")
        return np.zeros(len(arr), dtype=np.int64)
    if kind == "b":
        problems.add(name, np.ones(len(arr), dtype=bool), "is a boolean, not an id")
        return np.zeros(len(arr), dtype=np.int64)
    if kind != "O":
        problems.add(name, np.ones(len(arr), dtype=bool), _NOT_AN_ID)
        return np.zeros(len(arr), dtype=np.int64)
    return _object_ids(name, arr, problems)


def _id_kind(v: object) -> str:
    """The kind of one id as given: int, str, missing, or the reason it is refused."""
    if isinstance(v, str):
        return "str"
    if is_null(v) or (isinstance(v, Decimal) and v.is_nan()):  # None, NaN, pandas' NA
        return "missing"
    if isinstance(v, (bool, np.bool_)):
        return "is a boolean, not an id"
    if is_int(v):
        return integer_id_problem(int(v)) or "int"
    if isinstance(v, (float, np.floating)):
        number = float(v)
        if number != number:
            return "missing"
        if not math.isfinite(number):
            return NOT_FINITE_ID
        if number != math.floor(number):
            return _NOT_AN_ID
        bits = exact_float_bits(type(v) if isinstance(v, np.floating) else float)
        if abs(number) > 2.0**bits:
            return _inexact_reason(bits)
        return "int"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "is bytes, not an id: decode it to text"
    if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value():
        # whole: an integer, but with fraction digits beyond 2**53, where the ids of such
        # a column are read as floats are (riskscore.io.decimals)
        exponent = v.as_tuple().exponent  # an int: v is finite
        if isinstance(exponent, int) and exponent < 0 and abs(v) > EXACT_FLOAT_INT:
            return _DECIMAL_BEYOND
        if v.adjusted() >= MAX_ID_LENGTH:  # 1E+5000: over-long, never made an int (slow)
            return _OVER_LONG_INTEGER
        return integer_id_problem(int(v)) or "int"
    if isinstance(v, Decimal) and v.is_infinite():
        return NOT_FINITE_ID
    return _NOT_AN_ID


def _object_ids(name: str, arr: AnyArray, problems: Sink) -> AnyArray:
    text = all_text(arr)
    if text is not None:  # text ids and empty cells: the dictionary column they are
        encoded = pc.dictionary_encode(text)
        return check_ids(name, coded_text(encoded.indices, encoded.dictionary), problems)
    with np.errstate(invalid="ignore"):  # NaN cells are compared as such
        kinds = np.asarray(np.frompyfunc(_id_kind, 1, 1)(arr), dtype=object)
    missing = kinds == "missing"
    problems.add(name, missing, _MISSING_ID)
    for reason in sorted({str(k) for k in kinds.tolist()} - {"int", "str", "missing"}):
        problems.add(name, kinds == reason, reason)
    usable = (kinds == "int") | (kinds == "str")
    present = kinds[usable]
    if present.size == 0:
        return np.zeros(len(arr), dtype=np.int64)
    first_kind = present[0]
    if name == "conversation_id" and (kinds == "str").any() and (kinds == "int").any():
        beside = integers_beside_pair_ids(arr, kinds)  # what a table with group rooms writes
        if beside is not None:
            return _text_ids(name, beside, problems, checked=usable).view(IntegerAndPairIds)
    mixed = usable & (kinds != first_kind)
    problems.add(
        name, mixed, f"mixes id types: this column's first id is {first_kind}; use one type"
    )
    good = usable & ~mixed
    if first_kind == "int":
        as_int = [int(v) if ok else 0 for v, ok in zip(arr.tolist(), good.tolist(), strict=True)]
        if all(INT64_MIN <= v <= INT64_MAX for v in as_int):
            return np.asarray(as_int, dtype=np.int64)
        # an integer column beyond int64 keeps its identity as decimal text
        decimal = np.asarray([str(v) for v in as_int], dtype=object)
        return _text_ids(name, decimal, problems).view(DecimalIds)
    out = arr.copy()
    out[~good] = ""
    return _text_ids(name, out, problems, checked=good)


def _text_ids(
    name: str, values: AnyArray, problems: Sink | None, checked: BoolArray | None = None
) -> AnyArray:
    """Text ids as an object array of str (decimal text for integers), checked (only the
    rows ``checked``, when given: the others were refused for another reason already)."""
    out = np.asarray(
        [v if isinstance(v, str) else str(v) for v in values.tolist()], dtype=object
    ).reshape(-1)
    if problems is not None:
        for reason, rows in _group_bad(_bad_text_ids(out)).items():
            mask = np.zeros(len(out), dtype=bool)
            mask[rows] = True
            if checked is not None:
                mask &= checked
            problems.add(name, mask, reason)
    return out


def text_id_problem(
    value: str, *, max_length: int = MAX_ID_LENGTH, sentence: bool = False
) -> str | None:
    """Why one text id is refused, by the rule of the id columns (empty, longer than
    ``max_length``, or holding a control character or a lone surrogate; with ``sentence``,
    also a sentence, :func:`~riskscore.io.schema.sentence_id`, as in events); None for a
    valid id. For ids that arrive one at a time outside an event table; a store of
    conversation ids passes :data:`~riskscore.io.schema.MAX_PAIR_ID_LENGTH`, since the pair
    ids of group rooms are longer than the ids events give. A store passes ``sentence`` for
    an id it is given (an id it reads back was checked so when it was written, or by an
    earlier version that did not check it).

    Examples
    --------
    >>> text_id_problem("acct-9") is None
    True
    >>> text_id_problem("a\\nb").startswith("holds a control character")
    True
    """
    # One value: Python's own tests (a one-value Arrow array costs about 170 us, and a
    # review queue checks every stored id as it reads its items).
    if sentence:
        return _one_text_id_reason(value, max_length)
    return _text_id_reason(value, max_length)


def integer_id_problem(value: int) -> str | None:
    """Why one integer id is refused, by the rule of the id columns: its decimal text is
    longer than :data:`MAX_ID_LENGTH` characters (a table reads an integer beyond int64
    as that text, which the length limit holds); None for a valid id. For stores that
    hold integer ids as integers, whatever their size (online checkpoints, the review
    queue), so that the integer ``2**64`` is never the text id ``"18446744073709551616"``.

    Examples
    --------
    >>> integer_id_problem(2**64) is None
    True
    >>> integer_id_problem(10**300)
    'is longer than 256 characters as decimal text: ids are opaque keys, at most 256 characters'
    """
    # by magnitude, not str(value): Python refuses str of an int over 4,300 digits
    if _SHORTEST_OVER_LONG_NEGATIVE < value < _SHORTEST_OVER_LONG:
        return None
    return _OVER_LONG_INTEGER


def stored_id_problem(
    value: object, *, max_length: int = MAX_ID_LENGTH, sentence: bool = False
) -> str | None:
    """Why one id a store holds as written (a checkpoint, the review queue) is refused: an
    int by :func:`integer_id_problem`, text by :func:`text_id_problem` up to ``max_length``
    (and ``sentence``); None for a valid id and for another type, which the store refuses
    in its own terms."""
    if type(value) is int:
        return integer_id_problem(value)
    if not isinstance(value, str):
        return None
    return text_id_problem(value, max_length=max_length, sentence=sentence)


def first_bad_text_id(values: AnyArray) -> tuple[int, str] | None:
    """The first text id of ``values`` (an object array of str) that events would refuse
    (empty, over-long, unprintable, a sentence), as its position and the reason; None when
    every one is an id. For files of ids riskscore wrote (account features), checked in
    Arrow as an events column is.

    Examples
    --------
    >>> position, reason = first_bad_text_id(np.array(["acct-9", "a\\x00"], dtype=object))
    >>> position, reason.startswith("holds a control character")
    (1, True)
    >>> first_bad_text_id(np.array(["acct-9", "room 7|ann lee|bo"], dtype=object)) is None
    True
    """
    bad = _bad_text_ids(values)
    return None if not bad else (position := min(bad), bad[position])


def _group_bad(bad: dict[int, str]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for row, reason in bad.items():
        grouped.setdefault(reason, []).append(row)
    return grouped


def _bad_text_ids(values: AnyArray, max_length: int = MAX_ID_LENGTH) -> dict[int, str]:
    """Positions of text ids that are refused, with the reason: longer than
    ``max_length``, or holding control characters. Checked in Arrow (one pass in C) unless
    a value cannot even be encoded as UTF-8 (a lone surrogate), then value by value."""
    too_long, control, empty = _text_id_reasons(max_length)
    try:
        text = pa.array(values, type=pa.string())
    except (pa.ArrowException, UnicodeError):
        out: dict[int, str] = {}
        for i, v in enumerate(values.tolist()):
            reason = _one_text_id_reason(v, max_length)
            if reason is not None:
                out[i] = reason
        return out
    long_rows = np.flatnonzero(
        np.asarray(pc.fill_null(pc.greater(pc.utf8_length(text), max_length), False))
    )
    if max_length == MAX_ID_LENGTH:  # the few long ones: a pair id's rule
        long_rows = long_rows[[not is_long_pair_id(values[i]) for i in long_rows.tolist()]]
    hidden = np.asarray(pc.fill_null(pc.match_substring_regex(text, HIDDEN_RE2), False))
    # a joiner may be part of the name (riskscore.io.joiners): its few rows by that rule
    joiner = pc.fill_null(pc.match_substring_regex(text, f"[{JOINERS}]"), False)
    joined = hidden & np.asarray(joiner)
    for row in np.flatnonzero(joined).tolist():
        hidden[row] = has_hidden_character(values[row])
    ctrl_rows = np.flatnonzero(hidden)
    blank_rows = np.flatnonzero(
        np.asarray(pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0), False))
    )
    sentence_rows = np.flatnonzero(
        np.asarray(pc.fill_null(pc.match_substring_regex(text, SENTENCE_ID_RE2), False))
    )
    found = {int(i): empty for i in blank_rows}
    found.update({int(i): _SENTENCE_ID for i in sentence_rows})
    found.update({int(i): control for i in ctrl_rows})
    found.update({int(i): too_long for i in long_rows})
    return found


@lru_cache(maxsize=8)
def _text_id_reasons(max_length: int) -> tuple[str, str, str]:
    """The reasons a text id is refused: too long, a hidden character, empty."""
    return (
        f"is longer than {max_length} characters: ids are opaque keys, at most "
        f"{max_length} characters (a pair id room|account|account: each part)",
        "holds a control character (such as NUL, tab or newline; a text-direction override, "
        "a zero-width space or a blank letter such as a Hangul filler counts too) or an "
        "invalid character: ids must be printable text, shown to moderators as given",
        "is empty or only whitespace: every event needs an id",
    )


def _text_id_reason(value: str, max_length: int) -> str | None:
    """Why one text id is refused (one of :func:`_text_id_reasons`), in Python: the rules
    :func:`_bad_text_ids` applies in Arrow, in the same order."""
    too_long, control, empty = _text_id_reasons(max_length)
    if len(value) > max_length and not (max_length == MAX_ID_LENGTH and is_long_pair_id(value)):
        return too_long
    if has_hidden_character(value):
        return control
    if not value.strip():
        return empty
    return None


def _one_text_id_reason(value: str, max_length: int = MAX_ID_LENGTH) -> str | None:
    """Why one text id of an event is refused: :func:`_text_id_reason`, then a sentence
    (the rules :func:`_bad_text_ids` applies in Arrow, in the same order)."""
    return _text_id_reason(value, max_length) or (_SENTENCE_ID if sentence_id(value) else None)


def one_id_problem(value: object) -> str | None:
    """Why one id of an event is refused, as :func:`check_ids` refuses it in a column of
    one row; None for an id held as given (text, or an integer within int64).

    Raises
    ------
    Undecided
        A whole float, an integer beyond int64 within the length limit (both held as
        another kind of id), or a value of another kind than int, float, str, bool and
        None: the column check decides.

    Examples
    --------
    >>> one_id_problem(None), one_id_problem(True)
    ('is missing: every event needs an id', 'is a boolean, not an id')
    >>> one_id_problem("acct-9") is None, one_id_problem(7) is None
    (True, True)
    """
    kind = type(value)
    if kind is str:
        return _one_text_id_reason(value)  # type: ignore[arg-type]
    if kind is int:
        if INT64_MIN <= value <= INT64_MAX:  # type: ignore[operator]
            return None
        reason = integer_id_problem(value)  # type: ignore[arg-type]
    elif kind is float or kind is bool or value is None:
        reason = _id_kind(value)
        reason = _MISSING_ID if reason == "missing" else reason
    else:
        raise Undecided
    if reason == "int" or reason is None:
        raise Undecided
    return reason


def mixed_id_kinds(sender_is_int: bool) -> str:
    """Why a recipient id is refused when it is text beside an integer sender id, or the
    reverse (:func:`same_id_kind`)."""
    return (
        f"is {'text' if sender_is_int else 'an integer'} while sender_id holds "
        f"{'integer' if sender_is_int else 'text'} ids: senders and recipients are one account "
        'space (500 and "500" are two ids), so use one id type in both columns'
    )


def same_id_kind(a: AnyArray, b: AnyArray, problems: Sink) -> tuple[AnyArray, AnyArray]:
    """Senders and recipients share one account space, so give them one kind.

    Integer ids in one column and text ids in the other are refused on the recipient's
    rows, as a column mixing the two is: ``500`` and ``"500"`` are two ids as given, and
    turning one column into text would make them one account. Integers beyond int64,
    kept as decimal text (:class:`DecimalIds`), are integers: beside the other column's
    integers both are decimal text, and beside its text ids they are refused (``6`` beside
    a larger id is held as ``"6"``, which a text ``"6"`` would otherwise join).
    """
    a_int, b_int = integer_ids(a), integer_ids(b)
    if a_int == b_int:
        return (a, b) if a.dtype == b.dtype else (as_text(a), as_text(b))
    problems.add("recipient_id", np.ones(len(b), dtype=bool), mixed_id_kinds(a_int))
    return as_text(a), as_text(b)


def integer_ids(ids: AnyArray) -> bool:
    """Whether a column's ids are integers as given (an integer array, or
    :class:`DecimalIds`: decimal text beyond int64), not text."""
    return ids.dtype.kind in "iu" or isinstance(ids, DecimalIds)


def as_text(ids: AnyArray) -> AnyArray:
    if ids.dtype == object:
        return ids.view(np.ndarray)
    return np.asarray([str(v) for v in ids.tolist()], dtype=object).reshape(-1)
