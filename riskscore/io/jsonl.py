"""Reading a JSON lines events file: each line bounded in length and nesting depth, a
broken line refused by its number (never quoted), a clean file parsed by Arrow."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from riskscore.exceptions import SchemaError
from riskscore.io.column_names import misspelt_column
from riskscore.io.columnar import ID_COLUMNS, arrow_to_raw, as_1d, schema_names, unread_names
from riskscore.io.json_lines import unique_fields
from riskscore.io.json_nesting import json_depth
from riskscore.io.json_scans import has_long_exponent, line_blocks, more_names_than, scan_lines
from riskscore.io.nested_fields import field_paths, holds_time, value_paths
from riskscore.io.raw import RawColumns
from riskscore.io.schema import MAX_JSON_DEPTH, MAX_JSON_FIELD_NAMES, MAX_JSON_LINE_LENGTH
from riskscore.io.text import arrow_file
from riskscore.io.utf8_lines import not_utf8

IntArray = npt.NDArray[np.int64]

__all__ = [
    "EVENT_DECODER",
    "is_blank_line",
    "line_chars",
    "line_problem",
    "loads_event",
    "not_an_object",
    "not_json",
    "read_jsonl",
    "without_byte_order_mark",
]


#: What a blank line holds, as text: ASCII whitespace, as :meth:`bytes.strip` strips it.
_ASCII_SPACE: Final = " \t\n\r\x0b\x0c"


def is_blank_line(line: str | bytes) -> bool:
    """Whether a JSON lines line holds nothing but ASCII whitespace (space, tab, line
    breaks, vertical tab, form feed): skipped, no event and no refusal. The one rule of
    :func:`read_jsonl`, ``riskscore stream`` and a JSON lines ``POST /v1/events``: a line
    of other blank characters (a no-break space, U+3000, U+2028, the separators U+001C to
    U+001F, which :meth:`str.strip` strips too) is no JSON, and is refused by its number.

    Examples
    --------
    >>> is_blank_line(" \\t\\r\\n"), is_blank_line(b"\\x0c\\n"), is_blank_line("\\u3000\\n")
    (True, True, False)
    """
    if isinstance(line, bytes):
        return not line.strip()
    return not line.strip(_ASCII_SPACE)


def without_byte_order_mark(text: str) -> str:
    """``text`` without one leading byte order mark (U+FEFF).

    The one rule for the start of a JSON lines input, as Windows tools write a BOM there:
    :func:`read_messages` (files read as ``utf-8-sig``), the first line of ``riskscore
    stream`` and a ``POST /v1/events`` body all skip it. A BOM anywhere else is not
    JSON and is refused where it stands.

    Examples
    --------
    >>> without_byte_order_mark("\ufeff{}"), without_byte_order_mark("{}\ufeff")
    ('{}', '{}\ufeff')
    """
    return text.removeprefix("\ufeff")


def loads_event(line: str) -> Any:
    """One JSON line parsed as :func:`read_jsonl` and ``riskscore stream`` parse it
    (:data:`EVENT_DECODER`): an object with a field given twice is refused
    (``ValueError``), not read as its last value; so is an integer longer than Python
    reads (:func:`_integer`); a number with a fraction or exponent whose float would be
    another integer is a :class:`~decimal.Decimal` (:func:`_fraction`).
    """
    return EVENT_DECODER.decode(line)


#: JSON's names of the kinds of value :func:`loads_event` gives (a number may be an int, a
#: float or a :class:`~decimal.Decimal`).
_JSON_KINDS: Final = {list: "array", str: "string", bool: "boolean", type(None): "null"}


def not_an_object(value: object) -> str:
    """Why a parsed JSON line (or element of a request's array) that is not an object (a
    dict) is no event, in JSON's words: the one message of :func:`read_jsonl`,
    ``riskscore stream`` and ``POST /v1/events``.

    Examples
    --------
    >>> not_an_object(loads_event("null")), not_an_object(loads_event("1.5"))
    ('is a JSON null, not an object (one event)', 'is a JSON number, not an object (one event)')
    """
    return f"is a JSON {_JSON_KINDS.get(type(value), 'number')}, not an object (one event)"


def not_json(exc: BaseException) -> str:
    """How a line :func:`loads_event` could not parse is named, after the line's name
    (``line 2``, ``the line``): the one wording of :func:`read_jsonl`, ``riskscore
    stream`` and ``POST /v1/events``. A parse error gives the parser's reason and the
    column of the line where it stopped (from 1, as editors count; past the last character
    when the line ends before its JSON does, whatever line break follows it), never the
    parser's own "line 1" or "line 2" of one input line; another refusal of the parser
    (a field given twice) is given as it is.

    Examples
    --------
    >>> def named(line):
    ...     try:
    ...         loads_event(line)
    ...     except ValueError as exc:
    ...         return not_json(exc)
    >>> named('{"conversation_id": "c1", "timestamp": 17672\\r\\n')  # doctest: +ELLIPSIS
    "is not valid JSON (expecting ',' delimiter at column 45, where the line ends): ..."
    >>> print(named('{"conversation_id": "c1",}'))  # doctest: +NORMALIZE_WHITESPACE
    is not valid JSON (expecting property name enclosed in double quotes at column 26):
    each event is one complete JSON object
    """
    if not isinstance(exc, json.JSONDecodeError):
        return f"is not valid JSON ({exc})"
    reason = exc.msg.removesuffix(" at")  # "Unterminated string starting at"
    ends = not exc.doc[exc.pos :].strip()
    column = len(exc.doc[: exc.pos].rstrip() if ends else exc.doc[: exc.pos]) + 1
    return (
        f"is not valid JSON ({reason[:1].lower()}{reason[1:]} at column {column}"
        f"{', where the line ends' if ends else ''}): each event is one complete JSON object"
    )


def _integer(text: str) -> int:
    """A JSON integer. One with more digits than Python converts
    (``sys.get_int_max_str_digits``, 4300; no id, time, age or offset comes near) is
    refused in words, not with Python's advice to raise its limit."""
    digits = len(text) - text.startswith("-")
    limit = sys.get_int_max_str_digits()
    if limit and digits > limit:
        raise ValueError(f"holds an integer of {digits} digits: no field takes a number that long")
    return int(text)


