"""Evaluation metrics against scikit-learn on random inputs (hypothesis): ties, one class,
one sample, weights, bins on their edges; splits by adult; the rare-prevalence PR-AUC."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    fbeta_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)

import riskscore.evaluation.metrics as em
from riskscore.evaluation.robustness import evaluate_world
from riskscore.evaluation.splits import split_by_adult
from riskscore.policy import AlertPolicy

#: Risks on a coarse grid (many ties, values on the calibration bins' edges) or anywhere.
risk_values = st.one_of(
    st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.3, 0.5, 0.7, 0.9, 1.0]),
    st.floats(0.0, 1.0, allow_nan=False),
)


@st.composite
def labelled(draw: st.DrawFn, min_size: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, risks and whole-number weights (bootstrap counts) of equal length."""
    n = draw(st.integers(min_size, 40))
    y = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    risk = np.array(draw(st.lists(risk_values, min_size=n, max_size=n)), dtype=np.float64)
    counts = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    return y, risk, counts


def both_classes(y: np.ndarray, w: np.ndarray) -> bool:
    return bool(w[y].sum() > 0 and w[~y].sum() > 0)


@given(labelled())
def test_ranking_metrics_equal_sklearn_or_are_nan_without_both_classes(case: tuple) -> None:
    y, risk, counts = case
    out = em.ranking_metrics(y, risk, np.vstack([np.ones(len(y)), counts]))
    for row, w in enumerate([np.ones(len(y)), counts]):
        if not both_classes(y, w):
            # undefined, not 0: a slice or a replicate without one class
            assert math.isnan(out["roc_auc"][row])
            if w[y].sum() == 0:
                assert math.isnan(out["pr_auc"][row])
                assert math.isnan(out["recall_at_precision"][row])
            continue
        assert out["pr_auc"][row] == pytest.approx(
            average_precision_score(y, risk, sample_weight=w), abs=1e-12
        )
        assert out["roc_auc"][row] == pytest.approx(
            roc_auc_score(y, risk, sample_weight=w), abs=1e-12
        )


@given(labelled())
def test_recall_at_precision_equals_the_best_point_of_sklearns_curve(case: tuple) -> None:
    y, risk, _ = case
    if not y.any():
        return
    out = em.ranking_metrics(y, risk, np.ones((1, len(y))), min_precision=0.9)
    precision, recall, thresholds = precision_recall_curve(y, risk)
    # sklearn's last point (precision 1, recall 0) is "alert nothing": recall 0 if none
    assert out["recall_at_precision"][0] == pytest.approx(recall[precision >= 0.9].max(), abs=1e-12)
    if out["recall_at_precision"][0] > 0:
        # of the thresholds reaching that recall at that precision, the highest (the
        # fewest alerts for the same recall)
        ok = (precision[:-1] >= 0.9) & (recall[:-1] == out["recall_at_precision"][0])
        assert out["threshold_at_precision"][0] == thresholds[ok].max()


@given(labelled())
def test_brier_and_ece_equal_sklearns_brier_and_calibration_curve(case: tuple) -> None:
    y, risk, counts = case
    out = em.calibration_metrics(y, risk, np.vstack([np.ones(len(y)), counts]), n_bins=10)
    assert out["brier"][0] == pytest.approx(brier_score_loss(y, risk, labels=[0, 1]), abs=1e-12)
    if counts.sum() > 0:
        assert out["brier"][1] == pytest.approx(
            brier_score_loss(y, risk, sample_weight=counts, labels=[0, 1]), abs=1e-12
        )
    observed, mean_risk = calibration_curve(y, risk, n_bins=10, strategy="uniform")
    edges = np.linspace(0.0, 1.0, 11)
    count = np.bincount(np.searchsorted(edges[1:-1], risk), minlength=10)
    share = count[count > 0] / len(y)
    assert out["ece"][0] == pytest.approx(np.sum(share * np.abs(mean_risk - observed)), abs=1e-12)


@given(labelled())
def test_calibration_table_equals_sklearns_calibration_curve(case: tuple) -> None:
    y, risk, _ = case
    mean_risk, observed, count = em.calibration_table(y, risk, n_bins=10)
    want_observed, want_mean = calibration_curve(y, risk, n_bins=10, strategy="uniform")
    filled = count > 0
    assert count.sum() == len(y)
    np.testing.assert_allclose(mean_risk[filled], want_mean, atol=1e-12)
    np.testing.assert_allclose(observed[filled], want_observed, atol=1e-12)
    assert np.isnan(mean_risk[~filled]).all()
    assert np.isnan(observed[~filled]).all()


