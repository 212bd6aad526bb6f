"""The candidate models the default was chosen from, by its worst world.

Each :class:`Candidate` fits on the same training worlds and returns a scorer
(``FeatureTable -> score``); ``benchmarks/robustness.py`` measures every one on the
same unseen worlds and the model card shows the table. The default is the eligible
candidate with the best worst-world PR-AUC; a candidate is eligible when its reasons
are exact, it loads without unpickling, it scores one event online in microseconds,
and no constrained input moves risk against the direction ``docs/features.md`` gives it
(reasons name the others only on their risk side).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

from riskscore.features import FEATURE_NAMES, FeatureTable
from riskscore.features.registry import FEATURE_SPECS
from riskscore.model.training import (
    MODEL_INPUTS,
    TREE_PARAMS,
    capped,
    fit_risk_model,
    lightgbm_classifier,
    monotone_constraints,
)

__all__ = ["CANDIDATES", "Candidate"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
#: A fitted candidate: probabilities of grooming (uncalibrated: the comparison ranks them,
#: and the evaluation it runs through measures probabilities, never raw margins).
Scorer = Callable[[FeatureTable], FloatArray]
#: Pure volume: no direction, so no sign-constrained weight (the span lowers risk only).
_VOLUME: Final = ("n_events", "recent_rate_per_day")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model family in the comparison.

    Attributes
    ----------
    name : str
        Short name.
    description : str
        What it is.
    eligible : bool
        Whether it can be the default (see the module docstring).
    why_not : str
        Why it cannot, when it cannot.
    fit : callable
        ``(features, y, groups, seed) -> scorer``.
    """

    name: str
    description: str
    eligible: bool
    why_not: str
    fit: Callable[[FeatureTable, BoolArray, npt.NDArray[Any], int], Scorer]


def _inputs(table: FeatureTable, names: Sequence[str]) -> FloatArray:
    """The columns ``names`` of ``table`` as every candidate reads them: capped
    (:data:`~riskscore.model.training.INPUT_CAPS`)."""
    return capped(table.values[:, table.positions(names)], names)


def _linear_design(values: FloatArray, names: Sequence[str]) -> FloatArray:
    """log1p of heavy-tailed counts, unknown ages as 0 (their known-flags carry the rest)."""
    out = np.array(values, dtype=np.float64)
    for j, name in enumerate(names):
        if FEATURE_SPECS[name].log_scale:
            out[:, j] = np.log1p(np.maximum(out[:, j], 0.0))
    return np.nan_to_num(out, nan=0.0)


def _fit_logistic(names: Sequence[str], signs: Sequence[int]) -> Callable[..., Scorer]:
    """Standardized logistic regression with an L2 penalty; a weight may be bounded to the
    sign its feature's direction gives (0: free). Fitted with L-BFGS-B."""

    def fit(features: FeatureTable, y: BoolArray, groups: Any, seed: int) -> Scorer:
        X = _linear_design(_inputs(features, names), names)
        mean, scale = X.mean(axis=0), X.std(axis=0)
        scale[scale == 0] = 1.0
        Z = (X - mean) / scale  # noqa: N806 (scikit-learn's name for a design matrix)
        t = y.astype(np.float64)
        penalty = 1.0 / len(y)

        def loss(w: FloatArray) -> tuple[float, FloatArray]:
            logit = Z @ w[1:] + w[0]
            p = 1.0 / (1.0 + np.exp(-logit))
            nll = np.sum(np.logaddexp(0.0, logit) - t * logit) / len(y)
            grad = np.concatenate([[np.mean(p - t)], Z.T @ (p - t) / len(y)])
            grad[1:] += penalty * w[1:]
            return float(nll + 0.5 * penalty * w[1:] @ w[1:]), grad

        bounds = [(None, None)] + [
            (0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs
        ]
        w = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", bounds=bounds).x

        def score(table: FeatureTable) -> FloatArray:
            z = (_linear_design(_inputs(table, names), names) - mean) / scale
            out: FloatArray = expit(z @ w[1:] + w[0])
            return out

        return score

    return fit


def _fit_lightgbm(
    names: Sequence[str], monotone: bool, additive: bool, *, every_direction: bool = False
) -> Callable[..., Scorer]:
    def fit(features: FeatureTable, y: BoolArray, groups: Any, seed: int) -> Scorer:
        extra: dict[str, Any] = {}
        if every_direction:
            extra["monotone_constraints"] = [FEATURE_SPECS[n].direction for n in names]
        elif monotone:
            extra["monotone_constraints"] = monotone_constraints(names)
        if additive:
            extra["interaction_constraints"] = [[j] for j in range(len(names))]
        model = lightgbm_classifier()(random_state=seed, **TREE_PARAMS, **extra)
        model.fit(_inputs(features, names), y)

        def score(table: FeatureTable) -> FloatArray:
            out: FloatArray = expit(model.predict(_inputs(table, names), raw_score=True))
            return out

        return score

    return fit


def _fit_default(features: FeatureTable, y: BoolArray, groups: Any, seed: int) -> Scorer:
    model = fit_risk_model(features, y, groups=groups, seed=seed)
    return model.predict_proba


_LINEAR_FREE: Final = tuple(n for n in FEATURE_NAMES)
_LINEAR_SIGNED: Final = tuple(n for n in FEATURE_NAMES if n not in _VOLUME)

#: The candidates, in the order of the comparison table.
CANDIDATES: Final[tuple[Candidate, ...]] = (
    Candidate(
        "logistic_regression",
        "logistic regression on all features (the previous default's family)",
        False,
        "fitted weights can contradict the features' stated direction; volume features can "
        "carry an alert alone",
        _fit_logistic(_LINEAR_FREE, [0] * len(_LINEAR_FREE)),
    ),
    Candidate(
        "sign_constrained_logistic",
        "logistic regression whose weights follow each feature's direction; no volume features",
        True,
        "",
        _fit_logistic(_LINEAR_SIGNED, [FEATURE_SPECS[n].direction for n in _LINEAR_SIGNED]),
    ),
    Candidate(
        "additive_monotone_trees",
        "additive model: one monotone shape function per input (boosted trees, one "
        "feature per tree, as in an explainable boosting machine)",
        True,
        "",
        _fit_lightgbm(MODEL_INPUTS, monotone=True, additive=True),
    ),
    Candidate(
        "fully_monotone_boosted_trees",
        "gradient-boosted trees, monotone in every behavioural input (the default's inputs "
        "and settings)",
        True,
        "",
        _fit_lightgbm(MODEL_INPUTS, monotone=True, additive=False, every_direction=True),
    ),
    Candidate(
        "monotone_boosted_trees",
        "gradient-boosted trees, monotone in every behavioural input whose meaning does not "
        "depend on context (the default's family)",
        True,
        "",
        _fit_default,
    ),
    Candidate(
        "unconstrained_boosted_trees",
        "gradient-boosted trees on all features, no constraints",
        False,
        "free to learn a world's accidents: length and volume can carry an alert, a "
        "risk-raising feature can lower risk",
        _fit_lightgbm(FEATURE_NAMES, monotone=False, additive=False),
    ),
)