def _fraction(text: str) -> float | Decimal:
    """A JSON number with a fraction or an exponent: its float, unless that float is an
    integer the text is not (``1.0000000000000000001``, ``9007199254740993.0``: a float has
    no digits for them), then the exact :class:`~decimal.Decimal`, which the rules read
    as written (an id is refused, not merged with ``1`` or ``9007199254740992``).

    Examples
    --------
    >>> _fraction("13.5"), _fraction("1e3"), _fraction("1.0000000000000000001")
    (13.5, 1000.0, Decimal('1.0000000000000000001'))
    """
    number = float(text)
    if number.is_integer() and Decimal(text) != number:
        return Decimal(text)
    return number


#: The one parser of JSON events (files, ``riskscore stream``, ``riskscore serve``).
EVENT_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=unique_fields, parse_int=_integer, parse_float=_fraction
)


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


def line_chars(line: str) -> int:
    """Characters of ``line`` before its line break (``\\n`` or ``\\r\\n``, if any; a ``\\r``
    left at the end of a line split at ``\\n`` counts as part of it)."""
    n = len(line) - line.endswith("\n")
    return n - (n > 0 and line[n - 1] == "\r")


def line_problem(
    line: str, what: str = "a line", start: int = 0, end: int | None = None
) -> str | None:
    """Why a JSON line is refused before it is parsed (too long or too deeply nested:
    parsers slow down or crash on those), or None: the one rule of :func:`read_jsonl`,
    ``riskscore stream`` and ``POST /v1/events``. Its line break (``\\n`` or ``\\r\\n``)
    is not counted, so a line is read or refused alike whether or not it ends the input.

    Parameters
    ----------
    line : str
        The line, or the text that holds it.
    what : str, default "a line"
        What the message calls it (``"an event"``: an element of a JSON array).
    start, end : int, optional
        The line is ``line[start:end]`` (default the whole of ``line``), checked in place:
        an element of a request's JSON array, most of them short and one object deep, is
        not copied out of the body to be checked.

    Returns
    -------
    str or None
        The problem, to follow the line's name in a message; None when it may be parsed.

    Examples
    --------
    >>> line_problem('{"conversation_id": 1}\\n') is None
    True
    >>> line_problem("[" * 65 + "]" * 65)
    'nests arrays or objects deeper than 64 levels'
    """
    end = len(line) if end is None else end
    n = end - start
    if n > MAX_JSON_LINE_LENGTH and (n := line_chars(line[start:end])) > MAX_JSON_LINE_LENGTH:
        return (
            f"is {what} of {n} characters: the limit is {MAX_JSON_LINE_LENGTH} "
            "(a schema v1 event takes a few hundred)"
        )
    brackets = line.count("[", start, end) + line.count("{", start, end)
    if brackets > MAX_JSON_DEPTH and json_depth(line[start:end]) > MAX_JSON_DEPTH:
        return f"nests arrays or objects deeper than {MAX_JSON_DEPTH} levels"
    return None


