"""Online scoring: parity with batch features, alerts, late events, expiry."""

from __future__ import annotations

import itertools
import math
import re
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _models import counting_model, random_model, with_stumps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskscore as rs

T0 = 1_700_000_000
CHANNELS = ("public", "group", "direct", "ephemeral", "encrypted", "external")
KINDS = ("message", "message", "media", "contact_request", "contact_accept", "block", "report")
AGES = (8.0, 11.0, 13.0, 15.5, 17.0, 18.0, 25.0, 44.0)
TOLERANCE = 300


ACCOUNT_FEATURES = (
    "adult_minor_fanout",
    "adult_minor_contact_share",
    "adult_private_minor_fanout",
    "adult_unaccepted_requests",
    "adult_unaccepted_share",
    "adult_blocks_reports_from_minors",
    "adult_flagged_per_minor",
)
MODEL = random_model(1)
#: Heavy per-account weights, so that an event in one conversation often moves another's tier.
ACCOUNT_MODEL = with_stumps(
    MODEL, [(name, cut, 1.0) for name in ACCOUNT_FEATURES for cut in (0.3, 0.8, 1.5, 2.5)]
)
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


def batch_tier(policy: rs.AlertPolicy, risk: float, row: np.ndarray[Any, Any]) -> int:
    """The policy's tier (0: none) of a batch feature row scored ``risk``."""
    ages = (float(row[rs.FEATURE_NAMES.index(name)]) for name in ("child_age", "adult_age"))
    tier = policy.tier_of(risk, *ages)
    return 0 if tier is None else int(tier)


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


# --------------------------------------------------- account features across conversations


#: One band for every age: review at 0.5, urgent at 0.9.
HALF = rs.AlertPolicy(
    bands=(rs.AgeBand("all", 0.0, math.inf, review=0.5, urgent=0.9),),
    unknown=rs.AgeBand("unknown", 0.0, math.inf, review=0.5, urgent=0.9),
)


def ev(
    cid: object,
    t: int,
    sender: str,
    recipient: str,
    sender_age: float | None,
    recipient_age: float | None,
    event: str = "message",
    channel: str = "direct",
) -> dict[str, Any]:
    return {
        "conversation_id": cid,
        "timestamp": T0 + t,
        "sender_id": sender,
        "recipient_id": recipient,
        "sender_age": sender_age,
        "recipient_age": recipient_age,
        "channel": channel,
        "event": event,
    }


def assert_every_conversation_equals_batch(
    scorer: rs.OnlineScorer, model: rs.RiskModel, events: list[dict[str, Any]]
) -> None:
    X = rs.extract_features(columns(events))
    risks = model.predict_proba(X)
    for pos, cid in enumerate(X.conversation_id.tolist()):
        assert_close(scorer.features_of(cid), X.values[pos])
        assert scorer.score_of(cid) == pytest.approx(float(risks[pos]), abs=1e-12)


def test_an_adult_contacting_more_minors_raises_and_alerts_a_quiet_conversation() -> None:
    """Fan-out: after conversation A goes quiet, its adult contacts three more minors
    elsewhere; A's risk rises with each (it has no event of its own) and A alerts when the
    third one takes it over the review threshold."""
    # Fan-out 1, 2, 3, 4 -> risk 0.08, 0.18, 0.38, 0.62.
    model = counting_model(-3.5, adult_minor_fanout=1.0)
    scorer = rs.OnlineScorer(model, HALF, idle_expiry_s=math.inf)
    quiet = [
        ev("A", 0, "x", "k1", 40, 12),
        ev("A", 60, "k1", "x", 12, 40),
        ev("A", 120, "x", "k1", 40, 12, channel="encrypted"),
    ]
    assert scorer.update_many(quiet) == []
    risks = [scorer.score_of("A")]
    events = list(quiet)
    for i, (cid, kid) in enumerate([("B", "k2"), ("C", "k3"), ("D", "k4")], start=1):
        event = ev(cid, 86_400 * i, "x", kid, 40, 11 + i, event="contact_request")
        events.append(event)
        alerts = scorer.update_one_all(event)
        risks.append(scorer.score_of("A"))
        assert_every_conversation_equals_batch(scorer, model, events)
        if i < 3:
            assert alerts == []
    assert risks == sorted(risks), "each new minor raises A's risk"
    assert len(set(risks)) == 4
    assert risks[-2] < 0.5 <= risks[-1]
    # The third new minor alerts every conversation of the adult: the event's own first,
    # then the others in the order they joined the adult.
    assert [a.conversation_id for a in alerts] == ["D", "A", "B", "C"]
    quiet_alert = alerts[1]
    assert (quiet_alert.adult_id, quiet_alert.child_id) == ("x", "k1")
    assert quiet_alert.tier == rs.Tier.REVIEW
    assert quiet_alert.risk == pytest.approx(risks[-1], abs=1e-12)
    assert quiet_alert.event_index == 2  # A's state is as of its own third event
    assert quiet_alert.timestamp == T0 + 3 * 86_400  # raised when the fourth minor was contacted
    assert scorer.alerted_tier_of("A") == 1
    # below the review threshold even with the largest move a new minor can give, A, then
    # A and B were deferred; the alerting event re-scored all three
    assert (scorer.n_rescored, scorer.n_rescore_deferred) == (3, 0 + 1 + 2)
    assert scorer.refresh() == []

    # update_one returns the event's own alert only; update_many returns every alert.
    legacy = rs.OnlineScorer(model, HALF, idle_expiry_s=math.inf)
    own = [a for e in events if (a := legacy.update_one(e)) is not None]
    assert [a.conversation_id for a in own] == ["D"]
    assert legacy.alerted_tier_of("A") == 1  # alerted all the same, just not returned
    many = rs.OnlineScorer(model, HALF, idle_expiry_s=math.inf).update_many(events)
    assert [a.conversation_id for a in many] == ["D", "A", "B", "C"]


