"""Re-scoring an adult's other conversations in one compiled call
(:meth:`riskscore.online.rescore.Rescoring._rescore_many`) gives what re-scoring them one
by one gives: the same risks to the last bit, the same alerts in the same order, the same
counts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from _models import random_model

import riskscore as rs
from riskscore.online import rescore
from riskscore.online.state import AccountState, ConversationState
from riskscore.policy import Alert

T0 = 1_700_000_000
KINDS = ["message", "media", "contact_request", "contact_accept", "block", "report"]


class OneByOne(rs.OnlineScorer):
    """The scorer as it was: each conversation re-scored by its own compiled call."""

    def _rescore_many(
        self,
        convs: list[tuple[object, ConversationState]],
        adult: AccountState,
        ts: int,
        cross: list[Alert],
    ) -> None:
        for cid, conv in convs:
            self._rescore(cid, conv, adult, ts, cross)


def coach_events(n_pupils: int, n_events: int, seed: int) -> list[dict[str, Any]]:
    """One adult and ``n_pupils`` minors: requests, accepts, blocks and reports change the
    adult's per-account features and re-score its other conversations."""
    rng = np.random.default_rng(seed)
    ages = rng.integers(9, 18, size=n_pupils).tolist()
    events = []
    for k in range(n_events):
        i = int(rng.integers(n_pupils))
        kind = str(rng.choice(KINDS, p=[0.5, 0.1, 0.15, 0.1, 0.1, 0.05]))
        from_coach = kind == "contact_request" or (
            kind in ("message", "media") and rng.random() < 0.5
        )
        coach, pupil = ("coach", 38.0), (f"p{i}", float(ages[i]))
        (sender, sender_age), (recipient, recipient_age) = (
            (coach, pupil) if from_coach else (pupil, coach)
        )
        events.append(
            {
                "conversation_id": f"c{i}",
                "timestamp": T0 + 60 * k,
                "sender_id": sender,
                "recipient_id": recipient,
                "sender_age": sender_age,
                "recipient_age": recipient_age,
                "channel": str(rng.choice(["public", "direct", "ephemeral"])),
                "event": kind,
            }
        )
    return events


@pytest.mark.parametrize("cooldown_s", [0.0, 3_600.0])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rescoring_many_at_once_equals_one_by_one(
    seed: int, cooldown_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every re-scoring of two conversations or more in one call (from 14 by default), so
    # that the stream's re-scored conversations alert on that path too
    monkeypatch.setattr(rescore, "_BATCH_FROM", 2)
    model = random_model(seed, scale=0.8)
    events = coach_events(25, 600, seed)
    # thresholds inside the stream's risks, so that some re-scored conversations alert
    probe = rs.OnlineScorer(model, idle_expiry_s=math.inf)
    probe.update_many(events)
    risks = sorted(probe.score_of(cid) for cid in probe.conversation_ids)
    review, urgent = risks[len(risks) // 3], risks[2 * len(risks) // 3]
    policy = rs.AlertPolicy(
        bands=(rs.AgeBand("all", 0.0, math.inf, review=review, urgent=urgent),),
        unknown=rs.AgeBand("unknown", 0.0, math.inf, review=review, urgent=urgent),
    )
    kwargs: dict[str, Any] = {"idle_expiry_s": math.inf, "cooldown_s": cooldown_s}
    batched = rs.OnlineScorer(model, policy, **kwargs)
    single = OneByOne(model, policy, **kwargs)
    raised: list[Alert | None] = []  # what the batched path's alert rule returned
    alert_if_due = batched._alert_if_due
    batched._alert_if_due = lambda *a: raised.append(alert_if_due(*a)) or raised[-1]  # type: ignore[method-assign]
    for event in events:
        assert batched.update_one_all(event) == single.update_one_all(event)
        for cid in single.conversation_ids:
            # bit for bit, NaN (no event yet) included
            assert np.array_equal(batched.score_of(cid), single.score_of(cid), equal_nan=True), cid
    assert batched.n_rescored == single.n_rescored > 0
    assert any(alert is not None for alert in raised)
    assert batched.n_rescore_skipped == single.n_rescore_skipped
    for cid in batched.conversation_ids:
        row = batched.features_of(cid)
        assert batched.score_of(cid) == batched._linear.risk(row)


def test_rescoring_many_grows_its_buffers() -> None:
    """An adult with more conversations than the first buffers hold (64)."""
    model = random_model(4, scale=0.8)

    def message(i: int) -> dict[str, Any]:
        return {"conversation_id": f"c{i}", "timestamp": T0 + i, "sender_id": "coach",
                "recipient_id": f"p{i}", "sender_age": 38.0, "recipient_age": 12.0,
                "channel": "direct"}  # fmt: skip

    opening = [message(i) for i in range(100)]
    block = dict(opening[0], sender_id="p0", recipient_id="coach", sender_age=12.0,
                 recipient_age=38.0, timestamp=T0 + 200, event="block")  # fmt: skip
    batched, single = rs.OnlineScorer(model), OneByOne(model)
    for event in [*opening, block]:
        assert batched.update_one_all(event) == single.update_one_all(event)
    assert batched.n_rescored == single.n_rescored
    held = batched._rescore_buffers
    assert held is not None
    assert held[2].shape[0] > 64
    assert [batched.score_of(c) for c in batched.conversation_ids] == [
        single.score_of(c) for c in single.conversation_ids
    ]
