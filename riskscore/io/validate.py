"""The one validator of schema v1 columns: every row checked, the first bad one named
(column, row, value), or bad rows quarantined with a reason each."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.io.messages import MessageTable, Quarantine, build_table
from riskscore.io.schema import (
    CHANNEL_NAMES,
    EVENT_NAMES,
    MAX_AGE,
    MAX_ID_LENGTH,
    MAX_SHOWN_CHARS,
    MAX_TZ_OFFSET_MIN,
    MIN_AGE,
    MIN_TZ_OFFSET_MIN,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SCHEMA_COLUMNS,
    is_content_column,
)
from riskscore.io.segments import spread
from riskscore.io.threads import executor_for
from riskscore.io.timestamps import Sink, check_timestamps, outside

if TYPE_CHECKING:
    pass

__all__ = [
    "Errors",
    "RawColumns",
    "as_read",
    "check_column_names",
    "validate_columns",
    "validate_one",
]

Errors = Literal["raise", "quarantine"]
BoolArray = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]


class _Coded(np.ndarray):
    """A dictionary column, undecoded: each row's position in the dictionary
    (``distinct``), -1 for null. :func:`_categories` looks up the few distinct values
    instead of every row, and only a refused row's value is ever decoded
    (:func:`_cell`). Arrays derived from it (slices, masks) are plain arrays again."""

    distinct: AnyArray | None

    def __array_finalize__(self, obj: object) -> None:
        self.distinct = None


def _cell(raw: Mapping[str, AnyArray], column: str, row: int) -> object:
    """The value of one input cell as given (None for a column not given or a null, and
    for ``"line"``, a JSON line refused as a whole, which is never copied)."""
    if column not in raw:
        return None
    values = raw[column]
    if isinstance(values, _Coded) and values.distinct is not None:
        position = int(values[row])
        return None if position < 0 else values.distinct[position]
    return values[row]


class _Problems:
    """Collects the first problem found in each row, in check order."""

    def __init__(self, n_rows: int, raw: Mapping[str, AnyArray]) -> None:
        self.bad = np.zeros(n_rows, dtype=bool)
        # per row: the blamed column and the reason (allocated at the first problem)
        self.column = np.empty(0, dtype=object)
        self.reason = np.empty(0, dtype=object)
        self.raw = raw

    def add(self, column: str, mask: BoolArray, reason: str) -> None:
        new = mask & ~self.bad
        if new.any():
            if len(self.column) == 0:
                self.column = np.empty(len(self.bad), dtype=object)
                self.reason = np.empty(len(self.bad), dtype=object)
            self.bad |= new
            self.column[new] = column
            self.reason[new] = reason

    def quarantine(self, rows: npt.NDArray[np.int64], conversation_id: AnyArray) -> Quarantine:
        """The refused ``rows`` with their values as read, their position in the input and
        file, and their validated conversation id where that column was not to blame."""
        cols = tuple(str(c) for c in self.column[rows])
        unreadable = {"conversation_id", "line"}
        return Quarantine(
            row=_input_rows(self.raw, rows),
            column=cols,
            value=tuple(
                as_read(_cell(self.raw, c, int(r))) for c, r in zip(cols, rows, strict=True)
            ),
            reason=tuple(str(x) for x in self.reason[rows]),
            line=_lines(self.raw, rows),
            conversation_id=tuple(
                None if c in unreadable else as_read(conversation_id[r])
                for c, r in zip(cols, rows, strict=True)
            ),
        )


class _Found:
    """The problems one check reports, kept to be added to the shared :class:`_Problems`
    later, in check order (checks run concurrently; a row's first problem must not
    depend on which thread finished first)."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, BoolArray, str]] = []

    def add(self, column: str, mask: BoolArray, reason: str) -> None:
        if mask.any():
            self.problems.append((column, mask, reason))


def _run_check(check: Callable[[Sink], AnyArray]) -> tuple[AnyArray, _Found]:
    found = _Found()
    return check(found), found


