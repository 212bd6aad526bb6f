"""Platt calibration of a raw score, and the shift to another prevalence.

``risk = 1 / (1 + exp(a * margin + b))``: two parameters, stable with few positive
examples (isotonic calibration overfits when grooming is 1 in 100 or rarer), fitted
on out-of-fold margins. Probabilities are calibrated at the prevalence of the data
they were fitted on; :meth:`Platt.at_prevalence` moves them to another one by
shifting the log-odds (Bayes' rule under a change of class prior only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from riskscore._checks import (
    MIN_PREVALENCE,
    check_prevalence,
    is_prevalence,
    is_real,
    unknown_keys_problem,
)
from riskscore._jit_cache import jit_cache_on_disk
from riskscore.exceptions import ModelIntegrityError

__all__ = ["Platt", "platt_risk"]

#: Largest calibration slope or offset accepted (fitted ones are a few units).
_MAX_PARAMETER = 1e6
#: Smallest size of the slope accepted: fitted slopes are near 1, and below about 1e-12
#: ``a * margin`` no longer moves ``a * margin + b`` by one float step, so every margin
#: gets the same risk (and reasons, scaled by the slope, vanish).
_MIN_SLOPE = 1 / _MAX_PARAMETER

FloatArray = npt.NDArray[np.float64]


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def platt_risk(a: float, b: float, margin: float) -> float:
    """``1 / (1 + exp(min(700, a * margin + b)))``: the one formula of the calibrated risk,
    compiled, for batch, online and Spark alike. It takes the C library's ``exp``, as
    Python's ``math.exp`` does: NumPy's ``np.exp`` has its own SIMD versions, chosen by the
    machine's CPU, that differ from it in the last bit (on AVX-512 machines), and online
    and batch risks are equal to the last bit on every machine."""
    return 1.0 / (1.0 + math.exp(min(700.0, a * margin + b)))


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _platt_risks(a: float, b: float, margin: FloatArray, out: FloatArray) -> None:
    for i in range(margin.shape[0]):
        out[i] = platt_risk(a, b, margin[i])


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


@dataclass(frozen=True, slots=True)
class Platt:
    """``risk = 1 / (1 + exp(a * margin + b))``, calibrated at ``prevalence``.

    Attributes
    ----------
    a, b : float
        Slope (negative: a higher margin is a higher risk) and offset.
    prevalence : float
        Share of positives the probabilities are calibrated for.
    """

    a: float
    b: float
    prevalence: float

    def __post_init__(self) -> None:
        # A fitted slope and offset are a few units; far larger ones are corruption.
        if (
            not (abs(self.a) < _MAX_PARAMETER and abs(self.b) < _MAX_PARAMETER)
            # The range check_prevalence allows: at 1e-320 the logit is -736 and a shift
            # to another prevalence moves the offset far beyond any fitted one.
            or not is_prevalence(self.prevalence)
        ):
            raise ModelIntegrityError(
                f"calibration parameters must be finite numbers below {_MAX_PARAMETER:g} in "
                f"size with prevalence from {MIN_PREVALENCE:g} to 1 - {MIN_PREVALENCE:g}, "
                f"got {self}"
            )

    @classmethod
    def fit(cls, margin: FloatArray, y: npt.NDArray[np.bool_]) -> Platt:
        """Fit on (out-of-fold) margins and labels; calibrated at the labels' prevalence."""
        # Imported here, not at the top: scoring never fits, and scikit-learn costs about a
        # second of every command's start-up.
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
        return cls(
            a=-float(model.coef_[0, 0]),
            b=-float(model.intercept_[0]),
            prevalence=float(np.mean(y)),
        )

    def at_prevalence(self, prevalence: float) -> Platt:
        """The same calibration moved to another prevalence (shifted log-odds); ValueError
        for a prevalence outside :func:`~riskscore._checks.check_prevalence`'s range."""
        prevalence = check_prevalence("prevalence", prevalence)
        shift = _logit(prevalence) - _logit(self.prevalence)
        return Platt(a=self.a, b=self.b - shift, prevalence=prevalence)

    def risk(self, margin: FloatArray) -> FloatArray:
        """Calibrated probability for each margin."""
        given = np.asarray(margin, dtype=np.float64)
        flat = np.ascontiguousarray(given).reshape(-1)
        out: FloatArray = np.empty_like(flat)
        _platt_risks(float(self.a), float(self.b), flat, out)
        return out.reshape(given.shape)

    def risk_one(self, margin: float) -> float:
        """Calibrated probability of one margin (same formula as :meth:`risk`)."""
        return float(platt_risk(float(self.a), float(self.b), float(margin)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {"a": self.a, "b": self.b, "prevalence": self.prevalence}

    @classmethod
    def from_dict(cls, data: Any) -> Platt:
        """Parameters from :meth:`to_dict`.

        Raises
        ------
        ModelIntegrityError
            Malformed parameters, or a slope ``a`` that is not negative: risk would then
            fall (or stay flat) as the margin rises, so a signal could lower it; or one
            closer to 0 than ``-1e-6`` (fitted slopes are near -1), which gives every
            conversation the same risk.
        """
        try:
            values = {key: data[key] for key in ("a", "b", "prevalence")}
        except (KeyError, TypeError) as exc:
            raise ModelIntegrityError(f"calibration parameters are malformed: {exc}") from exc
        problem = unknown_keys_problem(data, values)
        if problem:
            raise ModelIntegrityError(f"calibration parameters: {problem}")
        for key, value in values.items():
            if not is_real(value):  # "-3", true or 10**400 is not a slope
                raise ModelIntegrityError(
                    f"calibration parameter {key!r} must be a finite number, got {value!r:.80}"
                )
        platt = cls(**{key: float(value) for key, value in values.items()})
        if not platt.a <= -_MIN_SLOPE:
            raise ModelIntegrityError(
                "calibration slope a must be negative (a higher margin is a higher risk) and "
                f"{-_MIN_SLOPE:g} or below (a slope nearer 0 gives every conversation the same "
                f"risk, and no reasons), got {platt.a}"
            )
        return platt
