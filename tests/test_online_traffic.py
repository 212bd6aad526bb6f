"""Alert volume counted as an online scorer raises alerts: every state a conversation
passes through (riskscore.evaluation.online_states), each conversation counted once at
the highest tier it reached (Traffic.conversation)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import riskscore as rs
from riskscore.evaluation.online_states import online_traffic
from riskscore.evaluation.robustness import unseen_worlds
from riskscore.evaluation.world_samples import online_world_traffic, world_samples
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


def test_online_traffic_forgets_idle_conversations_as_the_scorer_does(
    world: rs.synthetic.SyntheticData,
) -> None:
    """A conversation idle past the scorer's expiry starts afresh at its next event and can
    alert again; it counts once, at the highest tier either part reached."""
    model = rs.load_model()
    y = np.asarray(world.labels.is_grooming_true, dtype=bool)
    ids = np.asarray(world.labels.conversation_id)
    policy = _scaled(AlertPolicy.default(), 0.2)
    benign = set(ids[~y].tolist())
    counted = {}
    for idle in (2 * 86_400.0, np.inf):
        traffic = online_traffic(model, world.messages, ids[~y], idle_expiry_s=idle)
        scorer = rs.OnlineScorer(model, policy, idle_expiry_s=idle, max_future_s=np.inf)
        alerted = {a.conversation_id for a in scorer.update_many(world.messages.iter_events())}
        expected = 1e6 * len(alerted & benign) / len(benign)
        counted[idle] = alerts_per_million(policy, traffic)[0]
        assert counted[idle] == pytest.approx(expected)
    assert counted[2 * 86_400.0] != counted[np.inf]  # the expiry is honoured, not ignored


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


@pytest.mark.parametrize(
    ("conversation", "counted", "message"),
    [
        ([0.0, 0.5, 1.0], None, r"integer codes 0 \.\. m - 1, got dtype float64 \(row 0 is 0.0\)"),
        (["a", "a", "b"], None, r"conversation must hold integer codes .* \(row 0 is 'a'\)"),
        ([0, -1, 1], None, r"conversation must hold codes from 0: row 1 is -1"),
        ([0, 0, 1], [True, False, True], r"row 1 \(conversation 0\) is False, another row"),
        ([10**15, 0, 0], [True, False, True], r"row 1 \(conversation 0\) is False, another row"),
        ([0, 1, 2], [1, 0, 1], r"Traffic\.counted must be a bool array, got dtype int64"),
    ],
)
def test_traffic_names_a_bad_conversation_column(
    conversation: list[object], counted: list[object] | None, message: str
) -> None:
    """Was: float codes were truncated (0.5 joined conversation 0), text codes raised
    numpy's own error while counting, a negative code was a conversation, and a
    conversation counted on one row but not another was half counted."""
    with pytest.raises(ValueError, match=message):
        Traffic(
            np.array([0.1, 0.2, 0.3]),
            np.full(3, 12.0),
            np.full(3, 30.0),
            counted=None if counted is None else np.array(counted),
            conversation=np.array(conversation),
        )


def test_empty_traffic_counts_nothing() -> None:
    empty = Traffic(np.empty(0), np.empty(0), np.empty(0), conversation=np.empty(0))
    assert empty.n_counted == 0
    assert all(np.isnan(alerts_per_million(AlertPolicy.default(), empty)))


def _room_events() -> rs.MessageTable:
    """Room 1 of three accounts (split into three pairs) and the pair conversation 2."""
    t = 1_700_000_000
    rows = [(1, 0, 10, 11, 35, 12), (1, 10, 11, 10, 12, 35), (1, 20, 12, 11, 30, 12)]
    rows += [(1, 30, 10, 12, 35, 30), (2, 40, 20, 21, 40, 13)]
    names = ("conversation_id", "timestamp", "sender_id", "recipient_id")
    names += ("sender_age", "recipient_age")
    cols = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    cols["timestamp"] = [t + s for s in cols["timestamp"]]
    return rs.read_messages({**cols, "channel": ["direct"] * 5})


@pytest.mark.parametrize(
    ("ids", "n_counted"),
    [([2], 1), (["2"], 1), ([1], 3), (["1|10|11"], 1), ([1, 2], 4)],
)
def test_counted_ids_name_conversations_or_rooms(ids: list[object], n_counted: int) -> None:
    """Was: a file with a group room reads every id as text, so the integer 2 counted
    nothing, nor did the room's own id 1 (its pairs are ``1|a|b``): the volume fell
    in silence."""
    assert online_traffic(rs.load_model(), _room_events(), ids).n_counted == n_counted


def test_counted_ids_not_in_the_messages_are_refused() -> None:
    """Was: an id of no conversation counted nothing, in silence."""
    with pytest.raises(ValueError, match=r"counted_ids: 99 is not a conversation or group room"):
        online_traffic(rs.load_model(), _room_events(), [2, 99])