def _show(value: object) -> str:
    """A value as text for messages, at most about 40 characters."""
    if isinstance(value, (str, bytes)) and len(value) > 40:
        return f"{value[:37]!r}... ({len(value)} characters)"
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def as_read(value: object) -> object:
    """A cell as a quarantine record writes it: the value as read, as a plain JSON type.

    Numbers, text, booleans and None stay as they are (NaN, an empty cell, is None; an
    infinite float its text); bytes become text with invalid UTF-8 escaped; lists and
    dicts (from JSON lines) stay when they are plain JSON, otherwise become their text;
    anything else becomes its text. Text longer than :data:`MAX_SHOWN_CHARS` is cut,
    ending with how long it was.

    Examples
    --------
    >>> as_read("whatsapp"), as_read(np.float64("nan")), as_read(-3.0)
    ('whatsapp', None, -3.0)
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        value = None if value != value else str(value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8", "backslashreplace")
    elif isinstance(value, (list, dict)):
        try:
            value = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError, RecursionError):
            value = str(value)
    elif value is not None and not isinstance(value, (str, int, float)):
        value = str(value)
    if isinstance(value, str) and len(value) > MAX_SHOWN_CHARS:
        value = f"{value[:MAX_SHOWN_CHARS]}... ({len(value)} characters)"
    return value


class RawColumns(dict[str, AnyArray]):
    """Raw columns as a reader found them, with what the reader knows besides the values.

    Attributes
    ----------
    refused : dict of int to (str, str)
        Rows the reader already refused (a broken JSON line): ``(column, reason)``; the
        column ``"line"`` means the whole line, whose text is never shown.
    rows : array of int or None
        Position of each row in the whole input, when these columns are part of a larger
        one (a chunk of a file); None when they are the whole input (0, 1, ...).
    lines : callable or None
        Given row positions (0-based, in these columns), their 1-based lines in the file
        (-1 where unknown); None for inputs without lines.
    """

    def __init__(self, columns: Mapping[str, AnyArray] | None = None) -> None:
        super().__init__(columns or {})
        self.refused: dict[int, tuple[str, str]] = {}
        self.rows: npt.NDArray[np.int64] | None = None
        self.lines: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.int64]] | None = None


def _input_rows(raw: Mapping[str, AnyArray], rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Positions of ``rows`` in the whole input (see :attr:`RawColumns.rows`)."""
    offsets = getattr(raw, "rows", None)
    out = rows if offsets is None else np.asarray(offsets, dtype=np.int64)[rows]
    return np.asarray(out, dtype=np.int64)


