"""The portable trees of the risk model against LightGBM itself, on small models of four
features: margins to the last bit, LightGBM's missing-value rules, and reasons equal to a
brute-force Shapley computation over every subset of features.
"""

from __future__ import annotations

import math
import re

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_helpers import (
    NAN,
    SMALL_REFERENCE,
    FloatArray,
    chain_tree,
    probe_rows,
    small_booster,
    small_training_data,
    small_trees,
)

import riskscore as rs
from riskscore.model import (
    TreeEnsemble,
)
from riskscore.model.exit_leaves import exit_leaves
from riskscore.model.shapley import MAX_DEPTH, baseline_shapley, reference_path, shapley_weights

# ---------------------------------------------------------------- small LightGBM models

#: Four features: two risk-raising (monotone), one with missing values, one free.


@pytest.fixture(scope="module", params=[False, True], ids=["missing-nan", "zero-as-missing"])
def small(request: pytest.FixtureRequest) -> tuple[lgb.Booster, TreeEnsemble]:
    booster = small_booster(zero_as_missing=request.param)
    return booster, small_trees(booster)


def test_tree_ensemble_margins_equal_lightgbm_raw_scores(
    small: tuple[lgb.Booster, TreeEnsemble],
) -> None:
    booster, trees = small
    assert trees.n_trees == booster.num_trees()
    X, _ = small_training_data(1)
    for rows in (X, probe_rows(trees, 2)):
        expected = booster.predict(rows, raw_score=True)
        np.testing.assert_allclose(trees.margins(rows), expected, rtol=0, atol=1e-12)


def test_values_within_lightgbms_zero_threshold_count_as_zero() -> None:
    # LightGBM reads |x| <= 1e-35 (kZeroThreshold) as zero, so with zero_as_missing such a
    # value takes the missing (default) branch, as 0.0 does.
    booster = small_booster(zero_as_missing=True)
    trees = small_trees(booster)
    tiny = np.array([[1e-36, -1e-36, 1e-40, 2.3e-147], [0.0, 0.0, 0.0, 1e-35], [5e-324] * 4])
    np.testing.assert_allclose(
        trees.margins(tiny), booster.predict(tiny, raw_score=True), rtol=0, atol=1e-12
    )


def test_the_missing_value_rules_of_lightgbm_are_all_exercised(
    small: tuple[lgb.Booster, TreeEnsemble],
) -> None:
    # The dump of the model with missing ages has NaN-aware splits (missing type 2), the
    # zero-as-missing one has type 1; both have ordinary ones. Otherwise the margin test
    # above would not cover the three rules.
    _, trees = small
    split = trees.feature >= 0
    assert set(np.unique(trees.missing[split]).tolist()) & {1, 2}


# ---------------------------------------------------------------- exact reasons


def brute_force_shapley(trees: TreeEnsemble, x: FloatArray) -> FloatArray:
    """Shapley values of the game v(S) = margin of (x on S, the reference elsewhere), by
    enumerating every subset (the margins themselves are checked against LightGBM above)."""
    n = len(x)
    subsets = np.array([[(mask >> j) & 1 for j in range(n)] for mask in range(2**n)], dtype=bool)
    value = trees.margins(np.where(subsets, x, trees.reference))
    phi = np.zeros(n)
    for j in range(n):
        for mask in range(2**n):
            if (mask >> j) & 1:
                continue
            size = bin(mask).count("1")
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            phi[j] += weight * (value[mask | (1 << j)] - value[mask])
    return phi


def feature_values(j: int) -> st.SearchStrategy[float]:
    base = st.floats(-1.0, 80.0, allow_nan=False)
    specials = st.sampled_from([NAN, 0.0, 0.5, 1.0, 13.0, 15.5])
    return st.one_of(base, specials) if j == 2 else st.one_of(base, st.sampled_from([0.0, 0.5]))


ROWS = st.tuples(*(feature_values(j) for j in range(4))).map(np.array)


