"""The mark of a text id column that holds integer ids as their decimal text (private): a
leaf module, read by the Parquet readers (:func:`riskscore.io.text.parquet_file`) and the
writers and readers of ids (:mod:`riskscore.io.given_ids`)."""

from __future__ import annotations

from typing import Final

import pyarrow as pa

__all__ = ["INTEGER_TEXT_KEY", "INTEGER_TEXT_MARK", "integer_text_columns", "is_text_kind"]

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
    (:func:`riskscore.io.given_ids.mark_integer_text`): what the readers of events, scores and
    alerts files give
    back as those integers."""
    mark = INTEGER_TEXT_MARK.encode()
    return tuple(
        f.name
        for f in schema
        if is_text_kind(f.type) and (f.metadata or {}).get(INTEGER_TEXT_KEY.encode()) == mark
    )


def is_text_kind(kind: pa.DataType) -> bool:
    """Whether ``kind`` is Arrow text (``string`` or ``large_string``)."""
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))
