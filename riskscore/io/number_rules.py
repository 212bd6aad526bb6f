"""The rules of the number columns (timestamps, ages, UTC offsets, room sizes), each row
checked by all of its column's rules in one compiled pass (private).

A column's rules, in check order: an empty cell (NaN) refused, a fraction where a whole
number is expected, a value out of range, an instant later than the future limit; a row
is refused by the first rule it breaks. This replaced a dozen numpy passes per column
(comparisons, their temporary masks, ``any``). The common case (no row refused) is one
pass that reads each value once and writes nothing; only when some row is refused does a
second pass count the rows of each rule and mark each row's rule, from which the masks
of the refused rows are built for :class:`~riskscore.io.problems.Problems`, which words
the messages and quarantine records as for every other check. With
``NUMBA_DISABLE_JIT=1`` (or through ``.py_func``) the same source runs uncompiled: it is
the reference the tests compare against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk
from riskscore._read_only import read_only
from riskscore.io.schema import INT64_MAX

__all__ = [
    "NumberRules",
    "Sink",
    "beyond_exact_floats",
    "check_numbers",
    "exact_float_bits",
    "number_pass",
]

AnyArray = npt.NDArray[Any]
BoolArray = npt.NDArray[np.bool_]

#: The rules' codes in the marks of :func:`number_pass` (0: no rule broken), in check order.
EMPTY: Final = 1
FRACTIONAL: Final = 2
OUT_OF_RANGE: Final = 3
LATER: Final = 4
_N_RULES: Final = 4


def exact_float_bits(kind: np.dtype[Any] | type) -> int:
    """``n`` such that every integer up to ``2**n`` is exact in the float type ``kind``
    (53 for float64, 24 for float32, 11 for float16; at most 53, as whole numbers are
    checked as float64): a narrower float has lost whole numbers beyond it (``2049`` as a
    float16 is ``2048.0``), so two values may already be one, and no check can tell.

    Examples
    --------
    >>> exact_float_bits(np.float16), exact_float_bits(np.dtype(np.float32))
    (11, 24)
    """
    return min(int(np.finfo(kind).nmant) + 1, 53)


def beyond_exact_floats(arr: AnyArray) -> dict[int, BoolArray]:
    """The cells of ``arr`` that are floats narrower than 64 bits from
    ``2**exact_float_bits`` of their type on (a float column's, or ``np.float16`` and
    ``np.float32`` cells of an object column), by those bits: values that may already be
    rounded (``2049`` as a float16 is ``2048.0``).

    Examples
    --------
    >>> beyond_exact_floats(np.array([3, 2047, 2049], dtype=np.float16))
    {11: array([False, False,  True])}
    """
    if arr.dtype.kind == "f":
        if arr.dtype.itemsize >= 8:
            return {}
        bits = exact_float_bits(arr.dtype)
        with np.errstate(invalid="ignore"):
            return {bits: np.asarray(np.abs(arr) >= 2.0**bits, dtype=bool)}
    if arr.dtype != object:
        return {}
    out: dict[int, BoolArray] = {}
    for i, v in enumerate(arr.tolist()):  # tolist keeps numpy scalars in object arrays
        if isinstance(v, np.floating) and v.itemsize < 8:
            bits = exact_float_bits(type(v))
            if abs(float(v)) >= 2.0**bits:
                out.setdefault(bits, np.zeros(len(arr), dtype=bool))[i] = True
    return out


class Sink(Protocol):
    """Where a check reports the rows it refuses."""

    def add(self, column: str, mask: BoolArray, reason: str) -> None: ...


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _rule(x: Any, low: Any, high: Any, latest: Any, empty_refused: bool, whole: bool) -> int:
    """The first rule ``x`` breaks (0: none). Written without branches, so that the pass
    over a column is vectorized."""
    rule = LATER if x > latest else 0
    rule = OUT_OF_RANGE if (x < low) | (x > high) else rule
    rule = FRACTIONAL if whole & (x != np.floor(x)) & (x == x) else rule
    return EMPTY if (x != x) & empty_refused else rule


#: :func:`_rule` as plain Python, for one value (compiled only inside :func:`number_pass`;
#: with ``NUMBA_DISABLE_JIT=1`` it is a plain function already).
_rule_in_python: Final = getattr(_rule, "py_func", _rule)


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def number_pass(
    values: AnyArray, low: Any, high: Any, latest: Any, empty_refused: bool, whole: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Check ``values`` (int64 or float64; the scalars of the same type) by the rules: an
    empty cell (NaN) refused when ``empty_refused``, a fraction when ``whole``, a value
    not in ``[low, high]``, one above ``latest``.

    Returns the rows refused by each rule (index: the rule's code) and, only when some
    row is refused, each row's rule (0: none; otherwise an empty array).
    """
    found = 0
    for i in range(len(values)):  # the common case: this pass only
        found |= _rule(values[i], low, high, latest, empty_refused, whole)
    counts = np.zeros(_N_RULES + 1, dtype=np.int64)
    marks = np.zeros(len(values) if found else 0, dtype=np.uint8)
    if found:
        for i in range(len(values)):
            rule = _rule(values[i], low, high, latest, empty_refused, whole)
            counts[rule] += 1
            marks[i] = rule
    return counts, marks


