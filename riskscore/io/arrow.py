"""Writing arrow tables by file suffix, and the one rule for text cells of the CSV files
riskscore writes (private)."""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskscore.exceptions import SchemaError
from riskscore.io.json_lines import json_text, write_json_lines
from riskscore.io.text import arrow_file, text_column

#: The formats of the tables riskscore writes (scores, alerts, synthetic events), by the
#: suffix :func:`write_table` chooses them by.
TABLE_FORMATS: Final = ("parquet", "csv", "jsonl")

#: A CSV cell starting with one of these is read as a formula by spreadsheets; one that
#: starts with ``'`` is escaped too, so that two ids never write as one (``=1`` and ``'=1``).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
#: :data:`_FORMULA_START` as an Arrow (RE2) pattern of a cell's start (and each pattern
#: below compiled for Python, one rule for a table and for a cell).
_FORMULA_RE2 = "^[" + "".join(re.escape(c) for c in _FORMULA_START) + "]"
#: Text a spreadsheet reads as a number (digits with thousands commas, a decimal point, an
#: exponent or a percent sign; the sign is a formula start) ...
_NUMBER_RE2 = r"^ *(?:[0-9][0-9,]*\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?%? *$"
#: ... and shows as written only when it is a whole number of at most 15 digits without a
#: leading zero: any other (``007``, ``1e5``, ``12.50``, 16 digits or more) it would show
#: as the number of another text (``7``, ``100000``, ``12.5``, rounded), two ids as one.
_AS_WRITTEN_RE2 = r"^(?:0|[1-9][0-9]{0,14})$"
_MONTH = (
    "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    "|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_MONTH_NUMBER = "(?:0?[1-9]|1[0-2])"
#: Text a spreadsheet reads as a date, a time or a truth value (``1-2``, ``3/4/21``,
#: ``1.2.2020``, ``MAR1``, ``5-may``, ``12:30``, ``7pm``, ``TRUE``): it shows another text
#: (``02-Jan``, ``01/03/1900``) and two ids as one (``1-2`` and ``01-02``). Escaped only in
#: identifier columns (:func:`is_identifier_column`): other columns hold dates meant as
#: dates (a DSA statement's ``content_date``) or riskscore's own words.
_DATE_LIKE_RE2 = (
    "(?i)^ *(?:true|false"
    # two numbers are a date when one of them can be a month ("13-12"; not "13-15")
    f"|(?:{_MONTH_NUMBER}|[0-9]{{1,2}}|[0-9]{{4}})[-/]{_MONTH_NUMBER}"
    f"|{_MONTH_NUMBER}[-/](?:[0-9]{{1,2}}|[0-9]{{4}})"
    "|[0-9]{1,4}[-/][0-9]{1,2}[-/][0-9]{1,4}|[0-9]{1,2}[.][0-9]{1,2}[.][0-9]{2,4}"
    "|[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.][0-9]+)?)?(?: ?[ap]m?)?|[0-9]{1,2} ?[ap]m"
    f"|(?:[0-9]{{1,2}}[-/ ]?)?{_MONTH}[.]?[-/ ]?[0-9]{{1,4}}(?:[-/ ,]+[0-9]{{1,4}})?"
    f"|[0-9]{{1,2}}[-/ ]?{_MONTH}[.]?(?:[-/ ,]+[0-9]{{1,4}})?"
    ") *$"
)
_FORMULA_RE, _NUMBER_RE, _AS_WRITTEN_RE, _DATE_LIKE_RE = map(
    re.compile, (_FORMULA_RE2, _NUMBER_RE2, _AS_WRITTEN_RE2, _DATE_LIKE_RE2)
)
#: Column names of identifiers: ``id``, or ending in ``_id``, ``_ids`` or ``uid``.
_IDENTIFIER_NAME_RE = re.compile(r"(?:^|_)ids?$|uid$")
#: Spreadsheets keep 15 significant digits: an integer this large or larger in size (an id
#: of 16 digits or more, as platforms' 64-bit ids are) would be shown rounded, two ids as
#: one, and is written as text with a ``'`` in front.
_ROUNDED_INTEGER = 10**15


def is_identifier_column(name: object) -> bool:
    """True for the name of a column of identifiers (``id``, ``conversation_id``,
    ``account_ids``, ``puid``), whose text cells are escaped when a spreadsheet would read
    them as a date, a time or a truth value too.

    Examples
    --------
    >>> [is_identifier_column(n) for n in ("adult_id", "puid", "content_date", "idle")]
    [True, True, False, False]
    """
    return isinstance(name, str) and _IDENTIFIER_NAME_RE.search(name) is not None


def escape_csv_cell(value: object, *, identifier: bool = False) -> object:
    """A cell that a spreadsheet would not show as written, with a ``'`` in front so that
    it is shown as text: text it would run as a formula (``=cmd|' /C calc'!A0``) or read as
    the number of another text (``007`` as 7, ``1e5``), in an ``identifier`` column
    (:func:`is_identifier_column`) also text it would read as a date, a time or a truth
    value (``1-2``, ``MAR1``, ``TRUE``), and an integer of 16 digits or more, which it
    would round to 15 significant digits; other values unchanged. A cell that already
    starts with ``'`` gets one too, so escaping never makes two values one (drop the first
    ``'`` of a cell that has one to get the value back).

    Examples
    --------
    >>> escape_csv_cell("=1+2"), escape_csv_cell("-3"), escape_csv_cell(-3), escape_csv_cell("a")
    ("'=1+2", "'-3", -3, 'a')
    >>> escape_csv_cell("'=1"), escape_csv_cell("007"), escape_csv_cell("7")
    ("''=1", "'007", '7')
    >>> escape_csv_cell(1234567890123456789)
    "'1234567890123456789"
    >>> escape_csv_cell("1-2"), escape_csv_cell("1-2", identifier=True)
    ('1-2', "'1-2")
    """
    if isinstance(value, str) and (
        _FORMULA_RE.match(value)
        or (_NUMBER_RE.match(value) and not _AS_WRITTEN_RE.match(value))
        or (identifier and _DATE_LIKE_RE.match(value))
    ):
        return "'" + value
    if type(value) is int and abs(value) >= _ROUNDED_INTEGER:
        return f"'{value}"
    return value


def escape_csv_table(table: Any) -> Any:
    """:func:`escape_csv_cell` on every text column of a :class:`pyarrow.Table`: of any of
    Arrow's text types, a dictionary of one included (:func:`~riskscore.io.text.text_column`),
    each written as ``large_string``; other columns unchanged."""
    return _csv_text(table, escape=True)


def _csv_text(table: Any, *, escape: bool) -> Any:
    """Every text column of ``table`` as ``large_string`` (Arrow's CSV writer takes no
    string views), its cells escaped (:func:`escape_csv_cell`) with ``escape``; with
    ``escape``, 64-bit integer columns too, as text (by type, not by value: each part of a
    file written part by part has the header's types)."""
    quote, glue = pa.scalar("'", pa.large_string()), pa.scalar("", pa.large_string())
    for i, field in enumerate(table.schema):
        col = text_column(table.column(i))
        if col is not None and escape:
            number = pc.match_substring_regex(col, _NUMBER_RE2)
            as_written = pc.match_substring_regex(col, _AS_WRITTEN_RE2)
            risky = pc.or_(
                pc.match_substring_regex(col, _FORMULA_RE2), pc.and_(number, pc.invert(as_written))
            )
            if is_identifier_column(field.name):
                risky = pc.or_(risky, pc.match_substring_regex(col, _DATE_LIKE_RE2))
        elif escape and field.type in (pa.int64(), pa.uint64()):
            col = table.column(i)
            risky = pc.greater_equal(col, pa.scalar(_ROUNDED_INTEGER, field.type))
            if field.type == pa.int64():
                risky = pc.or_(risky, pc.less_equal(col, -_ROUNDED_INTEGER))
            col = pc.cast(col, pa.large_string())
        if col is None:
            continue
        if escape:
            risky = pc.fill_null(risky, False)
            col = pc.if_else(risky, pc.binary_join_element_wise(quote, col, glue), col)
        table = table.set_column(i, pa.field(field.name, pa.large_string()), col)
    return table


def write_csv_rows(path: Path, header: Sequence[object], rows: Iterable[Sequence[object]]) -> Path:
    """Write a header and rows with :mod:`csv`, text cells escaped (:func:`escape_csv_cell`)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([escape_csv_cell(v) for v in header])
        identifier = [is_identifier_column(name) for name in header]
        n_named = len(identifier)  # a cell past the header has no name: not an identifier
        writer.writerows(
            [
                escape_csv_cell(v, identifier=j < n_named and identifier[j])
                for j, v in enumerate(row)
            ]
            for row in rows
        )
    return path


def _nested_as_json(table: Any) -> Any:
    """Lists and structs as their JSON text (:func:`riskscore.io.json_lines.json_text`): a
    CSV cell holds text only."""
    for i, field in enumerate(table.schema):
        if pa.types.is_nested(field.type):
            text = json_text(table.column(i).combine_chunks())
            table = table.set_column(i, pa.field(field.name, pa.string()), text)
    return table


def nan_to_null(table: Any) -> Any:
    """Unknown values as nulls (valid JSON, empty CSV cells) rather than NaN."""
    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            col = table.column(i)
            table = table.set_column(i, field, pc.if_else(pc.is_nan(col), None, col))
    return table


def check_table_format(fmt: object) -> None:
    """Refuse a ``fmt`` argument that is not one of :data:`TABLE_FORMATS`.

    Examples
    --------
    >>> check_table_format("csv")
    >>> check_table_format("xlsx")
    Traceback (most recent call last):
    ValueError: fmt must be parquet, csv or jsonl, got 'xlsx'
    """
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"fmt must be parquet, csv or jsonl, got {fmt!r}")


def write_table(table: Any, path: Path, *, escape_formulas: bool = True) -> Path:
    """Write a :class:`pyarrow.Table` as Parquet, CSV or JSON lines, chosen by suffix.

    CSV cells that a spreadsheet would run as a formula are escaped
    (:func:`escape_csv_table`) unless ``escape_formulas`` is False: files written for people
    (scores, reports, exports) are escaped; an events file, riskscore's own input format,
    keeps every id as given, so that reading it back gives the same ids.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in {".parquet", ".pq"}:
        with arrow_file(path, "wb") as sink:
            pq.write_table(nan_to_null(table), sink)
        return path
    with text_table_writer(path, table.schema, escape_formulas=escape_formulas) as write:
        write(table)
    return path


@contextlib.contextmanager
def text_table_writer(
    path: Path, schema: Any, *, escape_formulas: bool = True
) -> Iterator[Callable[[Any], None]]:
    """A function that appends a :class:`pyarrow.Table` of ``schema`` to the CSV or
    JSON-lines file ``path`` (chosen by suffix), for writing a file part by part: the
    parts written give the bytes :func:`write_table` gives for them as one table (one CSV
    header, text cells escaped unless ``escape_formulas`` is False, NaN written as null).

    Raises
    ------
    SchemaError
        ``path`` has another suffix.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":

        def csv_cells(table: Any) -> Any:
            cells = _nested_as_json(nan_to_null(table))
            return _csv_text(cells, escape=escape_formulas)

        with (
            arrow_file(path, "wb") as sink,
            pacsv.CSVWriter(sink, csv_cells(schema.empty_table()).schema) as writer,
        ):
            yield lambda table: writer.write_table(csv_cells(table))
    elif suffix in {".jsonl", ".ndjson"}:
        with path.open("wb") as fh:
            yield lambda table: write_json_lines(table, fh)
    else:
        raise SchemaError(f"cannot write {path.name!r}: use a .parquet, .csv or .jsonl suffix")
