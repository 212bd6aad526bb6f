"""Honest train/test splits: no adult account on both sides."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore._checks import check_open_share, check_seed

__all__ = ["split_by_adult"]

IntArray = npt.NDArray[np.int64]


def split_by_adult(
    adult_id: npt.NDArray[Any], *, test_fraction: float = 0.25, seed: int = 0
) -> tuple[IntArray, IntArray]:
    """Split conversations so that every adult's conversations fall on one side.

    Per-sender features (fan-out to minors and the rest) describe an adult
    across all their conversations; a random split by conversation would let
    them leak from training into testing.

    Parameters
    ----------
    adult_id : array of shape (n_conversations,)
        The adult account of each conversation (``FeatureTable.adult_id``).
    test_fraction : float, default 0.25
        Share of adults held out, strictly between 0 and 1: exactly
        ``test_fraction * n_adults`` adults rounded to the nearest whole number (halves
        up), at least one and at most all but one, so neither side is empty (the share of
        conversations follows).
    seed : int, default 0
        Seed of the split, an integer >= 0: the same seed gives the same split.

    Returns
    -------
    train_index, test_index : arrays of int
        Positions of the training and test conversations, sorted.

    Raises
    ------
    ValueError
        ``test_fraction`` or ``seed`` out of range, or fewer than two adults (no split
        keeps each adult on one side with both sides given); the message names the value.

    Examples
    --------
    >>> import numpy as np
    >>> train, test = split_by_adult(np.array([1, 1, 2, 3, 3, 4]), test_fraction=0.5, seed=0)
    >>> sorted(set(np.array([1, 1, 2, 3, 3, 4])[train]) & set(np.array([1, 1, 2, 3, 3, 4])[test]))
    []
    """
    check_open_share("test_fraction", test_fraction)
    check_seed(seed)
    adults, codes = np.unique(adult_id, return_inverse=True)
    n_adults = len(adults)
    if n_adults < 2:
        raise ValueError(
            f"adult_id holds {n_adults} distinct adult(s): a split by adult needs at least "
            "two, one for each side"
        )
    # A fixed count drawn by a seeded permutation: drawing each adult's side on its own
    # left a side empty for 62 % of seeds with two adults at test_fraction=0.25.
    n_test = min(max(math.floor(test_fraction * n_adults + 0.5), 1), n_adults - 1)
    in_test = np.zeros(n_adults, dtype=bool)
    in_test[np.random.default_rng(seed).permutation(n_adults)[:n_test]] = True
    mask = in_test[codes.reshape(-1)]
    return np.flatnonzero(~mask).astype(np.int64), np.flatnonzero(mask).astype(np.int64)
