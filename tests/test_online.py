"""Online scoring: parity with batch features, alerts, late events, expiry."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.linear import LinearParams

T0 = 1_700_000_000
CHANNELS = ("public", "group", "direct", "ephemeral", "encrypted", "external")
KINDS = ("message", "message", "media", "contact_request", "contact_accept", "block", "report")
AGES = (8.0, 11.0, 13.0, 15.5, 17.0, 18.0, 25.0, 44.0)
TOLERANCE = 300


def random_model(seed: int) -> rs.RiskModel:
    """A model whose weights touch every feature, so any feature mismatch moves the score."""
    rng = np.random.default_rng(seed)
    f = len(rs.FEATURE_NAMES)
    params = LinearParams(
        feature_names=rs.FEATURE_NAMES,
        log_scale=np.array([s.log_scale for s in rs.FEATURES]),
        impute=rng.normal(size=f),
        mean=rng.normal(size=f) * 0.1,
        scale=rng.uniform(0.5, 2.0, size=f),
        coef=rng.normal(size=f) * 0.3,
        intercept=-1.0,
        calib_a=-1.0,
        calib_b=0.0,
    )
    return rs.RiskModel(params)


MODEL = random_model(1)
#: Low thresholds so that random streams cross tiers often.
POLICY = rs.AlertPolicy(
    bands=(
        rs.AgeBand("under 13", 0.0, 13.0, review=0.3, urgent=0.6),
        rs.AgeBand("13+", 13.0, math.inf, review=0.4, urgent=0.7),
    ),
    unknown=rs.AgeBand("unknown", 0.0, math.inf, review=0.35, urgent=0.65),
)


@st.composite
def event_streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Random streams: a few accounts and conversations, late events (some beyond the
    tolerance), exact duplicates, unknown and changing ages, several time zones."""
    n_accounts = draw(st.integers(2, 6))
    ages = [draw(st.sampled_from((None, *AGES))) for _ in range(n_accounts)]
    n_conv = draw(st.integers(1, 4))
    pairs = [tuple(draw(st.permutations(range(n_accounts)))[:2]) for _ in range(n_conv)]

    def age_of(x: int) -> float | None:
        choice = draw(st.integers(0, 9))
        if choice == 0:
            return None  # unknown on this event
        if choice == 1:
            return draw(st.sampled_from(AGES))  # a different declared age
        return ages[x]

    events: list[dict[str, Any]] = []
    t = T0
    for _ in range(draw(st.integers(1, 30))):
        if events and draw(st.integers(0, 9)) == 0:
            events.append(dict(draw(st.sampled_from(events))))  # exact duplicate
            continue
        c = draw(st.integers(0, n_conv - 1))
        a, b = pairs[c]
        if draw(st.booleans()):
            a, b = b, a
        t += draw(st.sampled_from((0, 1, 59, 600, 3_600, 40_000, 200_000)))
        late = draw(st.sampled_from((0, 0, 0, 1, TOLERANCE, TOLERANCE + 1, 5_000)))
        events.append(
            {
                "conversation_id": c,
                "timestamp": t - late,
                "sender_id": f"u{a}",
                "recipient_id": f"u{b}",
                "sender_age": age_of(a),
                "recipient_age": age_of(b),
                "channel": draw(st.sampled_from(CHANNELS)),
                "event": draw(st.sampled_from(KINDS)),
                "recipient_tz_offset_min": draw(st.sampled_from((0, 60, -300, 330, 840))),
            }
        )
    return events


