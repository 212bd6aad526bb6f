"""Robustness across worlds: how a model does on synthetic worlds it was not trained on.

A model is only as good as the worst world it was tested on. :func:`evaluate_worlds`
generates labelled conversations in each world (:mod:`riskscore.synthetic`), scores
them and measures, per world: PR-AUC at the sample's prevalence and re-weighted to a
rare one (benign conversations weighted up, as if grooming were 1 in 10,000), recall
of the alert policy, alerts per million benign conversations per tier, and the share
alerted of each benign look-alike kind (two minors, two adults, family, coach,
unknown ages). :class:`RobustnessReport` summarises them by median and worst world.

Training worlds are drawn with seeds below 1000 (:data:`riskscore.model.recipe`);
evaluation worlds with :data:`EVALUATION_WORLD_SEEDS`, so none is seen in training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

import riskscore.evaluation.metrics as em
from riskscore._checks import check_prevalence, check_whole
from riskscore.evaluation.records import jsonable
from riskscore.evaluation.world_samples import WorldSample, world_samples
from riskscore.features import FeatureTable
from riskscore.io.markdown import markdown_row, markdown_text
from riskscore.policy import AlertPolicy
from riskscore.synthetic import STRESS_WORLDS, World, draw_world
from riskscore.synthetic.labels import Labels

__all__ = [
    "EVALUATION_WORLD_SEEDS",
    "LOOKALIKES",
    "RobustnessReport",
    "WorldResult",
    "benign_alerts_per_million",
    "evaluate_samples",
    "evaluate_worlds",
    "lookalike_kinds",
    "unseen_worlds",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Scorer = Callable[[FeatureTable], FloatArray]

#: Seeds of the evaluation worlds (training uses seeds below 1000).
EVALUATION_WORLD_SEEDS: Final = range(1000, 2000)
#: Benign look-alike kinds whose alert share is reported.
LOOKALIKES: Final = ("minor_minor", "adult_adult", "family", "coach", "spam", "unknown_ages")
#: The heading of each look-alike kind's column in the per-world table.
_LOOKALIKE_HEADINGS: Final = {
    "minor_minor": "minor-minor",
    "adult_adult": "adult-adult",
    "family": "family",
    "coach": "coach",
    "spam": "spam",
    "unknown_ages": "unknown ages",
}
#: The per-world table's columns before the look-alike kinds.
_WORLD_COLUMNS: Final = (
    "world", "conversations", "grooming", "PR-AUC", "PR-AUC rare", "recall", "urgent recall",
    "alerts/M", "urgent/M",
)  # fmt: skip


def unseen_worlds(n: int = 30, *, first: int = 0) -> list[World]:
    """``n`` worlds drawn with evaluation seeds, never used in training, from the
    ``first``-th evaluation seed on (the default model was chosen on the first 30).

    Raises
    ------
    ValueError
        ``n`` below 1, ``first`` below 0, or ``first + n`` beyond the
        ``len(EVALUATION_WORLD_SEEDS)`` (1,000) evaluation seeds: a request for more
        worlds than there are is refused, not cut short.
    """
    total = len(EVALUATION_WORLD_SEEDS)
    check_whole("n", n, 1)
    check_whole("first", first, 0)
    if first + n > total:
        raise ValueError(
            f"there are {total} evaluation worlds; {n} from world {first} on would need "
            f"{first + n}: ask for at most {max(total - first, 0)}"
            + (f" or start before {total}" if first >= total else "")
        )
    return [draw_world(s) for s in EVALUATION_WORLD_SEEDS[first : first + n]]


def lookalike_kinds(features: FeatureTable, labels: Labels) -> dict[str, BoolArray]:
    """Benign conversations of each look-alike kind (masks over ``features``' rows).

    ``minor_minor`` and ``adult_adult``: both declared ages known, both under 18 or both
    18 and over; ``family``, ``coach`` and ``spam`` (spam sweeps): the scenario;
    ``unknown_ages``: at least one declared age unknown.
    """
    benign = ~np.asarray(labels.is_grooming_true, dtype=bool)
    child, adult = features.column("child_age"), features.column("adult_age")
    known = ~np.isnan(child) & ~np.isnan(adult)
    with np.errstate(invalid="ignore"):
        return {
            "minor_minor": benign & known & (adult < 18.0),
            "adult_adult": benign & known & (child >= 18.0),
            "family": benign & (labels.scenario == "family"),
            "coach": benign & (labels.scenario == "teacher_coach"),
            "spam": benign & (labels.scenario == "spam_sweep"),
            "unknown_ages": benign & ~known,
        }


@dataclass(frozen=True, slots=True)
class WorldResult:
    """What one model did in one world.

    Attributes
    ----------
    world : str
        The world's name.
    n_conversations, n_grooming : int
        Sample size.
    pr_auc : float
        PR-AUC (average precision) at the sample's prevalence; NaN when the sample lacks
        grooming or benign conversations.
    pr_auc_rare : float
        PR-AUC with benign conversations re-weighted to ``rare_prevalence`` (NaN likewise).
    recall_review, recall_urgent : float
        Share of grooming conversations alerted at review tier or above, and urgent
        (NaN without a policy).
    alerts_per_million : dict of str to float
        Benign conversations alerted per million benign, ``review`` (any tier) and
        ``urgent`` (NaN when the sample has no benign conversation).
    lookalike_alerted : dict of str to float
        Share alerted (any tier) of each benign look-alike kind present (NaN if absent).
    """

    world: str
    n_conversations: int
    n_grooming: int
    pr_auc: float
    pr_auc_rare: float
    recall_review: float = math.nan
    recall_urgent: float = math.nan
    alerts_per_million: dict[str, float] = field(default_factory=dict)
    lookalike_alerted: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (NaN as None)."""
        out: dict[str, Any] = jsonable(asdict(self))
        return out


@dataclass(frozen=True, slots=True)
class RobustnessReport:
    """Results per world, and their median and worst.

    Attributes
    ----------
    results : tuple of WorldResult
        One per world, in evaluation order.
    prevalence, rare_prevalence : float
        Prevalence of the samples, and the one ``pr_auc_rare`` is re-weighted to.
    """

    results: tuple[WorldResult, ...]
    prevalence: float
    rare_prevalence: float

    def values(self, metric: str) -> FloatArray:
        """One metric over the worlds (``"pr_auc"``, ``"alerts_per_million.urgent"``,
        ``"lookalike_alerted.minor_minor"``...)."""
        head, _, key = metric.partition(".")
        out = []
        for r in self.results:
            value = getattr(r, head)
            out.append(value.get(key, math.nan) if key else value)
        return np.asarray(out, dtype=np.float64)

    def median(self, metric: str) -> float:
        """Median over the worlds (ignoring worlds where the metric is undefined)."""
        values = self.values(metric)
        return float(np.nanmedian(values)) if np.any(~np.isnan(values)) else math.nan

    def worst(self, metric: str, *, higher_is_better: bool = True) -> tuple[float, str]:
        """Worst value over the worlds, and the world it came from."""
        values = self.values(metric)
        if not np.any(~np.isnan(values)):
            return math.nan, ""
        i = int(np.nanargmin(values) if higher_is_better else np.nanargmax(values))
        return float(values[i]), self.results[i].world

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report, with the summary."""
        out: dict[str, Any] = jsonable(
            {
                "prevalence": self.prevalence,
                "rare_prevalence": self.rare_prevalence,
                "summary": self.summary(),
                "worlds": [r.to_dict() for r in self.results],
            }
        )
        return out

    def summary(self) -> dict[str, dict[str, Any]]:
        """Median and worst of the headline metrics."""
        out: dict[str, dict[str, Any]] = {}
        higher = {"pr_auc": True, "pr_auc_rare": True, "recall_review": True, "recall_urgent": True}
        metrics = [*higher]
        metrics += ["alerts_per_million.review", "alerts_per_million.urgent"]
        metrics += [f"lookalike_alerted.{k}" for k in LOOKALIKES]
        for metric in metrics:
            value, world = self.worst(metric, higher_is_better=higher.get(metric, False))
            out[metric] = {"median": self.median(metric), "worst": value, "worst_world": world}
        return out

    def to_markdown(self) -> str:
        """The per-world table and the summary, as Markdown."""
        lines = [
            f"Sample size of each world (conversations, of which grooming: PR-AUC and recall "
            f"on few grooming conversations are noisy); PR-AUC at prevalence "
            f"{self.prevalence:g} and re-weighted to {self.rare_prevalence:g}; "
            "recall and alerts at the policy's thresholds; alerts per million benign "
            "conversations; share of each benign look-alike kind alerted.",
            "",
            markdown_row([*_WORLD_COLUMNS, *(_LOOKALIKE_HEADINGS[k] for k in LOOKALIKES)]),
            "|---" * (len(_WORLD_COLUMNS) + len(LOOKALIKES)) + "|",
        ]
        for r in self.results:
            look = [r.lookalike_alerted.get(k, math.nan) for k in LOOKALIKES]
            lines.append(
                markdown_row(
                    [
                        markdown_text(r.world),  # a world's name: any printable text
                        f"{r.n_conversations:,}",
                        f"{r.n_grooming:,}",  # PR-AUC on few positives is noisy
                        _fmt(r.pr_auc),  # n/a, as every column, where undefined (not "nan")
                        _fmt(r.pr_auc_rare),
                        _pct(r.recall_review),
                        _pct(r.recall_urgent),
                        _num(r.alerts_per_million.get("review")),
                        _num(r.alerts_per_million.get("urgent")),
                        *(_pct(v) for v in look),
                    ]
                )
            )
        lines += ["", "| metric | median | worst (world) |", "|---|---|---|"]
        for metric, s in self.summary().items():
            lines.append(
                markdown_row(
                    [
                        metric,
                        _fmt(s["median"]),
                        f"{_fmt(s['worst'])} ({markdown_text(s['worst_world'])})",
                    ]
                )
            )
        return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.0f}"


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.3f}"


def benign_alerts_per_million(y: BoolArray, tiers: npt.NDArray[np.int64]) -> dict[str, float]:
    """Benign conversations alerted per million benign: ``review`` (any tier) and
    ``urgent``; NaN when there is no benign conversation (an undefined rate, not 0)."""
    n_benign = int((~y).sum())
    return {
        tier: 1e6 * float(np.sum(tiers[~y] >= level)) / n_benign if n_benign else math.nan
        for tier, level in (("review", 1), ("urgent", 2))
    }


def evaluate_world(
    name: str,
    features: FeatureTable,
    labels: Labels,
    risk: FloatArray,
    *,
    policy: AlertPolicy | None,
    rare_prevalence: float,
) -> WorldResult:
    """The metrics of :class:`WorldResult` for one scored sample.

    Raises
    ------
    ValueError
        ``risk`` is not one probability per conversation (its length, or a NaN, infinite
        or out-of-range risk named by position, :func:`~riskscore.evaluation.metrics.check_risk`).
    """
    y = np.asarray(labels.is_grooming_true, dtype=bool)
    if np.shape(risk) != y.shape:
        raise ValueError(
            f"world {name!r}: the scorer gave risks of shape {np.shape(risk)} for {len(y)} "
            "conversations: one risk per conversation"
        )
    # the metrics' one check: scikit-learn said "Input contains NaN" without the position,
    # and ranked a risk of 1.5 (no probability) as if it were one
    em.check_risk(risk)
    prevalence = float(y.mean())
    both = bool(y.any() and not y.all())
    pr_auc = pr_auc_rare = math.nan  # undefined without both classes, not scikit-learn's 0
    if both:
        # benign weighted by w so that n_pos / (n_pos + w n_neg) = rare_prevalence: the
        # precision at each threshold becomes rho TPR / (rho TPR + (1 - rho) FPR)
        w = (prevalence / (1 - prevalence)) * ((1 - rare_prevalence) / rare_prevalence)
        weights = np.vstack([np.ones(len(y)), np.where(y, 1.0, w)])
        # the evaluation's average precision (scikit-learn's, tests/test_evaluation_properties.py)
        ap = em.ranking_metrics(y, risk, weights)["pr_auc"]
        pr_auc, pr_auc_rare = float(ap[0]), float(ap[1])
    result = WorldResult(
        world=name,
        n_conversations=len(y),
        n_grooming=int(y.sum()),
        pr_auc=pr_auc,
        pr_auc_rare=pr_auc_rare,
    )
    if policy is None:
        return result
    tiers = policy.tiers(risk, features.column("child_age"), features.column("adult_age"))
    kinds = lookalike_kinds(features, labels)
    return replace(
        result,
        recall_review=float(np.mean(tiers[y] >= 1)) if y.any() else math.nan,
        recall_urgent=float(np.mean(tiers[y] >= 2)) if y.any() else math.nan,
        alerts_per_million=benign_alerts_per_million(y, tiers),
        lookalike_alerted={
            k: float(np.mean(tiers[mask] >= 1)) if mask.any() else math.nan
            for k, mask in kinds.items()
        },
    )


def evaluate_samples(
    scorer: Scorer,
    samples: Sequence[WorldSample],
    *,
    policy: AlertPolicy | None = None,
    rare_prevalence: float = 1e-4,
) -> RobustnessReport:
    """Score each sample and measure it (see :func:`evaluate_worlds`)."""
    check_prevalence("rare_prevalence", rare_prevalence)
    results = tuple(
        evaluate_world(
            s.name,
            s.features,
            s.labels,
            np.asarray(scorer(s.features), dtype=np.float64),
            policy=policy,
            rare_prevalence=rare_prevalence,
        )
        for s in samples
    )
    prevalence = float(np.mean([np.mean(s.labels.is_grooming_true) for s in samples]))
    return RobustnessReport(results=results, prevalence=prevalence, rare_prevalence=rare_prevalence)


def evaluate_worlds(
    scorer: Scorer,
    worlds: Sequence[World] | Mapping[str, World],
    *,
    policy: AlertPolicy | None = None,
    n_conversations: int = 20_000,
    prevalence: float = 0.01,
    rare_prevalence: float = 1e-4,
    seed: int = 0,
) -> RobustnessReport:
    """Generate a labelled sample of each world, score it and measure it.

    Parameters
    ----------
    scorer : callable
        ``FeatureTable -> risk``, e.g. ``model.predict_proba``.
    worlds : sequence or mapping of World
        The worlds (a mapping names them, e.g. :data:`riskscore.synthetic.STRESS_WORLDS`).
    policy : AlertPolicy, optional
        Thresholds for recall and alert volumes; without it only PR-AUC is measured.
    n_conversations, prevalence : int, float
        Size and prevalence of each world's sample.
    rare_prevalence : float, default 1e-4
        Prevalence ``pr_auc_rare`` is re-weighted to.
    seed : int, default 0
        Root seed of the samples, an integer >= 0.

    Returns
    -------
    RobustnessReport

    Raises
    ------
    ValueError
        ``n_conversations`` below 1, ``prevalence`` outside [0, 1], ``rare_prevalence``
        outside [1e-12, 1 - 1e-12] (:func:`~riskscore._checks.check_prevalence`) or ``seed``
        below 0 (or not an integer), before any sample is drawn; the message names it and its value.

    Examples
    --------
    >>> import riskscore as rs
    >>> from riskscore.evaluation.robustness import evaluate_worlds, unseen_worlds
    >>> report = evaluate_worlds(rs.load_model().predict_proba, unseen_worlds(2),
    ...                          policy=rs.AlertPolicy.default(), n_conversations=2_000)
    >>> [r.world for r in report.results]
    ['drawn-1000', 'drawn-1001']
    """
    check_prevalence("rare_prevalence", rare_prevalence)
    samples = world_samples(
        worlds, n_conversations=n_conversations, prevalence=prevalence, seed=seed
    )
    return evaluate_samples(scorer, samples, policy=policy, rare_prevalence=rare_prevalence)


def stress_worlds() -> dict[str, World]:
    """The named stress worlds (:data:`riskscore.synthetic.STRESS_WORLDS`), as a dict."""
    return dict(STRESS_WORLDS)
