"""Single compiled passes over the rows of a table being built (private).

Checks that numpy would make with several temporary arrays the size of the table (each
row compared with the one before it, each event with its conversation's first one) are
made here in one loop that stops at the first row that settles the answer. Each gives
exactly the result of the numpy expression written in its docstring.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk

__all__ = ["in_order", "lookup_codes", "mark_present", "outside_first_pair", "run_codes"]

IntArray = npt.NDArray[np.int64]


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def in_order(conversation_id: IntArray, timestamp: IntArray, source_row: IntArray) -> bool:
    """Whether integer rows are sorted by (conversation, timestamp, source row), each key
    strictly increasing where the ones before it are equal.

    For ``c, t, r = conversation_id, timestamp, source_row`` it equals
    ``all((c[1:] > c[:-1]) | (c[1:] == c[:-1]) & ((t[1:] > t[:-1]) | (t[1:] == t[:-1]) &
    (r[1:] > r[:-1])))``.
    """
    for i in range(1, len(conversation_id)):
        c0, c1 = conversation_id[i - 1], conversation_id[i]
        if c1 > c0:
            continue
        if c1 < c0:
            return False
        t0, t1 = timestamp[i - 1], timestamp[i]
        if t1 < t0 or (t1 == t0 and source_row[i] <= source_row[i - 1]):
            return False
    return True


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def outside_first_pair(starts: IntArray, sender: IntArray, recipient: IntArray) -> IntArray:
    """Codes of the sorted segments (conversations) holding an event whose sender or
    recipient is not one of the two accounts of the segment's first event, in increasing
    order.

    With ``a, b`` the first event's sender and recipient spread over the segment's rows,
    it equals ``np.unique(code[~(isin(sender, (a, b)) & isin(recipient, (a, b)))])``.
    """
    n = len(sender)
    outside = np.zeros(len(starts), dtype=np.bool_)
    for k in range(len(starts)):
        begin = starts[k]
        end = starts[k + 1] if k + 1 < len(starts) else n
        a = sender[begin]
        b = recipient[begin]
        for e in range(begin, end):
            s = sender[e]
            r = recipient[e]
            # bitwise, not `or`/`and`: which side sends changes unpredictably from one
            # event to the next, and short-circuit branches made this pass 3 times slower
            if not (((s == a) | (s == b)) & ((r == a) | (r == b))):
                outside[k] = True
                break
    return np.flatnonzero(outside).astype(np.int64)


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def mark_present(values: IntArray, low: int, present: npt.NDArray[np.bool_]) -> None:
    """``present[values - low] = True``, without the temporary ``values - low``."""
    for v in values:
        present[v - low] = True


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def lookup_codes(values: IntArray, low: int, code_of: IntArray, out: IntArray) -> None:
    """``out[:] = code_of[values - low]``, without the temporary ``values - low``."""
    for i in range(len(values)):
        out[i] = code_of[values[i] - low]


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def run_codes(values: IntArray) -> tuple[IntArray, IntArray]:
    """The code of each row's run of equal values (0, 1, ...) and each run's first row.

    With ``is_start`` true on row 0 and where a value differs from the one before, it
    equals ``(np.cumsum(is_start) - 1, np.flatnonzero(is_start))``.
    """
    n = len(values)
    code = np.empty(n, dtype=np.int64)
    k = -1
    for i in range(n):
        if i == 0 or values[i] != values[i - 1]:
            k += 1
        code[i] = k
    starts = np.empty(k + 1, dtype=np.int64)
    k = 0
    for i in range(n):
        if i == 0 or values[i] != values[i - 1]:
            starts[k] = i
            k += 1
    return code, starts