def columns(events: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {key: [e[key] for e in events] for key in events[0]}


def assert_close(online: np.ndarray[Any, Any], batch: np.ndarray[Any, Any]) -> None:
    np.testing.assert_array_equal(np.isnan(online), np.isnan(batch))
    np.testing.assert_allclose(online, batch, rtol=0, atol=1e-9, equal_nan=True)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(event_streams())
def test_online_features_equal_batch_features_of_every_prefix(
    events: list[dict[str, Any]],
) -> None:
    """After each event, the conversation's online features and risk equal the batch ones of
    everything applied so far (late events clamped as documented); alerts fire exactly when
    the tier first rises."""
    scorer = rs.OnlineScorer(MODEL, POLICY, idle_expiry_s=math.inf, reorder_tolerance_s=TOLERANCE)
    applied: list[dict[str, Any]] = []
    latest: dict[int, int] = {}
    alerted: dict[int, int] = {}
    n_clamped = n_too_late = 0
    for event in events:
        cid = event["conversation_id"]
        expected = dict(event)
        if cid in latest and event["timestamp"] < latest[cid]:
            if latest[cid] - event["timestamp"] > TOLERANCE:
                n_too_late += 1
                with pytest.raises(rs.SchemaError, match="reorder_tolerance_s"):
                    scorer.update_one(event)
                continue
            expected["timestamp"] = latest[cid]
            n_clamped += 1
        latest[cid] = expected["timestamp"]
        alert = scorer.update_one(event)
        applied.append(expected)

        X = rs.extract_features(columns(applied))
        pos = int(np.flatnonzero(X.conversation_id == cid)[0])
        assert_close(scorer.features_of(cid), X.values[pos])
        batch_risk = float(MODEL.predict_proba(X)[pos])
        assert scorer.score_of(cid) == pytest.approx(batch_risk, abs=1e-12)

        tier = POLICY.tier_of(batch_risk, float(X.values[pos, 0]))
        tier_now = 0 if tier is None else int(tier)
        if tier_now > alerted.get(cid, 0):
            assert alert is not None
            assert int(alert.tier) == tier_now
            assert alert.event_index == sum(e["conversation_id"] == cid for e in applied) - 1
            assert alert.timestamp == expected["timestamp"]
            assert alert.risk == pytest.approx(batch_risk, abs=1e-12)
            assert alert.adult_id == X.adult_id[pos]
            assert alert.child_id == X.child_id[pos]
            alerted[cid] = tier_now
        else:
            assert alert is None
    assert (scorer.n_clamped, scorer.n_too_late) == (n_clamped, n_too_late)
    assert scorer.n_events == len(applied)


def test_alert_reasons_equal_batch_reasons() -> None:
    model = rs.load_model()
    events = [
        {
            "conversation_id": "c",
            "timestamp": T0 + 600 * i,
            "sender_id": "adult" if i % 3 else "kid",
            "recipient_id": "kid" if i % 3 else "adult",
            "sender_age": 41 if i % 3 else 11,
            "recipient_age": 11 if i % 3 else 41,
            "channel": CHANNELS[min(i // 2, 5)],
            "event": "media" if i % 4 == 3 else "message",
        }
        for i in range(12)
    ]
    scorer = rs.OnlineScorer(model)
    alerts = [(k, a) for k, e in enumerate(events) if (a := scorer.update_one(e)) is not None]
    assert alerts, "this conversation is built to alert"
    for k, alert in alerts:
        scores = model.score(columns(events[: k + 1]))
        expected = scores.reasons(0)
        assert [r.feature for r in alert.reasons] == [r.feature for r in expected]
        np.testing.assert_allclose(
            [r.contribution for r in alert.reasons], [r.contribution for r in expected], atol=1e-9
        )
        assert alert.risk == pytest.approx(float(scores.risk[0]), abs=1e-12)
    tiers = [int(a.tier) for _, a in alerts]
    assert tiers == sorted(set(tiers)), "one alert per tier, escalating, none repeated"


def _escalating(n: int, step_s: int) -> list[dict[str, Any]]:
    return [
        {
            "conversation_id": 9,
            "timestamp": T0 + step_s * i,
            "sender_id": 1,
            "recipient_id": 2,
            "sender_age": 40,
            "recipient_age": 10,
            "channel": "external" if i else "public",
            "event": "media",
        }
        for i in range(n)
    ]


def test_cooldown_delays_an_escalation_to_the_first_event_after_it() -> None:
    model = rs.load_model()
    events = _escalating(12, 60)
    plain = rs.OnlineScorer(model)
    first = [(k, a) for k, e in enumerate(events) if (a := plain.update_one(e)) is not None]
    assert [int(a.tier) for _, a in first] == [1, 2] or [int(a.tier) for _, a in first] == [2]
    cooled = rs.OnlineScorer(model, cooldown_s=3600)
    late = [(k, a) for k, e in enumerate(events) if (a := cooled.update_one(e)) is not None]
    # The first alert is not delayed; any later one must wait an hour of event time.
    assert late[0][0] == first[0][0]
    for (_, a), (_, b) in itertools.pairwise(late):
        assert b.timestamp is not None
        assert a.timestamp is not None
        assert b.timestamp - a.timestamp >= 3600
    if len(first) == 2:
        assert len(late) == 1  # the stream ends within the hour: the escalation waits
        cooled.update_one({**events[-1], "timestamp": events[0]["timestamp"] + 7200})
        assert cooled.alerted_tier_of(9) == 2


def test_late_events_are_clamped_or_refused_and_state_is_unchanged_on_refusal() -> None:
    scorer = rs.OnlineScorer(MODEL, reorder_tolerance_s=100)
    base = {"conversation_id": 1, "sender_id": "a", "recipient_id": "b", "channel": "direct"}
    scorer.update_one({**base, "timestamp": T0 + 1000})
    before = scorer.features_of(1)
    with pytest.raises(rs.SchemaError, match=r"900 s before the latest event"):
        scorer.update_one({**base, "timestamp": T0 + 100})
    np.testing.assert_array_equal(scorer.features_of(1), before)
    assert (scorer.n_events, scorer.n_too_late) == (1, 1)
    scorer.update_one({**base, "timestamp": T0 + 950})
    assert scorer.n_clamped == 1
    assert scorer.features_of(1)[rs.FEATURE_NAMES.index("span_hours")] == 0.0


def test_a_third_account_in_a_conversation_is_refused() -> None:
    scorer = rs.OnlineScorer(MODEL)
    base = {"conversation_id": 1, "timestamp": T0, "channel": "direct"}
    scorer.update_one({**base, "sender_id": "a", "recipient_id": "b"})
    with pytest.raises(rs.SchemaError, match="not the pair of conversation"):
        scorer.update_one({**base, "sender_id": "a", "recipient_id": "c"})
    assert scorer.n_events == 1


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("timestamp", "yesterday", "not a timestamp"),
        ("channel", "carrier pigeon", "not recognised"),
        ("sender_age", 300, "plausible age"),
        ("conversation_id", [1], "not an id"),
        ("recipient_tz_offset_min", 2000, "out of range"),
    ],
)
def test_bad_events_name_the_field(field: str, value: Any, match: str) -> None:
    scorer = rs.OnlineScorer(MODEL)
    event = {"conversation_id": 1, "timestamp": T0, "sender_id": 1, "recipient_id": 2}
    event["channel"] = "direct"
    event[field] = value
    with pytest.raises(rs.SchemaError, match=match) as info:
        scorer.update_one(event)
    assert info.value.column == field
    assert scorer.n_events == 0


@pytest.mark.parametrize(
    ("field", "blank", "canonical"),
    [
        ("event", "", "message"),
        ("event", "  ", "message"),
        ("event", math.nan, "message"),
        ("event", None, "message"),
        ("recipient_tz_offset_min", "", 0),
        ("recipient_tz_offset_min", math.nan, 0),
        ("recipient_tz_offset_min", None, 0),
        ("recipient_tz_offset_min", " 60 ", 60),
        ("recipient_tz_offset_min", 60.0, 60),
        ("sender_age", " ", None),
        ("sender_age", "nan", None),
    ],
)
def test_empty_and_text_cells_read_as_the_batch_reader_reads_them(
    field: str, blank: Any, canonical: Any
) -> None:
    """What read_messages accepts in a cell, the online scorer accepts with the same meaning."""
    event: dict[str, Any] = {
        "conversation_id": 1,
        "timestamp": T0 + 23 * 3600,
        "sender_id": 1,
        "recipient_id": 2,
        "channel": "direct",
        "sender_age": 40,
        "recipient_age": 13,
        "event": "media",
        "recipient_tz_offset_min": 0,
    }
    odd, plain = {**event, field: blank}, {**event, field: canonical}
    scorer, reference = rs.OnlineScorer(MODEL), rs.OnlineScorer(MODEL)
    scorer.update_one(odd)
    reference.update_one(plain)
    batch = rs.extract_features(columns([odd]))
    assert_close(scorer.features_of(1), reference.features_of(1))
    assert_close(scorer.features_of(1), batch.values[0])


def test_message_content_is_refused() -> None:
    scorer = rs.OnlineScorer(MODEL)
    event = {"conversation_id": 1, "timestamp": T0, "sender_id": 1, "recipient_id": 2}
    with pytest.raises(rs.SchemaError, match="reads no message content"):
        scorer.update_one({**event, "channel": "direct", " Text ": "hello"})


def test_idle_conversations_and_accounts_expire() -> None:
    scorer = rs.OnlineScorer(MODEL, idle_expiry_s=3600)
    for i in range(50):
        scorer.update_one(
            {
                "conversation_id": i,
                "timestamp": T0 + 600 * i,
                "sender_id": f"a{i}",
                "recipient_id": f"b{i}",
                "channel": "public",
            }
        )
    # Events every 10 minutes, one hour of memory: the last 7 conversations survive.
    assert scorer.n_conversations == 7
    assert scorer.n_accounts == 14
    assert scorer.n_expired == 43
    with pytest.raises(KeyError, match="expired"):
        scorer.score_of(0)


def test_stream_then_refresh_equals_batch_scores_and_covers_batch_alerts() -> None:
    """What "the same alerts as batch scoring followed by the policy" means (docs/online.md)."""
    data = rs.synthetic.generate(600, prevalence=0.1, seed=5)
    model = rs.load_model()
    policy = rs.AlertPolicy.default()
    scorer = rs.OnlineScorer(model, policy, idle_expiry_s=math.inf)
    alerts = scorer.update_many(data.messages.iter_events())
    alerts += scorer.refresh()
    scores = model.score(data.messages)
    online_risk = np.array([scorer.score_of(c) for c in scores.conversation_id.tolist()])
    np.testing.assert_allclose(online_risk, scores.risk, rtol=0, atol=1e-9)
    streamed: dict[Any, int] = {}
    for alert in alerts:
        assert int(alert.tier) > streamed.get(alert.conversation_id, 0)
        streamed[alert.conversation_id] = int(alert.tier)
    batch = policy.alerts(scores)
    assert batch
    for alert in batch:
        assert streamed.get(alert.conversation_id, 0) >= int(alert.tier)
    assert scorer.refresh() == []


def test_iter_events_yields_time_ordered_schema_mappings() -> None:
    data = rs.synthetic.generate(50, seed=2)
    events = list(data.messages.iter_events())
    assert len(events) == len(data.messages)
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert all(type(e["timestamp"]) is int for e in events)
    again = rs.read_messages(columns(events))
    np.testing.assert_array_equal(again.timestamp, data.messages.timestamp)
    np.testing.assert_array_equal(again.channel, data.messages.channel)