def reached(scorer: rs.OnlineScorer) -> int:
    """Conversations an event re-scored through their adult, or whose re-scoring it deferred
    (it could not bring them to a review threshold): those it changed."""
    return scorer.n_rescored + scorer.n_rescore_deferred


def changed(scorer: rs.OnlineScorer) -> int:
    """:func:`reached`, and the conversations whose adult's features an event changed on
    the same side of every split of the model (their risk did not move: skipped)."""
    return reached(scorer) + scorer.n_rescore_skipped


def test_a_block_from_a_minor_in_one_conversation_raises_the_adults_other_one() -> None:
    # 0 blocks: risk 0.12; 1 block: 0.73.
    model = counting_model(-2.0, adult_blocks_reports_from_minors=3.0)
    scorer = rs.OnlineScorer(model, HALF, idle_expiry_s=math.inf)
    events = [
        ev("A", 0, "x", "k1", 35, 13),
        ev("A", 60, "k1", "x", 13, 35),
        ev("B", 3_600, "x", "k2", 35, 14),
    ]
    assert scorer.update_many(events) == []
    before = scorer.score_of("A")
    block = ev("B", 7_200, "k2", "x", 14, 35, event="block")
    events.append(block)
    alerts = scorer.update_one_all(block)
    assert scorer.score_of("A") > before
    assert_every_conversation_equals_batch(scorer, model, events)
    assert [(a.conversation_id, a.tier) for a in alerts] == [
        ("B", rs.Tier.REVIEW),
        ("A", rs.Tier.REVIEW),
    ]
    # A block from an adult is not one from a minor: nothing moves.
    n = reached(scorer)
    events.append(ev("C", 9_000, "y", "x", 30, 35, event="block"))
    assert scorer.update_one_all(events[-1]) == []
    assert reached(scorer) == n


def test_only_events_that_change_account_features_rescore() -> None:
    scorer = rs.OnlineScorer(MODEL, POLICY, idle_expiry_s=math.inf)
    events = [ev("A", 0, "x", "k1", 40, 12), ev("B", 10, "x", "k2", 40, 13)]
    scorer.update_many(events)
    assert reached(scorer) == 1  # k2 is a new minor of x: A re-scored

    def rescored(event: dict[str, Any]) -> int:
        n = changed(scorer)
        scorer.update_one_all(event)
        events.append(event)
        assert_every_conversation_equals_batch(scorer, MODEL, events)
        return changed(scorer) - n

    assert rescored(ev("A", 20, "x", "k1", 40, 12)) == 0  # a known contact
    assert rescored(ev("B", 30, "k2", "x", 13, 40)) == 0  # the child's own contacts
    assert rescored(ev("B", 40, "x", "k2", 40, 13, event="media")) == 0
    assert rescored(ev("A", 50, "x", "k1", 40, 12, event="contact_request")) == 1  # B
    assert rescored(ev("A", 60, "k1", "x", 12, 40, event="contact_accept")) == 1
    assert rescored(ev("A", 70, "k1", "x", 12, 40, event="contact_accept")) == 0  # none pending
    assert rescored(ev("A", 80, "x", "k1", 40, 12, event="contact_request")) == 0  # 2 - 2 <= 0
    assert rescored(ev("A", 90, "x", "k1", 40, 12, event="contact_request")) == 1  # 3 - 2 > 0
    assert rescored(ev("C", 100, "x", "a1", 40, 30)) == 2  # a new adult contact: the share
    assert rescored(ev("B", 110, "k2", "x", 13, 40, event="report")) == 2  # A and C
    assert rescored(ev("C", 120, "a1", "x", 30, 40, event="report")) == 0  # not from a minor


