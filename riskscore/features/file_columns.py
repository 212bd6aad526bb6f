"""Checked reading of the columns of a riskscore Parquet file written for users to keep
(the account features file, :mod:`riskscore.features.account_file`): account ids and
whole counts, every bad value refused naming its column, row and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.exceptions import SchemaError
from riskscore.io.ids import first_bad_text_id
from riskscore.io.raw import as_python_value, show, shown
from riskscore.io.schema import INT64_MAX
from riskscore.io.text import utf8_cells

__all__ = [
    "account_ids",
    "cell_value",
    "check_decimal_text",
    "check_text_ids",
    "first_null",
    "whole_counts",
]

#: The event column whose quoting rule (:func:`riskscore.io.raw.shown`) a column of the
#: file follows: ids as ids, channel names as category names.
_QUOTED_AS: Final = {
    "account_id": "sender_id",
    "pair_other": "recipient_id",
    "pair_first_channel": "channel",
}

#: An integer as :func:`str` writes it: no sign but a minus, no leading zero.
_DECIMAL = r"^(0|-?[1-9][0-9]*)$"


def account_ids(
    column: Any, source: Path, name: str = "account_id", rows: npt.NDArray[Any] | None = None
) -> npt.NDArray[Any]:
    """Account ids (column ``name``) as int64 or as an object array of str; ``rows`` maps
    a value to the row it is in (the list columns), by default its position."""
    if column.null_count:
        row = _row(first_null(column), rows)
        raise SchemaError(
            f"{source}: column {name!r}, row {row}: null; every row names its account",
            column=name,
            row=row,
            value=None,
        )
    if pa.types.is_integer(column.type):
        ints: npt.NDArray[Any] = np.asarray(column.to_numpy())
        if pa.types.is_unsigned_integer(column.type) and len(ints) and ints.max() > INT64_MAX:
            raise SchemaError(f"{source}: column {name!r} holds integers beyond int64")
        return ints.astype(np.int64)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        _check_utf8(column, source, name, rows)
        return np.array(column.to_pylist(), dtype=object)
    raise SchemaError(
        f"{source}: column {name!r} must hold integers or text, got {column.type}",
        column=name,
    )


def _check_utf8(column: Any, source: Path, name: str, rows: npt.NDArray[Any] | None) -> None:
    """Refuse a text cell of ``column`` that is not UTF-8 (Arrow checks no text it reads
    from a Parquet file, and reading it was a ``UnicodeDecodeError``), naming column
    ``name``, its row and its bytes (:func:`cell_value`), as the event readers refuse one;
    an array broken otherwise, by Arrow's reason."""
    try:
        column.validate(full=True)
    except pa.ArrowInvalid as exc:
        as_bytes = pa.large_binary() if pa.types.is_large_string(column.type) else pa.binary()
        cells, bad = utf8_cells(column.cast(as_bytes).to_pylist())
        if not bad.any():
            raise SchemaError(
                f"{source}: column {name!r} is not a valid Arrow array ({exc}); rebuild the "
                "file with `riskscore accounts`",
                column=name,
            ) from None
        k = int(np.flatnonzero(bad)[0])
        row, value = _row(k, rows), cell_value(name, bytes(cells[k]))
        raise SchemaError(
            f"{source}: column {name!r}, row {row}: {show(value)} is not UTF-8 text; rebuild "
            "the file with `riskscore accounts`",
            column=name,
            row=row,
            value=value,
        ) from None


def check_decimal_text(
    ids: npt.NDArray[Any], source: Path, name: str, rows: npt.NDArray[Any] | None = None
) -> None:
    """Refuse an id of column ``name`` that is not an integer as :func:`str` writes it
    (``ids`` of a file whose text ids are integers; ``rows``: as for :func:`account_ids`)."""
    if ids.dtype != object:
        raise SchemaError(
            f"{source}: metadata 'decimal_ids' is true but column {name!r} holds integers, "
            "not their decimal text; rebuild the file with `riskscore accounts`",
            column=name,
        )
    bad = ~np.asarray(pc.match_substring_regex(pa.array(ids, pa.string()), _DECIMAL), dtype=bool)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        row, value = _row(k, rows), cell_value(name, ids[k])
        raise SchemaError(
            f"{source}: column {name!r}, row {row}: {show(value)} is not an integer written as "
            "decimal text, as metadata 'decimal_ids' says every id is; rebuild the file "
            "with `riskscore accounts`",
            column=name,
            row=row,
            value=value,
        )


#: The largest count read: the largest whole number a float64 holds exactly (2**53), so that
#: counts compare and divide exactly once read.
MAX_COUNT = 2**53


def whole_counts(
    column: Any, name: str, source: Path, rows: npt.NDArray[Any] | None = None
) -> npt.NDArray[np.float64]:
    """A count column as float64, every value a whole number from 0 to :data:`MAX_COUNT`
    (``rows``: as for :func:`account_ids`)."""
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise SchemaError(
            f"{source}: column {name!r} must hold whole numbers >= 0, got {column.type}",
            column=name,
        )
    if column.null_count:
        row = _row(first_null(column), rows)
        raise SchemaError(
            f"{source}: column {name!r}, row {row}: null; a count is never unknown",
            column=name,
            row=row,
            value=None,
        )
    raw_values = column.to_numpy(zero_copy_only=False)
    values = np.asarray(raw_values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values < 0) | (values != np.floor(values))
        bad |= values > MAX_COUNT
    if pa.types.is_integer(column.type):  # compared as integers: 2**53 + 1 is no float64
        bad |= raw_values > MAX_COUNT
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        row = _row(k, rows)
        raw = cell_value(name, column[k].as_py())
        raise SchemaError(
            f"{source}: column {name!r}, row {row}: {show(raw)} is not a whole number from 0 "
            "to 2**53",
            column=name,
            row=row,
            value=raw,
        )
    return values


def check_text_ids(
    ids: npt.NDArray[Any], source: Path, name: str, rows: npt.NDArray[Any] | None = None
) -> None:
    """Refuse a text id of :func:`account_ids` that no event could hold (empty, over-long,
    unprintable, a sentence: :func:`riskscore.io.ids.first_bad_text_id`), naming column
    ``name``, its row (``rows`` as in :func:`account_ids`) and the value; integers pass."""
    bad = first_bad_text_id(ids) if ids.dtype == object else None
    if bad is not None:
        row, value = _row(bad[0], rows), cell_value(name, ids[bad[0]])
        raise SchemaError(
            f"{source}: column {name!r}, row {row}: {show(value)} {bad[1]}; rebuild the file "
            "with `riskscore accounts`",
            column=name,
            row=row,
            value=value,
        )


def cell_value(name: str, value: Any) -> Any:
    """A value of column ``name`` as an error holds it: a plain Python value, or a
    :class:`~riskscore.io.raw.NotShown` for text that may be message content (quote it
    with :func:`riskscore.io.raw.show`, which also cuts long text)."""
    return shown(_QUOTED_AS.get(name, name), as_python_value(value))


def _row(position: int, rows: npt.NDArray[Any] | None) -> int:
    return position if rows is None else int(rows[position])


def first_null(column: Any) -> int:
    """Position of the first null of an Arrow array that has one."""
    return int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
