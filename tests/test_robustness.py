"""Robustness across worlds: per-world metrics, their summary, thresholds by volume."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

import riskscore as rs
from riskscore.evaluation.robustness import (
    EVALUATION_WORLD_SEEDS,
    LOOKALIKES,
    RobustnessReport,
    WorldResult,
    evaluate_samples,
    lookalike_kinds,
    unseen_worlds,
)
from riskscore.evaluation.world_samples import world_samples
from riskscore.policy.volume import policy_for_volume
from riskscore.synthetic import STRESS_WORLDS


@pytest.fixture(scope="module")
def samples() -> list:  # type: ignore[type-arg]
    worlds = {w.name: w for w in unseen_worlds(2)} | {
        "night_owl_teens": STRESS_WORLDS["night_owl_teens"]
    }
    return world_samples(worlds, n_conversations=3_000, prevalence=0.03, seed=4)


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def test_unseen_worlds_never_use_training_seeds() -> None:
    assert min(EVALUATION_WORLD_SEEDS) >= len(rs.model.recipe.TRAINING_WORLD_SEEDS)
    assert [w.name for w in unseen_worlds(3)] == ["drawn-1000", "drawn-1001", "drawn-1002"]


def test_samples_are_reproducible(samples: list) -> None:  # type: ignore[type-arg]
    again = world_samples(
        {w.name: w for w in unseen_worlds(2)}
        | {"night_owl_teens": STRESS_WORLDS["night_owl_teens"]},
        n_conversations=3_000,
        prevalence=0.03,
        seed=4,
    )
    for a, b in zip(samples, again, strict=True):
        assert a.name == b.name
        np.testing.assert_array_equal(a.features.values, b.features.values)


def test_per_world_metrics_match_their_definitions(
    samples: list,  # type: ignore[type-arg]
    model: rs.RiskModel,
) -> None:
    policy = rs.AlertPolicy.default()
    report = evaluate_samples(model.predict_proba, samples, policy=policy, rare_prevalence=1e-4)
    assert [r.world for r in report.results] == ["drawn-1000", "drawn-1001", "night_owl_teens"]
    for sample, result in zip(samples, report.results, strict=True):
        y = sample.labels.is_grooming_true
        risk = model.predict_proba(sample.features)
        assert result.pr_auc == pytest.approx(average_precision_score(y, risk))
        # Re-weighting benign conversations is the same as a rarer prevalence.
        w = (y.mean() / (1 - y.mean())) * ((1 - 1e-4) / 1e-4)
        rare = average_precision_score(y, risk, sample_weight=np.where(y, 1.0, w))
        assert result.pr_auc_rare == pytest.approx(rare)
        assert result.pr_auc_rare < result.pr_auc
        tiers = policy.tiers(
            risk, sample.features.column("child_age"), sample.features.column("adult_age")
        )
        assert result.recall_review == pytest.approx(np.mean(tiers[y] >= 1))
        assert result.alerts_per_million["urgent"] == pytest.approx(
            1e6 * np.sum(tiers[~y] >= 2) / np.sum(~y)
        )
        assert set(result.lookalike_alerted) == set(LOOKALIKES)
    json.dumps(report.to_dict())  # JSON-ready, NaN as null
    summary = report.summary()
    worst, world = report.worst("pr_auc")
    assert summary["pr_auc"]["worst"] == worst
    assert worst == min(r.pr_auc for r in report.results)
    assert world in {r.world for r in report.results}
    assert "| drawn-1000 |" in report.to_markdown()


def test_lookalike_kinds_are_benign_and_read_declared_ages(samples: list) -> None:  # type: ignore[type-arg]
    sample = samples[0]
    kinds = lookalike_kinds(sample.features, sample.labels)
    benign = ~sample.labels.is_grooming_true
    child = sample.features.column("child_age")
    adult = sample.features.column("adult_age")
    for mask in kinds.values():
        assert not np.any(mask & ~benign)
    assert np.all(adult[kinds["minor_minor"]] < 18)
    assert np.all(child[kinds["adult_adult"]] >= 18)
    unknown = np.isnan(child) | np.isnan(adult)
    np.testing.assert_array_equal(kinds["unknown_ages"], benign & unknown)
    assert np.all(sample.labels.scenario[kinds["family"]] == "family")


def test_thresholds_for_a_volume_meet_it_in_the_median_world(
    samples: list,  # type: ignore[type-arg]
    model: rs.RiskModel,
) -> None:
    risks = [model.predict_proba(s.features) for s in samples]
    traffic = [s.traffic(r) for s, r in zip(samples, risks, strict=True)]
    policy = policy_for_volume(traffic, review_per_million=20_000, urgent_per_million=2_000)
    report = evaluate_samples(model.predict_proba, samples, policy=policy)
    # Bisection to the volume: at most the target, and not far below it (ties aside).
    assert report.median("alerts_per_million.review") <= 20_000
    assert report.median("alerts_per_million.urgent") <= 2_000
    assert report.median("alerts_per_million.review") > 10_000
    # Younger children keep the stricter thresholds, the guards are kept.
    review = [b.review for b in policy.bands]
    assert review == sorted(review)
    assert policy.guards == rs.AlertPolicy.default().guards
    assert all(0 < b.review < b.urgent <= 1 for b in policy.all_bands)


def test_policy_for_volume_refuses_band_odds_without_every_band(
    samples: list,  # type: ignore[type-arg]
    model: rs.RiskModel,
) -> None:
    risks = [model.predict_proba(s.features) for s in samples]
    with pytest.raises(ValueError, match="unknown"):
        policy_for_volume(
            [s.traffic(r) for s, r in zip(samples, risks, strict=True)],
            review_per_million=1_000,
            urgent_per_million=100,
            band_odds={"under 13": 0.5, "13-15": 1.0, "16-17": 2.0, "18+": 4.0},
        )


def test_the_shipped_model_reads_no_volume_and_keeps_its_directions(model: rs.RiskModel) -> None:
    """Length and rate never reach the model, and the span only lowers risk from its
    reference of 0 hours, so no conversation alerts for being long or new; every
    constrained behavioural input is monotone in the direction docs/features.md gives."""
    assert not {"n_events", "recent_rate_per_day"} & set(model.feature_names)
    span = rs.FEATURES[rs.FEATURE_NAMES.index("span_hours")]
    assert (span.direction, span.reference, span.constrained) == (-1, 0.0, True)
    specs = {s.name: s for s in rs.FEATURES}
    rng = np.random.default_rng(0)
    base = np.array([specs[n].reference for n in model.feature_names])
    base[:3] = [13.0, 30.0, 17.0]
    for j, name in enumerate(model.feature_names):
        direction = specs[name].direction
        if direction == 0 or not specs[name].constrained:
            continue
        rows = np.repeat(base[None, :], 50, axis=0)
        rows[:, j] = np.sort(rng.uniform(0.0, 30.0, size=50))
        risk = model.predict_proba(rows)
        steps = np.diff(risk) * direction
        assert np.all(steps >= -1e-12), name
    assert math.isfinite(float(model.predict_proba(base[None, :])[0]))
    # The span can count against an alert, never for one: its exact Shapley value is never
    # positive, whatever the other inputs, so it is never shown as a reason.
    rows = np.repeat(base[None, :], 200, axis=0)
    rows[:, 3:] *= rng.uniform(0.0, 3.0, size=rows[:, 3:].shape)
    j = model.feature_names.index("span_hours")
    rows[:, j] = rng.uniform(0.0, 3000.0, size=200)
    assert model.contributions(rows)[:, j].max() <= 1e-12


def test_the_benchmarks_rare_world_figures_say_none_where_undefined_not_zero() -> None:
    """Was: ``benchmarks/robustness.py`` wrote a precision of 0 for a tier that raised no
    alert (``tp / max(alerts, 1)``), and its own copy of the recall and per-million rules."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from robustness import alert_figures  # benchmarks/robustness.py
    finally:
        sys.path.pop(0)
    y = np.array([True, False, False, False])
    tiers = np.array([1, 1, 0, 0])  # one review alert on grooming, one benign; no urgent
    out = alert_figures(y, tiers)
    assert out["precision_review"] == 0.5
    assert out["precision_urgent"] is None
    assert out["recall_urgent"] == 0.0
    assert out["review_per_million_benign"] == pytest.approx(1e6 / 3)
    json.dumps(out, allow_nan=False)


def test_the_per_world_table_has_a_heading_for_every_column() -> None:
    """Was: the per-world table of robustness.md named five look-alike kinds for six
    columns (no ``spam`` heading): the spam share stood under ``unknown ages`` and the
    unknown-ages share had no heading."""
    result = WorldResult(
        "w",
        n_conversations=10,
        n_grooming=1,
        pr_auc=0.5,
        pr_auc_rare=0.1,
        lookalike_alerted={kind: k / 100 for k, kind in enumerate(LOOKALIKES)},
    )
    text = RobustnessReport((result,), prevalence=0.01, rare_prevalence=1e-4).to_markdown()
    header, rule, row = [line for line in text.splitlines() if line.startswith("|")][:3]
    assert header.count("|") == rule.count("|") == row.count("|")
    cells = dict(zip(header[2:-2].split(" | "), row[2:-2].split(" | "), strict=True))
    assert cells["spam"] == "4.0%"
    assert cells["unknown ages"] == "5.0%"
