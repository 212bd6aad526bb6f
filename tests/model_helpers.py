"""What the tests of the risk model share: small LightGBM models on four features (fitted
here, to check the portable trees against LightGBM itself), a chain-shaped tree of any
depth, and the synthetic data and trained model of the trained-model tests.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

import riskscore as rs
from riskscore.features import FEATURES
from riskscore.model import (
    RiskModel,
    TreeEnsemble,
)

FloatArray = npt.NDArray[np.float64]
SPECS = {spec.name: spec for spec in FEATURES}
NAN = math.nan


def logit(p: FloatArray) -> FloatArray:
    out: FloatArray = np.log(p) - np.log1p(-p)
    return out


SMALL_NAMES = ("child_night_share", "adult_media_rate", "child_age", "adult_message_share")
SMALL_REFERENCE = np.array([0.0, 0.0, NAN, 0.5])


def small_training_data(seed: int) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    rng = np.random.default_rng(seed)
    n = 1500
    X = np.column_stack(
        [
            rng.uniform(0, 1, n),
            np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0, 0.5, n)),  # many exact zeros
            np.where(rng.random(n) < 0.25, NAN, rng.integers(5, 60, n).astype(float)),
            rng.uniform(0, 1, n),
        ]
    )
    age = np.nan_to_num(X[:, 2], nan=30.0)
    z = 3 * X[:, 0] + 4 * X[:, 1] + (age < 16) * 1.5 - 2 * np.abs(X[:, 3] - 0.5) - 2.0
    y = rng.random(n) < 1 / (1 + np.exp(-z))
    return X, y


@functools.cache
def small_booster(*, zero_as_missing: bool = False, seed: int = 0) -> lgb.Booster:
    X, y = small_training_data(seed)
    params = {
        "objective": "binary",
        "num_leaves": 8,
        "learning_rate": 0.3,
        "min_data_in_leaf": 10,
        "monotone_constraints": [1, 1, 0, 0],
        "zero_as_missing": zero_as_missing,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "seed": seed,
        "verbose": -1,
    }
    return lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=12)


def small_trees(booster: lgb.Booster) -> TreeEnsemble:
    return TreeEnsemble.from_lightgbm_dump(booster.dump_model(), SMALL_NAMES, SMALL_REFERENCE)


def thresholds(trees: TreeEnsemble, j: int) -> FloatArray:
    return np.unique(trees.threshold[trees.feature == j])


def probe_rows(trees: TreeEnsemble, seed: int) -> FloatArray:
    """Rows that sit on, just below and just above every threshold, with NaNs and zeros."""
    rng = np.random.default_rng(seed)
    columns = []
    for j in range(len(SMALL_NAMES)):
        cuts = thresholds(trees, j)
        special = np.concatenate(
            [cuts, np.nextafter(cuts, -np.inf), np.nextafter(cuts, np.inf), [NAN, 0.0, -1.0, 1e9]]
        )
        columns.append(rng.choice(special, 400))
    return np.column_stack(columns)


def chain_tree(depth: int, names: tuple[str, ...] = ("child_night_share",)) -> dict[str, Any]:
    """One tree of ``depth`` splits in a chain, in preorder: split i goes left to split
    i + 1 (the next node); the last split's left leaf, then the right leaves, deepest first."""
    n_nodes = 2 * depth + 1
    feature = [-1] * n_nodes
    left = [-1] * n_nodes
    right = [-1] * n_nodes
    threshold = [0.0] * n_nodes
    leaf = [0.0] * n_nodes
    for i in range(depth):
        feature[i] = 0
        threshold[i] = 1.0 - i / (depth + 1)  # decreasing: x <= t goes deeper
        left[i] = i + 1
        right[i] = 2 * depth - i
        leaf[2 * depth - i] = 0.01 * (i + 1)
    leaf[depth] = -1.0
    return {
        "feature_names": list(names),
        "reference": [0.0] * len(names),
        "roots": [0],
        "feature": feature,
        "threshold": threshold,
        "left": left,
        "right": right,
        "default_left": [True] * n_nodes,
        "missing": [0] * n_nodes,
        "leaf_value": leaf,
    }


def training_data() -> rs.synthetic.SyntheticData:
    """The synthetic conversations of the trained-model tests (3,000, 5 % grooming)."""
    return rs.synthetic.generate(3000, prevalence=0.05, seed=11)


def trained_model(data: rs.synthetic.SyntheticData) -> RiskModel:
    """The model those tests train on :func:`training_data`."""
    return rs.train(data.messages, data.labels, seed=3)
