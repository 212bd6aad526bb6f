"""Reading message events from files and in-memory tables into a :class:`MessageTable`.

Everything that enters riskscore passes through :func:`read_messages`, which
checks every row against schema v1 and either raises a :class:`SchemaError`
naming column, row and value, or (``errors="quarantine"``) sets bad rows aside
with a reason each. Nothing is dropped silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from riskscore.exceptions import SchemaError
from riskscore.io.arrow import write_table
from riskscore.io.columnar import (
    arrow_to_raw,
    as_1d,
    pandas_names,
    pandas_to_numpy,
    schema_names,
    unread_names,
)
from riskscore.io.files import read_file
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS
from riskscore.io.id_marks import pandas_marked
from riskscore.io.input_names import quoted_name
from riskscore.io.messages import MessageTable
from riskscore.io.nested_fields import column_paths, field_paths
from riskscore.io.raw import RawColumns
from riskscore.io.schema import SCHEMA_COLUMNS
from riskscore.io.timestamps import DEFAULT_READ_MAX_FUTURE_S, FutureLimit
from riskscore.io.validate import Errors, check_errors, validate_columns

__all__ = ["read_chunk", "read_messages", "write_messages"]

AnyArray = npt.NDArray[Any]
IntArray = npt.NDArray[np.int64]


def read_messages(
    source: object,
    *,
    errors: Errors = "raise",
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    now: float | None = None,
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
) -> MessageTable:
    """Read and validate message events (schema v1).

    Parameters
    ----------
    source : path, pyarrow.Table, pandas.DataFrame, dict of arrays or MessageTable
        A ``.csv``, ``.jsonl``/``.ndjson``/``.json`` (JSON lines) or
        ``.parquet`` file; or an in-memory table with the schema v1 columns (also any
        table with the Arrow stream interface, ``__arrow_c_stream__``, such as a
        polars DataFrame, read as its Arrow table; in a dict, a numpy masked array's
        masked cells are missing). A polars LazyFrame is collected:
        its column names are checked on its schema first (a content column is refused
        before a row is read), and only the schema v1 columns are collected.
    errors : {"raise", "quarantine"}, default "raise"
        ``"raise"``: the first bad row raises :class:`SchemaError` naming its
        column, row and value. ``"quarantine"``: bad rows are set aside in
        :attr:`MessageTable.quarantined` with a reason each, and the rest are
        returned.
    max_room_members : int, default 20
        Accounts (the sender included) above which a room is a broadcast surface:
        ``message`` and ``media`` events with a larger ``room_size`` are set aside and
        counted in :attr:`MessageTable.groups`, not scored.
    now : float, optional
        The reference time of the future limit, epoch seconds (default: the wall clock
        when reading starts). Give it to read data dated ahead on purpose (replayed or
        synthetic) or to make a read repeatable.
    max_future_s : float, default DEFAULT_READ_MAX_FUTURE_S (five years)
        An event dated more than this many seconds after ``now`` is a bad row (refused,
        or quarantined with ``errors="quarantine"``), as the online scorer refuses one
        ahead of its clock; ``math.inf`` lifts the limit.

    Returns
    -------
    MessageTable
        Events sorted by conversation, then time, then input order. A conversation of
        more than two accounts (a group room) is split into one conversation per pair of
        accounts, with ids ``room|account|account`` (:mod:`riskscore.io.groups`,
        ``docs/schema.md``); conversation ids are then text.

    Raises
    ------
    SchemaError
        A required column is missing, a content column is present, or (with
        ``errors="raise"``) a row breaks the schema.
    ValueError
        ``max_future_s`` is not a number of seconds >= 0, or ``now`` not epoch seconds.

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

    An event dated more than ``max_future_s`` after the time of reading (here ``now``) is
    refused unless the limit is moved or lifted (the default, five years, is for data dated
    ahead on purpose; live logs are read with a day):

    >>> events = {"conversation_id": [1], "timestamp": [1_700_090_000], "sender_id": ["a"],
    ...           "recipient_id": ["b"], "channel": ["direct"]}
    >>> rs.read_messages(events, now=1_700_000_000, max_future_s=86_400)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    riskscore.exceptions.SchemaError: column 'timestamp', row 0: 1700090000 is later than ...
    >>> len(rs.read_messages(events, now=1_700_000_000, max_future_s=float("inf")))
    1
    """
    check_errors(errors)
    future = FutureLimit.at(now, max_future_s)  # the time of reading, before the file is read
    if isinstance(source, MessageTable):
        return source
    raw = _load_columns(source)
    table = validate_columns(
        raw,
        errors=errors,
        max_room_members=max_room_members,
        now=future.now,
        max_future_s=future.max_future_s,
    )
    return _with_unread(table, raw)


def read_chunk(
    table: pa.Table,
    rows: IntArray,
    *,
    errors: Errors = "raise",
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    now: float | None = None,
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
) -> MessageTable:
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
    max_room_members : int, default 20
        As for :func:`read_messages`.
    now : float, optional
        As for :func:`read_messages`; give the parts of one input the same ``now``.
    max_future_s : float, default DEFAULT_READ_MAX_FUTURE_S (five years)
        As for :func:`read_messages`.

    Returns
    -------
    MessageTable
        Its :attr:`~MessageTable.quarantined` rows are positions in the whole input.
    """
    if len(rows) != table.num_rows:
        raise ValueError(f"{table.num_rows} rows but {len(rows)} row positions")
    keep = schema_names(table.column_names, field_paths(table.schema))
    raw = arrow_to_raw(table.select(keep))
    raw.rows = np.asarray(rows, dtype=np.int64)
    raw.unread = unread_names(table.column_names)
    msgs = validate_columns(
        raw, errors=errors, max_room_members=max_room_members, now=now, max_future_s=max_future_s
    )
    return _with_unread(msgs, raw)


