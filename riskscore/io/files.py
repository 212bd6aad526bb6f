"""Reading one events file by its suffix (Parquet, CSV or JSON lines); whatever is wrong
with the file is a SchemaError naming it."""

from __future__ import annotations

import csv
import errno
import os
import re
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Final, NoReturn

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from riskscore.exceptions import RiskscoreError, SchemaError
from riskscore.io.columnar import arrow_to_raw, schema_names, unread_names
from riskscore.io.columns import number_text_column
from riskscore.io.jsonl import read_jsonl
from riskscore.io.nested_fields import field_paths
from riskscore.io.raw import RawColumns
from riskscore.io.schema import is_sentence
from riskscore.io.text import (
    arrow_file,
    compressed_by,
    parquet_file,
    utf8_cells,
    wide_encoding,
)
from riskscore.io.tz_offsets import has_clock_offsets

__all__ = [
    "check_not_inputs",
    "check_own_files",
    "check_regular_file",
    "events_format",
    "read_file",
    "real_path",
    "refuse_unreadable",
]

AnyArray = npt.NDArray[Any]
IntArray = npt.NDArray[np.int64]

CSV_SUFFIXES = {".csv"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}

#: Columns of numbers (read from CSV text by :func:`number_text_column`).
NUMBER_COLUMNS = frozenset(("sender_age", "recipient_age", "recipient_tz_offset_min", "room_size"))


def events_format(path: Path) -> str | None:
    """The format an events file is read in, by its suffix; None for another suffix.

    Examples
    --------
    >>> events_format(Path("events.NDJSON")), events_format(Path("events.txt"))
    ('JSON lines', None)
    """
    suffix = path.suffix.lower()
    for name, suffixes in (
        ("CSV", CSV_SUFFIXES),
        ("JSON lines", JSONL_SUFFIXES),
        ("Parquet", PARQUET_SUFFIXES),
    ):
        if suffix in suffixes:
            return name
    return None


def check_regular_file(path: Path, what: str = "events file") -> None:
    """Refuse a ``path`` to read that is missing, a directory, or not a regular file (a
    FIFO, whose open blocks until a writer comes; a socket or a device).

    Raises
    ------
    FileNotFoundError
        Nothing at ``path``.
    SchemaError
        A directory or another non-regular file, naming ``what`` was expected.
    """
    if not path.exists():
        real_path(path)  # a loop of symbolic links: ELOOP, naming it
        text = str(path)
        if is_sentence(text) and os.sep not in text and not path.suffix:  # text, not a path
            shown = f"text of {len(text)} characters (not shown: it may be message content)"
            raise FileNotFoundError(f"no such {what}: {shown}; give the path of a file")
        raise FileNotFoundError(f"no such {what}: {path}")
    if path.is_dir():
        raise SchemaError(f"{path} is a directory: give the path of one {what}")
    if not path.is_file():
        raise SchemaError(
            f"{path} is not a regular file (a FIFO, socket or device, which may block the "
            f"read): give the path of one {what}"
        )


def real_path(path: Path) -> Path:
    """``path`` with every symbolic link followed (:meth:`Path.resolve`). A loop of links
    is an OSError (``ELOOP``) naming ``path``, as Python 3.13 raises it: 3.11's
    RuntimeError is no error of the system's, and commands ended with its traceback."""
    try:
        return path.resolve()
    except RuntimeError as exc:  # Python < 3.13: "Symlink loop from ..."
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from exc


def check_own_files(files: Mapping[str, Path | None]) -> None:
    """Refuse two options (``files``: option to path, None when not given) that name one
    file by any path, before any work (a library function's parameters likewise). Each of
    riskscore's files holds one thing: shadow alerts appended to a checkpoint or queue are
    written over by its SQLite pages, a checkpoint cannot be written into a queue, a queue
    holding a timeline's table is refused from then on, and synthetic events and labels
    written through one file mix two runs' files.

    Raises
    ------
    SchemaError
        Naming both options and the file; the CLI prints one line and exits with status 2.
    """
    seen: dict[Path, str] = {}
    for option, path in files.items():
        if path is None:
            continue
        other = seen.setdefault(real_path(path), option)
        if other != option:
            raise SchemaError(f"{other} and {option} name one file, {path}: give each its own file")