def read_jsonl(path: Path) -> RawColumns:
    """JSON lines, one event object a line. Each line is first checked for length and
    nesting depth; lines that are not JSON objects are refused with their line number
    (quarantined with ``errors="quarantine"``, so one broken line does not stop the file).
    A clean file is parsed by Arrow; otherwise, or when Arrow's types would change an id
    (integers beyond int64 read as floats), line by line in Python."""

    clean = _clean_line_numbers(path)
    if clean is not None and len(clean):
        fast = _jsonl_with_arrow(path, clean)
        if fast is not None:
            return fast
    lines: list[str] = []
    numbers: list[int] = []  # the file line of each event line
    refused: dict[int, str] = {}
    with path.open("rb") as fh:
        for number, (data, complete) in enumerate(_bounded_lines(fh), start=1):
            if is_blank_line(data):
                continue
            numbers.append(number)
            if not complete:  # cut: it may end inside a character
                problem: str | None = (
                    f"is longer than the limit of {MAX_JSON_LINE_LENGTH} characters"
                )
            elif (problem := not_utf8(data)) is None:
                line = data.decode("utf-8")
                if number == 1:  # as Arrow reads the file (read_messages: utf-8-sig)
                    line = without_byte_order_mark(line)
                problem = line_problem(line)
            if problem is not None:
                refused[len(lines)] = problem
                line = "{}"
            lines.append(line)
    line_of = np.asarray(numbers, dtype=np.int64)
    # lines the scan left to Python may be fine; Arrow reads a line `null` as an event of
    # no fields, so a line that is no object is named here (not_an_object)
    objects = all(line.lstrip()[:1] == "{" for line in lines)
    if clean is None and not refused and lines and objects:
        fast = _jsonl_with_arrow(path, line_of)
        if fast is not None:
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
                obj = loads_event(line)
            except (ValueError, RecursionError) as exc:
                out_refused[row] = ("line", not_json(exc))
                obj = {}
            if not isinstance(obj, dict):
                out_refused.setdefault(row, ("line", not_an_object(obj)))
                obj = {}
        rows.append(obj)
    if not any(rows):
        first = min(out_refused, default=None)
        why = f" (line {numbers[first]} {out_refused[first][1]})" if first is not None else ""
        raise SchemaError(
            f"{path.name}: no event objects found, expected one JSON object a line{why}"
        )
    # each field's values in the lines that give it (one pass: a value list per name over
    # every line made a file of many distinct names quadratic)
    given: dict[str, list[object]] = {}
    for obj in rows:
        for key, value in obj.items():
            given.setdefault(str(key), []).append(value)
    names = list(given)
    if len(names) > MAX_JSON_FIELD_NAMES:
        raise SchemaError(
            f"{path.name}: its lines give {len(names):,} distinct field names, more than the "
            f"{MAX_JSON_FIELD_NAMES:,} riskscore reads (an event gives schema v1's ten and "
            "a few of the producer's): write the producer's own data elsewhere"
        )
    # the fields nested in any field, as Arrow's field paths give them for a file it reads
    nested = [p for name in names for p in value_paths(name, given[name])]
    keep = schema_names(names, nested)
    raw = RawColumns(
        {name: as_1d(name, [row.get(name) for row in rows]) for name in keep}, caller_memory=False
    )
    # rows refused here keep their line number in messages: row i is the i-th event line
    raw.refused = {row: (col, why) for row, (col, why) in out_refused.items()}
    for row, refusal in misspelt_in_lines(names, partial(_given, rows)).items():
        raw.refused.setdefault(row, refusal)
    raw.lines = line_of.__getitem__
    raw.unread = unread_names(names)
    return raw


