"""Floats too narrow for a column's values: one rule, and one message, for every number
column read as floats (ages, timestamps).

A float narrower than a column needs has already rounded the value before riskscore reads
it (a 16-bit age of 17.999 is 18.0; a 32-bit timestamp is a step of 128 seconds off), and
no value in it can be told from a rounded one: such a cell is refused, whether the whole
column has that type or one ``np.floating`` cell of an object column (or an online event)
does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np
import numpy.typing as npt

__all__ = ["FloatWidth"]

BoolArray = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class FloatWidth:
    """The narrowest float a column's values fit in, and how a narrower one is refused.

    Parameters
    ----------
    min_bits : int
        Floats of fewer bits are refused (32 for ages, 64 for epoch seconds).
    quantity : str
        What the column holds, as the message names it (``"epoch seconds"``).
    steps : str
        How coarse the narrower floats are for it (``"steps of minutes"``).
    fix : str
        What to give instead (``"integers or 64-bit floats"``).

    Examples
    --------
    >>> width = FloatWidth(64, "seconds", "steps of minutes", "64-bit floats")
    >>> width.cells(np.array([1.5, np.float32(2.0), None], dtype=object)).tolist()
    [False, True, False]
    >>> print(width.reason(32))
    is a 32-bit float, too coarse for seconds (steps of minutes): give the column as 64-bit floats
    """

    min_bits: int
    quantity: str
    steps: str
    fix: str

    def is_narrow(self, value: object) -> TypeGuard[np.floating[Any]]:
        """Whether one value (a cell or an event's field) is a float of too few bits."""
        return isinstance(value, np.floating) and 8 * value.itemsize < self.min_bits

    def is_narrow_column(self, arr: AnyArray) -> bool:
        """Whether ``arr`` is a float column of too few bits (each of its cells is)."""
        return arr.dtype.kind == "f" and 8 * arr.dtype.itemsize < self.min_bits

    def cells(self, arr: AnyArray) -> BoolArray:
        """True where a cell of ``arr`` is a float of too few bits: every cell of such a
        float column, or each such ``np.floating`` in an object column."""
        if arr.dtype.kind == "f":
            return np.full(len(arr), self.is_narrow_column(arr))
        if arr.dtype == object:
            return np.asarray(np.frompyfunc(self.is_narrow, 1, 1)(arr), dtype=bool)
        return np.zeros(len(arr), dtype=bool)

    def reason(self, bits: int) -> str:
        """Why a float of ``bits`` bits is refused, and what to give instead."""
        return (
            f"is a {bits}-bit float, too coarse for {self.quantity} ({self.steps}): "
            f"give the column as {self.fix}"
        )
