"""What an evaluation measured, as frozen dataclasses: operating points, early detection,
slices, curves, and all the numbers of a report."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.evaluation.records import record_dict

__all__ = [
    "Curves",
    "EarlyDetection",
    "EvaluationResults",
    "Interval",
    "OperatingPoint",
    "SliceMetrics",
]

FloatArray = npt.NDArray[np.float64]
Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """Decisions at one tier of the alert policy (review or urgent and above).

    Attributes
    ----------
    tier : str
        ``"review"`` (review or urgent alerts) or ``"urgent"``.
    n_alerts : int
        Conversations alerted at this tier or above.
    alerts_per_million : float
        Alerted conversations per million conversations: the moderators' workload.
    precision, recall, f05 : float
        Conversation level; F0.5 weighs precision twice as much as recall.
    precision_ci, recall_ci, f05_ci : tuple of float
        Bootstrap intervals (low, high).
    adult_precision, adult_recall, adult_f05 : float
        Adult level (PAN 2012): an adult is flagged if any conversation alerts.
    adult_f05_ci : tuple of float
        Bootstrap interval of ``adult_f05``.
    """

    tier: str
    n_alerts: int
    alerts_per_million: float
    precision: float
    precision_ci: Interval
    recall: float
    recall_ci: Interval
    f05: float
    f05_ci: Interval
    adult_precision: float
    adult_recall: float
    adult_f05: float
    adult_f05_ci: Interval

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""
        return record_dict(self)


@dataclass(frozen=True, slots=True)
class EarlyDetection:
    """How soon online scoring alerts after the grooming onset.

    Attributes
    ----------
    latency_p : float
        Steepness ``p`` of the latency penalty.
    precision, recall, f1 : float
        Of "alerted at any event" decisions in the replay (weighted by the inverse
        sampling rate when sampled).
    speed : float
        Median over detected grooming conversations of ``1 - penalty(latency + 1)``; NaN
        when none of them has a labelled onset.
    latency_weighted_f1 : float
        ``f1 * speed``; ``f1`` when nothing was detected, and NaN (``null`` in JSON, a
        dash in reports) when conversations were detected but none has a labelled onset
        (grooming labels from label noise): there is no latency to weigh F1 by.
    n_grooming, n_detected, n_alerted_before_onset : int
        Grooming conversations replayed, detected, and detected before their onset.
    median_latency_messages, p90_latency_messages : float
        Events (messages and the conversation's other events) from the labelled onset to
        the first alert, over detected conversations only: one never alerted is left out,
        not censored.
    median_latency_hours, p90_latency_hours : float
        Hours from the onset event to the first alert. An alert raised by an event of the
        adult's other conversation (which changed the adult's per-account features) counts
        at this conversation's latest event in events and at that other event's time in
        hours: 0 events and days after the onset when the conversation had gone quiet.
    sampled : bool
        Whether adults were sampled for the replay (the set exceeded the event budget).
    grooming_adult_rate, other_adult_rate : float
        Share of adults with and without a grooming conversation that were replayed.
    n_replayed_conversations, n_replayed_events : int
        Work done by the replay.
    latency_messages, latency_hours : tuple
        Latency of each detected conversation (for plots).
    """

    latency_p: float
    precision: float
    recall: float
    f1: float
    speed: float
    latency_weighted_f1: float
    n_grooming: int
    n_detected: int
    n_alerted_before_onset: int
    median_latency_messages: float
    p90_latency_messages: float
    median_latency_hours: float
    p90_latency_hours: float
    sampled: bool
    grooming_adult_rate: float
    other_adult_rate: float
    n_replayed_conversations: int
    n_replayed_events: int
    latency_messages: tuple[int, ...]
    latency_hours: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""
        return record_dict(self)


@dataclass(frozen=True, slots=True)
class SliceMetrics:
    """Metrics on one slice of the conversations.

    Attributes
    ----------
    by : str
        ``"child_age_band"``, ``"max_channel"`` or ``"child_age_known"``.
    value : str
        The slice, e.g. ``"13-15"``, ``"encrypted"``, ``"unknown"``.
    n_conversations, n_grooming : int
        Size of the slice; a slice value with no conversation is listed with 0.
    n_grooming_adults : int
        Adult accounts (``labels.adult_id``) of the slice's grooming conversations: the
        cases the bootstrap resamples. Fewer than
        :data:`~riskscore.evaluation.slices.MIN_GROOMING_FOR_INTERVAL`: no interval.
    pr_auc, roc_auc : float
        NaN when the slice lacks grooming or benign conversations.
    precision, recall : float
        At the review tier (NaN when undefined: no alert, or no grooming).
    pr_auc_ci, roc_auc_ci, precision_ci, recall_ci : tuple of float
        Bootstrap intervals (low, high), resampling adults as the headline metrics do;
        replicates in which the metric is undefined on the slice are left out; (NaN, NaN)
        without bootstrap, when no replicate defines it, or when the slice's grooming
        conversations come from too few adults (``n_grooming_adults``).
    alerts_per_million : float
        Review-tier alerts per million conversations of the slice (NaN when it has none).
    """

    by: str
    value: str
    n_conversations: int
    n_grooming: int
    n_grooming_adults: int
    pr_auc: float
    pr_auc_ci: Interval
    roc_auc: float
    roc_auc_ci: Interval
    precision: float
    precision_ci: Interval
    recall: float
    recall_ci: Interval
    alerts_per_million: float

    @classmethod
    def empty(cls, by: str, value: str) -> SliceMetrics:
        """A slice value with no conversation: counts 0, every metric NaN."""
        nan, none = math.nan, (math.nan, math.nan)
        return cls(by, value, 0, 0, 0, nan, none, nan, none, nan, none, nan, none, nan)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""
        return record_dict(self)


@dataclass(frozen=True, slots=True)
class Curves:
    """Data behind the plots: precision-recall curve, calibration bins, score histograms.

    Attributes
    ----------
    pr_recall, pr_precision : tuple of float
        Points of the precision-recall curve (thinned).
    calibration_mean_risk, calibration_observed : tuple of float
        Per equal-width risk bin: mean predicted risk and observed grooming rate (NaN if empty).
    calibration_count : tuple of int
        Conversations per bin.
    histogram_edges : tuple of float
        Risk bin edges (log-spaced; risks below the first edge fall in the first bin).
    histogram_benign, histogram_grooming : tuple of int
        Conversations per risk bin, by class.
    """

    pr_recall: tuple[float, ...]
    pr_precision: tuple[float, ...]
    calibration_mean_risk: tuple[float, ...]
    calibration_observed: tuple[float, ...]
    calibration_count: tuple[int, ...]
    histogram_edges: tuple[float, ...]
    histogram_benign: tuple[int, ...]
    histogram_grooming: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""
        return record_dict(self)


@dataclass(frozen=True, slots=True)
class EvaluationResults:
    """The numbers of an :class:`~riskscore.evaluation.EvaluationReport`, without its
    renderings: :mod:`~riskscore.evaluation.markdown` and :mod:`~riskscore.evaluation.plots`
    take this type, so that the report can render itself with them (attributes: see
    :class:`~riskscore.evaluation.EvaluationReport`)."""

    n_conversations: int
    n_grooming: int
    n_adults: int
    n_grooming_adults: int
    prevalence: float
    label: str
    n_label_differs: int
    pr_auc: float
    pr_auc_ci: Interval
    roc_auc: float
    roc_auc_ci: Interval
    brier: float
    brier_ci: Interval
    ece: float
    ece_ci: Interval
    recall_at_precision_90: float
    recall_at_precision_90_ci: Interval
    threshold_at_precision_90: float
    operating_points: tuple[OperatingPoint, ...]
    early_detection: EarlyDetection | None
    slices: tuple[SliceMetrics, ...]
    curves: Curves
    n_bootstrap: int
    confidence: float
    seed: int
    n_bins: int
    model: str

    def operating_point(self, tier: str) -> OperatingPoint:
        """The operating point of a tier (``"review"`` or ``"urgent"``)."""
        for point in self.operating_points:
            if point.tier == tier:
                return point
        raise KeyError(
            f"no operating point {tier!r}; have {[p.tier for p in self.operating_points]}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None; intervals as [low, high])."""
        return record_dict(self)
