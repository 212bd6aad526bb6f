"""Sources as numpy columns: the schema v1 columns picked by name (every other column is
never read), and Arrow, pandas and list columns converted with their values as given,
for the validator (:mod:`riskscore.io.validate`) to check."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.exceptions import SchemaError
from riskscore.io.content_names import is_content_column
from riskscore.io.decimals import (
    EXACT_FLOAT_INT,
    TIME_COLUMN,
    decimal_numbers,
    numbers_to_numpy,
)
from riskscore.io.given_ids import integer_text_columns
from riskscore.io.ids import coded_text
from riskscore.io.input_names import quoted_name, reported_as
from riskscore.io.raw import RawColumns, Unheld
from riskscore.io.schema import ID_COLUMNS, SCHEMA_COLUMNS
from riskscore.io.text import all_text, is_text_type, plain_dictionary, utf8_cells
from riskscore.io.threads import executor_for
from riskscore.io.validate import check_column_names

__all__ = [
    "ID_COLUMNS",
    "arrow_to_numpy",
    "arrow_to_raw",
    "as_1d",
    "pandas_names",
    "pandas_to_numpy",
    "schema_names",
    "unread_names",
]

AnyArray = npt.NDArray[Any]

_SCHEMA_KEYS: Final = frozenset(SCHEMA_COLUMNS)
#: Id columns, read as text from CSV and kept exact from JSON lines.
#: Columns whose checks read a dictionary column undecoded
#: (:class:`~riskscore.io.ids.Coded`); any other column's dictionary is decoded, since its
#: checks read values, not codes.
_CODED_COLUMNS: Final = frozenset((*ID_COLUMNS, "channel", "event"))
#: Arrow types numpy holds no values of: read as Python values (:func:`_python_values`).
_PYTHON_TYPES: Final = (pa.types.is_union, pa.types.is_run_end_encoded)
_TICKS_PER_SECOND: Final = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def schema_names(names: list[str], nested: list[str] | None = None) -> list[str]:
    """Check a source's column names (content refused, duplicates refused, required
    present) and the dotted paths of fields nested in its columns (content refused:
    :func:`field_paths`), and return the names of schema v1, the only ones ever loaded."""
    content = [path for path in nested or [] if is_content_column(path)]
    check_column_names([*names, *content[:1]])  # a nested content field: the same message
    return [n for n in names if n in _SCHEMA_KEYS]


def unread_names(names: list[str]) -> tuple[str, ...]:
    """The column names of a source that are not schema v1 columns, in their order: never
    read (after :func:`schema_names` checked them), and listed so that a column under
    another name (``tz_offset`` for ``recipient_tz_offset_min``) is seen, not silently
    missed. A name that may not be reported (a sentence, which may be message content: a
    file without a header gives its first row as the names) is kept as ``(other names)``,
    by the rule of ``riskscore stream`` (:func:`riskscore.io.input_names.reported_as`)."""
    kept: dict[str, None] = {}
    for name in names:
        if name not in _SCHEMA_KEYS:
            kept[reported_as(name, kept)] = None
    return tuple(kept)


def arrow_to_numpy(table: pa.Table) -> dict[str, AnyArray]:
    """An Arrow table's columns as numpy arrays (the ``timestamp`` column's times with a
    zone as epoch seconds, other times as objects, dictionary columns of text ids, channels
    and events as :class:`~riskscore.io.ids.Coded`, other dictionary columns decoded).

    Columns are converted independently; on a large table on the worker threads
    (Arrow's conversions release the GIL), so a table of several chunks is joined
    into one array per column on both cores. A text column with a cell that is not UTF-8
    holds it as :class:`~riskscore.io.text.NotUtf8` (:func:`arrow_to_raw` says which).

    Raises
    ------
    SchemaError
        A column that is not a valid Arrow array (a dictionary index out of its range),
        naming the column.
    """
    return dict(arrow_to_raw(table))


def arrow_to_raw(table: pa.Table) -> RawColumns:
    """:func:`arrow_to_numpy` as the :class:`~riskscore.io.raw.RawColumns` of a reader,
    with the rows of each text column whose cells are not UTF-8
    (``not_utf8`` of :class:`~riskscore.io.raw.RawColumns`): Arrow checks no text it reads from a
    Parquet file nor is handed, so such a cell is refused by row, as in a CSV file."""
    with executor_for(table.num_rows) as pool:
        converted = [
            pool.submit(_column_to_numpy, column, name)
            for name, column in zip(table.column_names, table.columns, strict=True)
        ]
        raw = RawColumns(caller_memory=False)
        for name, column, future in zip(table.column_names, table.columns, converted, strict=True):
            _keep(raw, name, *future.result(), column.type)
    raw.integer_text = integer_text_columns(table.schema)
    return raw


def _column_to_numpy(col: Any, name: str) -> tuple[AnyArray, npt.NDArray[np.bool_] | None]:
    """One column of :func:`arrow_to_raw` and the rows whose text is not UTF-8 (None when
    every cell is), named ``name``."""
    if _holds_bad_utf8(col, name):
        kind = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        as_bytes = {"large_string": pa.large_binary(), "string_view": pa.binary_view()}
        cells = col.cast(kind).cast(as_bytes.get(str(kind), pa.binary())).to_pylist()
        return utf8_cells(cells)
    return _values(col, name), None


def _holds_bad_utf8(col: Any, name: str) -> bool:
    """Whether text column ``col`` (or a dictionary of text) holds bytes that are not UTF-8.

    Raises
    ------
    SchemaError
        ``col`` is no valid Arrow array for another reason, naming column ``name``.
    """
    for chunk in col.chunks if isinstance(col, pa.ChunkedArray) else [col]:
        try:
            chunk.validate(full=True)
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc) and is_text_type(col.type, dictionary=True):
                return True
            raise SchemaError(
                f"column {quoted_name(name)} is not a valid Arrow array ({exc}): the tool that "
                "wrote it broke Arrow's format; write it again, or leave the column out",
                column=name,
            ) from None
    return False


def _values(col: Any, name: str) -> AnyArray:
    """The values of one column of :func:`arrow_to_raw`, named ``name`` (its role decides
    whether a dictionary of text stays undecoded, and how integer ids with nulls are held)."""
    if pa.types.is_timestamp(col.type) and col.type.tz is not None and name == TIME_COLUMN:
        return _epoch_seconds(col)
    if any(is_(col.type) for is_ in (pa.types.is_timestamp, pa.types.is_date,
                                      pa.types.is_time)):  # fmt: skip
        # Dates and times without a zone, and any time in a column that is no time (an
        # id, an age): per row, each refused (or quarantined), times quoted as ISO text
        # with what they lack (see riskscore.io.timestamps).
        return _python_values(col)
    if any(is_(col.type) for is_ in _PYTHON_TYPES) or isinstance(col.type, pa.BaseExtensionType):
        return _python_values(col)  # numpy holds none of their values
    if pa.types.is_dictionary(col.type):
        col = plain_dictionary(col)
        if name in _CODED_COLUMNS and pa.types.is_string(col.type.value_type):
            return _decode_dictionary(col)
        # other columns' codes are not their values: an age "35" must not read as 0
        return _values(col.cast(col.type.value_type), name)
    if name in _CODED_COLUMNS and is_text_type(col.type):
        # Text ids, channels and event types are checked as a dictionary column's are, once
        # per distinct value (Arrow's hash table) rather than once per row as a Python
        # string each (a file written by pandas, polars or a warehouse holds plain text).
        return _decode_dictionary(plain_dictionary(pc.dictionary_encode(col)))
    if pa.types.is_decimal(col.type):
        return decimal_numbers(col, name)
    return numbers_to_numpy(col, name)


def _epoch_seconds(col: Any) -> AnyArray:
    """A timestamp column with a zone as epoch seconds, floored as every other source's
    times are (a cast truncates toward 1970: 1969-12-31T23:59:59.5Z would be 0, accepted)."""
    ticks = pc.cast(col, pa.int64())
    per_second = _TICKS_PER_SECOND[col.type.unit]
    if per_second == 1:
        return _nullable_int(ticks)
    secs = np.floor_divide(np.asarray(pc.fill_null(ticks, 0), dtype=np.int64), per_second)
    if ticks.null_count:
        return np.where(np.asarray(pc.is_null(ticks)), np.nan, secs)
    return secs


def _python_values(col: Any) -> AnyArray:
    """A column as the Python values of its cells, each checked as such (a time without a
    zone, a union's values, an extension type's): a cell Python holds not as its type
    means it is :class:`~riskscore.io.raw.Unheld`, its stored value and the column's type
    (``4611686018427387904 (timestamp[s])``: beyond Python's years 1 to 9999; ``648
    (extension<pandas.period<ArrowPeriodType>>)``: an extension that gives its storage,
    :func:`_is_storage`)."""
    if not isinstance(col.type, pa.BaseExtensionType):
        try:
            return np.fromiter(col.to_pylist(), dtype=object, count=len(col))
        except (OverflowError, ValueError):
            pass
    out: list[object] = []
    for chunk in col.chunks:
        for value in chunk:
            try:
                held = value.as_py()
            except (OverflowError, ValueError):
                held = Unheld(value.value, chunk.type)
            if (
                isinstance(value, pa.ExtensionScalar)
                and held is not None
                and _is_storage(held, value.value)
            ):  # the extension gives its storage: its cells mean what its type says
                held = Unheld(held, chunk.type)
            out.append(held)
    return np.fromiter(out, dtype=object, count=len(out))


def _is_storage(held: object, storage: pa.Scalar) -> bool:
    """Whether an extension cell's Python value ``held`` is only its storage's value: the
    months of pandas' Period, the text of an ``arrow.json`` document (``"a"`` with its
    quotes; ``1`` as text, where the same document in a JSON lines file is an integer).
    An extension of values of its own (``bool8``'s booleans, ``uuid``'s UUIDs) gives
    another type, each value checked as what it is."""
    try:
        stored = storage.as_py()
    except (OverflowError, ValueError):  # a storage Python cannot hold: not what it gave
        return False
    return type(held) is type(stored) and held == stored


def _decode_dictionary(col: Any) -> AnyArray:
    """A dictionary-encoded column of text: a :class:`~riskscore.io.ids.Coded` index (a
    numpy array of its values when it has no chunks)."""
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    if not chunks:
        return np.asarray(col.cast(col.type.value_type).to_numpy(zero_copy_only=False))
    combined = pa.chunked_array(chunks).unify_dictionaries().combine_chunks()
    return coded_text(combined.indices, combined.dictionary)


def _nullable_int(col: Any) -> AnyArray:
    """Integers with nulls as float NaN, without nulls as int64."""
    if col.null_count:
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)


def pandas_names(frame: Any) -> tuple[list[str], list[str]]:
    """The column names of a DataFrame, and the names of its named index levels that are not
    also columns. A named index is a column of the table (pandas writes it to Arrow and
    Parquet): its name is checked for content and listed as not read, as any column's; one
    named as a schema v1 column is refused, since it would be silently not read.

    Raises
    ------
    SchemaError
        An index level is named as a schema v1 column.
    """
    columns = [str(c) for c in frame.columns]
    index = [str(n) for n in frame.index.names if n is not None and str(n) not in columns]
    schema = [n for n in index if n in _SCHEMA_KEYS]
    if schema:
        raise SchemaError(
            f"column {schema[0]!r} is the DataFrame's index, which is not read: call "
            "frame.reset_index() first",
            column=schema[0],
        )
    return columns, index


def pandas_to_numpy(df: Any) -> RawColumns:
    """A DataFrame's columns as numpy arrays (times with a zone as epoch seconds in the
    ``timestamp`` column, as Python objects in any other), columns pandas holds in Arrow
    read as :func:`arrow_to_raw` reads them."""
    out = RawColumns()
    for name in df.columns:
        series = df[name]
        dtype = series.dtype
        if isinstance(getattr(dtype, "pyarrow_dtype", None), pa.DataType):
            # a column pandas holds in Arrow (pd.ArrowDtype) is read as the Arrow column it
            # is: pandas' own conversion fails on string views and makes decimals objects
            column = _pandas_arrow(series)
            _keep(out, str(name), *_column_to_numpy(column, str(name)), column.type)
        elif getattr(dtype, "tz", None) is not None and name == TIME_COLUMN:
            values = series.dt.tz_convert("UTC").dt.tz_localize(None)
            secs = values.to_numpy(dtype="datetime64[s]").astype(np.int64)
            out[str(name)] = np.where(values.isna().to_numpy(), np.nan, secs)
        elif str(dtype).startswith("datetime64") or (
            str(name) in ID_COLUMNS and getattr(dtype, "kind", "") in "iu" and series.hasnans
        ):
            # Python values and None: times without a zone, each refused (or quarantined)
            # with what it lacks; nullable integer ids (Int64 with NA), which numpy would
            # make floats, where ids beyond 2**53 lose digits
            values = series.to_numpy(dtype=object)
            values[series.isna().to_numpy()] = None
            out[str(name)] = values
        elif str(name) in _CODED_COLUMNS and (_is_pandas_text(dtype) or _is_text_category(dtype)):
            # pandas' text (Arrow-backed, its default) and categoricals of text handed over
            # as Arrow: ids, channels and event types are then checked once per distinct
            # value, not made one Python string per row first
            column = _pandas_arrow(series)
            _keep(out, str(name), *_column_to_numpy(column, str(name)), column.type)
        else:
            out[str(name)] = values = series.to_numpy(
                dtype=object if dtype is np.dtype(object) else None
            )
            if getattr(dtype, "kind", "") in "iu" and values.dtype.kind == "f":
                out.integers.add(str(name))  # a nullable integer column: floats for its nulls
    return out


def _keep(
    raw: RawColumns,
    name: str,
    values: AnyArray,
    bad: npt.NDArray[np.bool_] | None,
    given: pa.DataType,
) -> None:
    """Column ``name`` of ``raw``: ``values`` converted from Arrow (:func:`_column_to_numpy`)
    from a column of type ``given``, and the rows whose text is not UTF-8 (``bad``, None
    when none is)."""
    raw[name] = values
    if bad is not None:
        raw.not_utf8[name] = bad
    if pa.types.is_dictionary(given):
        given = given.value_type
    if pa.types.is_integer(given) and values.dtype.kind == "f":  # floats for the nulls
        raw.integers.add(name)


def _is_pandas_text(dtype: object) -> bool:
    """Whether a pandas dtype holds text only (``str``, ``string``, ``string[pyarrow]``);
    an ``object`` column may hold anything and is read cell by cell."""
    return type(dtype).__name__ == "StringDtype" or str(dtype) in {
        "string[pyarrow]",
        "large_string[pyarrow]",
    }


def _is_text_category(dtype: object) -> bool:
    """Whether a pandas dtype is a categorical of text: its categories (the few distinct
    values) all text. Other categories are read as the values they are, like any column:
    Arrow stops at categories of text and integers, and reads a Period as its count of
    months since 1970."""
    categories = getattr(dtype, "categories", None)
    if str(dtype) != "category" or categories is None:
        return False
    return (
        len(categories) == 0  # every cell missing
        or _is_pandas_text(categories.dtype)
        or (categories.dtype == object and all_text(categories.to_numpy()) is not None)
    )


def _pandas_arrow(series: Any) -> Any:
    """A pandas column of text (:func:`_is_pandas_text`, :func:`_is_text_category`) or of an
    Arrow type as Arrow. A categorical without categories (every cell missing) is a
    dictionary of text too, as Arrow's own is: pandas types its no categories as floats,
    and its cells would be read as NaN, not as the missing cells of text they are."""
    column = pa.array(series.array)
    if pa.types.is_dictionary(column.type) and len(column.dictionary) == 0:
        column = column.cast(pa.dictionary(column.type.index_type, pa.string()))
    return pa.chunked_array([column])


def as_1d(name: str, values: object) -> AnyArray:
    """A column given as a list or an array, as a 1-D numpy array. Lists of numbers or
    booleans get numpy's type; any other list stays an object array of the values as
    given (numpy would turn [34.0, True] into floats, ["a", 7] into strings, and would
    strip a trailing NUL from text: "c\\x00" would become "c")."""
    if isinstance(values, (list, tuple)):
        kinds = {type(v) for v in values if v is not None}
        if kinds and (kinds <= {int, float} or kinds == {bool}):
            arr = np.asarray(values)
            # integers become floats in numpy beside a float or beside one beyond int64,
            # and those beyond 2**53 lose digits (two ids merged): keep them as given
            if arr.ndim == 1 and not (arr.dtype.kind == "f" and int in kinds and any(
                type(v) is int and abs(v) > EXACT_FLOAT_INT for v in values
            )):  # fmt: skip
                return arr
        return np.fromiter(values, dtype=object, count=len(values))
    if isinstance(values, np.ma.MaskedArray):  # np.asarray gives a masked cell's filler:
        masked = np.ma.getmaskarray(values)  # an id, age or time no one gave; None is missing
        if masked.any():
            values = values.data.astype(object)
            values[masked] = None
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
