"""Exit-leaf scoring (riskscore/model/exit_leaves.py) equals the node walk bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import riskscore as rs
from riskscore.model.exit_leaves import (
    MISSING_NAN,
    MISSING_NONE,
    MISSING_ZERO,
    ZERO_THRESHOLD,
    exit_leaves,
    margin,
    max_shift,
    scratch,
    shift_scratch,
)
from riskscore.model.trees import walk

# Values that take every path of the split rule: missing, zero (both signs), inside the
# zero band but not zero, exactly on a threshold, beyond every threshold.
_SPECIAL = [np.nan, 0.0, -0.0, ZERO_THRESHOLD / 10, -ZERO_THRESHOLD / 10, ZERO_THRESHOLD,
            -ZERO_THRESHOLD, np.inf, -np.inf, 1e300]  # fmt: skip


def _random_forest(
    rng: np.random.Generator, n_trees: int, n_cols: int, max_leaves: int
) -> tuple[np.ndarray, ...]:
    """Random trees in preorder (a left child follows its parent), thresholds on a small
    grid (so rows hit them exactly), every missing type and default direction."""
    feature: list[int] = []
    right: list[int] = []
    flags: list[int] = []
    values: list[tuple[float, float]] = []
    roots: list[int] = []

    def grow(leaves: int) -> int:
        node = len(feature)
        feature.append(-1)
        right.append(-1)
        flags.append(0)
        values.append((0.0, 0.0))
        if leaves == 1:
            values[node] = (0.0, float(rng.normal()))
            return node
        n_left = int(rng.integers(1, leaves))
        thr = float(rng.choice([-1.0, -ZERO_THRESHOLD, 0.0, ZERO_THRESHOLD, 0.5, 1.0, 2.0]))
        missing = int(rng.choice([MISSING_NONE, MISSING_ZERO, MISSING_NAN]))
        feature[node] = int(rng.integers(0, n_cols))
        flags[node] = 2 * missing + int(rng.integers(0, 2))
        values[node] = (thr, 0.0)
        grow(n_left)
        right[node] = grow(leaves - n_left)
        return node

    for _ in range(n_trees):
        roots.append(grow(int(rng.integers(1, max_leaves + 1))))
    return (
        np.asarray(feature, dtype=np.int32),
        np.asarray(right, dtype=np.int32),
        np.asarray(flags, dtype=np.int32),
        np.asarray(values, dtype=np.float64),
        np.asarray(roots, dtype=np.int32),
    )


def _rows(rng: np.random.Generator, n: int, n_cols: int) -> np.ndarray:
    grid = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, *_SPECIAL])
    rows = rng.choice(grid, size=(n, n_cols))
    noisy = rng.random((n, n_cols)) < 0.3
    rows[noisy] = rng.normal(size=int(noisy.sum()))
    return rows


@pytest.mark.parametrize("max_leaves", [1, 15, 64, 65, 200])
def test_exit_leaves_equal_the_node_walk(max_leaves: int) -> None:
    rng = np.random.default_rng(max_leaves)
    n_cols = 6
    feature, right, flags, values, roots = _random_forest(rng, 40, n_cols, max_leaves)
    packed = exit_leaves(feature, right, flags, values, roots, n_cols)
    nodes = np.ascontiguousarray(np.stack([feature, right, flags], 1))
    vec = scratch(packed.ints)
    for row in _rows(rng, 400, n_cols):
        expected = walk(row, nodes, values, roots)
        assert margin(row, *packed, vec) == expected  # the same float, bit for bit


def test_exit_leaves_of_the_shipped_model_equal_the_node_walk() -> None:
    model = rs.load_model()
    trees = model.trees
    rng = np.random.default_rng(5)
    data = rs.synthetic.generate(300, prevalence=0.1, seed=5)
    columns = [rs.FEATURE_NAMES.index(name) for name in model.feature_names]
    rows = rs.extract_features(data.messages).values[:, columns]
    rows = np.vstack([rows, _rows(rng, 500, rows.shape[1])])
    vec = scratch(trees.leaves.ints)
    for row in np.ascontiguousarray(rows):
        assert margin(row, *trees.leaves, vec) == walk(row, trees.nodes, trees.values, trees.roots)
    np.testing.assert_array_equal(
        trees.margins(rows), [walk(r, trees.nodes, trees.values, trees.roots) for r in rows]
    )


@pytest.mark.parametrize("max_leaves", [1, 15, 65])
def test_max_shift_bounds_every_row_and_is_zero_exactly_when_no_split_moves(
    max_leaves: int,
) -> None:
    """Changing some columns of any row moves its margin by at most ``max_shift`` of the
    columns' values before and after, and not at all when it is 0.0 (the online scorer
    defers or skips re-scoring on it)."""
    rng = np.random.default_rng(100 + max_leaves)
    n_cols = 6
    feature, right, flags, values, roots = _random_forest(rng, 40, n_cols, max_leaves)
    packed = exit_leaves(feature, right, flags, values, roots, n_cols)
    floats = np.concatenate([packed.floats, shift_scratch(packed.ints)])
    vec = scratch(packed.ints)
    rows = _rows(rng, 600, n_cols)
    changed = _rows(rng, 600, n_cols)
    n_zero = 0
    for row, other in zip(rows, changed, strict=True):
        cols = rng.random(n_cols) < 0.3
        after = np.where(cols, other, row)
        bound = max_shift(packed.ints, floats, row, after)
        moved = margin(after, *packed, vec) - margin(row, *packed, vec)
        assert abs(moved) <= bound * (1 + 1e-12) + 1e-12, (row, after, moved, bound)
        if bound == 0.0:
            n_zero += 1
            assert moved == 0.0
            for _ in range(3):  # any other row changed the same way keeps its margin too
                base = np.where(cols, row, _rows(rng, 1, n_cols)[0])
                new = np.where(cols, after, base)
                assert margin(new, *packed, vec) == margin(base, *packed, vec)
        assert not floats[len(packed.floats) :].any()  # its scratch is left zero
    assert n_zero > 20


def test_max_shift_is_the_widest_spread_under_a_split_that_tells_the_values_apart() -> None:
    # one tree: column 0 split at 1.0 (leaves 1, 2 | 3), its left child split on column 1
    # at 0.5 (leaves 1 | 2): spreads 2.0 at the root, 1.0 below it
    feature = np.array([0, 1, -1, -1, -1], dtype=np.int32)
    right = np.array([4, 3, -1, -1, -1], dtype=np.int32)
    flags = np.zeros(5, dtype=np.int32)
    values = np.array([[1.0, 0.0], [0.5, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])
    packed = exit_leaves(feature, right, flags, values, np.array([0], dtype=np.int32), 3)
    floats = np.concatenate([packed.floats, shift_scratch(packed.ints)])

    def shift(before: list[float], after: list[float]) -> float:
        return float(max_shift(packed.ints, floats, np.array(before), np.array(after)))

    assert shift([0.2, 0.1, 5.0], [0.9, 0.4, -7.0]) == 0.0  # column 2 has no split
    assert shift([1.5, 0.1, 0.0], [2.5, 0.1, 0.0]) == 0.0
    assert shift([0.5, 0.1, 0.0], [1.5, 0.1, 0.0]) == 2.0  # crosses 1.0
    assert shift([1.0, 0.1, 0.0], [0.2, 0.1, 0.0]) == 0.0  # a value on the threshold goes left
    assert shift([0.2, 0.1, 0.0], [0.2, 0.7, 0.0]) == 1.0  # only the left child's split
    assert shift([0.2, 0.1, 0.0], [1.2, 0.7, 0.0]) == 2.0  # both: the widest, not the sum
    assert shift([0.0, 0.1, 0.0], [0.2, 0.1, 0.0]) == 2.0  # zero may go a default way
    assert shift([np.nan, 0.1, 0.0], [0.2, 0.1, 0.0]) == 2.0
    assert shift([np.nan, 0.1, 0.0], [np.nan, 0.1, 0.0]) == 0.0
