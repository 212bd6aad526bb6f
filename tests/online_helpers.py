"""What the tests of online scoring share: random event streams (hypothesis), two models
(random, and one that leans on account features), a policy, and the batch side of a
parity check.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from _models import random_model, with_stumps
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


def adult_child_messages(
    conversation: object, adult: object, child: object, start: int
) -> list[dict[str, Any]]:
    """Ten direct messages a minute apart from ``start``, taking turns between ``adult``
    (35, first) and ``child`` (12)."""
    return [
        {
            "conversation_id": conversation,
            "timestamp": start + 60 * i,
            "sender_id": adult if i % 2 == 0 else child,
            "recipient_id": child if i % 2 == 0 else adult,
            "sender_age": 35.0 if i % 2 == 0 else 12.0,
            "recipient_age": 12.0 if i % 2 == 0 else 35.0,
            "channel": "direct",
        }
        for i in range(10)
    ]


def direct_message(
    cid: object,
    ts: int,
    sender: object = "a",
    recipient: object = "b",
    *,
    sender_age: float = 40.0,
    recipient_age: float = 12.0,
) -> dict[str, Any]:
    """One message event on the direct channel, an adult to a child by default."""
    return {
        "conversation_id": cid,
        "timestamp": ts,
        "sender_id": sender,
        "recipient_id": recipient,
        "channel": "direct",
        "sender_age": sender_age,
        "recipient_age": recipient_age,
    }
