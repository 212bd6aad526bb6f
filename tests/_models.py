"""Hand-built risk models for tests: trees whose output a test can predict.

A *stump* model is a sum of one-split trees (``value`` when ``feature > threshold``),
plus a constant tree, with ``risk = sigmoid(margin)``. It reads every feature of the
registry, so any feature that differs between two code paths moves its score.
"""

from __future__ import annotations

import numpy as np

import riskscore as rs
from riskscore.model import Platt, TreeEnsemble
from riskscore.model.trees import MISSING_NAN

#: Plausible split points per unit, so random stumps fall inside each feature's range.
_RANGES = {
    "years": (8.0, 40.0),
    "0/1": (0.5, 0.5),
    "events": (0.5, 30.0),
    "hours": (0.5, 100.0),
    "fraction": (0.02, 0.7),
    "share of evidence": (0.02, 0.7),
    "recent share": (0.02, 0.7),
    "share toward half": (0.02, 0.7),
    "messages": (0.5, 6.0),
    "events/day": (0.5, 20.0),
    "times": (0.3, 3.0),
    "links or handles": (0.5, 30.0),
    "blocks or reports": (0.5, 30.0),
    "per minor contacted": (0.3, 3.0),
    "level 0-5": (0.5, 4.5),
    "channels": (1.5, 3.5),
    "moves": (0.5, 2.5),
    "exp(-days)": (0.05, 0.95),
    "accounts": (0.5, 4.5),
    "minors": (0.5, 4.5),
    "requests": (0.5, 3.5),
}


def stump_model(
    intercept: float, stumps: list[tuple[str, float, float]], *, nan_left: bool = True
) -> rs.RiskModel:
    """``risk = sigmoid(intercept + sum of value for (feature, threshold, value) where
    feature > threshold)``; an unknown (NaN) value goes left (adds nothing) by default."""
    names = rs.FEATURE_NAMES
    feature, threshold, left, right, default_left, missing, leaf, roots = ([] for _ in range(8))

    def node(f: int, t: float, lft: int, rgt: int, value: float) -> None:
        feature.append(f)
        threshold.append(t)
        left.append(lft)
        right.append(rgt)
        default_left.append(nan_left)
        missing.append(MISSING_NAN)
        leaf.append(value)

    roots.append(0)
    node(-1, 0.0, -1, -1, intercept)
    for name, cut, value in stumps:
        i = len(feature)
        roots.append(i)
        node(names.index(name), cut, i + 1, i + 2, 0.0)
        node(-1, 0.0, -1, -1, 0.0)
        node(-1, 0.0, -1, -1, value)
    reference = np.array([spec.reference for spec in rs.FEATURES])
    trees = TreeEnsemble(
        feature_names=names,
        feature=np.asarray(feature, dtype=np.int32),
        threshold=np.asarray(threshold, dtype=np.float64),
        left=np.asarray(left, dtype=np.int32),
        right=np.asarray(right, dtype=np.int32),
        default_left=np.asarray(default_left, dtype=bool),
        missing=np.asarray(missing, dtype=np.int8),
        leaf_value=np.asarray(leaf, dtype=np.float64),
        roots=np.asarray(roots, dtype=np.int32),
        reference=reference,
    )
    return rs.RiskModel(trees, Platt(a=-1.0, b=0.0, prevalence=0.5))


def random_model(seed: int, *, per_feature: int = 3, scale: float = 0.4) -> rs.RiskModel:
    """Stumps on every feature at random split points inside its range: any feature
    mismatch between two code paths moves the score."""
    rng = np.random.default_rng(seed)
    stumps = []
    for spec in rs.FEATURES:
        low, high = _RANGES[spec.unit]
        for _ in range(per_feature):
            stumps.append((spec.name, float(rng.uniform(low, high)), float(rng.normal() * scale)))
    return stump_model(-1.0, stumps, nan_left=bool(rng.random() < 0.5))


def with_stumps(model: rs.RiskModel, stumps: list[tuple[str, float, float]]) -> rs.RiskModel:
    """``model`` (a stump model) with more stumps added."""
    extra = stump_model(0.0, stumps)
    t, e = model.trees, extra.trees
    offset = len(t.feature)

    def shift(a: np.ndarray) -> np.ndarray:
        return np.where(a >= 0, a + offset, a)

    trees = TreeEnsemble(
        feature_names=t.feature_names,
        feature=np.concatenate([t.feature, e.feature]),
        threshold=np.concatenate([t.threshold, e.threshold]),
        left=np.concatenate([t.left, shift(e.left)]).astype(np.int32),
        right=np.concatenate([t.right, shift(e.right)]).astype(np.int32),
        default_left=np.concatenate([t.default_left, e.default_left]),
        missing=np.concatenate([t.missing, e.missing]),
        leaf_value=np.concatenate([t.leaf_value, e.leaf_value]),
        roots=np.concatenate([t.roots, e.roots + offset]).astype(np.int32),
        reference=t.reference,
    )
    return rs.RiskModel(trees, model.calibration)


def counting_model(intercept: float, *, max_count: int = 20, **weights: float) -> rs.RiskModel:
    """``risk = sigmoid(intercept + sum of weight * min(x, max_count))`` for whole-number
    features (one stump at each of 0.5, 1.5, ...), so a test can place a conversation near
    a threshold by its counts."""
    stumps = [(name, k + 0.5, weight) for name, weight in weights.items() for k in range(max_count)]
    return stump_model(intercept, stumps)


def shifted(model: rs.RiskModel, log_odds: float) -> rs.RiskModel:
    """``model`` with every risk's log-odds raised by ``log_odds``."""
    c = model.calibration
    return rs.RiskModel(model.trees, Platt(a=c.a, b=c.b - log_odds, prevalence=c.prevalence))
