"""Online scoring: parity with batch features, alerts, late events, groups, bad events,
expiry. Account features across conversations, checkpoints and rescoring are in
``test_online_accounts.py``.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from online_helpers import (
    ACCOUNT_MODEL,
    CHANNELS,
    MODEL,
    POLICY,
    T0,
    TOLERANCE,
    assert_close,
    batch_tier,
    columns,
    event_streams,
)

import riskscore as rs


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(events=event_streams())
@pytest.mark.parametrize("model", [MODEL, ACCOUNT_MODEL], ids=["random", "account-heavy"])
def test_online_features_equal_batch_features_of_every_prefix(
    model: rs.RiskModel, events: list[dict[str, Any]]
) -> None:
    """After each event, *every* live conversation's online features and risk equal the batch
    ones of everything applied so far (late events clamped as documented), and the event raises
    exactly the alerts of the conversations whose tier first rose: its own first, then those of
    its adult's other conversations that it re-scored."""
    scorer = rs.OnlineScorer(model, POLICY, idle_expiry_s=math.inf, reorder_tolerance_s=TOLERANCE)
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
                    scorer.update_one_all(event)
                continue
            expected["timestamp"] = latest[cid]
            n_clamped += 1
        latest[cid] = expected["timestamp"]
        alerts = scorer.update_one_all(event)
        applied.append(expected)

        X = rs.extract_features(columns(applied))
        risks = model.predict_proba(X)
        due: dict[int, tuple[int, int]] = {}  # conversation -> (tier, row)
        for pos, c in enumerate(X.conversation_id.tolist()):
            assert_close(scorer.features_of(c), X.values[pos])
            assert scorer.score_of(c) == pytest.approx(float(risks[pos]), abs=1e-12)
            tier = batch_tier(POLICY, float(risks[pos]), X.values[pos])
            if tier > alerted.get(c, 0):
                due[c] = (tier, pos)
                alerted[c] = tier
        raised = [a.conversation_id for a in alerts]
        assert sorted(raised) == sorted(due)
        if cid in due:
            assert raised[0] == cid, "the event's own conversation comes first"
        for alert in alerts:
            c = alert.conversation_id
            tier, pos = due[c]
            assert int(alert.tier) == tier
            assert alert.risk == pytest.approx(float(risks[pos]), abs=1e-12)
            assert alert.event_index == sum(e["conversation_id"] == c for e in applied) - 1
            # Re-scored conversations alert at the event's time, never before their own last.
            assert alert.timestamp == max(expected["timestamp"], latest[c])
            assert alert.adult_id == X.adult_id[pos]
            assert alert.child_id == X.child_id[pos]
    assert (scorer.n_clamped, scorer.n_too_late) == (n_clamped, n_too_late)
    assert scorer.n_events == len(applied)
    assert scorer.refresh() == []


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
            "recipient_tz_offset_min": 0,  # midnight to 2 am on both clocks
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
    events = _escalating(60, 60)  # within the hour: 59 minutes
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


def test_a_third_account_makes_the_conversation_a_group_room() -> None:
    scorer = rs.OnlineScorer(MODEL, idle_expiry_s=math.inf)
    base = {"conversation_id": 1, "channel": "group", "sender_age": 40, "recipient_age": 12,
            "room_size": None}  # fmt: skip
    events = [
        {**base, "timestamp": T0, "sender_id": "a", "recipient_id": "b"},
        {**base, "timestamp": T0 + 60, "sender_id": "a", "recipient_id": "c", "room_size": 3},
        {**base, "timestamp": T0 + 60, "sender_id": "a", "recipient_id": "b", "room_size": 3},
        {**base, "timestamp": T0 + 90, "sender_id": "c", "recipient_id": "b", "sender_age": 13},
    ]
    for event in events:
        scorer.update_one(event)
    assert scorer.n_events == 4
    # the pair (a, b) continues as "1|a|b"; every pair of the room is its own conversation
    assert sorted(map(str, scorer._conversations)) == ["1|a|b", "1|a|c", "1|b|c"]
    assert scorer.score_of("1|a|b") == pytest.approx(
        float(MODEL.predict_proba(rs.extract_features(columns(events)))[0])
    )
    with pytest.raises(KeyError):
        scorer.score_of(1)
    batch = rs.extract_features(columns(events))
    for pos, cid in enumerate(batch.conversation_id.tolist()):
        assert_close(scorer.features_of(cid), batch.values[pos])


