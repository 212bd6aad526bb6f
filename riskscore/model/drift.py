"""Reference distributions of a model's inputs and scores, and how far a period drifts
from them (population stability index).

A bundle stores the distribution of every model input and of the calibrated risk on the
data it was validated for (:func:`reference_profile`, in the manifest's metadata under
``reference_distributions``). :func:`drift_report` compares a period's conversations
with it: per input and for the score, the population stability index (PSI) over the
reference's decile bins plus a bin for unknown values, the change of the median and of
the share of unknown values. The limits are the usual ones for PSI: below 0.1 stable,
0.1 to 0.25 a moderate shift, above 0.25 a major one. A major shift of the score or of
any input flags the period: the model's thresholds and precision were measured on
other data, so its alert volumes and precision no longer hold (``docs/learning.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import ModelIntegrityError

__all__ = [
    "MAJOR_SHIFT",
    "MODERATE_SHIFT",
    "DriftReport",
    "Shift",
    "drift_report",
    "reference_profile",
]

FloatArray = npt.NDArray[np.float64]

#: PSI above which a distribution counts as moderately shifted.
MODERATE_SHIFT: Final = 0.1
#: PSI above which it counts as a major shift (the period is flagged).
MAJOR_SHIFT: Final = 0.25
#: Share given to an empty bin so that the index stays finite.
_FLOOR: Final = 1e-4
_QUANTILES: Final = np.linspace(0.1, 0.9, 9)
SCORE: Final = "risk"


def _distribution(values: FloatArray) -> dict[str, Any]:
    known = values[~np.isnan(values)]
    edges = np.unique(np.quantile(known, _QUANTILES)) if len(known) else np.empty(0)
    return {
        "edges": [float(e) for e in edges],
        "shares": _shares(values, edges).tolist(),
        "median": float(np.median(known)) if len(known) else None,
    }


def _shares(values: FloatArray, edges: FloatArray) -> FloatArray:
    """Shares of the bins ``(-inf, e0], (e0, e1], ..., (e_last, inf)`` and of unknown
    (NaN) values, in that order; they add up to 1."""
    known = ~np.isnan(values)
    counts = np.bincount(
        np.searchsorted(edges, values[known], side="left"), minlength=len(edges) + 1
    ).astype(np.float64)
    counts = np.append(counts, float((~known).sum()))
    return counts / max(len(values), 1)


def reference_profile(inputs: FloatArray, names: Sequence[str], risk: FloatArray) -> dict[str, Any]:
    """The distributions a bundle stores: each model input and the calibrated risk.

    Parameters
    ----------
    inputs : array of shape (n_conversations, n_inputs)
        The model's inputs (``RiskModel.inputs``) on the reference data.
    names : sequence of str
        Their names, in column order.
    risk : array of shape (n_conversations,)
        The model's calibrated risk on the same rows.

    Returns
    -------
    dict
        JSON-ready: ``n``, and per input and for ``risk`` the decile edges, the share of
        each bin (the last is the share unknown) and the median.
    """
    if inputs.shape != (len(risk), len(names)):
        raise ValueError(f"inputs of shape {inputs.shape} do not match {len(names)} names")
    columns = {name: _distribution(inputs[:, j]) for j, name in enumerate(names)}
    return {"n": len(risk), "inputs": columns, SCORE: _distribution(risk)}


@dataclass(frozen=True, slots=True)
class Shift:
    """How one distribution moved from the reference.

    Attributes
    ----------
    name : str
        The model input, or ``"risk"`` for the score.
    psi : float
        Population stability index over the reference's bins and the unknown bin.
    reference_median, current_median : float or None
        Medians of the known values (None when none is known).
    reference_unknown, current_unknown : float
        Shares of unknown values.
    """

    name: str
    psi: float
    reference_median: float | None
    current_median: float | None
    reference_unknown: float
    current_unknown: float

    @property
    def level(self) -> str:
        """``"stable"``, ``"moderate"`` or ``"major"`` by the documented limits."""
        if self.psi > MAJOR_SHIFT:
            return "major"
        return "moderate" if self.psi > MODERATE_SHIFT else "stable"


@dataclass(frozen=True, slots=True)
class DriftReport:
    """A period's shifts against a bundle's reference distributions.

    Attributes
    ----------
    n_reference, n_current : int
        Conversations behind each side.
    shifts : tuple of Shift
        The score first, then every input, largest PSI first.
    """

    n_reference: int
    n_current: int
    shifts: tuple[Shift, ...]

    @property
    def flagged(self) -> tuple[Shift, ...]:
        """The major shifts."""
        return tuple(s for s in self.shifts if s.level == "major")

    @property
    def drifted(self) -> bool:
        """Whether the score or any input shifted beyond :data:`MAJOR_SHIFT`."""
        return bool(self.flagged)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "limits": {"moderate": MODERATE_SHIFT, "major": MAJOR_SHIFT},
            "drifted": self.drifted,
            "shifts": [
                {
                    "name": s.name,
                    "psi": s.psi,
                    "level": s.level,
                    "reference_median": s.reference_median,
                    "current_median": s.current_median,
                    "reference_unknown": s.reference_unknown,
                    "current_unknown": s.current_unknown,
                }
                for s in self.shifts
            ],
        }

    def to_markdown(self) -> str:
        """A table of every shift, the score first."""
        verdict = (
            f"**Drift**: {len(self.flagged)} major shift(s) (PSI > {MAJOR_SHIFT})."
            if self.drifted
            else f"No major shift (every PSI at most {MAJOR_SHIFT})."
        )
        lines = [
            "# Drift against the model's reference distributions",
            "",
            f"Reference: {self.n_reference:,} conversations; this period: "
            f"{self.n_current:,}. {verdict}",
            "",
            "| distribution | PSI | level | median (reference → now) | unknown (reference → now) |",
            "|---|---|---|---|---|",
        ]
        for s in self.shifts:
            lines.append(
                f"| `{s.name}` | {s.psi:.3f} | {s.level} | {_num(s.reference_median)} → "
                f"{_num(s.current_median)} | {s.reference_unknown:.1%} → {s.current_unknown:.1%} |"
            )
        return "\n".join(lines) + "\n"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _shift(name: str, reference: Mapping[str, Any], values: FloatArray) -> Shift:
    try:
        edges = np.asarray(reference["edges"], dtype=np.float64)
        expected = np.asarray(reference["shares"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelIntegrityError(f"reference distribution of {name!r} is malformed") from exc
    if expected.shape != (len(edges) + 2,) or not np.all(np.isfinite(expected)):
        raise ModelIntegrityError(f"reference distribution of {name!r} is malformed")
    actual = _shares(values, edges)
    p, q = np.maximum(actual, _FLOOR), np.maximum(expected, _FLOOR)
    known = values[~np.isnan(values)]
    return Shift(
        name=name,
        psi=float(np.sum((p - q) * np.log(p / q))),
        reference_median=reference.get("median"),
        current_median=float(np.median(known)) if len(known) else None,
        reference_unknown=float(expected[-1]),
        current_unknown=float(actual[-1]),
    )


def drift_report(
    profile: Mapping[str, Any], inputs: FloatArray, names: Sequence[str], risk: FloatArray
) -> DriftReport:
    """Compare a period's model inputs and risks with a reference profile.

    Parameters
    ----------
    profile : mapping
        :func:`reference_profile` output (a bundle's ``reference_distributions``).
    inputs : array of shape (n_conversations, n_inputs)
        The period's model inputs.
    names : sequence of str
        Their names (each must be in the profile).
    risk : array of shape (n_conversations,)
        The model's risk on the period's conversations.

    Returns
    -------
    DriftReport
    """
    reference = profile.get("inputs") if isinstance(profile, Mapping) else None
    if not isinstance(reference, Mapping) or SCORE not in profile:
        raise ModelIntegrityError("the model bundle stores no reference distributions")
    missing = [n for n in names if n not in reference]
    if missing:
        raise ModelIntegrityError(f"no reference distribution for the input(s) {missing}")
    score = _shift(SCORE, profile[SCORE], risk)
    columns = sorted(
        (_shift(n, reference[n], inputs[:, j]) for j, n in enumerate(names)),
        key=lambda s: -s.psi,
    )
    return DriftReport(int(profile.get("n", 0)), len(risk), (score, *columns))