def adult_index(scorer: rs.OnlineScorer) -> dict[object, list[object]]:
    return {account: list(convs) for account, convs in scorer._adult_convs.items()}


def batch_adults(events: list[dict[str, Any]]) -> dict[object, set[object]]:
    X = rs.extract_features(columns(events))
    out: dict[object, set[object]] = {}
    for cid, adult in zip(X.conversation_id.tolist(), X.adult_id.tolist(), strict=True):
        out.setdefault(adult, set()).add(cid)
    return out


def test_a_role_flip_moves_the_conversation_to_its_new_adult() -> None:
    """When an age arrives and the roles flip, the conversation is re-scored with the new
    adult's account changes, and no longer with the old one's."""
    scorer = rs.OnlineScorer(MODEL, POLICY, idle_expiry_s=math.inf)
    events = [ev("R", 0, "u1", "u2", 25, None), ev("R", 60, "u2", "u1", None, 25)]
    scorer.update_many(events)
    assert adult_index(scorer) == {"u1": ["R"]}
    events.append(ev("R", 120, "u2", "u1", 40, 25))  # u2 is older: the adult after all
    scorer.update_one_all(events[-1])
    assert adult_index(scorer) == {"u2": ["R"]}
    assert {a: set(c) for a, c in adult_index(scorer).items()} == batch_adults(events)
    assert_every_conversation_equals_batch(scorer, MODEL, events)

    n = reached(scorer)
    events.append(ev("T", 180, "u2", "k3", 40, 10))  # the new adult reaches a minor
    scorer.update_one_all(events[-1])
    assert reached(scorer) == n + 1
    assert_every_conversation_equals_batch(scorer, MODEL, events)
    events.append(ev("U", 240, "u1", "k4", 25, 11))  # and so does the old one
    scorer.update_one_all(events[-1])
    assert reached(scorer) == n + 1  # R is no longer u1's
    assert_every_conversation_equals_batch(scorer, MODEL, events)
    assert adult_index(scorer) == {"u2": ["R", "T"], "u1": ["U"]}
    assert {a: set(c) for a, c in adult_index(scorer).items()} == batch_adults(events)


def test_expired_conversations_leave_the_adult_index() -> None:
    scorer = rs.OnlineScorer(MODEL, POLICY, idle_expiry_s=3_600)
    scorer.update_one_all(ev("A", 0, "x", "k1", 40, 12))
    scorer.update_one_all(ev("B", 600, "x", "k2", 40, 13))
    assert adult_index(scorer) == {"x": ["A", "B"]}
    scorer.update_one_all(ev("C", 3_900, "x", "k3", 40, 14))  # A expires (idle over an hour)
    assert adult_index(scorer) == {"x": ["B", "C"]}
    assert changed(scorer) == 1 + 1  # B reached by C's event, not the expired A
    scorer.update_one_all(ev("A", 3_950, "x", "k1", 40, 12))  # A again, afresh
    assert adult_index(scorer) == {"x": ["B", "C", "A"]}
    scorer.update_one_all(ev("Z", 20_000, "y", "z", 30, 30))
    assert adult_index(scorer) == {"y": ["Z"]}


@pytest.mark.parametrize("seed", [3, 13])
def test_every_live_conversation_equals_batch_along_synthetic_streams(seed: int) -> None:
    """Every 250 events, every conversation's online risk is the batch risk of all events so
    far, and no conversation is below the tier its batch risk now calls for."""
    data = rs.synthetic.generate(300, prevalence=0.1, seed=seed)
    events = list(data.messages.iter_events())
    model = rs.load_model()
    policy = rs.AlertPolicy.default()
    scorer = rs.OnlineScorer(model, policy, idle_expiry_s=math.inf)
    n_cross = 0
    for k, event in enumerate(events, start=1):
        alerts = scorer.update_one_all(event)
        n_cross += sum(a.conversation_id != event["conversation_id"] for a in alerts)
        if k % 250 and k != len(events):
            continue
        X = rs.extract_features(rs.read_messages(columns(events[:k])))
        risks = model.predict_proba(X)
        ids = X.conversation_id.tolist()
        np.testing.assert_allclose([scorer.score_of(c) for c in ids], risks, rtol=0, atol=1e-12)
        for pos, cid in enumerate(ids):
            assert scorer.alerted_tier_of(cid) >= batch_tier(policy, risks[pos], X.values[pos])
    assert scorer.n_rescored > 0
    assert n_cross > 0, "this sample is built to raise alerts through account features"
    assert scorer.refresh() == []