@dataclass(frozen=True, slots=True)
class NumberRules:
    """The rules of one number column and the reason each refused row is given (a rule
    without a reason does not apply: ``empty`` None, an empty cell is unknown).

    Attributes
    ----------
    low, high : float
        The range of values accepted (inclusive).
    out_of_range : str
        Why a value outside ``[low, high]`` is refused.
    empty, fractional : str or None
        Why an empty cell, a fraction, is refused.
    latest : float
        The latest value accepted, for ``later``.
    later : str or None
        Why a value above ``latest`` is refused.
    """

    low: float
    high: float
    out_of_range: str
    empty: str | None = None
    fractional: str | None = None
    latest: float = math.inf
    later: str | None = None

    def reasons(self) -> dict[int, str | None]:
        """Each rule's reason by its code in the marks of :func:`number_pass`."""
        return {
            EMPTY: self.empty,
            FRACTIONAL: self.fractional,
            OUT_OF_RANGE: self.out_of_range,
            LATER: self.later,
        }

    def reason_of(self, value: float) -> str | None:
        """Why one number (a float, as :func:`check_numbers` reads an object column's
        cells) is refused: the reason of the first rule it breaks, by the very source of
        :func:`number_pass` run uncompiled (a call costs a few microseconds, and no
        compilation); None when it breaks none.

        Examples
        --------
        >>> rules = NumberRules(low=0, high=120, out_of_range="is out of range")
        >>> rules.reason_of(-3.0), rules.reason_of(35.0), rules.reason_of(math.nan)
        ('is out of range', None, None)
        """
        latest = self.latest if self.later is not None else math.inf
        rule = _rule_in_python(
            value,
            self.low,
            self.high,
            latest,
            self.empty is not None,
            self.fractional is not None,
        )
        return self.reasons()[rule] if rule else None


def check_numbers(
    name: str,
    values: AnyArray,
    rules: NumberRules,
    problems: Sink,
    fill: float,
    dtype: type[np.integer[Any]] | None = None,
) -> AnyArray:
    """The numbers of column ``name`` checked by ``rules`` in one :func:`number_pass`:
    the refused rows reported to ``problems`` (the first rule each breaks), and the values
    as the integers ``dtype``, ``fill`` where refused or empty. Without ``dtype`` the
    values keep their type (int64 or float64; ``fill`` where refused), not copied unless
    some row is refused.

    ``values`` are integers or floats of any width (unsigned integers beyond int64 are
    out of every range, and held as int64's largest value here); the bounds of an integer
    column are whole numbers.
    """
    kind = np.int64 if values.dtype.kind in "iu" else np.float64
    if values.dtype.kind == "u" and values.dtype.itemsize == 8:
        values = np.minimum(values, np.uint64(INT64_MAX))
    values = values.astype(kind, copy=False)
    latest = rules.latest if rules.later is not None else math.inf
    if kind is np.int64:  # integer scalars: compared in the values' own type
        latest = min(math.floor(latest), rules.high) if math.isfinite(latest) else rules.high
    counts, marks = number_pass(
        read_only(values),
        kind(rules.low),
        kind(rules.high),
        kind(latest),
        rules.empty is not None,
        rules.fractional is not None,
    )
    for rule, reason in rules.reasons().items():
        if counts[rule] and reason is not None:
            problems.add(name, marks == rule, reason)
    refused = marks > 0 if len(marks) else None
    if kind is np.float64 and dtype is not None:  # into integers: empty cells too
        empty = np.isnan(values)
        refused = empty if refused is None else refused | empty
    if refused is not None:
        values = np.where(refused, kind(fill), values)
    return values if dtype is None else values.astype(dtype, copy=False)