def test_a_pair_id_that_is_already_a_conversation_is_refused() -> None:
    scorer = rs.OnlineScorer(MODEL)
    base = {"timestamp": T0, "channel": "direct"}
    scorer.update_one({**base, "conversation_id": "1|a|c", "sender_id": "x", "recipient_id": "y"})
    scorer.update_one({**base, "conversation_id": "1", "sender_id": "a", "recipient_id": "b"})
    with pytest.raises(rs.SchemaError, match="also the pair id"):
        scorer.update_one({**base, "conversation_id": "1", "sender_id": "a", "recipient_id": "c"})
    assert scorer.n_events == 2
    assert "1|a|b" not in scorer.conversation_ids  # state unchanged: still conversation 1
    assert "1" in scorer.conversation_ids


@pytest.mark.parametrize("room", ["r", 7])
def test_a_conversation_named_like_a_pair_of_a_known_room_is_refused(room: object) -> None:
    # the room first, then a conversation whose own id is that room's pair id (batch refuses
    # the same file): it must not join the pair's conversation
    scorer = rs.OnlineScorer(MODEL)
    base = {"timestamp": T0, "channel": "direct"}
    scorer.update_one({**base, "conversation_id": room, "sender_id": "a", "recipient_id": "b"})
    scorer.update_one({**base, "conversation_id": room, "sender_id": "a", "recipient_id": "c"})
    pair = f"{room}|a|b"
    assert pair in scorer.conversation_ids
    with pytest.raises(rs.SchemaError, match=f"'{re.escape(pair)}' is the id of a conversation"):
        scorer.update_one({**base, "conversation_id": pair, "sender_id": "b", "recipient_id": "a"})
    assert scorer.n_events == 2
    # a pair id of other accounts is a plain conversation id
    scorer.update_one(
        {**base, "conversation_id": f"{room}|x|y", "sender_id": "x", "recipient_id": "z"}
    )
    assert scorer.n_events == 3


def test_broadcast_events_change_no_state_and_are_counted() -> None:
    scorer = rs.OnlineScorer(MODEL, max_room_members=5)
    event = {"conversation_id": "r", "timestamp": T0, "channel": "public", "sender_id": "a",
             "recipient_id": "b", "room_size": 6}  # fmt: skip
    assert scorer.update_one(event) is None
    assert (scorer.n_broadcast, scorer.n_events, scorer.n_conversations) == (1, 0, 0)
    scorer.update_one({**event, "event": "block"})  # a block is not a broadcast
    assert scorer.n_events == 1
    with pytest.raises(ValueError, match="max_room_members"):
        rs.OnlineScorer(MODEL, max_room_members=1)


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
        # an empty offset is unknown (never UTC, 0)
        ("recipient_tz_offset_min", "", None),
        ("recipient_tz_offset_min", math.nan, None),
        ("recipient_tz_offset_min", "  ", None),
        ("room_size", "", None),
        ("room_size", " 3 ", 3),
        ("room_size", 3.0, 3),
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


def test_stream_equals_batch_scores_and_covers_batch_alerts() -> None:
    """What "the same alerts as batch scoring followed by the policy" means (docs/online.md)."""
    data = rs.synthetic.generate(600, prevalence=0.1, seed=5)
    model = rs.load_model()
    policy = rs.AlertPolicy.default()
    scorer = rs.OnlineScorer(model, policy, idle_expiry_s=math.inf)
    alerts = scorer.update_many(data.messages.iter_events())
    assert scorer.refresh() == [], "every risk is already up to date"
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


def test_iter_events_yields_time_ordered_schema_mappings() -> None:
    data = rs.synthetic.generate(50, seed=2)
    events = list(data.messages.iter_events())
    assert len(events) == len(data.messages)
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert all(type(e["timestamp"]) is int for e in events)
    again = rs.read_messages(columns(events))
    np.testing.assert_array_equal(again.timestamp, data.messages.timestamp)
    np.testing.assert_array_equal(again.channel, data.messages.channel)