def _valid(table: pa.Table, name: str) -> npt.NDArray[np.bool_]:
    """Whether each event line of ``table`` gives field ``name`` (not null)."""
    return np.asarray(table.column(name).is_valid())


def _given(rows: list[Mapping[str, object]], name: str) -> npt.NDArray[np.bool_]:
    """Whether each event line gives field ``name`` (not null)."""
    return np.fromiter((row.get(name) is not None for row in rows), dtype=bool, count=len(rows))


def _clean_line_numbers(path: Path) -> IntArray | None:
    """The file line (from 1) of each event line (not blank), when no line needs the line
    by line checks of :func:`read_jsonl`: every line valid UTF-8, of at most
    :data:`MAX_JSON_LINE_LENGTH` bytes (so characters) and at most :data:`MAX_JSON_DEPTH`
    brackets (so no deeper nesting: :func:`line_problem` has nothing to say), each line
    that holds no ``{`` blank. None otherwise, and the lines are then read one by one,
    which names each problem. The file is scanned in blocks of whole lines."""
    numbers: list[IntArray] = []
    first = 1  # the file line of the block's first line
    for chunk in line_blocks(path, MAX_JSON_LINE_LENGTH):
        if chunk is None:  # a line too long
            return None
        buf = np.frombuffer(chunk, dtype=np.uint8)
        if buf.max() >= 0x80:  # ASCII is UTF-8: only other text needs decoding
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError:
                return None
        has_object = np.empty(len(buf) + 1, dtype=np.bool_)
        n = scan_lines(buf, MAX_JSON_LINE_LENGTH, MAX_JSON_DEPTH, has_object)
        if n < 0:
            return None
        if not has_object[:n].all():
            lines = chunk.split(b"\n")
            if not all(is_blank_line(lines[i]) for i in np.flatnonzero(~has_object[:n])):
                return None  # not an object: the line by line reader names it
        numbers.append(first + np.flatnonzero(has_object[:n]))
        first += n
    return np.concatenate(numbers) if numbers else np.empty(0, dtype=np.int64)


#: Arrow's options to read a JSON lines file's times as text (ISO 8601 or epoch text), then
#: as the decimals written, when Arrow's floats may round them into the next second (38
#: digits each side of the point; beyond, the line by line reader keeps them: _fraction).
_TIMES_AS_TEXT: Final = pajson.ParseOptions(explicit_schema=pa.schema([("timestamp", pa.string())]))
_TIMES_EXACT: Final = pajson.ParseOptions(
    explicit_schema=pa.schema([("timestamp", pa.decimal256(76, 38))]),
    unexpected_field_behavior="ignore",  # the times alone: the other columns are read
)


