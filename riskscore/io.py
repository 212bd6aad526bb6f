"""Reading message events from files and in-memory tables into a :class:`MessageTable`.

Everything that enters riskscore passes through :func:`read_messages`, which
checks every row against schema v1 and either raises a :class:`SchemaError`
naming column, row and value, or (``errors="quarantine"``) sets bad rows aside
with a reason each. Nothing is dropped silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from riskscore._segments import spread
from riskscore._tables import build_table
from riskscore._threads import executor_for
from riskscore.exceptions import SchemaError
from riskscore.messages import MessageTable, Quarantine
from riskscore.schema import (
    CHANNEL_NAMES,
    CONTENT_COLUMNS,
    EVENT_NAMES,
    MAX_AGE,
    MAX_TIMESTAMP,
    MAX_TZ_OFFSET_MIN,
    MIN_AGE,
    MIN_TIMESTAMP,
    MIN_TZ_OFFSET_MIN,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["read_messages", "write_messages"]

Errors = Literal["raise", "quarantine"]
BoolArray = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]

_CSV_SUFFIXES = {".csv"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}

# ISO 8601 date-time that carries an explicit UTC offset (or Z).
_ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$"


def read_messages(
    source: object,
    *,
    errors: Errors = "raise",
) -> MessageTable:
    """Read and validate message events (schema v1).

    Parameters
    ----------
    source : path, pyarrow.Table, pandas.DataFrame, dict of arrays or MessageTable
        A ``.csv``, ``.jsonl``/``.ndjson``/``.json`` (JSON lines) or
        ``.parquet`` file; or an in-memory table with the schema v1 columns.
    errors : {"raise", "quarantine"}, default "raise"
        ``"raise"``: the first bad row raises :class:`SchemaError` naming its
        column, row and value. ``"quarantine"``: bad rows are set aside in
        :attr:`MessageTable.quarantined` with a reason each, and the rest are
        returned.

    Returns
    -------
    MessageTable
        Events sorted by conversation, then time, then input order.

    Raises
    ------
    SchemaError
        A required column is missing, a content column is present, or (with
        ``errors="raise"``) a row breaks the schema.

    Examples
    --------
    >>> import riskscore as rs
    >>> msgs = rs.read_messages({
    ...     "conversation_id": [1, 1], "timestamp": [1_700_000_060, 1_700_000_000],
    ...     "sender_id": ["a", "b"], "recipient_id": ["b", "a"],
    ...     "channel": ["direct", "public"], "sender_age": [34, 13],
    ... })
    >>> len(msgs), msgs.timestamp.tolist()
    (2, [1700000000, 1700000060])
    """
    if errors not in ("raise", "quarantine"):
        raise ValueError(f"errors must be 'raise' or 'quarantine', got {errors!r}")
    if isinstance(source, MessageTable):
        return source
    raw = _load_columns(source)
    return validate_columns(raw, errors=errors)


def write_messages(messages: MessageTable, path: str | os.PathLike[str]) -> Path:
    """Write events to ``.parquet``, ``.csv`` or ``.jsonl`` (by suffix).

    Parameters
    ----------
    messages : MessageTable
        The events to write, with schema v1 columns.
    path : str or path-like
        Destination file; its suffix selects the format.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    from riskscore._arrow_io import write_table

    return write_table(messages.to_arrow(), Path(path))


# ---------------------------------------------------------------- loading


def _load_columns(source: object) -> dict[str, AnyArray]:
    """Turn any supported source into a dict of numpy arrays (no validation yet)."""
    import pyarrow as pa

    if isinstance(source, (str, os.PathLike)):
        return _read_file(Path(source))
    if isinstance(source, pa.RecordBatch):
        source = pa.Table.from_batches([source])
    if isinstance(source, pa.Table):
        return _arrow_to_numpy(source)
    if type(source).__module__.startswith("pandas") and hasattr(source, "columns"):
        return _pandas_to_numpy(source)
    if isinstance(source, Mapping):
        return {str(k): _as_1d(str(k), v) for k, v in source.items()}
    raise TypeError(
        "read_messages takes a file path, a pyarrow.Table, a pandas.DataFrame or a dict of "
        f"arrays; got {type(source).__name__}"
    )


