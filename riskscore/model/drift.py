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
Below :data:`MIN_CONVERSATIONS` conversations no period is flagged: the indexes are still
shown, but sampling alone moves them that far.

:func:`model_drift` compares a model's own reference with a feature table and
:func:`period_drift` with the conversations active in a period; ``riskscore monitor`` and
the drift section of the transparency report use them, and :func:`shift_rows` is the
one table both print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore._checks import is_int, is_real
from riskscore._words import plural
from riskscore.exceptions import ModelIntegrityError
from riskscore.features import FeatureTable, extract_features
from riskscore.io import MessageTable
from riskscore.io.markdown import markdown_row
from riskscore.model.risk_model import RiskModel

__all__ = [
    "MAJOR_SHIFT",
    "MIN_CONVERSATIONS",
    "MODERATE_SHIFT",
    "SHIFT_HEADER",
    "DriftReport",
    "Shift",
    "check_has_reference",
    "check_reference_profile",
    "drift_report",
    "model_drift",
    "period_drift",
    "reference_profile",
    "shift_rows",
]

FloatArray = npt.NDArray[np.float64]

#: PSI above which a distribution counts as moderately shifted.
MODERATE_SHIFT: Final = 0.1
#: PSI above which it counts as a major shift (the period is flagged).
MAJOR_SHIFT: Final = 0.25
#: Fewest conversations of a period for a verdict. With no drift at all, n times the PSI
#: of a period of n conversations is about chi-squared with (bins - 1) = 10 degrees of
#: freedom (decile bins and the unknown bin): its mean is 10 / n, and for the score and
#: each of about 40 inputs to stay below the major limit with probability 99.97 % (a false
#: flag in 1 % of periods or fewer), 0.25 * n must exceed about 34: n >= 136. Drawn (40
#: normal inputs, 300 periods without drift each): 32 % flagged at n = 100, 0.3 % at 150,
#: none at 200. At n = 40 nearly every period without drift is flagged.
MIN_CONVERSATIONS: Final = 200
#: Share given to an empty bin so that the index stays finite.
_FLOOR: Final = 1e-4
#: How far a stored distribution's shares may add up from 1 (rounding of counts / n).
_SHARES_TOLERANCE: Final = 1e-6
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
    model_sha256 : str or None
        The model whose reference this is (:meth:`RiskModel.parameters_sha256`), when
        known.
    """

    n_reference: int
    n_current: int
    shifts: tuple[Shift, ...]
    model_sha256: str | None = None

    @property
    def flagged(self) -> tuple[Shift, ...]:
        """The major shifts."""
        return tuple(s for s in self.shifts if s.level == "major")

    @property
    def enough(self) -> bool:
        """Whether the period holds :data:`MIN_CONVERSATIONS` for a verdict."""
        return self.n_current >= MIN_CONVERSATIONS

    @property
    def drifted(self) -> bool:
        """Whether the score or any input shifted beyond :data:`MAJOR_SHIFT`, in a period
        large enough for a verdict (:attr:`enough`)."""
        return self.enough and bool(self.flagged)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "model_parameters_sha256": self.model_sha256,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "limits": {"moderate": MODERATE_SHIFT, "major": MAJOR_SHIFT},
            "min_conversations": MIN_CONVERSATIONS,
            "enough": self.enough,
            "drifted": self.drifted,
            "verdict": self.verdict(),
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

    def verdict(self) -> str:
        """One sentence: how many major shifts, by the documented limit."""
        if not self.enough:
            return (
                f"Too few conversations for a verdict: {self.n_current:,} of the "
                f"{MIN_CONVERSATIONS} needed (with no drift at all, sampling alone moves "
                "the PSI of so few conversations beyond the limits)."
            )
        if self.drifted:
            names = ", ".join(s.name for s in self.flagged)
            return (
                f"Drift: {plural(len(self.flagged), 'major shift')} (PSI > {MAJOR_SHIFT}): {names}."
            )
        return f"No major shift (every PSI at most {MAJOR_SHIFT})."

    def to_markdown(self) -> str:
        """A table of every shift, the score first."""
        lines = [
            "# Drift against the model's reference distributions",
            "",
            f"Reference: {plural(self.n_reference, 'conversation')}; this period: "
            f"{self.n_current:,}. {self.verdict()}",
            "",
            markdown_row(SHIFT_HEADER),
            "|---|---|---|---|---|",
        ]
        for row in shift_rows(self.to_dict()["shifts"]):
            lines.append(markdown_row([f"`{row[0]}`", *row[1:]]))
        return "\n".join(lines) + "\n"


#: Columns of :func:`shift_rows`.
SHIFT_HEADER: Final = (
    "distribution",
    "PSI",
    "level",
    "median (reference → now)",
    "unknown (reference → now)",
)


def shift_rows(shifts: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The shifts of :meth:`DriftReport.to_dict` as table rows (:data:`SHIFT_HEADER`).

    Examples
    --------
    >>> shift_rows([{"name": "risk", "psi": 0.31, "level": "major", "reference_median": 0.01,
    ...              "current_median": 0.05, "reference_unknown": 0.0, "current_unknown": 0.0}])
    [['risk', '0.310', 'major', '0.01 → 0.05', '0.0% → 0.0%']]
    """
    return [
        [
            str(s["name"]),
            f"{s['psi']:.3f}",
            str(s["level"]),
            f"{_num(s['reference_median'])} → {_num(s['current_median'])}",
            f"{s['reference_unknown']:.1%} → {s['current_unknown']:.1%}",
        ]
        for s in shifts
    ]


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _bins(name: str, reference: object) -> tuple[FloatArray, FloatArray, float | None]:
    """The edges, shares and median of one stored distribution, checked."""
    if not isinstance(reference, Mapping):
        raise ModelIntegrityError(
            f"reference distribution of {name!r} must be an object of edges, shares and "
            f"median, got {reference!r:.60}"
        )
    for key in ("edges", "shares"):
        items = reference.get(key)
        # a number, or lists, is no list of edges; "0.07" or true is no share (numpy would
        # read them as 0.07 and 1.0 without a word)
        if not (
            isinstance(items, (list, tuple, np.ndarray))
            and np.ndim(items) == 1
            and all(is_real(v) for v in items)
        ):
            raise ModelIntegrityError(
                f"the {key} of {name!r} must be a list of finite numbers, got {items!r:.80}"
            )
    edges = np.asarray(reference["edges"], dtype=np.float64)
    expected = np.asarray(reference["shares"], dtype=np.float64)
    if expected.shape != (len(edges) + 2,):
        raise ModelIntegrityError(
            f"the shares of {name!r} must be {len(edges) + 2} numbers (one per bin between "
            f"its {len(edges)} edges and one for unknown values)"
        )
    if not (np.all(expected >= 0) and abs(float(expected.sum()) - 1.0) <= _SHARES_TOLERANCE):
        # NaN fails too; negative shares would be floored into a PSI computed without a word
        raise ModelIntegrityError(
            f"the shares of {name!r} must be numbers >= 0 adding up to 1 (one per bin and one "
            f"for unknown values), got {expected.tolist()!r:.120}"
        )
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        # out of order, values would be binned in the wrong bins without a word
        raise ModelIntegrityError(
            f"the edges of {name!r} must be finite numbers in increasing order"
        )
    median = reference.get("median")
    if median is not None and not is_real(median):
        raise ModelIntegrityError(
            f"the reference median of {name!r} must be a number or null, got {median!r:.60}"
        )
    return edges, expected, None if median is None else float(median)