@given(labelled(), st.sampled_from([0.5, 1.0, 2.0]))
def test_decision_metrics_equal_sklearn(case: tuple, beta: float) -> None:
    y, risk, counts = case
    alerted = risk >= 0.5
    out = em.decision_metrics(y, alerted, np.vstack([np.ones(len(y)), counts]), beta=beta)
    for row, w in enumerate([np.ones(len(y)), counts]):
        if w.sum() == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn warns where a ratio is undefined
            kw = {"sample_weight": w, "zero_division": np.nan}
            precision = precision_score(y, alerted, **kw)
            recall = recall_score(y, alerted, **kw)
            f = fbeta_score(y, alerted, beta=beta, **kw)
        np.testing.assert_allclose(out["precision"][row], precision, atol=1e-12)
        np.testing.assert_allclose(out["recall"][row], recall, atol=1e-12)
        # F is (1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP): 0, not undefined, when a
        # sample has grooming conversations and nothing is alerted
        np.testing.assert_allclose(out["f"][row], f, atol=1e-12)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -0.1, 1.5])
def test_a_risk_that_is_no_probability_is_refused(bad: float) -> None:
    y = np.array([True, False, False])
    risk = np.array([0.9, bad, 0.1])
    ones = np.ones((1, 3))
    for call in (
        lambda: em.ranking_metrics(y, risk, ones),
        lambda: em.calibration_metrics(y, risk, ones),
        lambda: em.calibration_table(y, risk),
        lambda: em.pr_curve(y, risk),
    ):
        with pytest.raises(ValueError, match=r"risk.*position 1.*probability"):
            call()


def test_one_decorator_checks_the_risk_of_a_metric_given_by_position_or_name() -> None:
    """Each metric of risks validates through :func:`checks_risk`, not its own call."""
    seen: list[int] = []

    @em.checks_risk
    def metric(y: object, risk: object, *, k: int = 0) -> int:
        seen.append(k)
        return k

    bad = np.array([0.5, math.nan])
    for call in (lambda: metric(None, bad), lambda: metric(y=None, risk=bad, k=1)):
        with pytest.raises(ValueError, match=r"risk at position 1 is nan"):
            call()
    assert metric(None, np.array([0.5]), k=2) == 2
    assert seen == [2]
    with pytest.raises(TypeError, match="risk"):  # Python's own message, not an IndexError
        em.pr_curve(np.array([True]))  # type: ignore[call-arg]


@given(st.lists(st.integers(0, 8), min_size=1, max_size=60), st.integers(0, 2**32))
def test_split_by_adult_puts_every_adult_on_one_side(adults: list[int], seed: int) -> None:
    adult_id = np.array(adults)
    n_adults = len(set(adults))
    if n_adults < 2:  # no split has an adult on each side
        with pytest.raises(ValueError, match="at least two"):
            split_by_adult(adult_id, test_fraction=0.3, seed=seed)
        return
    train, test = split_by_adult(adult_id, test_fraction=0.3, seed=seed)
    assert not set(adult_id[train]) & set(adult_id[test])
    # a fixed count of adults held out, neither side empty
    assert len(set(adult_id[test])) == min(max(math.floor(0.3 * n_adults + 0.5), 1), n_adults - 1)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(adults)))
    again = split_by_adult(adult_id, test_fraction=0.3, seed=seed)
    np.testing.assert_array_equal(again[0], train)
    np.testing.assert_array_equal(again[1], test)


@given(labelled(min_size=2), st.sampled_from([1e-4, 0.01, 0.3]))
def test_rare_pr_auc_is_average_precision_at_the_rare_prevalence(case: tuple, rare: float) -> None:
    y, risk, _ = case
    if y.all() or not y.any():
        return
    labels = SimpleNamespace(is_grooming_true=y)
    result = evaluate_world("w", None, labels, risk, policy=None, rare_prevalence=rare)  # type: ignore[arg-type]
    # By hand: at each distinct threshold, precision at prevalence rho from the rates,
    # rho TPR / (rho TPR + (1 - rho) FPR); AP sums it over the steps of recall.
    want = 0.0
    previous = 0.0
    for t in np.unique(risk)[::-1]:
        tpr = np.mean(risk[y] >= t)
        fpr = np.mean(risk[~y] >= t)
        if tpr > previous:
            want += (tpr - previous) * rare * tpr / (rare * tpr + (1 - rare) * fpr)
            previous = tpr
    assert result.pr_auc_rare == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("grooming", [False, True])
def test_a_world_of_one_class_has_no_pr_auc_nor_alert_rate_rather_than_zero(
    grooming: bool,
) -> None:
    labels = SimpleNamespace(
        is_grooming_true=np.full(3, grooming), scenario=np.array(["x", "x", "x"])
    )
    features = SimpleNamespace(column=lambda name: np.array([12.0, 13.0, 14.0]))
    risk = np.array([0.2, 0.9, 0.99])
    result = evaluate_world(
        "w",
        features,  # type: ignore[arg-type]
        labels,  # type: ignore[arg-type]
        risk,
        policy=AlertPolicy.default(),
        rare_prevalence=1e-4,
    )
    assert math.isnan(result.pr_auc)
    assert math.isnan(result.pr_auc_rare)
    if grooming:
        assert math.isnan(result.alerts_per_million["review"])
        assert math.isnan(result.alerts_per_million["urgent"])
    else:
        assert math.isnan(result.recall_review)
