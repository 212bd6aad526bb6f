"""The online scorer's per-event shortcuts (hr72b) decide as the rules they stand for: idle
expiry compared in whole seconds, the wall clock's limit kept as whole seconds, and no tier
asked of the policy for a conversation already alerted at the top tier."""

from __future__ import annotations

from typing import Any

import pytest
from online_helpers import direct_message

import riskscore as rs
from riskscore.online import clock as online_clock
from riskscore.online.risk import TOP_TIER
from riskscore.policy import AgeBand, Tier

T0 = 1_700_000_000


def _event(ts: int, cid: object = 1, sender: str = "a", recipient: str = "b") -> dict[str, Any]:
    return direct_message(cid, ts, sender, recipient, sender_age=35.0)


@pytest.mark.parametrize("expiry", [10.0, 10.5, 10.999, 11.0, 1e-3])
@pytest.mark.parametrize("gap", [9, 10, 11, 12])
def test_idle_expiry_compares_as_the_float_rule(expiry: float, gap: int) -> None:
    """A conversation idle since before ``ts - idle_expiry_s`` is forgotten by the event at
    ``ts``, whole or fractional expiry alike (the whole one is compared as ints)."""
    scorer = rs.OnlineScorer(rs.load_model(), idle_expiry_s=expiry, time_source="events")
    scorer.update_one(_event(T0))
    scorer.update_one(_event(T0 + gap))
    restarted = T0 + gap - expiry > T0  # the rule as written: idle since before
    assert scorer.conversation_of(1).n_events == (1 if restarted else 2)
    assert scorer.n_expired == (1 if restarted else 0)


def test_idle_expiry_set_after_construction_takes_effect() -> None:
    """The Synapse module sets ``idle_expiry_s`` on a restored scorer: the per-event
    comparison follows the new value, not the one given at construction."""
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events", max_future_s=float("inf"))
    scorer.update_one(_event(T0))
    scorer.idle_expiry_s = 60.0
    assert scorer.idle_expiry_s == 60.0
    scorer.update_one(_event(T0 + 61))
    assert scorer.conversation_of(1).n_events == 1  # expired, then started afresh
    scorer.idle_expiry_s = float("inf")
    scorer.update_one(_event(T0 + 10**8))
    assert scorer.conversation_of(1).n_events == 2


def test_wall_limit_kept_in_whole_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the wall clock at a fractional second, an event at the last whole second within
    ``max_future_s`` is accepted (and the limit kept), and one a second later is refused,
    also after the limit was kept."""
    now = T0 + 0.75
    monkeypatch.setattr(online_clock.time, "time", lambda: now)
    scorer = rs.OnlineScorer(rs.load_model(), max_future_s=100.0)
    scorer.update_one(_event(T0 + 100))  # limit T0 + 100.75
    scorer.update_one(_event(T0 + 100))  # within the kept limit: no clock reading
    with pytest.raises(rs.SchemaError, match="timestamp"):
        scorer.update_one(_event(T0 + 101))
    assert scorer.n_refused_future == 1
    assert scorer.conversation_of(1).n_events == 2


def test_no_tier_asked_once_alerted_at_the_top_tier() -> None:
    """A conversation alerted at the top tier is due no other alert: its events no longer
    ask the policy for a tier, and the alerts are those of a scorer that asks."""
    assert int(Tier.URGENT) == TOP_TIER
    model = rs.load_model()
    low = AgeBand("all", 0.0, float("inf"), 1e-9, 2e-9)  # every score alerts, urgent
    policy = rs.AlertPolicy(bands=(low,), unknown=AgeBand("unknown", 0.0, float("inf"), 1e-9, 2e-9))
    scorer = rs.OnlineScorer(model, policy)
    asked: list[float] = []
    decide = scorer._decide

    def counting(risk: float, child_age: float, adult_age: float) -> Any:
        asked.append(risk)
        return decide(risk, child_age, adult_age)

    scorer._decide = counting
    alerts = [scorer.update_one(_event(T0 + 60 * i)) for i in range(5)]
    assert [a.tier if a is not None else None for a in alerts] == [Tier.URGENT, *[None] * 4]
    assert len(asked) == 1  # before: once per event (5)