def _read_file(path: Path) -> dict[str, AnyArray]:
    if not path.exists():
        raise FileNotFoundError(f"no such events file: {path}")
    if path.is_dir():
        raise SchemaError(f"{path} is a directory: give the path of one events file")
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        return _arrow_to_numpy(pq.read_table(path))
    if suffix in _CSV_SUFFIXES:
        import pyarrow.csv as pacsv

        return _arrow_to_numpy(pacsv.read_csv(path))
    if suffix in _JSONL_SUFFIXES:
        return _read_jsonl(path)
    raise SchemaError(
        f"cannot tell the format of {path.name!r}: expected a .csv, .jsonl, .ndjson, .json "
        "(JSON lines) or .parquet file"
    )


def _read_jsonl(path: Path) -> dict[str, AnyArray]:
    """JSON lines. Text timestamps stay text so that their UTC offsets are checked here
    (pyarrow would turn them into zone-less times); columns mixing JSON types are read
    line by line and validated as Python objects."""
    import json

    import pyarrow as pa
    import pyarrow.json as pajson

    as_text = pajson.ParseOptions(explicit_schema=pa.schema([("timestamp", pa.string())]))
    for options in (as_text, None):
        try:
            return _arrow_to_numpy(pajson.read_json(path, parse_options=options))
        except pa.ArrowInvalid:
            continue
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SchemaError(f"{path.name}, line {number}: not valid JSON ({exc})") from exc
    names = list(dict.fromkeys(key for row in rows for key in row))
    return {name: _as_1d(name, [row.get(name) for row in rows]) for name in names}


def _arrow_to_numpy(table: pa.Table) -> dict[str, AnyArray]:
    import pyarrow as pa
    import pyarrow.compute as pc

    out: dict[str, AnyArray] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            if col.type.tz is None:
                raise SchemaError(
                    f"column {name!r} holds timestamps without a time zone; store them as UTC "
                    "(timestamp with tz) or as epoch seconds",
                    column=name,
                )
            secs = pc.cast(col, pa.timestamp("s", tz="UTC"), safe=False)
            out[name] = _nullable_int(secs.cast(pa.int64()))
        elif pa.types.is_dictionary(col.type):
            out[name] = _decode_dictionary(col)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return out


class _Coded(np.ndarray):
    """A dictionary column, undecoded: each row's position in the dictionary
    (``distinct``), -1 for null. :func:`_categories` looks up the few distinct values
    instead of every row, and only a refused row's value is ever decoded
    (:func:`_cell`). Arrays derived from it (slices, masks) are plain arrays again."""

    distinct: AnyArray | None

    def __array_finalize__(self, obj: object) -> None:
        self.distinct = None


