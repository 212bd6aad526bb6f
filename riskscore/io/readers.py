"""Reading message events from files and in-memory tables into a :class:`MessageTable`.

Everything that enters riskscore passes through :func:`read_messages`, which
checks every row against schema v1 and either raises a :class:`SchemaError`
naming column, row and value, or (``errors="quarantine"``) sets bad rows aside
with a reason each. Nothing is dropped silently.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.io.arrow import write_table
from riskscore.io.messages import MessageTable
from riskscore.io.schema import MAX_JSON_DEPTH, MAX_JSON_LINE_LENGTH, SCHEMA_COLUMNS
from riskscore.io.validate import (
    Errors,
    RawColumns,
    _Coded,
    check_column_names,
    validate_columns,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["read_chunk", "read_messages", "write_messages"]

AnyArray = npt.NDArray[Any]
IntArray = npt.NDArray[np.int64]

_CSV_SUFFIXES = {".csv"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_SCHEMA_KEYS = frozenset(SCHEMA_COLUMNS)
_ID_COLUMNS = ("conversation_id", "sender_id", "recipient_id")


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


def read_chunk(table: pa.Table, rows: IntArray, *, errors: Errors = "raise") -> MessageTable:
    """Read and validate one part of a larger input, as :func:`read_messages` reads a whole.

    The rules are those of :func:`read_messages` (one validator); only the rows named in
    errors and quarantine records differ: row ``i`` of ``table`` is reported as
    ``rows[i]``, its position in the whole input (a Parquet file scored in chunks).

    Parameters
    ----------
    table : pyarrow.Table
        Events with schema v1 columns (other columns are not read).
    rows : array of int of shape (table.num_rows,)
        Position of each row in the whole input.
    errors : {"raise", "quarantine"}, default "raise"
        As for :func:`read_messages`.

    Returns
    -------
    MessageTable
        Its :attr:`~MessageTable.quarantined` rows are positions in the whole input.
    """
    if len(rows) != table.num_rows:
        raise ValueError(f"{table.num_rows} rows but {len(rows)} row positions")
    raw = RawColumns(_arrow_to_numpy(table.select(_schema_names(table.column_names))))
    raw.rows = np.asarray(rows, dtype=np.int64)
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
    return write_table(messages.to_arrow(), Path(path))


# ---------------------------------------------------------------- loading


def _schema_names(names: list[str]) -> list[str]:
    """Check a source's column names (content refused, duplicates refused, required
    present) and return those of schema v1, the only ones ever loaded."""
    check_column_names(names)
    return [n for n in names if n in _SCHEMA_KEYS]


def _load_columns(source: object) -> dict[str, AnyArray]:
    """Turn any supported source into a dict of numpy arrays of the schema v1 columns it
    has (no validation of values yet). Column names are checked first; other columns are
    never read, copied or converted."""
    import pyarrow as pa

    if isinstance(source, (str, os.PathLike)):
        return _read_file(Path(source))
    if isinstance(source, pa.RecordBatch):
        source = pa.Table.from_batches([source])
    if isinstance(source, pa.Table):
        return _arrow_to_numpy(source.select(_schema_names(source.column_names)))
    if type(source).__module__.startswith("pandas") and hasattr(source, "columns"):
        frame: Any = source
        names = [str(c) for c in frame.columns]
        keep = _schema_names(names)
        return _pandas_to_numpy(frame.iloc[:, [names.index(n) for n in keep]])
    if isinstance(source, Mapping):
        wanted = set(_schema_names([str(k) for k in source]))
        return {str(k): _as_1d(str(k), v) for k, v in source.items() if str(k) in wanted}
    raise TypeError(
        "read_messages takes a file path, a pyarrow.Table, a pandas.DataFrame or a dict of "
        f"arrays; got {type(source).__name__}"
    )


def _read_file(path: Path) -> dict[str, AnyArray]:
    """One events file, by suffix. Whatever is wrong with the file (empty, truncated,
    ragged, not the format its suffix says) is a :class:`SchemaError` naming the file."""
    import csv

    import pyarrow as pa

    if not path.exists():
        raise FileNotFoundError(f"no such events file: {path}")
    if path.is_dir():
        raise SchemaError(f"{path} is a directory: give the path of one events file")
    suffix = path.suffix.lower()
    if suffix not in _CSV_SUFFIXES | _JSONL_SUFFIXES | _PARQUET_SUFFIXES:
        raise SchemaError(
            f"cannot tell the format of {path.name!r}: expected a .csv, .jsonl, .ndjson, "
            ".json (JSON lines) or .parquet file"
        )
    try:
        if suffix in _PARQUET_SUFFIXES:
            return _read_parquet(path)
        if suffix in _CSV_SUFFIXES:
            return _read_csv(path)
        return _read_jsonl(path)
    except SchemaError:
        raise
    except (pa.ArrowException, csv.Error, UnicodeError, ValueError, OverflowError) as exc:
        what = {".csv": "CSV"}.get(suffix, "Parquet" if suffix in _PARQUET_SUFFIXES else "JSON")
        # Arrow quotes the offending CSV row after "got N:"; the row may hold content
        detail = re.sub(r"(columns?, got \d+):.*", r"\1", " ".join(str(exc).split()))[:200]
        raise SchemaError(
            f"{path.name}: not a readable {what} events file ({type(exc).__name__}: {detail})"
        ) from exc


def _read_parquet(path: Path) -> dict[str, AnyArray]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, pre_buffer=False) as pf:
        keep = _schema_names(list(pf.schema_arrow.names))
        return _arrow_to_numpy(pf.read(columns=keep))


def _read_csv(path: Path) -> RawColumns:
    """CSV with ids read as text (type inference would make ``007`` and ``7`` one id and
    round 20-digit ids through floats) and timestamps as text (checked for offsets here)."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pacsv

    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), None)
    if header is None:
        raise SchemaError(f"{path.name}: empty CSV file, expected a header row of column names")
    keep = _schema_names(header)
    as_text = {name: pa.string() for name in (*_ID_COLUMNS, "timestamp") if name in keep}
    table = pacsv.read_csv(
        path, convert_options=pacsv.ConvertOptions(include_columns=keep, column_types=as_text)
    )
    raw = RawColumns(_arrow_to_numpy(table))
    raw.lines = partial(_csv_lines, path)
    return raw


