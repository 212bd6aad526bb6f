"""Text as Arrow takes it: cells as an Arrow string array for the checks that match text in
Arrow (channel and event names, timestamps), where a string that is not valid Unicode
becomes a character no rule accepts, so that its row is refused like any other bad value;
file names, which Arrow can open only when they are valid UTF-8; and what a number
written as text may look like."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from riskscore.exceptions import SchemaError
from riskscore.io.id_marks import integer_text_columns
from riskscore.io.schema import MAX_ROW_GROUP_BYTES, SCHEMA_COLUMNS

__all__ = [
    "NOT_UTF8",
    "NUMBER_TEXT",
    "NotUtf8",
    "TextCells",
    "all_text",
    "arrow_file",
    "arrow_text",
    "check_expansion",
    "compressed_by",
    "is_bytes_type",
    "is_number_text",
    "is_text_type",
    "parquet_file",
    "plain_dictionary",
    "plain_views",
    "text_column",
    "utf8_cells",
    "wide_encoding",
]

#: A number written as text (a timestamp, an age, an offset in a CSV cell or a JSON string):
#: a JSON number (a leading + allowed), ASCII digits only, with any surrounding whitespace.
#: Python's ``float`` also reads ``"1_3"`` as 13, digits of other scripts and ``"infinity"``;
#: no platform's export writes those for a number, so they are refused.
NUMBER_TEXT: Final = r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?"
_NUMBER = re.compile(NUMBER_TEXT, re.ASCII)

#: Arrow's text types (polars exports string views).
_TEXT_TYPES: Final = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
#: Arrow's byte types.
_BYTES_TYPES: Final = (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_binary_view)
#: Dictionary values read as another type (:func:`plain_dictionary`): Arrow decodes no
#: dictionary of views, and its string functions take a ``large_string`` beside a
#: ``large_string`` only.
_PLAIN_VALUES: Final = {
    "large_string": pa.string(),
    "string_view": pa.string(),
    "binary_view": pa.binary(),
}

#: Why a :class:`NotUtf8` cell is refused: words a CSV file's user can act on.
NOT_UTF8: Final = "is not UTF-8 text: save the file as UTF-8"


class NotUtf8(bytes):
    """A text cell's bytes that are not UTF-8 text (a CSV file saved in another encoding, a
    Parquet or Arrow text column a tool wrote unchecked), as the reader keeps them: refused
    by row as :data:`NOT_UTF8`, where bytes given as bytes (a Parquet binary column) are
    refused as bytes."""

    __slots__ = ()


def utf8_cells(cells: list[object]) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """Text cells read as bytes as their text, but for those that are not UTF-8, kept as
    :class:`NotUtf8`; and which those are (``not_utf8`` of :class:`~riskscore.io.raw.RawColumns`).
    The one rule of every reader (CSV, Parquet, Arrow); called only for a column that
    holds such a cell, since it reads each cell in Python.

    Examples
    --------
    >>> cells, bad = utf8_cells([b"ann", None, b"\\xff"])
    >>> cells.tolist(), bad.tolist()
    (['ann', None, b'\\xff'], [False, False, True])
    """

    def text(cell: object) -> object:
        if not isinstance(cell, bytes):
            return cell
        try:
            return cell.decode("utf-8")
        except UnicodeDecodeError:
            return NotUtf8(cell)

    out = np.fromiter(map(text, cells), dtype=object, count=len(cells))
    bad = np.fromiter((isinstance(c, NotUtf8) for c in out), dtype=bool, count=len(out))
    return out, bad


#: Lone surrogates (as ``\ud800`` in JSON) have no UTF-8 encoding, so Arrow cannot hold them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def is_text_type(kind: pa.DataType, *, dictionary: bool = False) -> bool:
    """Whether ``kind`` is one of Arrow's text types (``string``, ``large_string``,
    ``string_view``), or with ``dictionary`` also a dictionary of one of them.

    Examples
    --------
    >>> import pyarrow as pa
    >>> [is_text_type(t) for t in (pa.string(), pa.string_view(), pa.binary())]
    [True, True, False]
    >>> kind = pa.dictionary(pa.int8(), pa.large_string())
    >>> is_text_type(kind), is_text_type(kind, dictionary=True)
    (False, True)
    """
    if dictionary and pa.types.is_dictionary(kind):
        kind = kind.value_type
    return any(is_(kind) for is_ in _TEXT_TYPES)


def is_bytes_type(kind: pa.DataType) -> bool:
    """Whether ``kind`` is one of Arrow's byte types (``binary``, ``large_binary``,
    ``binary_view``)."""
    return any(is_(kind) for is_ in _BYTES_TYPES)


def plain_dictionary(col: Any) -> Any:
    """A dictionary column of large strings or string views (polars' categoricals) as one
    of strings, of binary views as one of binary: Arrow cannot decode a dictionary of
    views. Any other column as it is."""
    plain = _PLAIN_VALUES.get(str(col.type.value_type))
    if plain is None:
        return col
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    kind = pa.dictionary(col.type.index_type, plain)
    return pa.chunked_array(
        [pa.DictionaryArray.from_arrays(c.indices, c.dictionary.cast(plain)) for c in chunks],
        type=kind,
    )


def plain_views(table: pa.Table) -> pa.Table:
    """``table`` with its columns of string or binary views (as polars writes text) as
    ``large_string`` or ``large_binary``, and dictionaries of views as
    :func:`plain_dictionary` gives them: the same values in types Arrow can take, sort and
    write (it has no ``take`` of views), so that a file read in parts reads as the whole.

    Examples
    --------
    >>> import pyarrow as pa
    >>> plain_views(pa.table({"a": pa.array(["x"], pa.string_view()), "b": [1]})).schema.types
    [DataType(large_string), DataType(int64)]
    """
    for i, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_dictionary(kind) and str(kind.value_type) in _PLAIN_VALUES:
            col = plain_dictionary(table.column(i))
        elif pa.types.is_string_view(kind) or pa.types.is_binary_view(kind):
            plain = pa.large_string() if pa.types.is_string_view(kind) else pa.large_binary()
            col = table.column(i).cast(plain)
        else:
            continue
        table = table.set_column(i, pa.field(field.name, col.type), col)
    return table


def text_column(col: Any) -> pa.ChunkedArray | None:
    """A column of any of Arrow's text types (:func:`is_text_type`, a dictionary of one
    included; an array or a chunked array) as ``large_string`` chunks, on which all of
    Arrow's string functions run; None for a column of another type.

    Examples
    --------
    >>> import pyarrow as pa
    >>> text_column(pa.array(["a", None], pa.string_view())).type
    DataType(large_string)
    >>> text_column(pa.array([1])) is None
    True
    """
    if not is_text_type(col.type, dictionary=True):
        return None
    if pa.types.is_dictionary(col.type):
        col = plain_dictionary(col)
    return pa.chunked_array(col.chunks if isinstance(col, pa.ChunkedArray) else [col]).cast(
        pa.large_string()
    )


def arrow_text(values: npt.NDArray[Any]) -> pa.Array:
    """``values`` (str, or None and NaN for missing) as an Arrow string array; a lone
    surrogate becomes U+FFFD, which no channel, event or timestamp accepts (the refusal
    quotes the value as given, not this replacement).

    Examples
    --------
    >>> import numpy as np
    >>> arrow_text(np.array(["direct", "di\\ud800rect", None], dtype=object)).to_pylist()
    ['direct', 'di\\ufffdrect', None]
    """
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except UnicodeEncodeError:
        clean = [_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for v in values.tolist()]
        return pa.array(np.asarray(clean, dtype=object), type=pa.string(), from_pandas=True)


class TextCells(np.ndarray):
    """An object array of text and empty cells that carries them as Arrow strings
    (``arrow``, what :func:`all_text` made of it), so that the checks after the one that
    found them all text do not make them again. A slice or copy carries nothing (the class
    default, None): only the array :meth:`of` made keeps them, and it is not written to."""

    arrow: pa.Array | None = None

    @classmethod
    def of(cls, values: npt.NDArray[Any], arrow: pa.Array) -> TextCells:
        """``values`` (not copied) with ``arrow``, the same cells as Arrow strings."""
        out = values.view(cls)
        out.arrow = arrow
        return out


def all_text(values: npt.NDArray[Any]) -> pa.Array | None:
    """An object column as Arrow strings when every cell is text or None (a CSV's or a
    Parquet file's text column, as read), in one pass in C; None when any cell is
    something else (a number, NaN, bytes, a date) or text UTF-8 cannot encode (a lone
    surrogate): such columns are read cell by cell, each by its kind.

    Examples
    --------
    >>> import numpy as np
    >>> all_text(np.array(["a", None], dtype=object)).to_pylist()
    ['a', None]
    >>> all_text(np.array(["a", 1], dtype=object)) is None
    True
    """
    if isinstance(values, TextCells) and values.arrow is not None:
        return values.arrow
    try:  # inferred, not cast: bytes beside text would be read as text by a cast
        text = pa.array(values, from_pandas=False)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None  # a huge integer, NaT, a lone surrogate (UnicodeError), ...
    if pa.types.is_null(text.type):
        return text.cast(pa.string())
    return text if pa.types.is_string(text.type) or pa.types.is_large_string(text.type) else None


def wide_encoding(head: bytes) -> str | None:
    """``"UTF-16"`` or ``"UTF-32"`` when a text file that starts with the bytes ``head``
    (its first four, at least) is written in that encoding (as Windows tools save
    "Unicode" text): by its byte order mark, or by the zero bytes beside the ASCII
    characters that a header or a JSON object starts with; else None.

    Examples
    --------
    >>> [wide_encoding(t.encode(e)) for t, e in [("id,", "utf-16"), ("{}", "utf-16-le"),
    ...                                          ("id", "utf-32-le"), ("id,", "utf-8-sig")]]
    ['UTF-16', 'UTF-16', 'UTF-32', None]
    """
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    zero = [b == 0 for b in head[:4]]
    if zero in ([False, True, True, True], [True, True, True, False]):
        return "UTF-32"
    if zero in ([False, True, False, True], [True, False, True, False]):
        return "UTF-16"
    return None


#: The first bytes of the compressed and archive files a CSV or JSON lines export may be
#: shipped as, and what writes them.
_COMPRESSED: Final = (
    (re.compile(rb"\x1f\x8b"), "gzip"),
    (re.compile(rb"PK\x03\x04"), "zip"),
    # "BZh", the block size, then a block's or the stream end's magic: a header whose first
    # column name begins "BZh" is no bzip2 file
    (re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"), "bzip2"),
    (re.compile(rb"\xfd7zXZ\x00"), "xz"),
    (re.compile(rb"\x28\xb5\x2f\xfd"), "zstd"),
)


def compressed_by(head: bytes) -> str | None:
    """The compression (``"gzip"``, ``"zip"``, ...) of a file that starts with the bytes
    ``head`` (its first ten, at least), by its magic number; None for other files.

    Examples
    --------
    >>> import gzip
    >>> compressed_by(gzip.compress(b"id,")), compressed_by(b"id,ts")
    ('gzip', None)
    """
    return next((name for magic, name in _COMPRESSED if magic.match(head)), None)


def is_number_text(text: str) -> bool:
    """Whether ``text`` is a number as :data:`NUMBER_TEXT` writes one.

    Examples
    --------
    >>> [is_number_text(t) for t in ("13", " 13.5 ", "1.7e9", "-60", "1_3", "\u0661\u0663", "nan")]
    [True, True, True, True, False, False, False]
    """
    return _NUMBER.fullmatch(text.strip()) is not None


@contextlib.contextmanager
def arrow_file(path: Path, mode: str = "rb") -> Iterator[str | BinaryIO]:
    """``path`` for an Arrow reader (``mode="rb"``) or writer (``"wb"``): its name when that
    is valid UTF-8 (Arrow opens the file itself), otherwise the file opened here in ``mode``
    (Arrow cannot encode a name with bytes that are not UTF-8, yet it names a file)."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        with path.open(mode) as data:
            yield data  # type: ignore[misc]
        return
    yield name


@contextlib.contextmanager
def parquet_file(path: Path) -> Iterator[pq.ParquetFile]:
    """The Parquet file at ``path``, open for reading whatever its name (:func:`arrow_file`),
    with read buffers bounded by a batch (``pre_buffer=False`` keeps no row group's buffers
    until the file is closed); a file with a row group too large once decompressed is
    refused before anything is read (:func:`check_row_groups`)."""
    with arrow_file(path) as source:
        with pq.ParquetFile(source, pre_buffer=False) as probe:  # the footer, parsed once
            metadata, coded = probe.metadata, _text_schema_columns(probe.schema_arrow)
        with pq.ParquetFile(
            source, pre_buffer=False, read_dictionary=coded, metadata=metadata
        ) as parquet:
            check_row_groups(parquet, path)
            yield parquet


def _text_schema_columns(schema: pa.Schema) -> list[str]:
    """The schema v1 columns of ``schema`` that hold text, to read as Arrow dictionaries:
    a dictionary-coded column of a file written without the Arrow schema (Spark, DuckDB)
    was decoded to one string per row, and one value of 1 MB that every row points to made
    a 15 KB file take 6 GB before its first row was refused. Coded, each distinct value is
    read and checked once (as a pandas categorical's). Not the columns riskscore's writers
    mark as integer ids in text (:func:`~riskscore.io.given_ids.mark_integer_text`), which
    are read back as integers from plain text."""
    marked = integer_text_columns(schema)
    return [
        field.name
        for field in schema
        if field.name in SCHEMA_COLUMNS
        and field.name not in marked
        and (
            pa.types.is_string(field.type)
            or pa.types.is_large_string(field.type)
            or pa.types.is_binary(field.type)
            or pa.types.is_large_binary(field.type)
        )
    ]


#: Most times a Parquet file read whole may grow once decompressed (:func:`check_expansion`),
#: when it grows beyond :data:`EXPANSION_FLOOR`.
MAX_EXPANSION: Final = 200
EXPANSION_FLOOR: Final = 256 * 1024**2


def check_row_groups(parquet: pq.ParquetFile, path: Path) -> None:
    """Refuse a Parquet file one of whose row groups would take more than
    :data:`MAX_ROW_GROUP_BYTES` once its schema v1 columns (the only ones read) are
    decompressed, by the file's metadata: a small file can decompress to many GB.

    Raises
    ------
    SchemaError
        Naming the file, the row group (0-based), its size and the limit.
    """
    metadata = parquet.metadata
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        size = _decompressed_bytes(group, SCHEMA_COLUMNS)
        if size > MAX_ROW_GROUP_BYTES:
            raise SchemaError(
                f"{path.name}: row group {index} would take {size / 1024**3:.1f} GiB once "
                f"decompressed ({group.num_rows} rows), more than the limit of "
                f"{MAX_ROW_GROUP_BYTES / 1024**3:.0f} GiB a row group; write the file "
                "with smaller row groups (pyarrow: row_group_size=1_000_000)"
            )


def check_expansion(parquet: pq.ParquetFile, path: Path, columns: Collection[str]) -> None:
    """Refuse a Parquet file read whole whose ``columns`` would take more than
    :data:`MAX_EXPANSION` times the file's size once decompressed (and more than
    :data:`EXPANSION_FLOOR`), by its metadata: a file of a million copies of one row is a
    few kilobytes and gigabytes in memory (a file written from real data grows a few times).

    Raises
    ------
    SchemaError
        Naming the file, its size and what it would take.
    """
    metadata = parquet.metadata
    size = sum(
        _decompressed_bytes(metadata.row_group(i), columns) for i in range(metadata.num_row_groups)
    )
    stored = path.stat().st_size
    if size > EXPANSION_FLOOR and size > MAX_EXPANSION * stored:
        raise SchemaError(
            f"{path.name}: {stored:,} bytes that would take {size / 1024**3:.1f} GiB once "
            f"decompressed ({metadata.num_rows:,} rows), more than {MAX_EXPANSION} times its "
            "size: not a file written from real data; it is not read"
        )


def _decompressed_bytes(group: pq.RowGroupMetaData, columns: Collection[str]) -> int:
    """What a row group's ``columns`` take decompressed, by its metadata: their pages'
    uncompressed size, and at least 8 bytes a value (a run-length encoded column of a
    billion equal values is small even uncompressed), counting the values of a list column,
    which a row may hold millions of, and at least one a row."""
    chunks = [group.column(j) for j in range(group.num_columns)]
    read = [c for c in chunks if c.path_in_schema.split(".")[0] in columns]
    values = sum(max(int(c.num_values), int(group.num_rows)) for c in read)
    return max(sum(int(c.total_uncompressed_size) for c in read), 8 * values)
