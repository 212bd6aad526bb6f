"""What a policy would do on a labelled data set: alert volume and precision per age band.

Used by ``riskscore policy check``: the scores are computed once and the
thresholds swept cheaply, so a platform can choose thresholds with numbers
(how many conversations moderators would read, and how many of those are
grooming) rather than by feel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.evaluation.metrics import decision_metrics
from riskscore.exceptions import SchemaError
from riskscore.model.labels import label_positions
from riskscore.model.scores import ScoreTable
from riskscore.policy import AlertPolicy
from riskscore.synthetic.labels import boolean_labels

__all__ = ["BandCheck", "PolicyCheck", "SweepRow", "check_policy"]

DEFAULT_GRID = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.50, 0.60, 0.70, 0.80, 0.90)


@dataclass(frozen=True, slots=True)
class BandCheck:
    """The policy's own thresholds applied to one age band."""

    band: str
    review: float
    urgent: float
    n_conversations: int
    n_grooming: int
    guarded: int  # conversations a guard caps (two known adults, or two close known minors)
    alerts: int
    urgent_alerts: int
    true_alerts: int
    precision: float  # NaN when the band raises no alert
    recall: float  # NaN when the band has no grooming conversation
    # the band's alerts per 10,000 conversations of the whole sample (its share of the
    # moderators' workload; the bands' figures add up to the total), not of the band
    alerts_per_10k: float


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One candidate review threshold for one band (the policy's guards still apply)."""

    band: str
    threshold: float
    alerts: int
    precision: float
    recall: float
    alerts_per_10k: float  # per 10,000 conversations of the whole sample, as BandCheck's


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """Result of :func:`check_policy`: per-band figures and a threshold-versus-workload sweep."""

    bands: tuple[BandCheck, ...]
    sweep: tuple[SweepRow, ...]
    n_conversations: int
    n_grooming: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""

        def clean(row: object) -> dict[str, Any]:
            out = {}
            for name in row.__slots__:  # type: ignore[attr-defined]
                v = getattr(row, name)
                out[name] = None if isinstance(v, float) and np.isnan(v) else v
            return out

        return {
            "n_conversations": self.n_conversations,
            "n_grooming": self.n_grooming,
            "bands": [clean(b) for b in self.bands],
            "sweep": [clean(s) for s in self.sweep],
        }


def check_policy(
    policy: AlertPolicy,
    scores: ScoreTable,
    conversation_id: npt.ArrayLike,
    is_grooming: npt.ArrayLike,
    *,
    grid: tuple[float, ...] = DEFAULT_GRID,
) -> PolicyCheck:
    """Alert volume, precision and recall per age band, at the policy's thresholds and a grid.

    Parameters
    ----------
    policy : AlertPolicy
        The policy to check.
    scores : ScoreTable
        Scores of the labelled conversations.
    conversation_id, is_grooming : array-like of shape (n_labels,)
        Ground truth: one label per scored conversation, and none other
        (:func:`riskscore.model.labels.label_positions`).
    grid : tuple of float
        Review thresholds to sweep in every band; conversations the policy's
        guards keep from alerting (two known adults) stay out of the sweep.

    Examples
    --------
    >>> import riskscore as rs
    >>> data = rs.synthetic.generate(400, prevalence=0.05, seed=1)
    >>> scores = rs.load_model().score(data.messages)
    >>> check = check_policy(rs.AlertPolicy.default(), scores,
    ...                      data.labels.conversation_id, data.labels.is_grooming)
    >>> sum(b.n_conversations for b in check.bands) == len(scores)
    True
    """
    truth = boolean_labels(is_grooming)
    if np.shape(conversation_id) != truth.shape:
        raise SchemaError(
            f"conversation_id has {np.shape(conversation_id)} entries but is_grooming has "
            f"{truth.shape}"
        )
    y = truth[label_positions(conversation_id, scores.conversation_id)]
    tiers, band_idx = policy.decide_many(scores.risk, scores.child_age, scores.adult_age)
    # The highest tier the guards allow each conversation: its tier at risk 1.
    cap = policy.tiers(np.ones(len(scores)), scores.child_age, scores.adult_age)
    n = len(scores)
    checks, sweep = [], []
    for b, band in enumerate(policy.all_bands):
        mask = band_idx == b
        risk, truth, allowed = scores.risk[mask], y[mask], cap[mask] > 0
        alerted = tiers[mask] > 0
        precision, recall = _precision_recall(truth, alerted)
        checks.append(
            BandCheck(
                band=band.name,
                review=band.review,
                urgent=band.urgent,
                n_conversations=int(mask.sum()),
                n_grooming=int(truth.sum()),
                guarded=int((cap[mask] < 2).sum()),
                alerts=int(alerted.sum()),
                urgent_alerts=int((tiers[mask] == 2).sum()),
                true_alerts=int((alerted & truth).sum()),
                precision=precision,
                recall=recall,
                alerts_per_10k=1e4 * float(alerted.sum()) / max(n, 1),
            )
        )
        for t in grid:
            hit = (risk >= t) & allowed
            precision, recall = _precision_recall(truth, hit)
            sweep.append(
                SweepRow(
                    band=band.name,
                    threshold=float(t),
                    alerts=int(hit.sum()),
                    precision=precision,
                    recall=recall,
                    alerts_per_10k=1e4 * float(hit.sum()) / max(n, 1),
                )
            )
    return PolicyCheck(tuple(checks), tuple(sweep), n, int(y.sum()))


def _precision_recall(
    truth: npt.NDArray[np.bool_], alerted: npt.NDArray[np.bool_]
) -> tuple[float, float]:
    """Unweighted precision and recall, NaN-when-undefined as in the evaluation report."""
    m = decision_metrics(truth, alerted, np.ones((1, len(truth))))
    return float(m["precision"][0]), float(m["recall"][0])