def _decode_dictionary(col: Any) -> AnyArray:
    """A dictionary-encoded column: a :class:`_Coded` index for string values, otherwise
    a numpy array of its values (None where null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    if not chunks or not pa.types.is_string(col.type.value_type):
        return np.asarray(col.cast(col.type.value_type).to_numpy(zero_copy_only=False))
    combined = pa.chunked_array(chunks).unify_dictionaries().combine_chunks()
    out: _Coded = np.asarray(pc.fill_null(combined.indices, -1), dtype=np.int64).view(_Coded)
    out.distinct = np.asarray(combined.dictionary.to_pylist(), dtype=object)
    return out


def _cell(raw: Mapping[str, AnyArray], column: str, row: int) -> object:
    """The value of one input cell as given (None for a column not given or a null)."""
    if column not in raw:
        return None
    values = raw[column]
    if isinstance(values, _Coded) and values.distinct is not None:
        position = int(values[row])
        return None if position < 0 else values.distinct[position]
    return values[row]


def _nullable_int(col: Any) -> AnyArray:
    """Integers with nulls as float NaN, without nulls as int64."""
    if col.null_count:
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)


def _pandas_to_numpy(df: Any) -> dict[str, AnyArray]:
    out: dict[str, AnyArray] = {}
    for name in df.columns:
        series = df[name]
        dtype = series.dtype
        if getattr(dtype, "tz", None) is not None:
            values = series.dt.tz_convert("UTC").dt.tz_localize(None)
            secs = values.to_numpy(dtype="datetime64[s]").astype(np.int64)
            out[str(name)] = np.where(values.isna().to_numpy(), np.nan, secs)
        elif str(dtype).startswith("datetime64"):
            raise SchemaError(
                f"column {name!r} holds timestamps without a time zone; localize them "
                "(Series.dt.tz_localize) or give epoch seconds",
                column=str(name),
            )
        else:
            out[str(name)] = series.to_numpy(dtype=object if dtype is np.dtype(object) else None)
    return out


def _as_1d(name: str, values: object) -> AnyArray:
    if isinstance(values, (list, tuple)):
        kinds = {type(v) for v in values if v is not None}
        # numpy would turn [34.0, True] into floats and ["a", 7] into strings: keep objects
        # so that validation sees the values as given.
        if len(kinds) > 1 and not kinds <= {int, float}:
            return np.asarray(values, dtype=object)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise SchemaError(
            f"column {name!r} must be one-dimensional, got shape {arr.shape}", column=name
        )
    return arr


# ---------------------------------------------------------------- validation


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

    def quarantine(self, rows: npt.NDArray[np.int64]) -> Quarantine:
        cols = tuple(str(c) for c in self.column[rows])
        values = tuple(
            _show(_cell(self.raw, c, r)) if c in self.raw else ""
            for c, r in zip(cols, rows, strict=True)
        )
        return Quarantine(
            row=rows.astype(np.int64),
            column=cols,
            value=values,
            reason=tuple(str(x) for x in self.reason[rows]),
        )


class _Sink(Protocol):
    """Where a check reports the rows it refuses."""

    def add(self, column: str, mask: BoolArray, reason: str) -> None: ...


class _Found:
    """The problems one check reports, kept to be added to the shared :class:`_Problems`
    later, in check order (checks run concurrently; a row's first problem must not
    depend on which thread finished first)."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, BoolArray, str]] = []

    def add(self, column: str, mask: BoolArray, reason: str) -> None:
        if mask.any():
            self.problems.append((column, mask, reason))


def _run_check(check: Callable[[_Sink], AnyArray]) -> tuple[AnyArray, _Found]:
    found = _Found()
    return check(found), found


def _show(value: object) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _raise_first(problems: _Problems, rows: npt.NDArray[np.int64]) -> None:
    first = int(rows.min())
    col = str(problems.column[first])
    value = _cell(problems.raw, col, first)
    more = len(rows) - 1
    tail = (
        f" ({more} more bad row{'s' if more != 1 else ''}; pass errors='quarantine' to set "
        "them aside and keep the rest)"
        if more
        else ""
    )
    raise SchemaError(
        f"column {col!r}, row {first}: {_show(value)} {problems.reason[first]}{tail}",
        column=col,
        row=first,
        value=value,
    )


def validate_columns(raw: Mapping[str, AnyArray], *, errors: Errors = "raise") -> MessageTable:
    """Validate a dict of raw column arrays and build the sorted table."""
    check_column_names(raw)
    n_rows = _check_lengths(raw)
    problems = _Problems(n_rows, raw)
    cols: dict[str, AnyArray] = {}

    checks: dict[str, Callable[[_Sink], AnyArray]] = {  # in check order
        "conversation_id": partial(_ids, "conversation_id", raw["conversation_id"]),
        "sender_id": partial(_ids, "sender_id", raw["sender_id"]),
        "recipient_id": partial(_ids, "recipient_id", raw["recipient_id"]),
        "timestamp": partial(_timestamps, raw["timestamp"]),
        "sender_age": partial(_ages, "sender_age", _optional(raw, "sender_age", n_rows)),
        "recipient_age": partial(_ages, "recipient_age", _optional(raw, "recipient_age", n_rows)),
        "channel": partial(_categories, "channel", raw["channel"], CHANNEL_NAMES),
        "event": partial(_categories, "event", _optional(raw, "event", n_rows), EVENT_NAMES),
        "recipient_tz_offset_min": partial(
            _tz_offsets, _optional(raw, "recipient_tz_offset_min", n_rows)
        ),
    }
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
            problems.quarantine(bad_rows),
        )
    return table