def check_not_inputs(outputs: Iterable[Path], inputs: Iterable[Path | None]) -> None:
    """Refuse output files that are one of the inputs (by any path: ``./``, ``..``, a
    symbolic link), before any work: writing one would destroy the input it reads, or
    corrupt it mid-read when it is streamed. The files a command both reads and writes
    (a review queue) are inputs too.

    Raises
    ------
    SchemaError
        An output is an input; the CLI prints one line and exits with status 2.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_not_inputs([folder / "scores.parquet"], [folder / "events.parquet", None])
    >>> check_not_inputs([folder / "scores.parquet"], [folder / "." / "scores.parquet"])
    Traceback (most recent call last):
    riskscore.exceptions.SchemaError: ... which is being read: choose another output ...
    """
    read = {real_path(path): path for path in inputs if path is not None}
    for output in outputs:
        source = read.get(real_path(output))
        if source is not None:
            raise SchemaError(
                f"{output} would replace the input {source}, which is being read: choose "
                "another output directory (--out), or move the input out of it"
            )


def read_file(path: Path) -> dict[str, AnyArray]:
    """One events file, by suffix. Whatever is wrong with the file (empty, truncated,
    ragged, not the format its suffix says) is a :class:`SchemaError` naming the file."""
    check_regular_file(path)
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | JSONL_SUFFIXES | PARQUET_SUFFIXES:
        raise SchemaError(
            f"cannot tell the format of {path.name!r}: expected a .csv, .jsonl, .ndjson, "
            ".json (JSON lines) or .parquet file"
        )
    if suffix not in PARQUET_SUFFIXES:
        _refuse_not_plain_text(path)
    try:
        if suffix in PARQUET_SUFFIXES:
            return _read_parquet(path)
        if suffix in CSV_SUFFIXES:
            return _read_csv(path)
        return read_jsonl(path)
    except RiskscoreError:  # riskscore's own (the input's, or a setting's): as raised
        raise
    except OSError as exc:
        refuse_unreadable(path, exc)
    except (pa.ArrowException, csv.Error, UnicodeError, ValueError, OverflowError) as exc:
        refuse_unreadable(path, exc)


def _refuse_not_plain_text(path: Path) -> None:
    """Refuse a CSV or JSON lines file in UTF-16 or UTF-32 (:func:`wide_encoding`), whose
    header would read as names with NUL between the letters and each JSON line as not
    UTF-8, or one compressed (:func:`compressed_by`: a ``.csv`` that is gzip), whose header
    would read as bytes (a spreadsheet, a zip archive too, named as such): one message for
    the file, saying what to do."""
    with path.open("rb") as fh:
        head = fh.read(64)
    encoding = wide_encoding(head)
    if encoding is not None:
        raise SchemaError(f"{path.name}: the file is {encoding} text, not UTF-8: save it as UTF-8")
    compression = compressed_by(head)
    if compression == "zip" and _first_zip_entry(head).startswith(_SPREADSHEET_ENTRIES):
        raise SchemaError(
            f"{path.name}: the file is a spreadsheet (.xlsx or .ods, a zip archive), not CSV "
            "text: save it as CSV (UTF-8) from the spreadsheet program"
        )
    if compression is not None:
        raise SchemaError(
            f"{path.name}: the file is {compression}-compressed: decompress it first "
            "(riskscore reads plain CSV and JSON lines, and Parquet with its own compression)"
        )


#: How the first entry of a spreadsheet's zip archive is named: Office Open XML's
#: (``.xlsx``: its content types, relations, properties or sheets, by the writer) and
#: OpenDocument's (``.ods``, which must store ``mimetype`` first).
_SPREADSHEET_ENTRIES: Final = (b"[Content_Types].xml", b"_rels/", b"docProps/", b"xl/", b"mimetype")


def _first_zip_entry(head: bytes) -> bytes:
    """The name of the first entry of a zip archive that starts with ``head`` (its local
    file header: the name's length at byte 26, the name from byte 30)."""
    return head[30 : 30 + int.from_bytes(head[26:28], "little")]


def refuse_unreadable(path: Path, exc: Exception) -> NoReturn:
    """The SchemaError for a file its reader could not read, naming the file (one message
    whether the file is read whole or in chunks, :mod:`riskscore.batch.parquet_chunks`).
    An OSError of the system's (with an errno: permission, I/O) is raised as it is: the
    CLI names it as such."""
    if isinstance(exc, OSError) and exc.errno is not None:
        raise exc
    what = events_format(path) or "JSON lines"
    # Arrow quotes the offending CSV row after "got N:"; the row may hold content
    detail = re.sub(r"(columns?, got \d+):.*", r"\1", " ".join(str(exc).split()))[:200]
    raise SchemaError(
        f"{path.name}: not a readable {what} events file ({type(exc).__name__}: {detail})"
    ) from exc


def _read_parquet(path: Path) -> RawColumns:
    with parquet_file(path) as pf:
        names = list(pf.schema_arrow.names)
        keep = schema_names(names, field_paths(pf.schema_arrow))
        raw = arrow_to_raw(pf.read(columns=keep))
    raw.unread = unread_names(names)
    return raw