def _shift(name: str, reference: object, values: FloatArray) -> Shift:
    edges, expected, median = _bins(name, reference)
    actual = _shares(values, edges)
    p, q = np.maximum(actual, _FLOOR), np.maximum(expected, _FLOOR)
    known = values[~np.isnan(values)]
    return Shift(
        name=name,
        psi=float(np.sum((p - q) * np.log(p / q))),
        reference_median=median,
        current_median=float(np.median(known)) if len(known) else None,
        reference_unknown=float(expected[-1]),
        current_unknown=float(actual[-1]),
    )


def check_reference_profile(profile: object, names: Sequence[str]) -> tuple[Mapping[str, Any], int]:
    """Check a stored reference profile (a bundle's ``reference_distributions``): every
    distribution of ``names`` and of the risk, and ``n``. :func:`riskscore.load_model` runs
    it, so a malformed reference is refused naming the manifest, not at its first use.

    Parameters
    ----------
    profile : object
        The stored profile (:func:`reference_profile`'s output).
    names : sequence of str
        The inputs it must hold (the model's features).

    Returns
    -------
    (mapping, int)
        The inputs' distributions by name, and the reference's number of conversations;
        a :class:`ModelIntegrityError` names a malformed distribution and what is wrong.
    """
    if profile is None or (isinstance(profile, Mapping) and not profile):
        raise ModelIntegrityError("the model bundle stores no reference distributions")
    reference = profile.get("inputs") if isinstance(profile, Mapping) else None
    if not isinstance(profile, Mapping) or not isinstance(reference, Mapping):
        raise ModelIntegrityError(
            "the reference distributions must be an object with 'n', 'inputs' (an object of "
            f"distributions by input name) and {SCORE!r}, got {profile!r:.80}"
        )
    if SCORE not in profile:
        raise ModelIntegrityError(f"the reference distributions hold no distribution of {SCORE!r}")
    missing = [n for n in names if n not in reference]
    if missing:
        raise ModelIntegrityError(f"no reference distribution for the input(s) {missing}")
    for name in names:
        _bins(name, reference[name])
    _bins(SCORE, profile[SCORE])
    n = profile.get("n", 0)
    if not is_int(n) or n < 0:
        raise ModelIntegrityError(
            f"the reference's 'n' must be a whole number >= 0 (conversations), got {n!r:.60}"
        )
    return reference, int(n)


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
    reference, n = check_reference_profile(profile, names)
    score = _shift(SCORE, profile[SCORE], risk)
    columns = sorted(
        (_shift(name, reference[name], inputs[:, j]) for j, name in enumerate(names)),
        key=lambda s: -s.psi,
    )
    return DriftReport(n, len(risk), (score, *columns))


