"""Paired comparison of two model bundles on the same conversations.

Both models score the same feature table (features are extracted once) and the same policy
turns their risks into tiers. With ground truth, the differences of PR-AUC, ROC-AUC and
recall at the policy get bootstrap intervals from resampling *adults* (an adult's
conversations share per-account features, so resampling conversations would understate
the spread); without it, only the alerts are compared. Alerts gained and lost say which
conversations the second model alerts that the first does not, and the reverse; with
decisions from a review queue, each model's agreement with them is counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, roc_auc_score

from riskscore.features import FeatureTable
from riskscore.model import RiskModel
from riskscore.model.bundle import MANIFEST
from riskscore.policy import AlertPolicy

__all__ = ["ModelComparison", "bundle_id", "compare_models"]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
_LISTED: Final = 20


def bundle_id(directory: str | Path) -> str:
    """A bundle's identity: the sha256 of its ``manifest.json`` (which holds the hash of
    every other file)."""
    return hashlib.sha256((Path(directory) / MANIFEST).read_bytes()).hexdigest()


def _metrics(y: BoolArray, risk: FloatArray, tiers: npt.NDArray[Any]) -> dict[str, float]:
    both = 0 < y.sum() < len(y)
    return {
        "pr_auc": float(average_precision_score(y, risk)) if both else float("nan"),
        "roc_auc": float(roc_auc_score(y, risk)) if both else float("nan"),
        "recall_review": float(np.mean(tiers[y] >= 1)) if y.any() else float("nan"),
        "recall_urgent": float(np.mean(tiers[y] >= 2)) if y.any() else float("nan"),
    }


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (at most 20 ids of each of gained and lost)."""
        return {
            "models": list(self.models),
            "n_conversations": self.n_conversations,
            "alerts": {"a": self.alerts[0], "b": self.alerts[1]},
            "alerts_gained_by_b": len(self.gained),
            "alerts_lost_by_b": len(self.lost),
            "gained_examples": [str(c) for c in self.gained[:_LISTED]],
            "lost_examples": [str(c) for c in self.lost[:_LISTED]],
            "differences_b_minus_a": self.differences,
            "decisions": self.decisions,
        }


def compare_models(
    a: RiskModel,
    b: RiskModel,
    features: FeatureTable,
    *,
    policy: AlertPolicy,
    is_grooming: BoolArray | None = None,
    decided_positive: Collection[Any] = (),
    decided_negative: Collection[Any] = (),
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
    decided_positive, decided_negative : collections of conversation ids
        Conversations moderators actioned or escalated, and dismissed
        (:func:`riskscore.moderation.learning.labels_from_queue`).
    names, ids : pairs of str
        Labels and bundle ids (:func:`bundle_id`) of the two models.
    n_bootstrap : int, default 500
        Bootstrap replicates over adults for the intervals.
    seed : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    ModelComparison
    """
    child_age, adult_age = features.column("child_age"), features.column("adult_age")
    risk = [m.predict_proba(features) for m in (a, b)]
    tiers = [policy.tiers(r, child_age, adult_age) for r in risk]
    alerted = [t >= 1 for t in tiers]
    conv = features.conversation_id
    gained = tuple(conv[alerted[1] & ~alerted[0]].tolist())
    lost = tuple(conv[alerted[0] & ~alerted[1]].tolist())
    models: tuple[dict[str, Any], ...] = tuple(
        {"name": n, "id": i, "n_alerts": int(al.sum())}
        for n, i, al in zip(names, ids, alerted, strict=True)
    )
    differences: dict[str, dict[str, float]] = {}
    if is_grooming is not None:
        y = np.asarray(is_grooming, dtype=bool)
        first, second = (_metrics(y, r, t) for r, t in zip(risk, tiers, strict=True))
        models[0]["metrics"], models[1]["metrics"] = first, second
        _, adult = np.unique(features.adult_id, return_inverse=True)
        rows_of = np.split(np.argsort(adult, kind="stable"), np.cumsum(np.bincount(adult))[:-1])
        rng = np.random.default_rng(seed)
        draws: dict[str, list[float]] = {k: [] for k in first}
        for _ in range(n_bootstrap):
            pick = np.concatenate([rows_of[i] for i in rng.integers(0, len(rows_of), len(rows_of))])
            ma = _metrics(y[pick], risk[0][pick], tiers[0][pick])
            mb = _metrics(y[pick], risk[1][pick], tiers[1][pick])
            for key in draws:
                draws[key].append(mb[key] - ma[key])
        for key, values in draws.items():
            finite = np.asarray(values)[np.isfinite(values)]
            low, high = np.quantile(finite, [0.025, 0.975]) if len(finite) else (np.nan, np.nan)
            differences[key] = {
                "difference": second[key] - first[key],
                "ci95_low": float(low),
                "ci95_high": float(high),
            }
    decisions = None
    if decided_positive or decided_negative:
        index = {c: i for i, c in enumerate(conv.tolist())}
        pos = [index[c] for c in decided_positive if c in index]
        neg = [index[c] for c in decided_negative if c in index]
        decisions = {
            "positive": len(pos),
            "dismissed": len(neg),
            **{
                f"{n}_alerts_actioned_or_escalated": int(al[pos].sum())
                for n, al in zip(names, alerted, strict=True)
            },
            **{
                f"{n}_alerts_dismissed": int(al[neg].sum())
                for n, al in zip(names, alerted, strict=True)
            },
        }
    return ModelComparison(
        models=(models[0], models[1]),
        n_conversations=len(conv),
        alerts=(int(alerted[0].sum()), int(alerted[1].sum())),
        gained=gained,
        lost=lost,
        differences=differences,
        decisions=decisions,
    )