def _read_csv(path: Path) -> RawColumns:
    """CSV with every cell read as text, for the checks to read as every source's values:
    type inference would make ``007`` and ``7`` one id, round 20-digit ids through floats,
    and read ``0x0c`` as the age 12 and ``NA`` as an unknown one. A cell that is not UTF-8
    is read as its bytes (:func:`~riskscore.io.text.utf8_cells`), refused by row in any
    column as not UTF-8 (:attr:`RawColumns.not_utf8`); the columns not read may hold any
    bytes (the header is read as Arrow reads it)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        try:
            no_rows = next(reader, None) is None
        except csv.Error:  # a cell beyond the csv module's limit (128 KiB): Arrow reads it
            no_rows = False
    if header is None:
        raise SchemaError(f"{path.name}: empty CSV file, expected a header row of column names")
    keep = schema_names(header)
    if no_rows:  # a header alone, with or without its line break (Arrow refuses the latter)
        empty = RawColumns({name: np.empty(0, dtype=object) for name in keep})
        empty.unread = unread_names(header)
        return empty
    # every cell as text: ids and times keep their digits, and numbers follow the rule of
    # every other source (riskscore.io.columns.number_text_column), not Arrow's inference
    try:
        table = _csv_table(path, keep, pa.string())
    except pa.ArrowInvalid as exc:
        if "invalid UTF8" not in str(exc):
            raise
        table = _csv_table(path, keep, pa.binary())  # the columns of such cells as bytes
    not_utf8 = []
    for name in keep:
        column = table.column(name)
        if pa.types.is_binary(column.type):
            try:
                column = column.cast(pa.string())
            except pa.ArrowInvalid:
                not_utf8.append(name)
                continue
        numbers = number_text_column(column) if name in NUMBER_COLUMNS else None
        if numbers is not None and name == "recipient_tz_offset_min" and has_clock_offsets(column):
            numbers = None  # +0300: refused by row as hours and minutes, not read as 300
        column = column if numbers is None else numbers
        table = table.set_column(table.schema.get_field_index(name), name, column)
    raw = arrow_to_raw(table)
    for name in not_utf8:
        raw[name], raw.not_utf8[name] = utf8_cells(raw[name].tolist())
    raw.lines = partial(_csv_lines, path)
    raw.unread = unread_names(header)
    return raw


def _csv_table(path: Path, keep: list[str], kind: pa.DataType) -> Any:
    """The columns ``keep`` of a CSV file, every cell of type ``kind``.

    Raises
    ------
    SchemaError
        A row whose cells do not match the header, naming its line."""
    types = {name: kind for name in keep}
    ragged: list[Any] = []

    def refuse_ragged(row: Any) -> str:
        ragged.append(row)  # the row's text is never quoted: it may hold message content
        return "skip"

    newlines = False  # line breaks in quoted cells: Arrow's slower reader, when there are

    def read(threads: bool) -> Any:
        parse = pacsv.ParseOptions(invalid_row_handler=refuse_ragged, newlines_in_values=newlines)
        with arrow_file(path) as source:
            return pacsv.read_csv(
                source,
                read_options=pacsv.ReadOptions(use_threads=threads),
                parse_options=parse,
                convert_options=pacsv.ConvertOptions(include_columns=keep, column_types=types),
            )

    try:
        table = read(threads=True)
    except pa.ArrowInvalid as exc:
        if "out of sync with chunker" not in str(exc):
            raise
        table = None
    if table is None or ragged:
        # a quoted cell with a line break (RFC 4180 allows it) across Arrow's blocks stops
        # its fast reader or reads as rows of other widths: a file of them read at 0.6 MB
        # was refused at 3.5 MB. Read again, line breaks in quotes allowed.
        ragged.clear()
        newlines = True
        table = read(threads=True)
    if ragged:
        n_ragged = len(ragged)
        if ragged[0].number is None:  # line numbers are known on one thread only
            ragged.clear()
            read(threads=False)
        first = ragged[0]
        more = f" ({n_ragged - 1} more such rows)" if n_ragged > 1 else ""
        raise SchemaError(
            f"{path.name}, line {first.number}: {first.actual_columns} cells where the header "
            f"has {first.expected_columns}{more}; a row whose cells do not match the header "
            "cannot be read or set aside: fix the file (a comma inside a cell needs quotes)"
        )
    return table


def _csv_lines(path: Path, rows: IntArray) -> IntArray:
    """The physical line (1-based, the header is line 1) where each data row of a CSV file
    starts, -1 where unknown. Blank lines, which the reader skips, and line breaks inside
    quoted cells are counted; the file is read only as far as the last row asked for. A
    cell beyond the csv module's field limit stops the count (later rows get -1)."""
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