def check_has_reference(model: RiskModel, bundle: Path) -> None:
    """Refuse, naming the bundle's manifest, a model loaded from ``bundle`` that stores no
    reference distributions (:func:`riskscore.load_model` checks one that is stored).

    Raises
    ------
    ModelIntegrityError
        The manifest's metadata holds no ``reference_distributions``.
    """
    if not model.metadata.get("reference_distributions"):
        raise ModelIntegrityError(
            f"{bundle / 'manifest.json'}: the model bundle stores no reference distributions "
            "(metadata 'reference_distributions'), which drift is measured against: use a "
            "bundle written by `riskscore train`"
        )


def model_drift(model: RiskModel, features: FeatureTable) -> DriftReport:
    """How far ``features`` drift from the reference distributions stored with ``model``.

    Parameters
    ----------
    model : RiskModel
        A model whose metadata holds ``reference_distributions`` (every bundle written
        by ``riskscore train``, and the shipped one).
    features : FeatureTable
        The conversations to compare.

    Returns
    -------
    DriftReport
        With the model's :meth:`~RiskModel.parameters_sha256`.

    Raises
    ------
    ModelIntegrityError
        The model stores no (or a malformed) reference.
    """
    inputs = model.inputs(features)
    report = drift_report(
        model.metadata.get("reference_distributions", {}),
        inputs,
        model.feature_names,
        model.predict_proba(inputs),
    )
    return DriftReport(
        report.n_reference, report.n_current, report.shifts, model.parameters_sha256()
    )


def period_drift(model: RiskModel, messages: MessageTable, period: tuple[int, int]) -> DriftReport:
    """:func:`model_drift` of the conversations active in ``period``.

    A conversation counts when one of its events falls in ``[start, end)``; it is taken
    whole (the features of all its events given), and per-account features count every
    event given, as ``riskscore score`` does.

    Parameters
    ----------
    model : RiskModel
        The model and its reference.
    messages : MessageTable
        The period's events (events of other times may be included).
    period : (int, int)
        Start (inclusive) and end (exclusive), epoch seconds.

    Returns
    -------
    DriftReport

    Raises
    ------
    ValueError
        No conversation is active in the period.
    """
    start, end = period
    in_period = (messages.timestamp >= start) & (messages.timestamp < end)
    active = messages.conversation_code[in_period]
    if not len(active):
        raise ValueError(
            f"no event in the period [{start}, {end}): the drift section needs the period's events"
        )
    features = extract_features(messages)
    keep = np.isin(features.conversation_id, messages.conversations[np.unique(active)])
    return model_drift(model, features.take(np.flatnonzero(keep)))
