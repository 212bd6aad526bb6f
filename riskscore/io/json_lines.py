"""Arrow tables written as JSON lines column by column, in Arrow's compute kernels: no
Python per row (private; used by :func:`riskscore.io.arrow.text_table_writer`).

Each column becomes the JSON text of its values (numbers in their shortest round-trip
form, text quoted and escaped, lists of text as arrays, NaN and null as ``null``), and the
lines are joined field by field. Text is written as UTF-8, not ``\\u`` escapes; both are
JSON. A column of another type, or text holding a control character (which JSON escapes as
``\\uXXXX``), is written value by value with :func:`json.dumps`.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO, Final

import numpy as np

__all__ = ["ROWS_PER_SLICE", "json_text", "write_json_lines"]

#: Rows joined at once: the lines of a slice stay well under Arrow's 2 GiB string limit.
ROWS_PER_SLICE: Final = 262_144
_CONTROL_RE2: Final = r"[\x{00}-\x{1f}]"


def write_json_lines(table: Any, sink: BinaryIO) -> None:
    """Write ``table`` (a :class:`pyarrow.Table`) to ``sink`` as one JSON object per row,
    keys in column order, ``{"a":1,"b":"x"}`` (no spaces), each line ending in ``\\n``.

    Examples
    --------
    >>> import io, pyarrow as pa
    >>> sink = io.BytesIO()
    >>> write_json_lines(pa.table({"id": ["a\\"b", None], "age": [13.0, float("nan")]}), sink)
    >>> sink.getvalue().decode()
    '{"id":"a\\\\"b","age":13}\\n{"id":null,"age":null}\\n'
    """
    for start in range(0, table.num_rows, ROWS_PER_SLICE):
        part = table.slice(start, ROWS_PER_SLICE)
        pieces: list[Any] = []
        for i, name in enumerate(part.column_names):
            key = ("{" if i == 0 else ",") + json.dumps(str(name)) + ":"
            pieces += [key, json_text(part.column(i).combine_chunks())]
        _write_strings(_join([*pieces, "}\n"]), sink)


def _join(pieces: list[Any]) -> Any:
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*pieces, "")


def _write_strings(lines: Any, sink: BinaryIO) -> None:
    """The bytes of a string array's values, written in one call (no copy per line)."""
    import pyarrow as pa

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
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = values.type
    if pa.types.is_dictionary(kind):
        values, kind = values.dictionary_decode(), kind.value_type
    if pa.types.is_integer(kind):
        text = pc.cast(values, pa.string())
    elif pa.types.is_floating(kind):
        finite = pc.fill_null(pc.is_finite(values), False)  # JSON has no NaN or infinity
        text = pc.if_else(finite, pc.cast(values, pa.string()), pa.scalar(None, pa.string()))
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
    import pyarrow.compute as pc

    if pc.any(pc.match_substring_regex(text, _CONTROL_RE2)).as_py():
        return _dumped(text)  # rare: JSON writes control characters as \\uXXXX
    escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', escaped, '"', "")


def _dumps(value: Any) -> str:
    """One value as compact JSON, text as UTF-8 (as the kernels write it)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _dumped(values: Any) -> Any:
    """JSON text by :func:`json.dumps`, value by value: for the types and text the
    kernels above do not write (nulls stay null)."""
    import pyarrow as pa

    return pa.array(
        [None if v is None else _dumps(v) for v in values.to_pylist()],
        type=pa.string(),
    )
