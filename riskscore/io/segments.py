"""Vectorized helpers over sorted segments (one segment per conversation). Private."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T", bound=np.generic)

IntArray = npt.NDArray[np.int64]


def spread(per_segment: npt.NDArray[T], starts: IntArray, n_rows: int) -> npt.NDArray[T]:
    """Each segment's value on every row of the segment: ``per_segment[code]`` for rows
    coded ``code``, built as a sequential fill rather than a gather (about 3x faster).
    ``starts`` as in :attr:`MessageTable.segment_starts` (sorted, the first one 0)."""
    return np.repeat(per_segment, np.diff(starts, append=n_rows))


def sorted_unique(values: IntArray) -> IntArray:
    """``np.unique(values)`` of integers, by one sort and a comparison of neighbours.

    The same array (sorted distinct values, same dtype); numpy 2's ``np.unique`` goes
    through a hash table first and takes about ten times as long on the tens of thousands
    of pair codes of a million events.
    """
    out = np.sort(values)
    if len(out) < 2:
        return out
    keep = np.empty(len(out), dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]
