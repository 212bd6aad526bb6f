"""Weighted, vectorized classification metrics and the adult-clustered bootstrap (private).

Every metric here takes a weight matrix of shape ``(n_replicates, n)``: row 0 of a
plain evaluation is all ones (the point estimate); bootstrap replicates weight each
conversation by how many times its adult was drawn. One sort of the scores serves all
replicates, so a 200-replicate bootstrap of PR-AUC on 50 000 conversations takes well
under a second. With unit weights the results equal scikit-learn's
``average_precision_score``, ``roc_auc_score`` and ``brier_score_loss``
(``tests/test_evaluation.py`` checks it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Most bootstrap replicates (``n_bootstrap``; 200 is the default): 10**11 ran for days.
MAX_BOOTSTRAP = 10_000
#: Most calibration bins (``n_bins``): each replicate holds one row per bin and item.
MAX_BINS = 1_000


def check_replicates(
    n_bootstrap: int, confidence: float, low: int = 0, name: str = "n_bootstrap"
) -> None:
    """Refuse a number of bootstrap replicates (already a whole number from ``low`` to
    :data:`MAX_BOOTSTRAP`) too small for a ``confidence`` percentile interval: each tail
    must hold at least one replicate, or the "interval" is a replicate's value twice.
    0 (no intervals) passes when ``low`` is 0. ``name``: what the message calls it.

    Examples
    --------
    >>> check_replicates(40, 0.95)
    >>> check_replicates(1, 0.95)
    Traceback (most recent call last):
    ...
    ValueError: n_bootstrap=1 is too few for a 95% interval: each tail of a percentile \