def _csv_lines(path: Path, rows: IntArray) -> IntArray:
    """The physical line (1-based, the header is line 1) where each data row of a CSV file
    starts, -1 where unknown. Blank lines, which the reader skips, and line breaks inside
    quoted cells are counted; the file is read only as far as the last row asked for. A
    cell beyond the csv module's field limit stops the count (later rows get -1)."""
    import csv

    wanted = set(rows.tolist())
    last_wanted = max(wanted, default=-1)
    found: dict[int, int] = {}
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        data_row, last_line = -1, 0  # -1: the header comes first
        try:
            for record in reader:
                start, last_line = last_line + 1, reader.line_num
                if not record:
                    continue  # a blank line
                if data_row in wanted:
                    found[data_row] = start
                data_row += 1
                if data_row > last_wanted:
                    break
        except csv.Error:
            pass  # a cell over the csv module's field limit: the rest stay unknown
    return np.asarray([found.get(int(r), -1) for r in rows], dtype=np.int64)


def _json_depth(line: str) -> int:
    """Deepest nesting of arrays and objects in one JSON line (brackets inside strings
    are not counted). Only called on lines with many brackets."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in line:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _bounded_lines(fh: Any) -> Any:
    """The lines of a binary file, each cut at :data:`MAX_JSON_LINE_LENGTH` bytes (the rest
    of a longer line is skipped, never held in memory), with whether it was whole."""
    limit = MAX_JSON_LINE_LENGTH * 4  # bytes: up to 4 per character in UTF-8
    while True:
        data = fh.readline(limit + 1)
        if not data:
            return
        if len(data) > limit and not data.endswith(b"\n"):
            while True:  # skip the rest of the over-long line
                rest = fh.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield data[:200], False
        else:
            yield data, True


def _line_problem(line: str) -> str | None:
    """Why a JSON line is refused before it is parsed (too long or too deeply nested:
    parsers slow down or crash on those), or None."""
    if len(line) > MAX_JSON_LINE_LENGTH:
        return (
            f"is a line of {len(line)} characters: the limit is {MAX_JSON_LINE_LENGTH} "
            "(a schema v1 event takes a few hundred)"
        )
    if line.count("[") + line.count("{") > MAX_JSON_DEPTH and _json_depth(line) > MAX_JSON_DEPTH:
        return f"nests arrays or objects deeper than {MAX_JSON_DEPTH} levels"
    return None


def _read_jsonl(path: Path) -> RawColumns:
    """JSON lines, one event object a line. Each line is first checked for length and
    nesting depth; lines that are not JSON objects are refused with their line number
    (quarantined with ``errors="quarantine"``, so one broken line does not stop the file).
    A clean file is parsed by Arrow; otherwise, or when Arrow's types would change an id
    (integers beyond int64 read as floats), line by line in Python."""
    import json

    lines: list[str] = []
    numbers: list[int] = []  # the file line of each event line
    refused: dict[int, str] = {}
    with path.open("rb") as fh:
        for number, (data, complete) in enumerate(_bounded_lines(fh), start=1):
            if not data.strip():
                continue
            numbers.append(number)
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                refused[len(lines)] = f"is not valid UTF-8 ({exc.reason})"
                lines.append("{}")
                continue
            problem = (
                _line_problem(line)
                if complete
                else f"is longer than the limit of {MAX_JSON_LINE_LENGTH} characters"
            )
            if problem is not None:
                refused[len(lines)] = problem
                line = "{}"
            lines.append(line)
    line_of = np.asarray(numbers, dtype=np.int64)
    if not refused and lines:
        fast = _jsonl_with_arrow(path)
        if fast is not None:
            fast.lines = line_of.__getitem__
            return fast
    # A refused line is named by its number, never copied into a message or the
    # quarantine: it was not parsed, so it may hold message content in any field.
    rows: list[Mapping[str, object]] = []
    out_refused: dict[int, tuple[str, str]] = {}
    for row, line in enumerate(lines):
        obj: Any = {}
        if row in refused:
            out_refused[row] = ("line", refused[row])
        else:
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError) as exc:
                out_refused[row] = ("line", f"is not valid JSON ({exc})")
                obj = {}
            if not isinstance(obj, dict):
                if row not in out_refused:
                    out_refused[row] = (
                        "line",
                        f"is a JSON {type(obj).__name__}, not an object: each line must be "
                        "one event object",
                    )
                obj = {}
        rows.append(obj)
    if not any(rows):
        first = min(out_refused, default=None)
        why = f" (line {numbers[first]} {out_refused[first][1]})" if first is not None else ""
        raise SchemaError(
            f"{path.name}: no event objects found, expected one JSON object a line{why}"
        )
    names = list(dict.fromkeys(str(key) for row in rows for key in row))
    keep = _schema_names(names)
    raw = RawColumns({name: _as_1d(name, [row.get(name) for row in rows]) for name in keep})
    # rows refused here keep their line number in messages: row i is the i-th event line
    raw.refused = {row: (col, why) for row, (col, why) in out_refused.items()}
    raw.lines = line_of.__getitem__
    return raw


def _jsonl_with_arrow(path: Path) -> RawColumns | None:
    """A clean JSON lines file parsed by Arrow (only schema v1 fields kept), or None when
    Arrow cannot read it exactly (mixed types in a column, ids beyond int64, not objects)."""
    import pyarrow as pa
    import pyarrow.json as pajson

    as_text = pajson.ParseOptions(explicit_schema=pa.schema([("timestamp", pa.string())]))
    for options in (as_text, None):
        try:
            table = pajson.read_json(path, parse_options=options)
        except pa.ArrowInvalid:
            continue
        keep = _schema_names(table.column_names)
        for name in _ID_COLUMNS:
            if name in keep and not (
                pa.types.is_int64(table.column(name).type)
                or pa.types.is_string(table.column(name).type)
            ):
                return None  # e.g. ids beyond int64 that Arrow turned into floats
        return RawColumns(_arrow_to_numpy(table.select(keep)))
    return None


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
        elif pa.types.is_date(col.type):
            raise SchemaError(
                f"column {name!r} holds dates without a time and UTC offset; give timestamps "
                "(timestamp with tz, epoch seconds, or ISO 8601 with an offset)",
                column=name,
            )
        elif pa.types.is_dictionary(col.type):
            out[name] = _decode_dictionary(col)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return out


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
    """A column given as a list or an array, as a 1-D numpy array. Lists of numbers or
    booleans get numpy's type; any other list stays an object array of the values as
    given (numpy would turn [34.0, True] into floats, ["a", 7] into strings, and would
    strip a trailing NUL from text: "c\\x00" would become "c")."""
    if isinstance(values, (list, tuple)):
        kinds = {type(v) for v in values if v is not None}
        if kinds and (kinds <= {int, float} or kinds == {bool}):
            arr = np.asarray(values)
            if arr.ndim == 1:
                return arr
        return np.fromiter(values, dtype=object, count=len(values))
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise SchemaError(
            f"column {name!r} is not an array of values ({exc})", column=name
        ) from exc
    if arr.ndim != 1:
        raise SchemaError(
            f"column {name!r} must be one-dimensional, got shape {arr.shape}", column=name
        )
    return arr
