"""The mark of a text id column that holds integer ids as their decimal text (private): a
leaf module, read by the Parquet readers (:func:`riskscore.io.text.parquet_file`) and the
writers and readers of ids (:mod:`riskscore.io.given_ids`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import pyarrow as pa

__all__ = [
    "INTEGER_TEXT_KEY",
    "INTEGER_TEXT_MARK",
    "PANDAS_ATTRS_KEY",
    "integer_text_columns",
    "is_text_kind",
    "pandas_attrs",
    "pandas_marked",
]

#: The key of the mark of a text id column that holds integer ids as their decimal text
#: (:data:`INTEGER_TEXT`) beside the pair ids of group rooms: Arrow field metadata,
#: ``{INTEGER_TEXT_KEY: INTEGER_TEXT_MARK}``, of the Parquet and Arrow files riskscore
#: writes (one typed column holds both as text). :func:`riskscore.read_messages` and the
#: readers of scores and alerts files give such a column's decimal text back as those
#: integers, so that ``6`` written beside ``"9|3|4"`` is read back as ``6``, never as
#: ``"6"``. JSON lines and pandas hold the integers as integers beside the pair ids
#: (:class:`riskscore.io.given_ids.IntegerAndPairIds`, read so too).
INTEGER_TEXT_KEY: Final = "riskscore.ids"
#: The value of :data:`INTEGER_TEXT_KEY` that marks a column so.
INTEGER_TEXT_MARK: Final = "integers-as-text"


def integer_text_columns(schema: pa.Schema) -> tuple[str, ...]:
    """The text columns of ``schema`` marked as holding integer ids as decimal text
    (:func:`riskscore.io.given_ids.mark_integer_text`): by their Arrow field metadata, or
    by the pandas attributes the schema carries (:func:`pandas_marked`), which is what is
    left of the mark once pandas read the file and wrote it again: what the readers of
    events, scores and alerts files give back as those integers."""
    mark = INTEGER_TEXT_MARK.encode()
    attrs = (schema.metadata or {}).get(PANDAS_ATTRS_KEY)
    by_pandas = pandas_marked(_json_object(attrs)) if attrs is not None else set()
    return tuple(
        f.name
        for f in schema
        if is_text_kind(f.type)
        and ((f.metadata or {}).get(INTEGER_TEXT_KEY.encode()) == mark or f.name in by_pandas)
    )


#: The schema metadata key under which pandas keeps ``DataFrame.attrs`` in a Parquet file
#: (and restores them on reading): Arrow field metadata, the mark's own place, is dropped
#: by pandas, polars and DuckDB, and ``6`` came back as the conversation ``"6"``.
PANDAS_ATTRS_KEY: Final = b"PANDAS_ATTRS"


def pandas_marked(attrs: Mapping[str, Any]) -> set[str]:
    """The columns ``attrs`` (a ``DataFrame.attrs``) mark as holding integer ids as text:
    ``attrs["riskscore.ids"][column] == "integers-as-text"``."""
    marks = attrs.get(INTEGER_TEXT_KEY) if isinstance(attrs, Mapping) else None
    if not isinstance(marks, Mapping):
        return set()
    return {str(name) for name, mark in marks.items() if mark == INTEGER_TEXT_MARK}


def pandas_attrs(metadata: Mapping[bytes, bytes] | None, names: tuple[str, ...]) -> bytes:
    """The ``PANDAS_ATTRS`` metadata value of a schema whose columns ``names`` are marked:
    the attributes already there (``metadata``) with the mark of each of ``names`` added."""
    attrs = _json_object((metadata or {}).get(PANDAS_ATTRS_KEY, b"{}"))
    marks = attrs.get(INTEGER_TEXT_KEY)
    marks = dict(marks) if isinstance(marks, Mapping) else {}
    marks.update(dict.fromkeys(names, INTEGER_TEXT_MARK))
    return json.dumps({**attrs, INTEGER_TEXT_KEY: marks}).encode()


def _json_object(text: bytes) -> dict[str, Any]:
    """``text`` as a JSON object, or an empty one when it is none (metadata of any writer)."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def is_text_kind(kind: pa.DataType) -> bool:
    """Whether ``kind`` is Arrow text (``string`` or ``large_string``)."""
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))
