"""Alert policy: age bands, tiers, ordering, validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import riskscore as rs
from riskscore.policy import AgeBand, AlertPolicy, Tier
from riskscore.scores import ScoreTable


def _scores(risk: list[float], ages: list[float]) -> ScoreTable:
    n = len(risk)
    return ScoreTable(
        conversation_id=np.arange(n),
        risk=np.asarray(risk, dtype=float),
        adult_id=np.arange(100, 100 + n),
        child_id=np.arange(200, 200 + n),
        child_age=np.asarray(ages, dtype=float),
        feature_names=("a", "b"),
        reason_feature=np.tile([[1, -1]], (n, 1)),
        reason_value=np.tile([[3.0, np.nan]], (n, 1)),
        reason_contribution=np.tile([[0.5, np.nan]], (n, 1)),
    )


def test_younger_children_get_stricter_thresholds() -> None:
    policy = AlertPolicy.default()
    review, urgent = policy.thresholds(np.array([8.0, 14.0, 17.0, 30.0]))
    assert np.all(np.diff(review) > 0)
    assert np.all(np.diff(urgent) > 0)


def test_band_boundaries_and_unknown_age() -> None:
    policy = AlertPolicy.default()
    idx = policy.band_index(np.array([0.0, 12.99, 13.0, 15.99, 16.0, 18.0, 90.0, np.nan]))
    assert idx.tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    assert policy.band_of(float("nan")).name == "unknown"


def test_alerts_carry_ids_band_tier_and_reasons_urgent_first() -> None:
    policy = AlertPolicy.default()
    alerts = policy.alerts(_scores([0.05, 0.3, 0.95, 0.55], [10, 10, 17, 12]))
    assert [a.conversation_id for a in alerts] == [2, 3, 1]
    assert [a.tier for a in alerts] == [Tier.URGENT, Tier.URGENT, Tier.REVIEW]
    first = alerts[0]
    assert (first.adult_id, first.child_id, first.age_band) == (102, 202, "16-17")
    assert first.reasons[0].feature == "b"
    json.dumps(first.to_dict())  # JSON-ready


def test_unknown_age_alert_serialises_age_as_null() -> None:
    alert = AlertPolicy.default().alerts(_scores([0.99], [math.nan]))[0]
    assert alert.age_band == "unknown"
    assert alert.to_dict()["child_age"] is None


@pytest.mark.parametrize(
    ("bands", "match"),
    [
        ((), "at least one"),
        ((AgeBand("a", 1, 18, 0.2, 0.5),), "start at 0"),
        ((AgeBand("a", 0, 10, 0.2, 0.5), AgeBand("b", 12, 18, 0.3, 0.6)), "must meet"),
        ((AgeBand("a", 0, 10, 0.4, 0.5), AgeBand("b", 10, 18, 0.3, 0.6)), "at least as strict"),
    ],
)
def test_invalid_policies_are_refused(bands: tuple[AgeBand, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AlertPolicy(bands=bands)


@pytest.mark.parametrize(("review", "urgent"), [(0.5, 0.4), (0.0, 0.5), (0.2, 1.5)])
def test_invalid_thresholds_are_refused(review: float, urgent: float) -> None:
    with pytest.raises(ValueError, match="0 < review < urgent <= 1"):
        AgeBand("x", 0, 18, review, urgent)


def test_tier_of_agrees_with_vectorized_tiers() -> None:
    policy = AlertPolicy.default()
    rng = np.random.default_rng(0)
    risk = rng.random(500)
    ages = np.where(rng.random(500) < 0.2, np.nan, rng.uniform(2, 40, 500))
    batch = policy.tiers(risk, ages)
    one = [int(policy.tier_of(r, a) or 0) for r, a in zip(risk, ages, strict=True)]
    assert batch.tolist() == one


def test_public_api_exports() -> None:
    for name in rs.__all__:
        assert hasattr(rs, name), name