def _alert_keys(alerts: list[rs.Alert]) -> list[tuple[Any, ...]]:
    return [(a.conversation_id, int(a.tier), a.event_index, a.timestamp, a.risk) for a in alerts]


def test_checkpoint_mid_stream_gives_the_alerts_of_an_uninterrupted_run(tmp_path: Path) -> None:
    """Across a checkpoint, an adult's conversations keep the order in which they alert when
    one event raises several, even where their order of activity differs."""
    model = counting_model(-2.0, max_count=1, adult_blocks_reports_from_minors=3.0)
    events = [
        ev("A", 0, "coach", "k1", 30, 12),
        ev("B", 60, "coach", "k2", 30, 13),
        ev("C", 120, "coach", "k3", 30, 14),
        ev("A", 180, "k1", "coach", 12, 30),  # activity order now B, C, A
        ev("B", 240, "k2", "coach", 13, 30),  # and C, A, B
        ev("D", 300, "k4", "coach", 13, 30, event="block"),  # raises A, B and C at once
        ev("E", 360, "coach", "k5", 30, 11),
        ev("E", 420, "k5", "coach", 11, 30, event="report"),
    ]
    whole = rs.OnlineScorer(model, HALF, idle_expiry_s=math.inf)
    expected = whole.update_many(events)
    assert [a.conversation_id for a in expected] == ["D", "A", "B", "C", "E"]
    for cut in range(1, len(events)):
        first = rs.OnlineScorer(model, HALF, idle_expiry_s=math.inf)
        before = first.update_many(events[:cut])
        path = tmp_path / f"state{cut}.sqlite"
        first.checkpoint(path)
        again = rs.OnlineScorer.restore(path, model, HALF)
        assert again._adult_convs.keys() == first._adult_convs.keys()
        for account, convs in first._adult_convs.items():
            assert list(again._adult_convs[account]) == list(convs)
        after = again.update_many(events[cut:])
        assert _alert_keys(before + after) == _alert_keys(expected)
        # (a checkpoint settles deferred re-scores, so their counts may differ, not scores)
        assert [again.score_of(c) for c in whole.conversation_ids] == [
            whole.score_of(c) for c in whole.conversation_ids
        ]


def test_checkpoint_in_synthetic_streams_keeps_alerts_raised_through_accounts(
    tmp_path: Path,
) -> None:
    data = rs.synthetic.generate(400, prevalence=0.1, seed=21)
    events = list(data.messages.iter_events())
    model, policy = rs.load_model(), rs.AlertPolicy.default()
    whole = rs.OnlineScorer(model, policy, idle_expiry_s=5 * 86_400.0)
    per_event = [whole.update_one_all(e) for e in events]
    expected = [a for alerts in per_event for a in alerts]
    cross = [
        a
        for e, al in zip(events, per_event, strict=True)
        for a in al
        if a.conversation_id != e["conversation_id"]
    ]
    assert cross, "this sample is built to raise alerts through account features"
    for cut in (2_000, 9_000):
        first = rs.OnlineScorer(model, policy, idle_expiry_s=5 * 86_400.0)
        before = first.update_many(events[:cut])
        path = tmp_path / f"state{cut}.sqlite"
        first.checkpoint(path)
        again = rs.OnlineScorer.restore(path, model, policy)
        after = again.update_many(events[cut:])
        assert _alert_keys(before + after) == _alert_keys(expected)
        # (a checkpoint settles deferred re-scores, so their counts may differ, not scores)
        assert [again.score_of(c) for c in whole.conversation_ids] == [
            whole.score_of(c) for c in whole.conversation_ids
        ]


