"""Arrow tables written as JSON lines column by column, in Arrow's compute kernels: no
Python per row (private; used by :func:`riskscore.io.arrow.text_table_writer`).

Each column becomes the JSON text of its values, and the lines are joined field by field.
The text of a value is the text :func:`json_dumps` gives it, byte for byte: the one JSON
text of riskscore's files and of ``riskscore stream``, the service and the Synapse module
(compact, text as UTF-8 rather than ``\\u`` escapes, floats as :func:`repr` writes them:
``13.0``, ``1e-05``; NaN and null as ``null``). A column of another type, or text holding
a control character (which JSON escapes as ``\\uXXXX``), is written value by value with
:func:`json_dumps`.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.io.given_ids import INTEGER_TEXT, integer_text_columns
from riskscore.io.input_names import reported_name

__all__ = [
    "json_dumps",
    "json_loads",
    "json_text",
    "unique_fields",
    "write_json_lines",
]

#: Rows joined at once: the lines of a slice stay well under Arrow's 2 GiB string limit.
ROWS_PER_SLICE: Final = 262_144
_CONTROL_RE2: Final = r"[\x{00}-\x{1f}]"
#: :data:`~riskscore.io.pair_text.INTEGER_TEXT` as an Arrow (RE2) pattern of a whole cell.
_INTEGER_TEXT_RE2: Final = f"^(?:{INTEGER_TEXT.pattern})$"


def write_json_lines(table: Any, sink: BinaryIO) -> None:
    """Write ``table`` (a :class:`pyarrow.Table`) to ``sink`` as one JSON object per row,
    keys in column order, ``{"a":1,"b":"x"}`` (no spaces), each line ending in ``\\n``.

    Examples
    --------
    >>> import io, pyarrow as pa
    >>> sink = io.BytesIO()
    >>> write_json_lines(pa.table({"id": ["a\\"b", None], "age": [13.0, float("nan")]}), sink)
    >>> sink.getvalue().decode()
    '{"id":"a\\\\"b","age":13.0}\\n{"id":null,"age":null}\\n'
    """
    # integers held as text beside pair ids: as the integers they are, as given
    integers = set(integer_text_columns(table.schema))
    for start in range(0, table.num_rows, ROWS_PER_SLICE):
        part = table.slice(start, ROWS_PER_SLICE)
        pieces: list[Any] = []
        for i, name in enumerate(part.column_names):
            key = ("{" if i == 0 else ",") + json.dumps(str(name)) + ":"
            values = part.column(i).combine_chunks()
            text = json_text(values)
            if name in integers:
                whole = pc.match_substring_regex(values, _INTEGER_TEXT_RE2)
                text = pc.if_else(pc.fill_null(whole, False), values.cast(pa.string()), text)
            pieces += [key, text]
        _write_strings(_join([*pieces, "}\n"]), sink)


def _join(pieces: list[Any]) -> Any:
    return pc.binary_join_element_wise(*pieces, "")


def _write_strings(lines: Any, sink: BinaryIO) -> None:
    """The bytes of a string array's values, written in one call (no copy per line)."""
    if len(lines) == 0:
        return
    width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    offsets = np.frombuffer(lines.buffers()[1], dtype=width)[lines.offset :]
    sink.write(memoryview(lines.buffers()[2])[offsets[0] : offsets[len(lines)]])


def json_text(values: Any) -> Any:
    """The JSON text of each value of an Arrow array, as a string array without nulls
    (``null`` for a null), without a Python call per value for numbers, booleans, text,
    and lists and structs of them (a CSV cell holds a nested value as this text).

    Examples
    --------
    >>> import pyarrow as pa
    >>> reasons = pa.array([[{"feature": "x", "value": 1.5}], [], None])
    >>> json_text(reasons).to_pylist()
    ['[{"feature":"x","value":1.5}]', '[]', 'null']
    """
    kind = values.type
    if pa.types.is_dictionary(kind):
        values, kind = values.dictionary_decode(), kind.value_type
    if pa.types.is_integer(kind):
        text = pc.cast(values, pa.string())
    elif pa.types.is_floating(kind):
        finite = pc.fill_null(pc.is_finite(values), False)  # JSON has no NaN or infinity
        text = pc.if_else(finite, _float_text(values), pa.scalar(None, pa.string()))
    elif pa.types.is_boolean(kind):
        text = pc.if_else(values, "true", "false")
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = _quoted(values.cast(pa.string()))
    elif pa.types.is_list(kind):
        # each item as JSON, then the items of a row joined into an array
        offsets = pc.subtract(values.offsets, values.offsets[0])
        items = pa.ListArray.from_arrays(offsets, json_text(pc.list_flatten(values)))
        array = pc.binary_join_element_wise("[", pc.binary_join(items, ","), "]", "")
        text = pc.if_else(pc.is_null(values), pa.scalar(None, pa.string()), array)
    elif pa.types.is_struct(kind):
        # each field as "name":value, in field order, the fields of a row in braces
        fields = [
            pc.binary_join_element_wise(json.dumps(kind.field(i).name) + ":", json_text(f), "")
            for i, f in enumerate(values.flatten())
        ]
        obj = pc.binary_join_element_wise("{", pc.binary_join_element_wise(*fields, ","), "}", "")
        text = pc.if_else(pc.is_null(values), pa.scalar(None, pa.string()), obj)
    else:
        text = _dumped(values)
    return pc.fill_null(text, "null")


def _quoted(text: Any) -> Any:
    """Text values as JSON strings: backslash and quote escaped, in quotes (nulls stay)."""
    if pc.any(pc.match_substring_regex(text, _CONTROL_RE2)).as_py():
        return _dumped(text)  # rare: JSON writes control characters as \\uXXXX
    escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', escaped, '"', "")


def json_dumps(value: Any) -> str:
    """One value as riskscore writes JSON: compact, text as UTF-8, no NaN (the kernels of
    :func:`json_text` write the same bytes).

    Examples
    --------
    >>> json_dumps({"id": "caf\u00e9", "age": 13.0, "at": 13, "reasons": []})
    '{"id":"caf\u00e9","age":13.0,"at":13,"reasons":[]}'
    """
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str
    )


def unique_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's fields, refusing a field given twice (a parser would keep one silently)."""
    fields: dict[str, Any] = {}
    for key, value in pairs:
        if key in fields:  # a name that may be message content is not quoted (reported_name)
            name = f"{key!r}" if reported_name(key) else f"of {len(key)} characters (not shown)"
            raise ValueError(f"field {name} appears twice in one object")
        fields[key] = value
    return fields


def _no_constant(name: str) -> Any:
    """Refuse ``NaN``, ``Infinity`` or ``-Infinity``, which Python's parser reads though
    JSON has no such literal."""
    raise ValueError(f"holds {name}, which is not JSON: write a finite number or null")


def json_loads(text: str | bytes, *, allow_nan: bool = True) -> Any:
    """The value of a JSON text riskscore reads back from a file it may not have written
    (a model bundle, a queue's cells, a file's metadata): :func:`json.loads`, with a key
    given twice in one object refused (:func:`unique_fields`: Python's parser keeps the
    last, another reader of the same bytes may keep the first) and a text nested too
    deeply for Python's parser refused as the :class:`ValueError` any other malformed
    text is, never a :class:`RecursionError` that no caller expects.

    Examples
    --------
    >>> json_loads('["a", 1]')
    ['a', 1]
    >>> json_loads('{"a": 1, "a": 2}')
    Traceback (most recent call last):
    ...
    ValueError: field 'a' appears twice in one object
    >>> json_loads("[" * 100_000)
    Traceback (most recent call last):
    ...
    ValueError: JSON nested too deeply for Python's parser

    With ``allow_nan`` False (a model bundle's values), ``NaN`` and ``Infinity`` are refused:

    >>> json_loads('{"a": NaN}', allow_nan=False)
    Traceback (most recent call last):
    ...
    ValueError: holds NaN, which is not JSON: write a finite number or null
    """
    constant = None if allow_nan else _no_constant
    try:
        return json.loads(text, object_pairs_hook=unique_fields, parse_constant=constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply for Python's parser") from None


def _float_text(values: Any) -> Any:
    """Floats as :func:`repr` writes them (``13.0``, ``0.1``, ``1e-05``, ``1e+16``).

    Arrow writes the same shortest round-trip digits laid out its own way (``13``,
    ``0.00001``, ``1e+14``, ``1e-7``): its text is kept, with ``.0`` added to a whole
    number, where both write the fixed form (most values); the others are laid out again
    (:func:`_repr_layout`). Non-finite values and nulls give text that the caller replaces.
    """
    floats = pc.cast(values, pa.float64())
    finite = pc.fill_null(pc.is_finite(floats), False)
    text = pc.cast(pc.if_else(finite, floats, 0.0), pa.string())
    size = pc.abs(floats)
    # repr's fixed form: decimal exponents from -4 to 15 (and zero)
    fixed = pc.or_(pc.and_(pc.greater_equal(size, 1e-4), pc.less(size, 1e16)), pc.equal(size, 0))
    kept = pc.and_not(pc.fill_null(fixed, False), pc.match_substring(text, "e"))
    whole = pc.and_(kept, pc.fill_null(pc.equal(pc.floor(floats), floats), False))
    if pc.any(whole).as_py():
        with_point = pc.binary_join_element_wise(text.filter(whole), ".0", "")
        text = pc.replace_with_mask(text, whole, with_point)
    again = pc.and_not(finite, kept)
    if pc.any(again).as_py():
        text = pc.replace_with_mask(text, again, _repr_layout(text.filter(again)))
    return text


def _repr_layout(text: Any) -> Any:
    """Arrow's text of finite floats laid out as :func:`repr` lays out the same digits."""
    parts = pc.extract_regex(
        text,
        r"^(?P<sign>-?)(?P<whole>[0-9]+)(?:\.(?P<frac>[0-9]+))?"
        r"(?:e(?P<down>-?)\+?(?P<exp>[0-9]+))?$",
    )
    sign, whole = parts.field("sign"), parts.field("whole")
    every = pc.binary_join_element_wise(whole, parts.field("frac"), "")  # "" when absent
    lead = pc.utf8_ltrim(every, "0")
    digits = pc.utf8_rtrim(lead, "0")  # d1 d2 ... dn, the value 0.d1...dn * 10**point
    n = pc.utf8_length(digits).to_numpy(zero_copy_only=False).astype(np.int64)
    exp = pc.cast(pc.binary_join_element_wise("0", parts.field("exp"), ""), pa.int64())
    exp = pc.if_else(pc.equal(parts.field("down"), "-"), pc.negate(exp), exp)
    lead_zeros = pc.subtract(pc.utf8_length(every), pc.utf8_length(lead)).to_numpy(False)
    point = pc.utf8_length(whole).to_numpy(False) + exp.to_numpy(False) - lead_zeros
    e = point - 1

    def cat(*pieces: Any) -> Any:
        return pc.binary_join_element_wise(*pieces, "")

    def zeros(count: Any) -> Any:
        return pc.binary_repeat(pa.scalar("0"), pa.array(np.maximum(count, 0)))

    scientific = cat(
        sign,
        pc.utf8_slice_codeunits(digits, 0, 1),
        pc.if_else(pa.array(n > 1), cat(".", pc.utf8_slice_codeunits(digits, 1)), ""),
        pc.if_else(pa.array(e < 0), "e-", "e+"),
        pc.utf8_lpad(pc.cast(pa.array(np.abs(e)), pa.string()), 2, "0"),
    )
    fixed = pc.if_else(
        pa.array(point <= 0),
        cat(sign, "0.", zeros(-point), digits),
        cat(sign, digits, zeros(point - n), ".0"),
    )
    inside = (point > 0) & (point < n)  # the point falls between two digits
    for at in np.unique(point[inside]).tolist():
        split = cat(
            sign, pc.utf8_slice_codeunits(digits, 0, at), ".", pc.utf8_slice_codeunits(digits, at)
        )
        fixed = pc.if_else(pa.array(inside & (point == at)), split, fixed)
    text = pc.if_else(pa.array((e < -4) | (e >= 16)), scientific, fixed)
    return pc.if_else(pa.array(n == 0), cat(sign, "0.0"), text)


def _dumped(values: Any) -> Any:
    """JSON text by :func:`json.dumps`, value by value: for the types and text the
    kernels above do not write (nulls stay null)."""
    return pa.array(
        [None if v is None else json_dumps(v) for v in values.to_pylist()],
        type=pa.string(),
    )
