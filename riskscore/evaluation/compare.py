"""Paired comparison of two model bundles on the same conversations.

Both models score the same feature table (features are extracted once) and the same policy
turns their risks into tiers. With ground truth, the differences of PR-AUC, ROC-AUC and
recall at the policy get bootstrap intervals from resampling *adults* (an adult's
conversations share per-account features, so resampling conversations would understate
the spread); without it, only the alerts are compared. Alerts gained and lost say which
conversations the second model alerts that the first does not, and the reverse
(:func:`riskscore.policy.alert_changes`); with decisions from a review queue, each model's
agreement with them is counted (:func:`decision_agreement`).

:func:`compare_alert_sets` compares alerts already raised, without scoring: production
and shadow alerts of a shadow run (``riskscore score --shadow-model``), matched with the
decisions moderators made since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore._checks import check_whole
from riskscore.evaluation.labels import adult_accounts
from riskscore.evaluation.metrics import (
    MAX_BOOTSTRAP,
    check_replicates,
    cluster_codes,
    interval,
    ranking_metrics,
    replicate_metrics,
)
from riskscore.evaluation.records import jsonable
from riskscore.evaluation.slices import interval_replicates
from riskscore.features import FeatureTable
from riskscore.io.given_ids import given_conversation_ids
from riskscore.io.raw import as_python_value
from riskscore.model import RiskModel
from riskscore.model.bundle import MANIFEST
from riskscore.policy import AlertPolicy, alert_changes

__all__ = [
    "ModelComparison",
    "bundle_id",
    "compare_alert_sets",
    "compare_models",
    "decision_agreement",
]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
_LISTED: Final = 20
_METRICS: Final = ("pr_auc", "roc_auc", "recall_review", "recall_urgent")
#: The differences' intervals (``ci95_low``, ``ci95_high``).
_CONFIDENCE: Final = 0.95


def bundle_id(directory: str | Path) -> str:
    """A bundle's identity: the sha256 of its ``manifest.json`` (which holds the hash of
    every other file)."""
    return hashlib.sha256((Path(directory) / MANIFEST).read_bytes()).hexdigest()


def _paired_metrics(
    y: BoolArray, risk: Sequence[FloatArray], tiers: Sequence[npt.NDArray[Any]]
) -> Callable[[FloatArray, FloatArray], dict[str, FloatArray]]:
    """Both models' metrics under the same item weights (one bootstrap replicate per
    row), so that their differences are paired."""

    def metrics(weights: FloatArray, _: FloatArray) -> dict[str, FloatArray]:
        positives = weights * y
        n_pos = positives.sum(axis=1)
        out: dict[str, FloatArray] = {}
        for side, r, t in zip("ab", risk, tiers, strict=True):
            ranking = ranking_metrics(y, r, weights)
            out[f"{side}.pr_auc"] = ranking["pr_auc"]
            out[f"{side}.roc_auc"] = ranking["roc_auc"]
            for tier, key in ((1, "recall_review"), (2, "recall_urgent")):
                hit = (positives * (t >= tier)).sum(axis=1)
                out[f"{side}.{key}"] = np.divide(
                    hit, n_pos, out=np.full(len(n_pos), np.nan), where=n_pos > 0
                )
        return out

    return metrics


@dataclass(frozen=True, slots=True)
class ModelComparison:
    """What :func:`compare_models` measured (JSON-ready through :meth:`to_dict`)."""

    models: tuple[dict[str, Any], dict[str, Any]]
    n_conversations: int
    alerts: tuple[int, int]
    gained: tuple[Any, ...]
    lost: tuple[Any, ...]
    differences: dict[str, dict[str, float]]
    decisions: dict[str, Any] | None
    #: Adults (the unit resampled) with a grooming conversation; None without labels.
    n_grooming_adults: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (at most 20 ids of each of gained and lost; a metric that
        is undefined, as PR-AUC without a positive, is None)."""
        return {
            "models": jsonable(list(self.models)),
            "n_conversations": self.n_conversations,
            "alerts": {"a": self.alerts[0], "b": self.alerts[1]},
            "alerts_gained_by_b": len(self.gained),
            "alerts_lost_by_b": len(self.lost),
            # ids keep their type: the conversation 7 and the conversation "7" are two
            "gained_examples": [as_python_value(c) for c in self.gained[:_LISTED]],
            "lost_examples": [as_python_value(c) for c in self.lost[:_LISTED]],
            "differences_b_minus_a": jsonable(self.differences),
            "n_grooming_adults": self.n_grooming_adults,
            "decisions": self.decisions,
        }