def _whole_floats(times: Any) -> bool:
    """Whether Arrow read some JSON number time of a file as a whole float: the one kind
    of float whose written digits may lie in the second before it
    (``1767225600.9999999999`` is the float 1767225601.0, its second 1767225600, as the
    online scorer reads it); a float with a fraction floors to the second written."""
    if not pa.types.is_floating(times.type):
        return False
    whole = pc.equal(times, pc.floor(times))
    return bool(pc.any(whole).as_py())


def _jsonl_with_arrow(path: Path, line_of: IntArray) -> RawColumns | None:
    """A clean JSON lines file parsed by Arrow (only schema v1 fields kept), its event
    lines at the file lines ``line_of`` (the columns' ``lines``), or None when Arrow
    cannot read it exactly (mixed types in a column, ids
    beyond int64, not objects), splits its lines otherwise (Arrow ends a line at a lone
    ``\\r`` too, :func:`_bounded_lines` and ``riskscore stream`` at ``\\n`` only), or
    holds no timestamp at all (Arrow, told its type, would make a column of nulls)."""
    n_lines = len(line_of)
    if more_names_than(path, MAX_JSON_FIELD_NAMES):
        return None  # the line by line reader refuses the file, naming the count
    for options in (_TIMES_AS_TEXT, None):
        try:
            with arrow_file(path) as source:
                table = pajson.read_json(source, parse_options=options)
            times = table.column("timestamp") if "timestamp" in table.column_names else None
            if times is not None and _whole_floats(times):  # the times again, as written
                if has_long_exponent(path):
                    return None
                with arrow_file(path) as source:
                    times = pajson.read_json(source, parse_options=_TIMES_EXACT).column(0)
                table = table.set_column(table.column_names.index("timestamp"), "timestamp", times)
        except pa.ArrowInvalid:
            continue
        if table.num_rows != n_lines or (times is not None and times.null_count == n_lines):
            return None  # the line by line reader numbers the lines and names the column
        keep = schema_names(table.column_names, field_paths(table.schema))
        if any(holds_time(table.column(name).type) for name in keep):
            return None  # text Arrow read as a time: the line by line reader keeps it text
        for name in ID_COLUMNS:
            if name in keep and not (
                pa.types.is_int64(table.column(name).type)
                or pa.types.is_string(table.column(name).type)
            ):
                return None  # e.g. ids beyond int64 that Arrow turned into floats
        raw = arrow_to_raw(table.select(keep))
        raw.unread = unread_names(table.column_names)
        raw.lines = line_of.__getitem__
        raw.refused = misspelt_in_lines(table.column_names, partial(_valid, table))
        return raw
    return None


def misspelt_in_lines(
    names: list[str], given: Callable[[str], npt.NDArray[np.bool_]]
) -> dict[int, tuple[str, str]]:
    """The event lines that give a field named like a misspelt schema v1 column and not
    that column, which other lines give (in no line, the file is refused whole, by the
    readers' one rule, :func:`~riskscore.io.validate.check_misspelt_names`): refused by
    row, blaming the column, as the online scorer refuses such an event, rather than read
    as that column not given (one producer's ``recipent_age`` among others' ``recipient_age``
    would read its children's ages as unknown). ``given(name)``: whether each line gives
    field ``name`` (not null)."""
    refused: dict[int, tuple[str, str]] = {}
    present = set(names)  # a list's `in` made a file of many names quadratic
    for name in names:
        column = misspelt_column(name, ())
        if column is None or column not in present:
            continue
        why = (
            f"is not given: the line gives {name!r} instead, which looks like {column!r} "
            f"misspelt; rename it to {column!r} (ignored, it would leave {column!r} not given)"
        )
        for row in np.flatnonzero(given(name) & ~given(column)).tolist():
            refused.setdefault(row, (column, why))
    return refused