def check_column_names(names: Collection[str]) -> None:
    """Refuse content columns and missing required ones, by column name only.

    Shared by every reader of schema v1 tables (in memory here, Spark DataFrames in
    :mod:`riskscore.spark`), so all refuse the same columns with the same message.
    """
    content = sorted(c for c in names if c.strip().lower() in CONTENT_COLUMNS)
    if content:
        raise SchemaError(
            f"column {content[0]!r} looks like message content: riskscore reads no message "
            "content, only metadata (schema v1). Drop the column before passing the events.",
            column=content[0],
        )
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


def _ids(name: str, arr: AnyArray, problems: _Sink) -> AnyArray:
    """Ids as int64 when every id is an integer, otherwise as str."""
    kind = arr.dtype.kind
    if kind in "iu":
        return arr.astype(np.int64, copy=False)
    if kind == "f":
        missing = ~np.isfinite(arr)
        problems.add(name, missing, "is missing: every event needs an id")
        fractional = ~missing & (arr != np.floor(np.where(missing, 0, arr)))
        problems.add(name, fractional, "is not an id: expected an integer or a string")
        return np.where(missing | fractional, 0, arr).astype(np.int64)
    if kind in "US":
        return arr.astype(str)
    if kind == "b":
        problems.add(name, np.ones(len(arr), dtype=bool), "is a boolean, not an id")
        return np.zeros(len(arr), dtype=np.int64)
    missing = _is_missing(arr)
    problems.add(name, missing, "is missing: every event needs an id")
    types = np.frompyfunc(
        lambda v: (
            "int"
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool)
            else type(v).__name__
        ),
        1,
        1,
    )(arr)
    present = types[~missing]
    if present.size == 0:
        return np.zeros(len(arr), dtype=np.int64)
    first_kind = present[0]
    mixed = ~missing & (types != first_kind)
    problems.add(
        name, mixed, f"mixes id types: this column's first id is {first_kind}; use one type"
    )
    if first_kind == "int" and not mixed.any():
        return np.where(missing, 0, arr).astype(np.int64)
    return np.asarray(np.frompyfunc(str, 1, 1)(np.where(missing | mixed, "", arr)), dtype=str)


def _same_id_kind(a: AnyArray, b: AnyArray) -> tuple[AnyArray, AnyArray]:
    """Senders and recipients share one account space, so give them one kind."""
    if (a.dtype.kind == "i") == (b.dtype.kind == "i"):
        return a, b
    return a.astype(str), b.astype(str)


def _to_float(name: str, arr: AnyArray, problems: _Sink, what: str) -> AnyArray:
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
            return float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return float("inf")

    out = np.asarray(np.frompyfunc(parse, 1, 1)(arr), dtype=np.float64)
    notnum = np.isinf(out)
    problems.add(name, notnum, f"is not a number: expected {what}")
    out[notnum] = np.nan
    return out


def _ages(name: str, arr: AnyArray, problems: _Sink) -> AnyArray:
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


_NOT_A_TIMESTAMP = (
    "is not a timestamp: expected epoch seconds or ISO 8601 with a UTC offset, "
    "like 2024-05-01T21:30:00+01:00"
)


def _timestamps(arr: AnyArray, problems: _Sink) -> AnyArray:
    name = "timestamp"
    out_of_range_reason = "is out of range: expected epoch seconds from 1970 up to 2200 (UTC)"
    if arr.dtype.kind in "iu":  # whole seconds already: a range check, no float round trip
        refused = _outside(arr, MIN_TIMESTAMP, MAX_TIMESTAMP - 1)
        problems.add(name, refused, out_of_range_reason)
        kept = np.where(refused, 0, arr) if refused.any() else arr
        return kept.astype(np.int64, copy=False)
    if arr.dtype.kind == "M":
        secs = arr.astype("datetime64[s]").astype(np.int64).astype(np.float64)
        secs[np.isnat(arr)] = np.nan
    elif arr.dtype.kind == "f":
        secs = np.floor(arr.astype(np.float64, copy=False))
    elif arr.dtype.kind in "US":
        secs, bad = _parse_time_text(arr.astype(object))
        problems.add(name, bad, _NOT_A_TIMESTAMP)
    elif arr.dtype.kind == "O":
        secs = _object_timestamps(arr, problems)
    else:
        problems.add(name, np.ones(len(arr), dtype=bool), _NOT_A_TIMESTAMP)
        secs = np.zeros(len(arr))
    missing = np.isnan(secs)  # rows refused above keep their first problem
    problems.add(name, missing, "is missing: every event needs a timestamp")
    with np.errstate(invalid="ignore"):
        out_of_range = ~np.isnan(secs) & ((secs < MIN_TIMESTAMP) | (secs >= MAX_TIMESTAMP))
    problems.add(name, out_of_range, out_of_range_reason)
    return np.where(np.isnan(secs) | out_of_range, 0, secs).astype(np.int64)