def compare_models(
    a: RiskModel,
    b: RiskModel,
    features: FeatureTable,
    *,
    policy: AlertPolicy,
    is_grooming: BoolArray | None = None,
    adult_id: npt.ArrayLike | None = None,
    decided_positive: Collection[Any] | None = None,
    decided_negative: Collection[Any] | None = None,
    names: tuple[str, str] = ("a", "b"),
    ids: tuple[str | None, str | None] = (None, None),
    n_bootstrap: int = 500,
    seed: int = 0,
) -> ModelComparison:
    """Compare two models on the same conversations.

    Parameters
    ----------
    a, b : RiskModel
        The models (``b`` is the candidate: differences are ``b - a``).
    features : FeatureTable
        The conversations, extracted once for both.
    policy : AlertPolicy
        Turns each model's risk into tiers.
    is_grooming : bool array, optional
        Ground truth per row of ``features``; enables PR-AUC, ROC-AUC and recall.
    adult_id : array, optional
        Per row of ``features``, the adult account the bootstrap resamples: the labels'
        ``adult_id``, as :func:`riskscore.evaluate` resamples (``riskscore compare --data``
        gives it, :func:`~riskscore.evaluation.labels.adult_accounts`); ``features.adult_id``
        when omitted. The two differ where the labels'
        adult is not the older account by declared age (two adults, two teenagers, an
        adult declaring a child's age).
    decided_positive, decided_negative : collections of conversation ids, optional
        Conversations moderators actioned or escalated, and dismissed
        (:func:`riskscore.moderation.learning.labels_from_queue`); None: no queue.
    names, ids : pairs of str
        Labels and bundle ids (:func:`bundle_id`) of the two models.
    n_bootstrap : int, default 500
        Bootstrap replicates over adults for the intervals, from 40 (so that each tail of
        a 95 % interval holds one) to
        :data:`~riskscore.evaluation.metrics.MAX_BOOTSTRAP`. Grooming conversations of
        fewer than :data:`~riskscore.evaluation.slices.MIN_GROOMING_FOR_INTERVAL` adults
        get no interval (NaN), as in :func:`riskscore.evaluate`.
    seed : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    ModelComparison
        Metrics undefined on these conversations (PR-AUC and recall without a
        positive) are NaN.
    """
    check_whole("n_bootstrap", n_bootstrap, 1, MAX_BOOTSTRAP)
    check_replicates(n_bootstrap, _CONFIDENCE, low=1)
    child_age, adult_age = features.column("child_age"), features.column("adult_age")
    risk = [m.predict_proba(features) for m in (a, b)]
    tiers = [policy.tiers(r, child_age, adult_age) for r in risk]
    alerted = [t >= 1 for t in tiers]
    conv = features.conversation_id
    gained, lost = alert_changes(conv[alerted[0]].tolist(), conv[alerted[1]].tolist())
    # matched with decisions as the review queue files them: integers held as decimal
    # text (an id beyond int64) as those integers, as batch and online scoring queue them
    given = given_conversation_ids(conv)
    models: tuple[dict[str, Any], ...] = tuple(
        {"name": n, "id": i, "n_alerts": int(al.sum())}
        for n, i, al in zip(names, ids, alerted, strict=True)
    )
    differences: dict[str, dict[str, float]] = {}
    n_grooming_adults: int | None = None
    if is_grooming is not None:
        y = np.asarray(is_grooming, dtype=bool)
        # the project's adult-clustered bootstrap: row 0 is the point estimate
        adults = adult_accounts(features, None) if adult_id is None else np.asanyarray(adult_id)
        if len(adults) != len(y):
            raise ValueError(
                f"adult_id has {len(adults)} entries for {len(y)} conversations: give the "
                "adult account of each row of features"
            )
        codes, n_clusters = cluster_codes(adults)
        n_grooming_adults = len(np.unique(codes[y]))
        # grooming of too few adults: no interval, as evaluate's (interval_replicates)
        replicates = replicate_metrics(
            codes,
            n_clusters,
            interval_replicates(n_grooming_adults, n_bootstrap),
            seed,
            _paired_metrics(y, risk, tiers),
        )
        for side, model in zip("ab", models, strict=True):
            model["metrics"] = {key: float(replicates[f"{side}.{key}"][0]) for key in _METRICS}
        for key in _METRICS:
            change = replicates[f"b.{key}"] - replicates[f"a.{key}"]
            low, high = interval(change[1:], _CONFIDENCE)
            differences[key] = {
                "difference": float(change[0]),
                "ci95_low": float(low),
                "ci95_high": float(high),
            }
    return ModelComparison(
        models=(models[0], models[1]),
        n_conversations=len(conv),
        alerts=(int(alerted[0].sum()), int(alerted[1].sum())),
        gained=gained,
        lost=lost,
        differences=differences,
        decisions=decision_agreement(
            given, (alerted[0], alerted[1]), decided_positive, decided_negative
        ),
        n_grooming_adults=n_grooming_adults,
    )