def _lines(raw: Mapping[str, AnyArray], rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """1-based file lines of ``rows``; -1 for inputs without lines."""
    lines = getattr(raw, "lines", None)
    if lines is None or not len(rows):
        return np.full(len(rows), -1, dtype=np.int64)
    return np.asarray(lines(np.asarray(rows, dtype=np.int64)), dtype=np.int64)


def _raise_first(problems: _Problems, rows: npt.NDArray[np.int64]) -> None:
    first = int(rows.min())
    col = str(problems.column[first])
    value = _cell(problems.raw, col, first)
    at = np.array([first], dtype=np.int64)
    row, line = int(_input_rows(problems.raw, at)[0]), int(_lines(problems.raw, at)[0])
    where = f"row {row}" + (f" (line {line})" if line > 0 else "")
    shown = "" if col == "line" else f"{_show(value)} "  # a refused line is never copied
    more = len(rows) - 1
    tail = (
        f" ({more} more bad row{'s' if more != 1 else ''}; pass errors='quarantine' to set "
        "them aside and keep the rest)"
        if more
        else ""
    )
    raise SchemaError(
        f"column {col!r}, {where}: {shown}{problems.reason[first]}{tail}",
        column=col,
        row=row,
        value=value,
        line=line if line > 0 else None,
    )


def validate_columns(raw: Mapping[str, AnyArray], *, errors: Errors = "raise") -> MessageTable:
    """Validate a dict of raw column arrays and build the sorted table."""
    check_column_names(list(raw))
    n_rows = _check_lengths(raw)
    problems = _Problems(n_rows, raw)
    cols: dict[str, AnyArray] = {}
    for row, (column, reason) in getattr(raw, "refused", {}).items():
        mask = np.zeros(n_rows, dtype=bool)
        mask[row] = True
        problems.add(column, mask, reason)

    checks = _checks(raw, n_rows)
    # The columns are independent: on a large table they are checked on two threads.
    # Each row's first problem is then taken in check order, as one thread would find it.
    with executor_for(n_rows) as pool:
        running = {name: pool.submit(_run_check, check) for name, check in checks.items()}
        for name, future in running.items():
            cols[name], found = future.result()
            for column, mask, reason in found.problems:
                problems.add(column, mask, reason)
    cols["sender_id"], cols["recipient_id"] = _same_id_kind(cols["sender_id"], cols["recipient_id"])
    problems.add(
        "recipient_id",
        (cols["sender_id"] == cols["recipient_id"]) & ~problems.bad,
        "is also the sender: an event goes from one account to another",
    )

    if problems.bad.any():
        good = ~problems.bad
        table = build_table(
            {k: v[good] for k, v in cols.items()}, np.flatnonzero(good).astype(np.int64)
        )
    else:  # the common case: no copies
        table = build_table(cols, np.arange(n_rows, dtype=np.int64))
    # A conversation is between two accounts, fixed by its first event.
    outsider_sender, outsider_recipient = _off_pair_rows(table)
    off_pair = np.concatenate([outsider_sender, outsider_recipient])
    for column, rows in (("sender_id", outsider_sender), ("recipient_id", outsider_recipient)):
        mask = np.zeros(n_rows, dtype=bool)
        mask[rows] = True
        problems.add(
            column,
            mask,
            "is not one of the two accounts of its conversation (set by its first event); "
            "give each pair of accounts its own conversation_id",
        )
    good = ~problems.bad
    bad_rows = np.flatnonzero(problems.bad).astype(np.int64)
    if bad_rows.size and errors == "raise":
        _raise_first(problems, bad_rows)
    if off_pair.size or bad_rows.size:
        table = build_table(
            {k: v[good] for k, v in cols.items()},
            np.flatnonzero(good).astype(np.int64),
            problems.quarantine(bad_rows, cols["conversation_id"]),
        )
    return table


def _checks(raw: Mapping[str, AnyArray], n_rows: int) -> dict[str, Callable[[Sink], AnyArray]]:
    """The check of each schema v1 column, in check order (a row's first problem is the
    one of the earliest check)."""
    return {
        "conversation_id": partial(_ids, "conversation_id", raw["conversation_id"]),
        "sender_id": partial(_ids, "sender_id", raw["sender_id"]),
        "recipient_id": partial(_ids, "recipient_id", raw["recipient_id"]),
        "timestamp": partial(check_timestamps, raw["timestamp"]),
        "sender_age": partial(_ages, "sender_age", _optional(raw, "sender_age", n_rows)),
        "recipient_age": partial(_ages, "recipient_age", _optional(raw, "recipient_age", n_rows)),
        "channel": partial(_categories, "channel", raw["channel"], CHANNEL_NAMES),
        "event": partial(_categories, "event", _optional(raw, "event", n_rows), EVENT_NAMES),
        "recipient_tz_offset_min": partial(
            _tz_offsets, _optional(raw, "recipient_tz_offset_min", n_rows)
        ),
    }


def validate_one(event: Mapping[str, object], row: int | None = None) -> dict[str, object]:
    """One event mapping checked by the very rules of :func:`validate_columns` (the online
    scorer's path for anything but the plain common case, so that whatever batch accepts,
    online accepts with the same meaning, and the reverse). Returns the validated values
    as plain Python objects; raises :class:`SchemaError` naming the field, the event and
    the value."""
    raw: dict[str, AnyArray] = {}
    for name in SCHEMA_COLUMNS:
        if name in event:
            cell = np.empty(1, dtype=object)
            cell[0] = event[name]
            raw[name] = cell
    problems = _Problems(1, raw)
    cols = {name: check(problems) for name, check in _checks(raw, 1).items()}
    cols["sender_id"], cols["recipient_id"] = _same_id_kind(cols["sender_id"], cols["recipient_id"])
    if not problems.bad[0] and cols["sender_id"][0] == cols["recipient_id"][0]:
        problems.add("recipient_id", np.ones(1, dtype=bool), "is also the sender")
    if problems.bad[0]:
        column = str(problems.column[0])
        value = event.get(column)
        where = f"event {row}" if row is not None else "event"
        raise SchemaError(
            f"column {column!r}, {where}: {_show(value)} {problems.reason[0]}",
            column=column,
            row=row,
            value=value,
        )
    return {name: values[0].item() if isinstance(values[0], np.generic) else values[0]
            for name, values in cols.items()}  # fmt: skip


def check_column_names(names: Collection[str]) -> None:
    """Refuse content columns and missing required ones, by column name only.

    Shared by every reader of schema v1 tables (in memory here, Spark DataFrames in
    :mod:`riskscore.integrations.spark`), so all refuse the same columns with the same message.
    """
    names = [str(c) for c in names]
    content = sorted(c for c in names if is_content_column(c))
    if content:
        raise SchemaError(
            f"column {content[0][:40]!r} looks like message content: riskscore reads no "
            "message content, only metadata (schema v1). Drop the column before passing the "
            "events.",
            column=content[0],
        )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SchemaError(
                f"column {name[:40]!r} appears twice: give each column one name", column=name
            )
        seen.add(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise SchemaError(
            f"missing required column(s) {missing}; found {sorted(names)}. Schema v1 needs "
            f"{list(REQUIRED_COLUMNS)}",
            column=missing[0],
        )


def _check_lengths(raw: Mapping[str, AnyArray]) -> int:
    lengths = {name: len(arr) for name, arr in raw.items()}
    n = lengths["conversation_id"]
    for name, length in lengths.items():
        if length != n:
            raise SchemaError(
                f"column {name!r} has {length} values but 'conversation_id' has {n}",
                column=name,
            )
    return n


def _optional(raw: Mapping[str, AnyArray], name: str, n: int) -> AnyArray:
    if name in raw:
        return raw[name]
    return np.full(n, OPTIONAL_COLUMNS[name], dtype=object)


def _is_missing(arr: AnyArray) -> BoolArray:
    if arr.dtype == object:
        flags = np.frompyfunc(lambda v: v is None or (isinstance(v, float) and v != v), 1, 1)(arr)
        return np.asarray(flags, dtype=bool)
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    return np.zeros(len(arr), dtype=bool)


#: Largest magnitude of a float id that is still an exact integer (2**53).
_EXACT_FLOAT = 2.0**53
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: Control characters (C0, DEL, C1) and lone surrogates: refused in ids, since they are
#: invisible, truncated by some tools ("c\x00" would become "c") or not valid UTF-8.
_CONTROL = r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]"
_NOT_AN_ID = "is not an id: expected an integer or a string"


def _ids(name: str, arr: AnyArray, problems: Sink) -> AnyArray:
    """Ids exactly as given, never two merged into one: int64 when every id is an integer
    that fits in 64 bits (or an integral float below 2**53), otherwise text (an object
    array of str, so memory follows the data, not the longest id). Integer columns with a
    value beyond int64 are read as their decimal text. Text ids with control characters
    or longer than :data:`MAX_ID_LENGTH` are refused; so are bytes, booleans, containers
    and fractional or non-finite numbers."""
    if isinstance(arr, _Coded) and arr.distinct is not None:
        index = arr.view(np.ndarray)
        missing = index < 0
        problems.add(name, missing, "is missing: every event needs an id")
        if len(arr.distinct) == 0:
            return np.zeros(len(arr), dtype=np.int64)
        distinct = _text_ids(name, np.asarray(arr.distinct, dtype=object), None)
        if distinct.dtype == object:
            bad_distinct = _bad_text_ids(distinct)
            for reason in set(bad_distinct.values()):
                codes = [i for i, why in bad_distinct.items() if why == reason]
                problems.add(name, np.isin(index, codes), reason)
        return np.where(missing, "", distinct[np.where(missing, 0, index)]).astype(object)
    kind = arr.dtype.kind
    if kind == "i":
        return arr.astype(np.int64, copy=False)
    if kind == "u":
        if len(arr) and int(arr.max()) > _INT64_MAX:  # keep identity: decimal text
            return _text_ids(name, arr.astype(object), problems)
        return arr.astype(np.int64)
    if kind == "f":
        missing = ~np.isfinite(arr)
        problems.add(name, missing, "is missing: every event needs an id")
        safe = np.where(missing, 0, arr)
        fractional = ~missing & (safe != np.floor(safe))
        problems.add(name, fractional, _NOT_AN_ID)
        inexact = ~missing & ~fractional & (np.abs(safe) > _EXACT_FLOAT)
        problems.add(
            name,
            inexact,
            "is a float id beyond 2**53, where floats lose digits: give ids this large as "
            "strings or integers",
        )
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
    if v is None:
        return "missing"
    if isinstance(v, (bool, np.bool_)):
        return "is a boolean, not an id"
    if isinstance(v, (int, np.integer)):
        return "int"
    if isinstance(v, (float, np.floating)):
        number = float(v)
        if number != number:
            return "missing"
        if not math.isfinite(number) or number != math.floor(number):
            return _NOT_AN_ID
        if abs(number) > _EXACT_FLOAT:
            return "is a float id beyond 2**53, where floats lose digits: give it as a string"
        return "int"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "is bytes, not an id: decode it to text"
    return _NOT_AN_ID


def _object_ids(name: str, arr: AnyArray, problems: Sink) -> AnyArray:
    with np.errstate(invalid="ignore"):  # NaN cells are compared as such
        kinds = np.asarray(np.frompyfunc(_id_kind, 1, 1)(arr), dtype=object)
    missing = kinds == "missing"
    problems.add(name, missing, "is missing: every event needs an id")
    for reason in sorted({str(k) for k in kinds.tolist()} - {"int", "str", "missing"}):
        problems.add(name, kinds == reason, reason)
    usable = (kinds == "int") | (kinds == "str")
    present = kinds[usable]
    if present.size == 0:
        return np.zeros(len(arr), dtype=np.int64)
    first_kind = present[0]
    mixed = usable & (kinds != first_kind)
    problems.add(
        name, mixed, f"mixes id types: this column's first id is {first_kind}; use one type"
    )
    good = usable & ~mixed
    if first_kind == "int":
        as_int = [int(v) if ok else 0 for v, ok in zip(arr.tolist(), good.tolist(), strict=True)]
        if all(_INT64_MIN <= v <= _INT64_MAX for v in as_int):
            return np.asarray(as_int, dtype=np.int64)
        # an integer column beyond int64 keeps its identity as decimal text
        return _text_ids(name, np.asarray([str(v) for v in as_int], dtype=object), problems)
    out = arr.copy()
    out[~good] = ""
    return _text_ids(name, out, problems)


def _text_ids(name: str, values: AnyArray, problems: Sink | None) -> AnyArray:
    """Text ids as an object array of str (decimal text for integers), checked."""
    out = np.asarray(
        [v if isinstance(v, str) else str(v) for v in values.tolist()], dtype=object
    ).reshape(-1)
    if problems is not None:
        for reason, rows in _group_bad(_bad_text_ids(out)).items():
            mask = np.zeros(len(out), dtype=bool)
            mask[rows] = True
            problems.add(name, mask, reason)
    return out


def _group_bad(bad: dict[int, str]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for row, reason in bad.items():
        grouped.setdefault(reason, []).append(row)
    return grouped


def _bad_text_ids(values: AnyArray) -> dict[int, str]:
    """Positions of text ids that are refused, with the reason: too long, or holding
    control characters. Checked in Arrow (one pass in C) unless a value cannot even be
    encoded as UTF-8 (a lone surrogate), then value by value."""
    import re

    import pyarrow as pa
    import pyarrow.compute as pc

    too_long = (
        f"is longer than {MAX_ID_LENGTH} characters: ids are opaque keys, at most "
        f"{MAX_ID_LENGTH} characters"
    )
    control = (
        "holds a control character (such as NUL, tab or newline) or an invalid "
        "character: ids must be printable text"
    )
    try:
        text = pa.array(values, type=pa.string())
    except (pa.ArrowException, UnicodeError):
        search = re.compile(_CONTROL).search
        out: dict[int, str] = {}
        for i, v in enumerate(values.tolist()):
            if len(v) > MAX_ID_LENGTH:
                out[i] = too_long
            elif search(v):
                out[i] = control
        return out
    long_rows = np.flatnonzero(
        np.asarray(pc.fill_null(pc.greater(pc.utf8_length(text), MAX_ID_LENGTH), False))
    )
    ctrl_rows = np.flatnonzero(
        np.asarray(
            pc.fill_null(pc.match_substring_regex(text, r"[\x{00}-\x{1f}\x{7f}-\x{9f}]"), False)
        )
    )
    found = {int(i): control for i in ctrl_rows}
    found.update({int(i): too_long for i in long_rows})
    return found


def _same_id_kind(a: AnyArray, b: AnyArray) -> tuple[AnyArray, AnyArray]:
    """Senders and recipients share one account space, so give them one kind."""
    if (a.dtype.kind == "i") == (b.dtype.kind == "i"):
        return a, b
    return _as_text(a), _as_text(b)


def _as_text(ids: AnyArray) -> AnyArray:
    if ids.dtype == object:
        return ids
    return np.asarray([str(v) for v in ids.tolist()], dtype=object).reshape(-1)


def _to_float(name: str, arr: AnyArray, problems: Sink, what: str) -> AnyArray:
    """Numbers as float64 (NaN where empty); text that is not a number is a problem."""
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    if arr.dtype.kind == "b":
        problems.add(name, np.ones(len(arr), dtype=bool), f"is a boolean, not {what}")
        return np.full(len(arr), np.nan)

    def parse(v: object) -> float:
        if v is None or (isinstance(v, str) and not v.strip()):
            return float("nan")
        if isinstance(v, bool):
            return float("inf")  # refused below as not a number
        try:
            number = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return float("inf")
        except OverflowError:  # an integer beyond float range: out of any range checked
            return 1e308 if v > 0 else -1e308  # type: ignore[operator]
        return number

    out = np.asarray(np.frompyfunc(parse, 1, 1)(arr), dtype=np.float64)
    notnum = np.isinf(out)
    problems.add(name, notnum, f"is not a number: expected {what}")
    out[notnum] = np.nan
    return out


def _ages(name: str, arr: AnyArray, problems: Sink) -> AnyArray:
    ages = _to_float(name, arr, problems, "an age in years (empty for unknown)")
    with np.errstate(invalid="ignore"):
        absurd = ~np.isnan(ages) & ((ages < MIN_AGE) | (ages > MAX_AGE))
    problems.add(
        name,
        absurd,
        f"is not a plausible age: expected years in [{MIN_AGE:g}, {MAX_AGE:g}], "
        "or empty for unknown",
    )
    ages[absurd] = np.nan
    return ages


def _categories(
    name: str, arr: AnyArray, names: tuple[str, ...], problems: Sink
) -> npt.NDArray[np.uint8]:
    """Category names to codes. Only the distinct values are cleaned and looked up, so a
    million rows cost one hash pass rather than a million string operations."""
    import pyarrow as pa
    import pyarrow.compute as pc

    default = OPTIONAL_COLUMNS.get(name)
    if isinstance(arr, _Coded) and arr.distinct is not None:
        distinct, index = arr.distinct, arr.view(np.ndarray)  # read from a dictionary column
    else:
        try:
            encoded = pa.array(arr, type=pa.string(), from_pandas=True).dictionary_encode()
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: compare their str() forms
            as_text = np.asarray(arr, dtype=object).copy()
            present = ~_is_missing(arr)
            as_text[present] = np.asarray(np.frompyfunc(str, 1, 1)(as_text[present]), dtype=object)
            as_text[~present] = None
            encoded = pa.array(as_text, type=pa.string()).dictionary_encode()
        if isinstance(encoded, pa.ChunkedArray):  # chunked result for empty input
            encoded = encoded.combine_chunks()
        distinct = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        index = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int64)
    # one extra "" at the end, where the index -1 of an empty cell points
    cleaned = np.append(np.char.lower(np.char.strip(distinct.astype(str))), "")
    lookup = {n: code for code, n in enumerate(names)}
    if default is not None:  # an empty cell in an optional column takes its default
        lookup[""] = lookup[str(default)]
    code_of_distinct = np.array([lookup.get(str(c), -1) for c in cleaned], dtype=np.int64)
    unknown = code_of_distinct < 0
    codes = np.where(unknown, 0, code_of_distinct).astype(np.uint8)[index]
    # Row masks only when some row may be refused (the last entry is the empty cell's).
    if unknown[:-1].any() or (unknown[-1] and bool((index < 0).any())):
        refused = unknown[index]
        expected = f"expected one of {', '.join(names)}"
        problems.add(name, refused & (cleaned == "")[index], f"is missing: {expected}")
        problems.add(name, refused, f"is not recognised: {expected}")
    return codes


def _tz_offsets(arr: AnyArray, problems: Sink) -> npt.NDArray[np.int16]:
    name = "recipient_tz_offset_min"
    reason = (
        f"is out of range: expected a UTC offset in whole minutes in "
        f"[{MIN_TZ_OFFSET_MIN}, {MAX_TZ_OFFSET_MIN}]"
    )
    if arr.dtype.kind in "iu":  # whole minutes already: a range check only
        bad = outside(arr, MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN)
        problems.add(name, bad, reason)
        return np.where(bad, 0, arr).astype(np.int16)
    values = _to_float(name, arr, problems, "a UTC offset in whole minutes")
    values = np.where(np.isnan(values), 0.0, values)
    fractional = values != np.round(values)
    problems.add(name, fractional, "is not a UTC offset in whole minutes")
    bad = fractional | (values < MIN_TZ_OFFSET_MIN) | (values > MAX_TZ_OFFSET_MIN)
    problems.add(name, bad, reason)
    return np.where(bad, 0, values).astype(np.int16)


def _off_pair_rows(
    table: MessageTable,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Input rows whose accounts are not their conversation's first pair: those whose
    sender is the outsider, and those whose recipient is."""
    starts, n = table.segment_starts, len(table)
    a = spread(table.sender_code[starts], starts, n)
    b = spread(table.recipient_code[starts], starts, n)
    s, r = table.sender_code, table.recipient_code
    sender_in = (s == a) | (s == b)
    recipient_in = (r == a) | (r == b)
    rows = table.source_row
    return rows[~sender_in].astype(np.int64), rows[sender_in & ~recipient_in].astype(np.int64)
