"""Reading message events from files and in-memory tables into a :class:`MessageTable`.

Everything that enters riskscore passes through :func:`read_messages`, which
checks every row against schema v1 and either raises a :class:`SchemaError`
naming column, row and value, or (``errors="quarantine"``) sets bad rows aside
with a reason each. Nothing is dropped silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.io.arrow import write_table
from riskscore.io.messages import MessageTable
from riskscore.io.validate import Errors, _Coded, validate_columns

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["read_messages", "write_messages"]

AnyArray = npt.NDArray[Any]

_CSV_SUFFIXES = {".csv"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


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