def decision_agreement(
    conversation_ids: Sequence[Any],
    alerted: tuple[BoolArray, BoolArray],
    decided_positive: Collection[Any] | None,
    decided_negative: Collection[Any] | None,
) -> dict[str, Any] | None:
    """How two models' alerts agree with moderators' decisions.

    Parameters
    ----------
    conversation_ids : sequence
        The compared conversations.
    alerted : (bool array, bool array)
        Whether model a and model b alert each of them.
    decided_positive, decided_negative : collections of conversation ids, or None
        Conversations decided actioned or escalated, and dismissed only
        (:func:`riskscore.moderation.learning.labels_from_queue`); both None when there
        is no queue to match.

    Returns
    -------
    dict or None
        None without a queue. Else ``positive`` and ``dismissed`` (decided
        conversations among the compared ones), ``not_compared`` (decided conversations
        that are not among them) and per model (``a``, ``b``): ``alerted_positive``,
        ``alerted_dismissed``, ``share_of_positive_alerted`` and
        ``precision_on_decided`` (alerted positive over alerted decided; None when it
        alerts none of them).

    Examples
    --------
    >>> import numpy as np
    >>> d = decision_agreement([1, 2, 3], (np.array([1, 1, 0], bool), np.array([1, 0, 1], bool)),
    ...                        {1, 3}, {2, 9})
    >>> d["positive"], d["dismissed"], d["not_compared"]
    (2, 1, 1)
    >>> d["a"]["alerted_positive"], d["a"]["alerted_dismissed"], d["b"]["precision_on_decided"]
    (1, 1, 1.0)
    """
    if decided_positive is None and decided_negative is None:
        return None
    decided_positive, decided_negative = decided_positive or (), decided_negative or ()
    index = {c: i for i, c in enumerate(conversation_ids)}
    pos = [index[c] for c in decided_positive if c in index]
    neg = [index[c] for c in decided_negative if c in index]
    out: dict[str, Any] = {
        "positive": len(pos),
        "dismissed": len(neg),
        "not_compared": len(decided_positive) + len(decided_negative) - len(pos) - len(neg),
    }
    for side, al in zip("ab", alerted, strict=True):
        hit, false = int(al[pos].sum()), int(al[neg].sum())
        out[side] = {
            "alerted_positive": hit,
            "alerted_dismissed": false,
            "share_of_positive_alerted": round(hit / len(pos), 4) if pos else None,
            "precision_on_decided": round(hit / (hit + false), 4) if hit + false else None,
        }
    return out


def compare_alert_sets(
    scored: Iterable[Any],
    alerts_a: Iterable[Any],
    alerts_b: Iterable[Any],
    *,
    decided_positive: Collection[Any] | None = None,
    decided_negative: Collection[Any] | None = None,
    models: tuple[dict[str, Any], dict[str, Any]] = ({"name": "a"}, {"name": "b"}),
) -> ModelComparison:
    """Compare alerts two models already raised on the same conversations (no scoring).

    Parameters
    ----------
    scored : iterable of conversation ids
        Every conversation both models scored (alerts outside it are added to it).
    alerts_a, alerts_b : iterables of conversation ids
        The conversations each model alerted (e.g. production and shadow).
    decided_positive, decided_negative : collections of conversation ids
        As for :func:`decision_agreement`.
    models : pair of dict
        Names and identities of the two models (``n_alerts`` is added).

    Returns
    -------
    ModelComparison
        No metric differences (no ground truth); gained, lost and decisions.

    Examples
    --------
    >>> c = compare_alert_sets(range(5), [0, 1], [1, 2], decided_positive={2})
    >>> c.gained, c.lost, c.decisions["b"]["alerted_positive"]
    ((2,), (0,), 1)
    """
    a, b = dict.fromkeys(alerts_a), dict.fromkeys(alerts_b)
    conv = list(dict.fromkeys([*scored, *a, *b]))
    alerted = (
        np.array([c in a for c in conv], dtype=bool),
        np.array([c in b for c in conv], dtype=bool),
    )
    gained, lost = alert_changes(a, b)
    sides = tuple({**m, "n_alerts": len(s)} for m, s in zip(models, (a, b), strict=True))
    return ModelComparison(
        models=(sides[0], sides[1]),
        n_conversations=len(conv),
        alerts=(len(a), len(b)),
        gained=gained,
        lost=lost,
        differences={},
        decisions=decision_agreement(conv, alerted, decided_positive, decided_negative),
    )