def _outside(values: AnyArray, low: int, high: int) -> BoolArray:
    """Integers not in [low, high], compared in their own type (a uint64 above 2**63
    must not wrap around into the range)."""
    if values.dtype.kind == "u" and low <= 0:
        return np.asarray(values > high)
    return np.asarray((values < low) | (values > high))


def _value_kind(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "missing"
    if isinstance(v, bool):
        return "other"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(v, str):
        return "text"
    return "other"


def _object_timestamps(arr: AnyArray, problems: _Sink) -> AnyArray:
    """Object columns may mix numbers, text and empty cells; each kind is parsed as such."""
    kind = np.asarray(np.frompyfunc(_value_kind, 1, 1)(arr), dtype=str)
    out = np.full(len(arr), np.nan)
    number = kind == "number"
    out[number] = np.floor(arr[number].astype(np.float64))
    text = np.flatnonzero(kind == "text")
    if text.size:
        parsed, bad = _parse_time_text(arr[text])
        out[text] = parsed
        mask = np.zeros(len(arr), dtype=bool)
        mask[text[bad]] = True
        problems.add("timestamp", mask, _NOT_A_TIMESTAMP)
    problems.add("timestamp", kind == "other", _NOT_A_TIMESTAMP)
    return out


def _parse_time_text(values: AnyArray) -> tuple[AnyArray, BoolArray]:
    """Epoch seconds from non-missing text (digits, or ISO 8601 with a UTC offset), and
    which entries could not be parsed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(pa.array(values, type=pa.string()))
    is_digits = pc.fill_null(pc.match_substring_regex(text, r"^-?\d+$"), False)
    is_iso = pc.fill_null(pc.match_substring_regex(text, _ISO_WITH_OFFSET), False)
    out = np.full(len(values), np.nan)
    digits = np.asarray(is_digits)
    if digits.any():
        out[digits] = np.asarray(pc.filter(text, is_digits).cast(pa.float64()))
    iso = np.asarray(is_iso)
    if iso.any():
        iso_text = pc.replace_substring_regex(pc.filter(text, is_iso), r"([+-]\d{2})$", r"\1:00")
        out[iso] = _cast_iso(iso_text)
    return out, np.isnan(out)


def _cast_iso(text: Any) -> AnyArray:
    """Parse ISO 8601 strings with offsets; unparsable ones (e.g. month 13) become NaN."""
    import pyarrow as pa

    target = pa.timestamp("us", tz="UTC")
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


def _categories(
    name: str, arr: AnyArray, names: tuple[str, ...], problems: _Sink
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


def _tz_offsets(arr: AnyArray, problems: _Sink) -> npt.NDArray[np.int16]:
    name = "recipient_tz_offset_min"
    reason = (
        f"is not a UTC offset: expected whole minutes in [{MIN_TZ_OFFSET_MIN}, {MAX_TZ_OFFSET_MIN}]"
    )
    if arr.dtype.kind in "iu":  # whole minutes already: a range check only
        bad = _outside(arr, MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN)
        problems.add(name, bad, reason)
        return np.where(bad, 0, arr).astype(np.int16)
    values = _to_float(name, arr, problems, "a UTC offset in whole minutes")
    values = np.where(np.isnan(values), 0.0, values)
    bad = (values != np.round(values)) | (values < MIN_TZ_OFFSET_MIN) | (values > MAX_TZ_OFFSET_MIN)
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