def _with_unread(table: MessageTable, raw: Mapping[str, AnyArray]) -> MessageTable:
    """``table`` with the columns its source had beyond schema v1 (never read)."""
    unread = getattr(raw, "unread", ())
    return replace(table, unread_columns=unread) if unread else table


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

    Raises
    ------
    SchemaError
        Integer ids that no Arrow integer type holds together (a negative id beside one
        beyond int64, or one beyond 2**64 - 1), naming the column, row and value.

    Notes
    -----
    Reading the file gives the table back: integer ids held as decimal text
    (:attr:`MessageTable.decimal_ids`) are written as integers, uint64 when one is beyond
    int64, int64 when all fit. CSV holds every id as text (``docs/schema.md``), so a CSV
    file reads back with text ids, whatever their size: write Parquet or JSON lines to
    keep integer ids.
    """
    # An events file is data for riskscore, not a sheet for people: ids stay as given.
    return write_table(messages.to_arrow(), Path(path), escape_formulas=False)


def _load_columns(source: object) -> dict[str, AnyArray]:
    """Turn any supported source into a dict of numpy arrays of the schema v1 columns it
    has (no validation of values yet). Column names are checked first; other columns are
    never read, copied or converted."""
    if isinstance(source, (str, os.PathLike)):
        return read_file(Path(source))
    if isinstance(source, pa.RecordBatch):
        source = pa.Table.from_batches([source])
    raw: RawColumns | None = None
    names: list[str] = []
    if isinstance(source, pa.Table):
        names = list(source.column_names)
        raw = arrow_to_raw(source.select(schema_names(names, field_paths(source.schema))))
    elif type(source).__module__.startswith("pandas") and hasattr(source, "columns"):
        frame: Any = source
        columns, index = pandas_names(frame)
        nested = [p for i, n in enumerate(columns) for p in column_paths(n, frame.iloc[:, i])]
        keep = schema_names(columns, [*index, *nested])
        names = [*columns, *index]
        raw = pandas_to_numpy(frame.iloc[:, [columns.index(n) for n in keep]])
        # integer ids a riskscore file held as marked text, read by pandas (its attrs)
        attrs = getattr(frame, "attrs", None)
        raw.integer_text = tuple(n for n in keep if n in pandas_marked(attrs or {}))
    elif isinstance(source, Mapping):
        names = [str(k) for k in source]
        nested = [p for k, v in source.items() for p in column_paths(str(k), v)]
        wanted = set(schema_names(names, nested))
        _check_series_aligned({str(k): v for k, v in source.items() if str(k) in wanted})
        raw = RawColumns({str(k): as_1d(str(k), v) for k, v in source.items() if str(k) in wanted})
    if raw is not None:
        raw.unread = unread_names(names)
        return raw
    if hasattr(source, "__arrow_c_stream__"):  # polars, DuckDB, ...: read as Arrow
        return _load_columns(_stream_table(source))
    if type(source).__module__.startswith("polars") and hasattr(source, "collect_schema"):
        return _lazy_frame_columns(source)
    raise TypeError(
        "read_messages takes a file path, a pyarrow.Table, a pandas.DataFrame, a polars "
        "DataFrame or LazyFrame, a dict of arrays or a table with the Arrow stream interface; "
        f"got {type(source).__name__}"
    )


def _check_series_aligned(columns: Mapping[str, object]) -> None:
    """Refuse a dict whose pandas Series have different indexes: a dict's columns are read
    by position, so such Series would pair one row's sender with another's recipient (as
    pandas itself would align them by label)."""
    series: dict[str, Any] = {
        name: values
        for name, values in columns.items()
        if type(values).__module__.startswith("pandas")
        and hasattr(getattr(values, "index", None), "equals")
    }
    first = next(iter(series), "")
    for name, values in series.items():
        if not values.index.equals(series[first].index):
            raise SchemaError(
                f"columns {quoted_name(first)} and {quoted_name(name)} are pandas Series with "
                "different indexes: a dict's columns are read by position, which would pair "
                "values of different rows; give a DataFrame (aligned by index) or the Series' "
                ".to_numpy() in one order",
                column=name,
            )


def _lazy_frame_columns(source: Any) -> RawColumns:
    """The schema v1 columns of a polars LazyFrame, collected: its column names and the
    fields nested in them are checked on its schema before a row is read (a content column
    refused, a required one missing named), then only the schema v1 columns are collected
    (polars reads no other column of a scan)."""
    schema = _lazy_schema(source)
    names = [str(n) for n in schema.names]
    keep = schema_names(names, field_paths(schema))
    raw = arrow_to_raw(_stream_table(source.select(keep).collect()))
    raw.unread = unread_names(names)
    return raw


def _lazy_schema(source: Any) -> pa.Schema:
    """A polars LazyFrame's schema as Arrow's, from its plan: no row is read (a polars
    without the Arrow schema interface collects no row either)."""
    schema = source.collect_schema()
    if hasattr(schema, "__arrow_c_schema__"):
        return pa.schema(schema)
    return pa.table(source.limit(0).collect()).schema


def _stream_table(source: Any) -> pa.Table:
    """A table with the Arrow stream interface as a :class:`pyarrow.Table`.

    Raises
    ------
    SchemaError
        Arrow cannot import one of its columns (polars' ``Int128``), naming the first
        such column when the table lists its columns (``columns``) and gives each alone
        (``table[name]``) through the interface too.
    """
    _refuse_object_columns(source)
    try:
        return pa.table(source)
    except pa.ArrowException as exc:
        names = [str(n) for n in getattr(source, "columns", ())]
        column = next((n for n in names if not _imports(source, n)), None)
        where = "a column" if column is None else f"column {quoted_name(column)}"
        raise SchemaError(
            f"{where} of the {type(source).__name__} cannot be read as Arrow "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]}): cast it to a type "
            "Arrow has (a 64-bit integer, text) or leave it out",
            column=column,
        ) from exc


def _refuse_object_columns(source: Any) -> None:
    """Refuse a schema v1 column that polars holds as Python objects (``pl.Object``): its
    Arrow stream gives each cell's memory address as 8 bytes, not its value, which would be
    refused as bytes to decode (or, in a column that takes any bytes, read as data).

    Raises
    ------
    SchemaError
        Naming the first such column.
    """
    schema: Any = getattr(source, "schema", None)
    if not type(schema).__module__.startswith("polars") or not hasattr(schema, "items"):
        return
    for name, kind in schema.items():
        if str(name) in SCHEMA_COLUMNS and type(kind).__name__ == "Object":
            raise SchemaError(
                f"column {quoted_name(str(name))} of the {type(source).__name__} holds Python "
                "objects (polars' Object type), which polars hands over as memory addresses, "
                "not values: cast it to a type Arrow has (text, a 64-bit integer, a datetime "
                "with a time zone) or leave it out",
                column=str(name),
            )


def _imports(source: Any, name: str) -> bool:
    """Whether Arrow imports the column ``name`` of ``source`` alone (True when it cannot
    be given alone: it is then not the one to name)."""
    try:
        pa.chunked_array(source[name])
    except pa.ArrowException:
        return False
    except (LookupError, TypeError, ValueError, AttributeError):  # not given alone
        return True
    return True