@settings(max_examples=80, deadline=None, database=None)
@given(x=ROWS, zero_as_missing=st.booleans())
def test_contributions_equal_brute_force_shapley(x: FloatArray, zero_as_missing: bool) -> None:
    trees = small_trees(small_booster(zero_as_missing=zero_as_missing))
    got = trees.contributions(x[None, :])[0]
    expected = brute_force_shapley(trees, x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    # efficiency: they add up to margin(x) - margin(reference)
    margins = trees.margins(np.vstack([x, SMALL_REFERENCE]))
    assert got.sum() == pytest.approx(margins[0] - margins[1], abs=1e-10)


def test_contributions_of_the_reference_itself_are_zero(
    small: tuple[lgb.Booster, TreeEnsemble],
) -> None:
    _, trees = small
    assert trees.contributions(SMALL_REFERENCE[None, :]).tolist() == [[0.0] * 4]


def test_contributions_on_many_rows_equal_brute_force(
    small: tuple[lgb.Booster, TreeEnsemble],
) -> None:
    _, trees = small
    rows = probe_rows(trees, 5)[:60]
    got = trees.contributions(rows)
    for i, x in enumerate(rows):
        np.testing.assert_allclose(got[i], brute_force_shapley(trees, x), rtol=0, atol=1e-10)


def test_the_uncompiled_reasons_kernel_is_the_compiled_one_bit_for_bit() -> None:
    # The kernel's Python source is the reference (NUMBA_DISABLE_JIT=1 runs it): on the
    # shipped model's trees and rows with missing, zero and tiny values, the compiled and
    # the uncompiled walk give the same floats, and so does the reference's path.
    trees = rs.load_model().trees
    rng = np.random.default_rng(7)
    rows = rng.choice([NAN, 0.0, 1e-40, 0.3, 1.0, 2.0, 9.0, 14.0, 40.0], (12, len(trees.reference)))
    splits = (
        trees.feature, trees.threshold, trees.left, trees.right, trees.default_left,
        trees.missing,
    )  # fmt: skip
    np.testing.assert_array_equal(
        reference_path.py_func(trees.reference, trees.nodes, trees.values), trees.reference_next
    )
    weights = shapley_weights(MAX_DEPTH)
    outputs = []
    for kernel in (baseline_shapley, baseline_shapley.py_func):
        out = np.empty(rows.shape)
        kernel(rows, trees.reference_next, *splits, trees.leaf_value, trees.roots, weights, out)
        outputs.append(out)
    assert outputs[0].tobytes() == outputs[1].tobytes()
    np.testing.assert_array_equal(outputs[0], trees.contributions(rows))


def test_trees_as_deep_as_allowed_score_and_explain() -> None:
    trees = TreeEnsemble.from_dict(chain_tree(64))
    assert trees.depth() == 64
    x = np.array([[0.999]])  # passes the first split's threshold 1.0, leaves at the second
    margins = trees.margins(np.vstack([x, [[0.0]]]))
    np.testing.assert_allclose(trees.contributions(x)[0], [margins[0] - margins[1]], atol=1e-12)


def test_packed_trees_are_built_once_per_columns_and_width() -> None:
    """Was: every OnlineScorer of a model packed its trees again, walking every split in
    Python (47 ms a scorer for the shipped trees of 63 leaves, 3 ms with the packing kept)."""
    trees = rs.load_model().trees
    columns = np.arange(len(trees.feature_names), dtype=np.int64)[::-1].copy()
    first = trees.packed(columns, len(columns) + 2)
    assert trees.packed(columns.copy(), len(columns) + 2) is first
    assert trees.packed(columns, len(columns) + 3) is not first
    split = trees.feature >= 0
    feature = trees.feature.copy()
    feature[split] = columns[feature[split]]
    fresh = exit_leaves(feature, trees.right, trees.nodes[:, 2], trees.values, trees.roots,
                        len(columns) + 2)  # fmt: skip
    for kept, built in zip(first, fresh, strict=True):
        np.testing.assert_array_equal(kept, built)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("feature", True, "'feature'[3] must be an integer, got True"),
        ("left", 1.0, "'left'[3] must be an integer, got 1.0"),
        ("threshold", False, "'threshold'[3] must be a number, got False"),
        ("default_left", 1, "'default_left'[3] must be true or false, got 1"),
    ],
)
def test_a_tree_array_element_of_another_type_is_named(
    key: str, value: object, message: str
) -> None:
    """The arrays are checked by the set of their element types first (one fast pass over
    parsed JSON); an element of another type, a bool among integers included, is still
    refused with its key, position and value."""
    data = rs.load_model().trees.to_dict()
    data[key] = list(data[key])
    data[key][3] = value
    with pytest.raises(rs.ModelIntegrityError, match=re.escape(message)):
        TreeEnsemble.from_dict(data)
