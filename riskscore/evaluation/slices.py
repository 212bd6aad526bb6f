"""Per-slice metrics of an evaluation, with bootstrap intervals (private).

Slices: child age band (the policy's bands and ``unknown``), most private channel reached,
and whether the child's age is known. Each slice's PR-AUC, ROC-AUC, precision and recall
at the review tier are computed under the same adult-resampling weights as the headline
metrics (:func:`riskscore.evaluation.metrics.replicate_metrics`); a slice whose grooming
conversations come from few adults has none (:data:`MIN_GROOMING_FOR_INTERVAL`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

import riskscore.evaluation.metrics as em
from riskscore.evaluation.metrics import BoolArray, FloatArray, IntArray
from riskscore.evaluation.results import Interval, SliceMetrics
from riskscore.features import FeatureTable
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.policy import AlertPolicy

#: A slice whose grooming conversations come from fewer adult accounts than this gets no
#: interval (NaN): resampling a handful of cases gives intervals far narrower than what they
#: say (two grooming conversations, both ranked first, give PR-AUC [1.0, 1.0]). Counted in
#: adults, the unit the bootstrap resamples: one groomer's twelve conversations are one case
#: (drawn, they move together, and every replicate gave the same recall).
MIN_GROOMING_FOR_INTERVAL: Final = 10


def interval_replicates(n_grooming_adults: int, n_bootstrap: int) -> int:
    """The bootstrap replicates that give intervals to figures over conversations whose
    grooming ones come from ``n_grooming_adults`` adult accounts: ``n_bootstrap``, or 0 (no
    interval) below :data:`MIN_GROOMING_FOR_INTERVAL`. One rule for the headline metrics,
    the operating points and each slice."""
    return n_bootstrap if n_grooming_adults >= MIN_GROOMING_FOR_INTERVAL else 0


@dataclass(frozen=True, slots=True, eq=False)
class Slice:
    """One slice: what it groups by, its value, and its conversations (a mask)."""

    by: str
    value: str
    mask: BoolArray


def slices_of(features: FeatureTable, policy: AlertPolicy) -> tuple[Slice, ...]:
    """Every slice value, in a fixed order, including values no conversation has."""
    child_age = features.column("child_age")
    band_names = np.array([b.name for b in (*policy.bands, policy.unknown)], dtype=object)
    channel = features.column("max_channel").astype(np.int64)
    groups = {
        "child_age_band": (band_names[policy.band_index(child_age)], list(band_names)),
        "max_channel": (np.asarray(CHANNEL_NAMES, dtype=object)[channel], list(CHANNEL_NAMES)),
        "child_age_known": (
            np.where(np.isnan(child_age), "unknown", "known").astype(object),
            ["known", "unknown"],
        ),
    }
    return tuple(
        Slice(by, str(value), np.asarray(key == value, dtype=bool))
        for by, (key, values) in groups.items()
        for value in values
    )


def slice_replicates(
    slices: tuple[Slice, ...],
    y: BoolArray,
    risk: FloatArray,
    alerted: BoolArray,
    weights: FloatArray,
) -> dict[str, FloatArray]:
    """Each slice's metrics under each row of ``weights`` (keys ``slice.<i>.<metric>``).

    PR-AUC and ROC-AUC are NaN in a replicate whose slice lacks grooming or benign
    weight; precision without an alert, recall without grooming.
    """
    out: dict[str, FloatArray] = {}
    for i, s in enumerate(slices):
        if not s.mask.any():
            continue
        ys, w = y[s.mask], weights[:, s.mask]
        ranking = em.ranking_metrics(ys, risk[s.mask], w)
        both = (w @ ys.astype(np.float64) > 0) & (w @ (~ys).astype(np.float64) > 0)
        decision = em.decision_metrics(ys, alerted[s.mask], w)
        out[f"slice.{i}.pr_auc"] = np.where(both, ranking["pr_auc"], np.nan)
        out[f"slice.{i}.roc_auc"] = np.where(both, ranking["roc_auc"], np.nan)
        out[f"slice.{i}.precision"] = decision["precision"]
        out[f"slice.{i}.recall"] = decision["recall"]
    return out


def slice_metrics(
    slices: tuple[Slice, ...],
    values: dict[str, FloatArray],
    y: BoolArray,
    alerted: BoolArray,
    adult: IntArray,
    confidence: float,
    n_bootstrap: int,
) -> tuple[SliceMetrics, ...]:
    """The :class:`SliceMetrics` of each slice from :func:`slice_replicates`' output
    (row 0 the point estimate, the rows after it the bootstrap); ``adult``: the code of
    each conversation's adult, the unit the bootstrap resamples
    (:func:`~riskscore.evaluation.metrics.cluster_codes`)."""
    out = []
    for i, s in enumerate(slices):
        n = int(s.mask.sum())
        if n == 0:
            # listed, not left out: a table compared across samples keeps its rows
            out.append(SliceMetrics.empty(s.by, s.value))
            continue

        n_grooming = int(y[s.mask].sum())
        n_grooming_adults = len(np.unique(adult[s.mask & y]))
        # grooming of too few adults: the point estimate alone (see the constant)
        replicates = interval_replicates(n_grooming_adults, n_bootstrap)

        def est(name: str, i: int = i, replicates: int = replicates) -> tuple[float, Interval]:
            return em.estimate(values[f"slice.{i}.{name}"], confidence, replicates)

        (pr_auc, pr_auc_ci), (roc_auc, roc_auc_ci) = est("pr_auc"), est("roc_auc")
        (precision, precision_ci), (recall, recall_ci) = est("precision"), est("recall")
        out.append(
            SliceMetrics(
                by=s.by,
                value=s.value,
                n_conversations=n,
                n_grooming=n_grooming,
                n_grooming_adults=n_grooming_adults,
                pr_auc=pr_auc,
                pr_auc_ci=pr_auc_ci,
                roc_auc=roc_auc,
                roc_auc_ci=roc_auc_ci,
                precision=precision,
                precision_ci=precision_ci,
                recall=recall,
                recall_ci=recall_ci,
                alerts_per_million=1e6 * float(alerted[s.mask].mean()),
            )
        )
    return tuple(out)