def test_a_checkpoint_without_the_adult_index_order_rebuilds_it_from_the_roles(
    tmp_path: Path,
) -> None:
    """Checkpoints written before ``adult_index`` existed restore with each adult's
    conversations in activity order."""
    scorer = rs.OnlineScorer(MODEL, POLICY, idle_expiry_s=math.inf)
    scorer.update_many(
        [
            ev("A", 0, "coach", "k1", 30, 12),
            ev("B", 60, "coach", "k2", 30, 13),
            ev("C", 120, "coach", "k3", 30, 14),
            ev("A", 180, "k1", "coach", 12, 30),
            ev("R", 200, "u1", "u2", 15, 25),  # u2 is the adult: the responder
        ]
    )
    path = tmp_path / "old.sqlite"
    scorer.checkpoint(path)
    con = sqlite3.connect(path)
    with con:  # as written then: no adult_index, and no checksums (they came later)
        con.execute("DELETE FROM meta WHERE key IN ('adult_index', 'checksums')")
    con.close()
    restored = rs.OnlineScorer.restore(path, MODEL, POLICY)
    assert adult_index(scorer) == {"coach": ["A", "B", "C"], "u2": ["R"]}
    assert adult_index(restored) == {"coach": ["B", "C", "A"], "u2": ["R"]}


def _coach_events(n_pupils: int, n_events: int, seed: int) -> list[dict[str, Any]]:
    """One adult with open conversations with many minors: requests, accepts, blocks and
    reports among messages (most change the adult's per-account features a little)."""
    rng = np.random.default_rng(seed)
    kinds = ["message", "media", "contact_request", "contact_accept", "block", "report"]
    events = []
    for k in range(n_events):
        i = int(rng.integers(n_pupils))
        kind = str(rng.choice(kinds, p=[0.5, 0.1, 0.2, 0.1, 0.05, 0.05]))
        from_coach = kind == "contact_request" or (kind in ("message", "media") and k % 2 == 0)
        pupil = (f"p{i}", 10.0 + i % 7)
        coach = ("coach", 34.0)
        (s, s_age), (r, r_age) = (coach, pupil) if from_coach else (pupil, coach)
        events.append(ev(f"team-{i}", 60 * k, s, r, s_age, r_age, event=kind))
    return events


def test_an_account_change_that_moves_no_split_skips_rescoring_exactly() -> None:
    """When an adult's features change but no split of the model tells the old values from
    the new, its other conversations keep their risk bit for bit: re-scoring them is skipped
    (counted), and every score and alert is still the batch one. A shadow model turns the
    skip off, and the production side gives the same scores and alerts."""
    model = rs.load_model()
    events = _coach_events(12, 240, seed=4)
    scorer = rs.OnlineScorer(model, POLICY, idle_expiry_s=math.inf)
    full = rs.OnlineScorer(model, POLICY, idle_expiry_s=math.inf, shadow_model=model)
    for k, event in enumerate(events):
        assert scorer.update_one_all(event) == full.update_one_all(event)
        if k % 40 == 39:
            assert_every_conversation_equals_batch(scorer, model, events[: k + 1])
    assert scorer.n_rescore_skipped > 0
    assert scorer.n_rescore_deferred > 0
    assert full.n_rescore_skipped == 0
    assert reached(scorer) + scorer.n_rescore_skipped == full.n_rescored
    assert full.n_rescore_deferred == 0
    for cid in scorer.conversation_ids:
        assert scorer.score_of(cid) == full.score_of(cid)


def test_an_integer_id_and_its_text_are_two_accounts_online_and_after_restore(
    tmp_path: Path,
) -> None:
    # docs/online.md: with no column to hold one id type, ids are keyed as given, so 500
    # and "500" are never merged (a table mixing them is refused by read_messages)
    model = rs.load_model()
    scorer = rs.OnlineScorer(model, time_source="events")
    event = {
        "conversation_id": 1,
        "timestamp": 1_714_521_600,
        "sender_id": 500,
        "recipient_id": 20,
        "channel": "direct",
        "sender_age": 35,
        "recipient_age": 13,
    }
    scorer.update_one(event)
    scorer.update_one(
        {**event, "conversation_id": "1", "sender_id": "500", "recipient_id": "20",
         "timestamp": 1_714_521_700}
    )  # fmt: skip
    assert (scorer.n_accounts, scorer.n_conversations) == (4, 2)
    scorer.checkpoint(tmp_path / "state.sqlite")
    restored = rs.OnlineScorer.restore(tmp_path / "state.sqlite", model, time_source="events")
    assert (restored.n_accounts, restored.n_conversations) == (4, 2)
    with pytest.raises(rs.SchemaError, match="mixes id types"):
        rs.read_messages({k: [v, v if k != "sender_id" else "500"] for k, v in event.items()})
