"""Deferred re-scoring (riskscore.online.rescore) of adults with many conversations: changes
of an adult's features that add up over its conversations, conversations brought near review
by their own events or by their pair's facts in between, reads, checkpoints and expiry between
deferred changes. Every test compares with a scorer that never defers (a shadow model turns
deferral off)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
from _models import counting_model, random_model, shifted, stump_model, with_stumps
from online_helpers import ACCOUNT_FEATURES, CHANNELS, KINDS, POLICY, T0
from test_online_accounts import HALF, ev

import riskscore as rs


def _runs(
    model: rs.RiskModel, events: list[dict[str, Any]], **kw: Any
) -> tuple[list[list[Any]], list[list[Any]], int]:
    """Alerts (whole records) after each event, and every live conversation's score_of at
    the end, of a scorer that may defer and of one that never does; and how many
    re-scorings the first deferred."""
    plain = rs.OnlineScorer(model, kw.pop("policy", HALF), **kw)
    exact = rs.OnlineScorer(model, plain.policy, shadow_model=model, **kw)
    runs: list[list[Any]] = [[], []]
    for scorer, run in zip((plain, exact), runs, strict=True):
        for event in events:
            run.append([a.to_dict() for a in scorer.update_one_all(event)])
        run.append([(c, scorer.score_of(c)) for c in scorer.conversation_ids])
    assert exact.n_rescore_deferred == 0
    return runs[0], runs[1], plain.n_rescore_deferred


#: risk = sigmoid(-8 + 0.5 per minor the adult contacted + 1 per event of the conversation)
_FANOUT = counting_model(-8.0, max_count=30, adult_minor_fanout=0.5, n_events=1.0)


def test_a_conversation_its_own_events_bring_near_review_alerts_at_its_adults_change() -> None:
    """C1 and C2 opened: C0 deferred. C0's own events then bring it just below review, and
    the next minor contacted (0.5 of margin) raises it to review: that change re-scores C0
    and alerts, as a scorer that never defers does."""
    events = [ev(f"C{i}", 60 * i, "coach", f"k{i}", 30, 12) for i in range(3)]
    events += [ev("C0", 600 + 60 * i, "k0", "coach", 12, 30) for i in range(5)]
    events += [ev("C3", 2000, "coach", "k3", 30, 12)]
    plain, exact, deferred = _runs(_FANOUT, events, idle_expiry_s=math.inf)
    assert deferred == 3 + 2  # C0 twice, C1 once; then C1 and C2 at C3
    assert plain == exact
    assert [a["conversation_id"] for a in plain[-2]] == ["C0"]


def test_a_conversation_its_pair_brings_near_review_alerts_at_its_adults_next_change() -> None:
    """A deferred at x's second minor; y answers x in private: the pair's facts move A to
    just below review (re-scored as the pair's other conversation while x's features did
    not change). x's next minor (0.5 of margin) raises A to review: it alerts."""
    stumps = [("adult_minor_fanout", k + 0.5, 0.5) for k in range(10)]
    stumps += [("adult_initiated", 0.5, 4.0), ("pair_hours_to_private", -1.0, 4.8)]
    model = stump_model(-10.0, stumps)
    events = [
        ev("A", 0, "x", "y", 30.0, 12.0, channel="public"),
        ev("K1", 60, "x", "k1", 30.0, 12.0, channel="public"),  # A deferred
        ev("B", 120, "y", "x", 12.0, 30.0),  # A re-scored through the pair: 0.45
        ev("K2", 180, "x", "k2", 30.0, 12.0, channel="public"),  # A reaches 0.57
    ]
    plain, exact, deferred = _runs(model, events, idle_expiry_s=math.inf)
    assert deferred >= 1
    assert plain == exact
    assert [a["conversation_id"] for a in plain[3]] == ["A"]


def test_deferred_changes_add_up_in_the_slack_until_a_conversation_reaches_review() -> None:
    """Blocks from the minor of H (whose many events keep it far below review) raise the
    coach's other conversation C0 by 0.5 each: the first re-scores C0 (0.03), the next six
    are deferred (its slack 3.0: up to 0.38 now), the eighth re-scores C0, which alerts."""
    model = counting_model(-3.0, max_count=30, adult_blocks_reports_from_minors=0.5, n_events=-1.0)
    events = [ev("C0", 0, "coach", "k0", 30, 12)]
    events += [ev("H", 60 * i, "coach", "kh", 30, 12) for i in range(1, 9)]
    events += [
        ev("H", 1000 + 60 * i, "kh", "coach", 12, 30, event=("block", "report")[i % 2])
        for i in range(10)
    ]
    plain, exact, deferred = _runs(model, events, idle_expiry_s=math.inf)
    assert deferred == 6
    assert plain == exact
    assert [a["conversation_id"] for a in plain[16]] == ["C0"]


def test_conversations_far_apart_are_deferred_each_by_its_own_distance_to_review() -> None:
    """C1's own events bring it to 0.03 while the coach's other conversations sit far
    lower; each new minor then moves them all by 0.5. C1 is re-scored in time and alerts
    at the coach's eighth minor, as without deferral, while the others stay deferred."""
    model = counting_model(-12.5, max_count=30, adult_minor_fanout=0.5, n_events=1.0)
    events = [ev("C0", 0, "coach", "k0", 30, 12), ev("C1", 60, "coach", "k1", 30, 12)]
    events += [ev("C1", 120 + 60 * i, "k1", "coach", 12, 30) for i in range(7)]
    events += [ev(f"C{i}", 1000 + 60 * i, "coach", f"k{i}", 30, 12) for i in range(2, 12)]
    plain, exact, deferred = _runs(model, events, idle_expiry_s=math.inf)
    assert deferred > 20
    assert plain == exact
    assert [a["conversation_id"] for a in plain[15]] == ["C1"]


