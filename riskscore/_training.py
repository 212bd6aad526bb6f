"""Fitting the scikit-learn estimator and reading its portable parameters (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from riskscore.exceptions import SchemaError
from riskscore.feature_specs import FEATURES
from riskscore.features import FeatureTable
from riskscore.linear import LinearParams
from riskscore.model import RiskModel

FloatArray = npt.NDArray[np.float64]
MIN_POSITIVES = 10


def log1p_columns(x: FloatArray, columns: npt.NDArray[np.bool_]) -> FloatArray:
    """``log1p`` of the flagged columns (negative values clipped to 0), others unchanged."""
    x = np.asarray(x, dtype=np.float64)
    out: FloatArray = np.where(columns, np.log1p(np.maximum(x, 0.0)), x)
    return out


def adult_folds(
    adult_id: npt.NDArray[Any], y: npt.NDArray[np.bool_], n_splits: int, seed: int
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Stratified folds grouped by adult account: the same adult never sits on both sides.

    Shared by every model calibrated out of fold, so they all see the same folds.
    """
    _, groups = np.unique(adult_id, return_inverse=True)
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros((len(y), 1)), y, groups.reshape(-1)))


def build_pipeline(log_scale: npt.NDArray[np.bool_], C: float) -> Pipeline:
    """The uncalibrated estimator: log scale, impute unknown ages, standardize, regress."""
    return Pipeline(
        [
            ("log", FunctionTransformer(log1p_columns, kw_args={"columns": log_scale})),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=C, max_iter=2000)),
        ]
    )


def fit_calibrated(
    features: FeatureTable,
    y: npt.NDArray[np.bool_],
    *,
    seed: int,
    C: float,
    n_splits: int,
) -> RiskModel:
    n_pos = int(y.sum())
    if n_pos < MIN_POSITIVES or len(y) - n_pos < MIN_POSITIVES:
        raise SchemaError(
            f"training needs at least {MIN_POSITIVES} grooming and {MIN_POSITIVES} benign "
            f"conversations; got {n_pos} and {len(y) - n_pos}. Generate more data or raise "
            "the prevalence."
        )
    spec = {s.name: s for s in FEATURES}
    log_scale = np.array([spec[n].log_scale for n in features.names], dtype=bool)
    X = features.values
    calibrated = CalibratedClassifierCV(
        build_pipeline(log_scale, C),
        method="sigmoid",
        cv=adult_folds(features.adult_id, y, n_splits, seed),
        ensemble=False,
    )
    calibrated.fit(X, y)
    params = portable_params(calibrated, X, features.names, log_scale)
    metadata = {
        "estimator": "StandardScaler + LogisticRegression, Platt-calibrated (out-of-fold)",
        "training": {
            "n_conversations": len(y),
            "n_grooming": n_pos,
            "prevalence": n_pos / len(y),
            "seed": seed,
            "C": C,
            "n_splits": n_splits,
        },
        "sklearn_version": sklearn.__version__,
    }
    return RiskModel(params, metadata=metadata, estimator=calibrated)


def portable_params(
    calibrated: Any, X: FloatArray, names: tuple[str, ...], log_scale: npt.NDArray[np.bool_]
) -> LinearParams:
    """Read plain arrays off the fitted estimator, and check they reproduce it exactly."""
    # With ensemble=False there is one (estimator, calibrator) pair, fitted on all data.
    pipeline: Pipeline = calibrated.calibrated_classifiers_[0].estimator
    imputer: SimpleImputer = pipeline.named_steps["impute"]
    scaler: StandardScaler = pipeline.named_steps["scale"]
    clf: LogisticRegression = pipeline.named_steps["clf"]
    # Platt's a and b through public outputs only: logit(p) = -(a * f + b).
    f = pipeline.decision_function(X)
    p = calibrated.predict_proba(X)[:, 1]
    usable = (p > 1e-12) & (p < 1 - 1e-12)  # away from saturation the logit is exact
    target = np.log(p[usable]) - np.log1p(-p[usable])
    design = np.column_stack([f[usable], np.ones(int(usable.sum()))])
    (slope, offset), *_ = np.linalg.lstsq(design, target, rcond=None)
    params = LinearParams(
        feature_names=tuple(names),
        log_scale=log_scale,
        impute=np.asarray(imputer.statistics_, dtype=np.float64),
        mean=np.asarray(scaler.mean_, dtype=np.float64),
        scale=np.asarray(scaler.scale_, dtype=np.float64),
        coef=np.asarray(clf.coef_[0], dtype=np.float64),
        intercept=float(clf.intercept_[0]),
        calib_a=float(-slope),
        calib_b=float(-offset),
    )
    gap = float(np.max(np.abs(params.predict_proba(X) - calibrated.predict_proba(X)[:, 1])))
    if gap > 1e-9:
        raise RuntimeError(f"portable parameters disagree with scikit-learn by {gap:.3g}")
    return params
