"""Alert volume counted as an online scorer raises alerts: every state a conversation
passes through (riskscore.evaluation.online_states), each conversation counted once at
the highest tier it reached (Traffic.conversation)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import riskscore as rs
from riskscore.evaluation.online_states import online_traffic
from riskscore.evaluation.robustness import online_world_traffic, unseen_worlds, world_samples
from riskscore.policy import AgeBand, AlertPolicy, Tier
from riskscore.policy.volume import Traffic, alerts_per_million


@pytest.fixture(scope="module")
def world() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(1_500, prevalence=0.02, seed=100, world=unseen_worlds(1)[0])


def test_online_traffic_counts_what_the_online_scorer_alerts(
    world: rs.synthetic.SyntheticData,
) -> None:
    model = rs.load_model()
    y = np.asarray(world.labels.is_grooming_true, dtype=bool)
    ids = np.asarray(world.labels.conversation_id)
    traffic = online_traffic(model, world.messages, ids[~y])
    assert traffic.n_counted == int((~y).sum())
    policy = AlertPolicy.default()
    for scale in (1.0, 0.2):  # the default thresholds and laxer ones: more alerts
        scaled = _scaled(policy, scale)
        scorer = rs.OnlineScorer(model, scaled, idle_expiry_s=np.inf, max_future_s=np.inf)
        alerts = scorer.update_many(world.messages.iter_events())
        benign = set(ids[~y].tolist())
        review = {a.conversation_id for a in alerts} & benign
        urgent = {a.conversation_id for a in alerts if a.tier is Tier.URGENT} & benign
        expected = (1e6 * len(review) / len(benign), 1e6 * len(urgent) / len(benign))
        assert alerts_per_million(scaled, traffic) == pytest.approx(expected)
    # more conversations alert at some event than at their final state
    features = rs.extract_features(world.messages)
    final = Traffic.of(
        features,
        model.predict_proba(features),
        counted=~np.isin(features.conversation_id, ids[y]),
    )
    assert alerts_per_million(policy, traffic)[0] >= alerts_per_million(policy, final)[0]


def _scaled(policy: AlertPolicy, scale: float) -> AlertPolicy:
    def band(b: AgeBand) -> AgeBand:
        return replace(b, review=b.review * scale, urgent=b.urgent * scale)

    return replace(policy, bands=tuple(map(band, policy.bands)), unknown=band(policy.unknown))


def test_a_conversation_counts_once_at_its_highest_tier() -> None:
    policy = AlertPolicy.default()
    band = policy.band_of(12.0)
    high, low = min(band.urgent + 1e-3, 1.0), 0.0
    traffic = Traffic(
        risk=np.array([low, high, low, band.review, low]),
        child_age=np.full(5, 12.0),
        adult_age=np.full(5, 35.0),
        counted=np.array([True, True, True, True, False]),
        conversation=np.array([7, 7, 3, 3, 9]),
    )
    assert traffic.n_counted == 2
    review, urgent = alerts_per_million(policy, traffic)
    assert (review, urgent) == (1e6, 5e5)  # both alert, one of them urgent


def test_traffic_refuses_a_conversation_column_of_another_length() -> None:
    with pytest.raises(ValueError, match=r"Traffic\.conversation has 1 rows, risk has 2"):
        Traffic(
            np.array([0.1, 0.2]),
            np.array([12.0, 13.0]),
            np.array([30.0, 31.0]),
            conversation=np.array([0]),
        )


def test_online_world_traffic_replays_the_samples_world_samples_featurizes() -> None:
    worlds = unseen_worlds(2)
    model = rs.load_model()
    online = online_world_traffic(model, worlds, n_conversations=400, prevalence=0.05, seed=1)
    samples = world_samples(worlds, n_conversations=400, prevalence=0.05, seed=1)
    policy = _scaled(AlertPolicy.default(), 0.2)
    for traffic, sample in zip(online, samples, strict=True):
        final = sample.traffic(model.predict_proba(sample.features))
        assert traffic.n_counted == final.n_counted == 380
        online_review, _ = alerts_per_million(policy, traffic)
        assert online_review >= alerts_per_million(policy, final)[0]