def _fanout_events(n: int) -> list[dict[str, Any]]:
    """The coach opens a conversation with a new minor every minute: each moves the margin
    of all its others by 0.5, which reach review at the 14th minor."""
    return [ev(f"C{i}", 60 * i, "coach", f"k{i}", 30, 12) for i in range(n)]


def test_deferred_changes_add_up_until_an_adults_conversations_reach_review() -> None:
    """Deferred changes add up in each conversation's slack: all the coach's conversations
    alert at the 14th minor, as without deferral."""
    plain, exact, deferred = _runs(_FANOUT, _fanout_events(20), idle_expiry_s=math.inf)
    assert deferred > 20
    assert plain == exact
    assert len(plain[13]) == 14  # C13 itself, then C0 to C12 through the coach's 14th minor


@pytest.mark.parametrize("read_first", [True, False])
@pytest.mark.parametrize("cut", [3, 4, 6])
def test_a_read_or_a_checkpoint_between_deferred_changes_settles_them(
    cut: int, read_first: bool, tmp_path: Path
) -> None:
    """score_of and a checkpoint read a deferred risk exactly, and the restored scorer goes
    on to the same alerts."""
    events = _fanout_events(20)
    whole = rs.OnlineScorer(_FANOUT, HALF, idle_expiry_s=math.inf, shadow_model=_FANOUT)
    expected = [a.to_dict() for a in whole.update_many(events)]
    first = rs.OnlineScorer(_FANOUT, HALF, idle_expiry_s=math.inf)
    before = first.update_many(events[:cut])
    assert first._conversations["C0"].slack > 0.0  # deferred
    exact = rs.OnlineScorer(_FANOUT, HALF, idle_expiry_s=math.inf, shadow_model=_FANOUT)
    exact.update_many(events[:cut])
    if read_first:
        assert first.score_of("C0") == exact.score_of("C0")
    path = tmp_path / "state.sqlite"
    first.checkpoint(path)
    first.release_checkpoints()
    again = rs.OnlineScorer.restore(path, _FANOUT, HALF)
    assert [again.score_of(c) for c in exact.conversation_ids] == [
        exact.score_of(c) for c in exact.conversation_ids
    ]
    after = again.update_many(events[cut:])
    assert [a.to_dict() for a in before + after] == expected


def test_an_adult_expiring_settles_what_was_deferred() -> None:
    """The coach's account state expires while its conversations (kept alive by the
    minors' replies) hold deferred changes: they are settled with the state they were
    deferred under, as without deferral."""
    events = _fanout_events(6)
    events += [ev(f"C{i}", 400 + 60 * i, f"k{i}", "coach", 12, 30) for i in range(6)]
    events += [ev(f"C{i}", 90_000 + 60 * i, f"k{i}", "coach", 12, 30) for i in range(6)]
    events += [ev("C9", 200_000, "coach", "k9", 30, 12)]
    plain, exact, deferred = _runs(_FANOUT, events, idle_expiry_s=100_000.0)
    assert deferred > 0
    assert plain == exact


def _fanout_stream(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Two adults and eight minors, one conversation per pair, every kind of event and
    channel, gaps from a second to half a day."""
    ages: dict[str, float | None] = {"x": 30.0, "w": 45.0}
    minors = [f"m{i}" for i in range(8)]
    ages.update((m, rng.choice([9.0, 11.0, 12.0, 14.0, 16.0, None])) for m in minors)
    t = T0
    events = []
    for _ in range(n):
        adult, minor = rng.choice("xw"), rng.choice(minors)
        sender, recipient = (adult, minor) if rng.random() < 0.7 else (minor, adult)
        t += rng.choice([1, 60, 3600, 40_000])
        events.append(
            {
                "conversation_id": f"{adult}-{minor}",
                "timestamp": t,
                "sender_id": sender,
                "recipient_id": recipient,
                "sender_age": ages[sender],
                "recipient_age": ages[recipient],
                "channel": rng.choice(CHANNELS),
                "event": rng.choice(KINDS),
                "recipient_tz_offset_min": 0,
            }
        )
    return events


def test_random_fanout_streams_match_a_scorer_that_never_defers() -> None:
    """Models leaning on account features, from far below review to alerting often; reads
    at random points, cool-downs, expiry and the conversation cap."""
    deferred = 0
    for seed in range(16):
        rng = random.Random(seed)
        weight = rng.choice([0.2, 0.5, 1.0])
        stumps = [(f, cut, weight) for f in ACCOUNT_FEATURES for cut in (0.3, 0.8, 1.5, 2.5)]
        model = shifted(with_stumps(random_model(seed % 5, scale=0.05), stumps), -4.0 - seed % 3)
        kw = {
            "idle_expiry_s": rng.choice([86_400.0, math.inf]),
            "cooldown_s": rng.choice([0.0, 3600.0]),
            "max_conversations": rng.choice([6, 100]),
            "time_source": "events",
            "max_future_s": math.inf,
        }
        plain = rs.OnlineScorer(model, POLICY, **kw)
        exact = rs.OnlineScorer(model, POLICY, shadow_model=model, **kw)
        for event in _fanout_stream(rng, 80):
            got = [a.to_dict() for a in plain.update_one_all(event)]
            assert got == [a.to_dict() for a in exact.update_one_all(event)]
            if rng.random() < 0.1:
                for cid in exact.conversation_ids:
                    assert plain.score_of(cid) == exact.score_of(cid)
        assert [plain.score_of(c) for c in exact.conversation_ids] == [
            exact.score_of(c) for c in exact.conversation_ids
        ]
        deferred += plain.n_rescore_deferred
    assert deferred > 200
