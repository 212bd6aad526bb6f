"""Decimals as the numbers they hold (private): the one rule for a warehouse's decimal
columns (Snowflake's ``NUMBER(38, 0)``, BigQuery's ``NUMERIC``), whether they arrive as an
Arrow or Parquet column, or as the :class:`decimal.Decimal` cells that pandas
(``pd.read_parquet`` of such a file), database cursors and online events hold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.io.schema import ID_COLUMNS

__all__ = [
    "EXACT_FLOAT_INT",
    "TIME_COLUMN",
    "decimal_cells",
    "decimal_numbers",
    "numbers_to_numpy",
    "one_whole_decimal",
]

AnyArray = npt.NDArray[Any]
_INT64_MAX: Final = 2**63 - 1

#: Integers beyond this magnitude (2**53) are not all exact as floats.
EXACT_FLOAT_INT: Final = 2**53
#: The one column whose times (with a zone) are read as epoch seconds; a time in any other
#: column (an id, an age) is refused as the value it is, as in a dict or an online event.
TIME_COLUMN: Final = "timestamp"


def numbers_to_numpy(col: Any, name: str) -> AnyArray:
    """An Arrow column of numbers as numpy: integer ids with nulls as Python integers
    (numpy would hold them as floats, where ids beyond 2**53 lose digits)."""
    if name in ID_COLUMNS and pa.types.is_integer(col.type) and col.null_count:
        return np.fromiter(col.to_pylist(), dtype=object, count=len(col))
    return col.to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def decimal_numbers(col: Any, name: str) -> AnyArray:
    """A decimal column as the numbers it holds: without a fraction digit as integers
    (int64 where they fit, else Python's integers, which ids keep as their decimal text and
    the range checks refuse elsewhere), with one as float64; ids with one as the decimals
    they are, which the id rule reads cell by cell (:func:`riskscore.io.ids.check_ids`: the
    integer of a whole one within 2**53, never a float's rounding of ``9007199254740993.0``
    into ``9007199254740992`` or of ``1.00000000000000001`` into ``1``); ``timestamp``
    with one floored to whole seconds as written (``1704067200.9999999999`` is 1704067201.0
    as a float, but its second is 1704067200)."""
    if col.type.scale > 0 and name in ID_COLUMNS:  # rare: the id rule reads each exactly
        return np.fromiter(col.to_pylist(), dtype=object, count=len(col))
    if col.type.scale > 0 and name == TIME_COLUMN:
        try:
            return numbers_to_numpy(pc.cast(pc.floor(col), pa.int64()), name)
        except pa.ArrowInvalid:  # beyond int64 or its precision: no time, refused as a float
            pass
    if col.type.scale > 0:
        return numbers_to_numpy(pc.cast(col, pa.float64(), safe=False), name)
    try:
        return numbers_to_numpy(pc.cast(col, pa.int64()), name)
    except pa.ArrowInvalid:  # beyond int64
        return np.fromiter(
            (None if v is None else int(v) for v in col.to_pylist()), dtype=object, count=len(col)
        )


def decimal_cells(values: AnyArray, name: str) -> AnyArray:
    """``values`` read by :func:`decimal_numbers` when it is an object array whose cells are
    all :class:`decimal.Decimal` or None (at least one a decimal), as Arrow reads them into
    one decimal column; ``values`` itself otherwise (each cell then read, or refused, as it
    is: a decimal beside other kinds of values, or one Arrow holds no decimal of, as NaN)."""
    if values.dtype != object:
        return values
    first = next((v for v in values if v is not None), None)
    if not isinstance(first, Decimal):  # the common case: one cell looked at
        return values
    if not all(v is None or isinstance(v, Decimal) for v in values):
        return values
    try:
        col = pa.array(values.tolist(), from_pandas=True)
    except (pa.ArrowException, ValueError, TypeError):
        return values
    if not pa.types.is_decimal(col.type) or (col.type.scale > 0 and name in ID_COLUMNS):
        # ids with fraction digits: each cell as given, with its own digits, for the id
        # rule (one scale for all would give 9007199254740993 beside 5.0 a fraction digit)
        return values
    return decimal_numbers(col, name)


def one_whole_decimal(value: Decimal) -> int | None:
    """The integer a decimal with no fraction digit and no exponent holds (``Decimal("12")``,
    a database cursor's ``NUMERIC(20, 0)``), within int64: what :func:`decimal_cells`
    reads it as, without a one-row Arrow column (about 25 µs a field); None for any other
    decimal, which that function reads. A test holds the two equal on generated decimals.

    Examples
    --------
    >>> one_whole_decimal(Decimal("1767225600")), one_whole_decimal(Decimal("12.5"))
    (1767225600, None)
    """
    if not value.is_finite() or value.as_tuple().exponent != 0:
        return None
    whole = int(value)
    return whole if -_INT64_MAX - 1 <= whole <= _INT64_MAX else None