interval needs a replicate of its own, so at least 40 (or 0: no intervals)
    """
    least = math.ceil(round(2.0 / (1.0 - confidence), 9))
    if n_bootstrap and n_bootstrap < least:
        none = " (or 0: no intervals)" if low == 0 else ""
        raise ValueError(
            f"{name}={n_bootstrap} is too few for a {confidence:.0%} interval: each "
            f"tail of a percentile interval needs a replicate of its own, so at least "
            f"{least}{none}"
        )


#: Replicates processed together; bounds memory at about 16 x n x 8 bytes per array.
_CHUNK = 16


def cluster_codes(cluster: npt.NDArray[Any]) -> tuple[IntArray, int]:
    """Dense code of each item's cluster, and the number of clusters."""
    _, codes = np.unique(cluster, return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    return codes, (int(codes.max()) + 1 if len(codes) else 0)


def weight_chunks(
    n_clusters: int, n_replicates: int, seed: int, *, with_point: bool = True
) -> Iterator[FloatArray]:
    """Bootstrap draws of whole clusters (adults) with replacement, a few replicates at a time.

    Yields arrays of shape ``(k, n_clusters)``: how many times each cluster was drawn
    in each of ``k`` replicates (``counts[:, codes]`` weighs the items). With
    ``with_point``, the first row of the first chunk is all ones: the point estimate.
    Chunks bound memory for large sets; the same seed gives the same draws.
    """
    rng = np.random.default_rng(seed)
    if with_point:
        yield np.ones((1, n_clusters))
    done = 0
    while done < n_replicates:
        k = min(_CHUNK, n_replicates - done)
        draws = rng.integers(0, n_clusters, size=(k, n_clusters))
        offsets = (np.arange(k) * n_clusters)[:, None]
        counts = np.bincount((draws + offsets).ravel(), minlength=k * n_clusters)
        yield counts.reshape(k, n_clusters).astype(np.float64)
        done += k


def cluster_weights(
    cluster: npt.NDArray[Any], n_replicates: int, seed: int
) -> tuple[FloatArray, IntArray]:
    """All bootstrap draws at once, shape ``(n_replicates, n_clusters)``, and item codes."""
    codes, n_clusters = cluster_codes(cluster)
    chunks = list(weight_chunks(n_clusters, n_replicates, seed, with_point=False))
    counts = np.vstack(chunks) if chunks else np.zeros((0, n_clusters))
    return counts, codes


def replicate_metrics(
    codes: IntArray,
    n_clusters: int,
    n_replicates: int,
    seed: int,
    metrics: Callable[[FloatArray, FloatArray], dict[str, FloatArray]],
) -> dict[str, FloatArray]:
    """Run ``metrics(item_weights, cluster_weights)`` over the point estimate (row 0)
    and every bootstrap replicate, chunk by chunk; concatenate the results."""
    parts: dict[str, list[FloatArray]] = {}
    for per_cluster in weight_chunks(n_clusters, n_replicates, seed):
        for key, values in metrics(per_cluster[:, codes], per_cluster).items():
            parts.setdefault(key, []).append(values)
    return {key: np.concatenate(values) for key, values in parts.items()}


def _divide(num: FloatArray, den: FloatArray, empty: float) -> FloatArray:
    out: FloatArray = np.divide(num, den, out=np.full(np.shape(num), empty), where=den > 0)
    return out


def check_risk(risk: FloatArray) -> None:
    """Refuse a risk that is no probability (NaN, infinite, below 0 or above 1).

    A NaN would rank as its own threshold and fall outside every calibration bin;
    a risk outside [0, 1] would land in a bin it does not belong to.

    Raises
    ------
    ValueError
        Naming the first position and its value.
    """
    bad = np.flatnonzero(~((risk >= 0.0) & (risk <= 1.0)))
    if len(bad):
        raise ValueError(
            f"risk at position {int(bad[0])} is {float(risk[bad[0]])!r}, not a probability "
            f"in [0, 1] ({len(bad)} such risks): evaluation measures calibrated risks"
        )


def checks_risk(metric: Callable[_P, _R]) -> Callable[_P, _R]:
    """``metric(y, risk, ...)`` that first refuses a ``risk`` that is no probability
    (:func:`check_risk`): the one place each metric of risks validates its input."""

    @functools.wraps(metric)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        risk = kwargs["risk"] if "risk" in kwargs else args[1] if len(args) > 1 else None
        if risk is not None:  # not given: the metric's own TypeError says so
            check_risk(np.asarray(risk))
        return metric(*args, **kwargs)

    return checked


def calibration_bins(risk: FloatArray, n_bins: int) -> IntArray:
    """Bin of each risk among ``n_bins`` equal-width bins, ``(k / n, (k + 1) / n]`` with
    the first closed at 0: the bins of scikit-learn's ``calibration_curve(strategy="uniform")``
    and of the ECE of Guo et al. (2017), edges included. ``risk`` is a checked probability
    (the metrics that call this check it)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins: IntArray = np.searchsorted(edges[1:-1], risk, side="left").astype(np.int64)
    return bins


@checks_risk
def ranking_metrics(
    y: BoolArray, risk: FloatArray, weights: FloatArray, *, min_precision: float = 0.9
) -> dict[str, FloatArray]:
    """PR-AUC (average precision), ROC-AUC, and recall at ``min_precision``, per replicate.

    Ties in ``risk`` form one threshold, as in scikit-learn. A replicate with no
    positive (or no negative) gets NaN for the metrics that need one.
    """
    order = np.argsort(-risk, kind="stable")
    r = risk[order]
    pos = y[order].astype(np.float64)
    neg = 1.0 - pos
    ends = np.append(np.flatnonzero(np.diff(r) != 0), len(r) - 1)
    thresholds = r[ends]
    out: dict[str, list[FloatArray]] = {
        "pr_auc": [],
        "roc_auc": [],
        "recall_at_precision": [],
        "threshold_at_precision": [],
    }
    for start in range(0, weights.shape[0], _CHUNK):
        w = weights[start : start + _CHUNK][:, order]
        tp = np.cumsum(w * pos, axis=1)[:, ends]
        fp = np.cumsum(w * neg, axis=1)[:, ends]
        n_pos, n_neg = tp[:, -1:], fp[:, -1:]
        precision = _divide(tp, tp + fp, 1.0)
        recall = _divide(tp, np.broadcast_to(n_pos, tp.shape), np.nan)
        fpr = _divide(fp, np.broadcast_to(n_neg, fp.shape), np.nan)
        d_recall = np.diff(recall, axis=1, prepend=0.0)
        out["pr_auc"].append(np.sum(d_recall * precision, axis=1))
        d_fpr = np.diff(fpr, axis=1, prepend=0.0)
        mid_tpr = (recall + np.concatenate([np.zeros((len(w), 1)), recall[:, :-1]], axis=1)) / 2
        out["roc_auc"].append(np.sum(d_fpr * mid_tpr, axis=1))
        ok = precision >= min_precision
        best = np.where(ok, recall, -1.0)
        arg = np.argmax(best, axis=1)
        found = best[np.arange(len(w)), arg] >= 0
        rec = np.where(found, best[np.arange(len(w)), arg], 0.0)
        out["recall_at_precision"].append(np.where(n_pos[:, 0] > 0, rec, np.nan))
        out["threshold_at_precision"].append(np.where(found, thresholds[arg], np.nan))
    return {key: np.concatenate(parts) for key, parts in out.items()}


@checks_risk
def calibration_metrics(
    y: BoolArray, risk: FloatArray, weights: FloatArray, *, n_bins: int = 10
) -> dict[str, FloatArray]:
    """Brier score and expected calibration error (:func:`calibration_bins`), per replicate.

    ECE is the weighted mean, over bins, of ``|mean risk - observed rate|``,
    weighted by each bin's share of conversations.
    """
    yf = y.astype(np.float64)
    bins = calibration_bins(risk, n_bins)
    resid = np.zeros((len(risk), n_bins))
    resid[np.arange(len(risk)), bins] = risk - yf
    total = weights.sum(axis=1)
    brier = _divide(weights @ ((risk - yf) ** 2), total, np.nan)
    ece = _divide(np.abs(weights @ resid).sum(axis=1), total, np.nan)
    return {"brier": brier, "ece": ece}


@checks_risk
def calibration_table(
    y: BoolArray, risk: FloatArray, *, n_bins: int = 10
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Per bin (:func:`calibration_bins`): mean risk, observed grooming rate, and count
    (NaN where empty)."""
    bins = calibration_bins(risk, n_bins)
    count = np.bincount(bins, minlength=n_bins).astype(np.int64)
    n = count.astype(np.float64)
    risk_sum = np.bincount(bins, risk, n_bins).astype(np.float64)
    pos_sum = np.bincount(bins, y.astype(np.float64), n_bins).astype(np.float64)
    mean_risk = _divide(risk_sum, n, np.nan)
    observed = _divide(pos_sum, n, np.nan)
    return mean_risk, observed, count


def f_beta(tp: FloatArray, fp: FloatArray, fn: FloatArray, beta: float) -> FloatArray:
    """F-beta from counts, ``(1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP)``.

    NaN only when ``TP + FP + FN`` is 0 (no grooming and no alert); 0 when there is
    grooming and nothing is alerted, or alerts and no grooming, as in scikit-learn's
    ``fbeta_score`` (the form from precision and recall is undefined there).
    """
    b2 = beta * beta
    return _divide((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp, np.nan)


def decision_metrics(
    y: BoolArray, alerted: BoolArray, weights: FloatArray, *, beta: float = 0.5
) -> dict[str, FloatArray]:
    """Precision, recall and F-beta of yes/no decisions, per replicate.

    Precision is NaN when nothing is alerted, recall when there is no positive, F-beta
    only when both (:func:`f_beta`).
    """
    tp = weights @ (alerted & y).astype(np.float64)
    fp = weights @ (alerted & ~y).astype(np.float64)
    fn = weights @ (~alerted & y).astype(np.float64)
    precision = _divide(tp, tp + fp, np.nan)
    recall = _divide(tp, tp + fn, np.nan)
    return {"precision": precision, "recall": recall, "f": f_beta(tp, fp, fn, beta)}


def group_any(codes: IntArray, flags: BoolArray, n_groups: int) -> BoolArray:
    """Whether any item of each group is flagged."""
    out: BoolArray = np.bincount(codes, flags.astype(np.float64), n_groups) > 0
    return out


def interval(replicates: FloatArray, confidence: float) -> tuple[float, float]:
    """Percentile bootstrap interval; (NaN, NaN) when no replicate is finite."""
    finite = replicates[np.isfinite(replicates)]
    if len(finite) == 0:
        return (float("nan"), float("nan"))
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return (float(low), float(high))


def estimate(
    values: FloatArray, confidence: float, n_bootstrap: int
) -> tuple[float, tuple[float, float]]:
    """Point estimate (row 0 of :func:`replicate_metrics` output) and its interval over
    the replicates after it; (NaN, NaN) when there was no bootstrap."""
    ci = interval(values[1:], confidence) if n_bootstrap else (float("nan"), float("nan"))
    return float(values[0]), ci


#: Metrics every evaluation record states with an interval: field name -> metric key.
HEADLINE = {
    "pr_auc": "pr_auc",
    "roc_auc": "roc_auc",
    "brier": "brier",
    "ece": "ece",
    "recall_at_precision_90": "recall_at_precision",
}


def headline_fields(
    values: Mapping[str, FloatArray], confidence: float, n_bootstrap: int
) -> dict[str, Any]:
    """``{field: point, field_ci: interval}`` of each :data:`HEADLINE` metric, as keyword
    arguments of ``EvaluationReport`` and ``ModelScore`` (which share these fields)."""
    out: dict[str, Any] = {}
    for name, key in HEADLINE.items():
        out[name], out[f"{name}_ci"] = estimate(values[key], confidence, n_bootstrap)
    return out


@checks_risk
def pr_curve(
    y: BoolArray, risk: FloatArray, max_points: int = 200
) -> tuple[FloatArray, FloatArray]:
    """Recall and precision at each distinct threshold, thinned to about ``max_points``."""
    order = np.argsort(-risk, kind="stable")
    r = risk[order]
    pos = y[order].astype(np.float64)
    ends = np.append(np.flatnonzero(np.diff(r) != 0), len(r) - 1)
    tp = np.cumsum(pos)[ends]
    fp = (ends + 1) - tp
    recall = tp / max(float(pos.sum()), 1.0)
    precision = tp / np.maximum(tp + fp, 1.0)
    # Points evenly spaced in recall (where the curve moves) and in threshold rank.
    half = max(max_points // 2, 2)
    by_recall = np.searchsorted(recall, np.linspace(0.0, 1.0, half), side="left")
    by_rank = np.linspace(0, len(ends) - 1, min(half, len(ends))).astype(np.int64)
    keep = np.unique(np.clip(np.concatenate([by_recall, by_rank]), 0, len(ends) - 1))
    return recall[keep], precision[keep]
