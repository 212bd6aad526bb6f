"""The one validator of schema v1 columns: every row checked, the first bad one named
(column, row, value), or bad rows quarantined with a reason each."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Mapping
from functools import partial
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.io.groups import (
    DEFAULT_MAX_ROOM_MEMBERS,
    broadcast_mask,
    check_max_room_members,
    split_groups,
)
from riskscore.io.ids import Coded, check_ids, same_id_kind
from riskscore.io.messages import MessageTable, Quarantine, build_table
from riskscore.io.schema import (
    CHANNEL_NAMES,
    EVENT_NAMES,
    MAX_AGE,
    MAX_ROOM_SIZE,
    MAX_SHOWN_CHARS,
    MAX_TZ_OFFSET_MIN,
    MIN_AGE,
    MIN_TZ_OFFSET_MIN,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ROOM_SIZE_UNKNOWN,
    SCHEMA_COLUMNS,
    TZ_UNKNOWN,
    is_content_column,
)
from riskscore.io.threads import executor_for
from riskscore.io.timestamps import Sink, check_timestamps, outside, times_as_text

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


def _cell(raw: Mapping[str, AnyArray], column: str, row: int) -> object:
    """The value of one input cell as given (None for a column not given or a null, and
    for ``"line"``, a JSON line refused as a whole, which is never copied)."""
    if column not in raw:
        return None
    values = raw[column]
    if isinstance(values, Coded) and values.distinct is not None:
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


def validate_columns(
    raw: Mapping[str, AnyArray],
    *,
    errors: Errors = "raise",
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
) -> MessageTable:
    """Validate a dict of raw column arrays and build the sorted table: bad rows raise or
    are quarantined, broadcasts are set aside and group rooms split into pair
    conversations (:mod:`riskscore.io.groups`)."""
    max_room_members = check_max_room_members(max_room_members)
    check_column_names(list(raw))
    n_rows = _check_lengths(raw)
    raw = _with_textual_times(raw)
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
    cols["sender_id"], cols["recipient_id"] = same_id_kind(cols["sender_id"], cols["recipient_id"])
    problems.add(
        "recipient_id",
        (cols["sender_id"] == cols["recipient_id"]) & ~problems.bad,
        "is also the sender: an event goes from one account to another",
    )
    bad_rows = np.flatnonzero(problems.bad).astype(np.int64)
    if bad_rows.size and errors == "raise":
        _raise_first(problems, bad_rows)
    room_size = cols["room_size"]
    broadcast = np.zeros(n_rows, dtype=bool)
    if room_size.any():  # only when the column was given
        broadcast = broadcast_mask(room_size, cols["event"], max_room_members)
    if bad_rows.size or broadcast.any():
        keep = ~problems.bad & ~broadcast
        table = build_table(
            {k: v[keep] for k, v in cols.items()},
            np.flatnonzero(keep).astype(np.int64),
            problems.quarantine(bad_rows, cols["conversation_id"]) if bad_rows.size else None,
        )
    else:  # the common case: no copies
        table = build_table(cols, np.arange(n_rows, dtype=np.int64))
    return split_groups(table, np.flatnonzero(broadcast & ~problems.bad).astype(np.int64))


def _with_textual_times(raw: Mapping[str, AnyArray]) -> Mapping[str, AnyArray]:
    """``raw`` with date and time objects of ``timestamp`` as ISO text, so that checks
    and messages see what is missing (a date, a UTC offset) and quote it as text."""
    if "timestamp" not in raw:
        return raw
    text = times_as_text(raw["timestamp"])
    if text is raw["timestamp"]:
        return raw
    out = RawColumns(raw)
    out["timestamp"] = text
    out.refused = dict(getattr(raw, "refused", {}))
    out.rows = getattr(raw, "rows", None)
    out.lines = getattr(raw, "lines", None)
    return out


def _checks(raw: Mapping[str, AnyArray], n_rows: int) -> dict[str, Callable[[Sink], AnyArray]]:
    """The check of each schema v1 column, in check order (a row's first problem is the
    one of the earliest check)."""
    return {
        "conversation_id": partial(check_ids, "conversation_id", raw["conversation_id"]),
        "sender_id": partial(check_ids, "sender_id", raw["sender_id"]),
        "recipient_id": partial(check_ids, "recipient_id", raw["recipient_id"]),
        "timestamp": partial(check_timestamps, raw["timestamp"]),
        "sender_age": partial(_ages, "sender_age", _optional(raw, "sender_age", n_rows)),
        "recipient_age": partial(_ages, "recipient_age", _optional(raw, "recipient_age", n_rows)),
        "channel": partial(_categories, "channel", raw["channel"], CHANNEL_NAMES),
        "event": partial(_categories, "event", _optional(raw, "event", n_rows), EVENT_NAMES),
        "recipient_tz_offset_min": (
            partial(_tz_offsets, raw["recipient_tz_offset_min"])
            if "recipient_tz_offset_min" in raw
            else partial(_unknown, n_rows, TZ_UNKNOWN, np.int16)
        ),
        "room_size": (
            partial(_room_sizes, raw["room_size"])
            if "room_size" in raw
            else partial(_unknown, n_rows, ROOM_SIZE_UNKNOWN, np.int32)
        ),
    }


def _unknown(n_rows: int, code: int, dtype: type[np.integer], problems: Sink) -> AnyArray:
    """An optional column that is not given: unknown on every row."""
    return np.full(n_rows, code, dtype=dtype)


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
    cols["sender_id"], cols["recipient_id"] = same_id_kind(cols["sender_id"], cols["recipient_id"])
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
    if isinstance(arr, Coded) and arr.distinct is not None:
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


def _whole_numbers(
    name: str, arr: AnyArray, problems: Sink, what: str, low: int, high: int, unknown: int
) -> npt.NDArray[np.integer]:
    """Whole numbers in ``[low, high]`` (``unknown`` where empty); others refused."""
    reason = f"is out of range: expected {what} in [{low}, {high}], or empty for unknown"
    if arr.dtype.kind in "iu":  # whole numbers already: a range check only
        bad = outside(arr, low, high)
        if not bad.any():  # the common case: no copy beyond the caller's narrowing
            return arr
        problems.add(name, bad, reason)
        return np.where(bad, unknown, arr).astype(np.int64)
    values = _to_float(name, arr, problems, what)
    empty = np.isnan(values)
    values = np.where(empty, 0.0, values)
    fractional = values != np.round(values)
    problems.add(name, fractional, f"is not a whole number: expected {what}")
    bad = fractional | (~empty & ((values < low) | (values > high)))
    problems.add(name, bad, reason)
    return np.where(bad | empty, unknown, values).astype(np.int64)


def _tz_offsets(arr: AnyArray, problems: Sink) -> npt.NDArray[np.int16]:
    """UTC offsets in whole minutes; :data:`TZ_UNKNOWN` where empty (unknown, not UTC)."""
    offsets = _whole_numbers(
        "recipient_tz_offset_min",
        arr,
        problems,
        "a UTC offset in whole minutes",
        MIN_TZ_OFFSET_MIN,
        MAX_TZ_OFFSET_MIN,
        TZ_UNKNOWN,
    )
    return offsets.astype(np.int16, copy=False)


def _room_sizes(arr: AnyArray, problems: Sink) -> npt.NDArray[np.int32]:
    """Accounts in the room, the sender included; :data:`ROOM_SIZE_UNKNOWN` where empty."""
    sizes = _whole_numbers(
        "room_size",
        arr,
        problems,
        "the number of accounts in the room when the event was sent (the sender included)",
        2,
        MAX_ROOM_SIZE,
        ROOM_SIZE_UNKNOWN,
    )
    return sizes.astype(np.int32, copy=False)
