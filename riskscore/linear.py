"""Portable parameters of the calibrated linear risk model, and scoring with them.

This is the form a model takes outside scikit-learn: plain arrays that load
without unpickling and score a batch with a few vectorized numpy operations
(or one conversation in microseconds). The fitted scikit-learn estimator gives
the same probabilities; ``tests/test_model.py`` checks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import ModelIntegrityError

__all__ = ["LinearParams"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class LinearParams:
    """Standardized logistic regression followed by Platt (sigmoid) calibration.

    The risk of a feature row ``x`` is computed as::

        u = log1p(max(x, 0)) where log_scale else x
        u = impute where u is NaN
        z = (u - mean) / scale
        logit = z @ coef + intercept
        risk = 1 / (1 + exp(calib_a * logit + calib_b))

    Attributes
    ----------
    feature_names : tuple of str
        Features the model expects, in order.
    log_scale, impute, mean, scale, coef : array of shape (n_features,)
        Per-feature transform and weights.
    intercept, calib_a, calib_b : float
        Intercept and Platt calibration parameters.
    """

    feature_names: tuple[str, ...]
    log_scale: npt.NDArray[np.bool_]
    impute: FloatArray
    mean: FloatArray
    scale: FloatArray
    coef: FloatArray
    intercept: float
    calib_a: float
    calib_b: float

    def standardize(self, values: FloatArray) -> FloatArray:
        """Standardized model inputs, array of shape (n, n_features)."""
        logged = np.flatnonzero(self.log_scale)  # the logarithm only where it is used
        u = np.array(values, dtype=np.float64)
        u[..., logged] = np.log1p(np.maximum(u[..., logged], 0.0))
        u = np.where(np.isnan(u), self.impute, u)
        z: FloatArray = (u - self.mean) / self.scale
        return z

    def contributions(self, values: FloatArray) -> FloatArray:
        """Each feature's push on the calibrated log-odds, relative to an average
        training conversation; array of shape (n, n_features). Positive raises risk."""
        return self._contributions(self.standardize(values))

    def predict_proba(self, values: FloatArray) -> FloatArray:
        """Calibrated risk, array of shape (n,)."""
        return self._risk(self.standardize(values))

    def risk_and_contributions(self, values: FloatArray) -> tuple[FloatArray, FloatArray]:
        """:meth:`predict_proba` and :meth:`contributions`, standardizing only once."""
        z = self.standardize(values)
        return self._risk(z), self._contributions(z)

    def _contributions(self, z: FloatArray) -> FloatArray:
        out: FloatArray = z * (-self.calib_a * self.coef)
        return out

    def _risk(self, z: FloatArray) -> FloatArray:
        logit = z @ self.coef + self.intercept
        # Same formula as predict_one, so batch and online agree to the last bit or so.
        out: FloatArray = 1.0 / (
            1.0 + np.exp(np.minimum(700.0, self.calib_a * logit + self.calib_b))
        )
        return out

    def predict_one(self, row: FloatArray) -> float:
        """Calibrated risk of one feature row (the online fast path)."""
        z = self.standardize(row)
        logit = float(z @ self.coef) + self.intercept
        return 1.0 / (1.0 + math.exp(min(700.0, self.calib_a * logit + self.calib_b)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (floats round-trip exactly through JSON)."""
        return {
            "kind": "standardized_logistic_platt",
            "feature_names": list(self.feature_names),
            "log_scale": [bool(v) for v in self.log_scale],
            "impute": [float(v) for v in self.impute],
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
            "coef": [float(v) for v in self.coef],
            "intercept": float(self.intercept),
            "calib_a": float(self.calib_a),
            "calib_b": float(self.calib_b),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearParams:
        """Parameters from :meth:`to_dict` output, checked for shape and finiteness."""
        try:
            if data["kind"] != "standardized_logistic_platt":
                raise ModelIntegrityError(f"unknown model kind {data['kind']!r}")
            names = tuple(str(n) for n in data["feature_names"])
            arrays = {
                key: np.asarray(data[key], dtype=np.float64)
                for key in ("impute", "mean", "scale", "coef")
            }
            params = cls(
                feature_names=names,
                log_scale=np.asarray(data["log_scale"], dtype=bool),
                intercept=float(data["intercept"]),
                calib_a=float(data["calib_a"]),
                calib_b=float(data["calib_b"]),
                **arrays,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelIntegrityError(f"model parameters are malformed: {exc}") from exc
        for key, arr in (("log_scale", params.log_scale), *arrays.items()):
            if arr.shape != (len(names),):
                raise ModelIntegrityError(
                    f"model parameter {key!r} has shape {arr.shape}, expected ({len(names)},)"
                )
        finite = all(np.isfinite(a).all() for a in arrays.values())
        if not finite or not np.all(params.scale > 0):
            raise ModelIntegrityError("model parameters hold non-finite values or zero scales")
        return params
