"""Moderator review 53: a share of evidence (a count over its events plus 4) reads as what it
is, a lower bound of the share a moderator counts in the conversation's events.

Was: ``share of contact on private channels at night in the child's local time: 20 %`` for
a conversation whose one message was on a private channel at night (1 of 1: the feature is
1 / (1 + 4)), and ``89 %`` for 32 night messages of 32, in every view (``riskscore score``,
the stream's alerts, the queue, its console and the exports). The share in the events is
never below the value, so the text now says ``at least``. Each test failed before the fix.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import riskscore as rs
from riskscore.features.constants import SHARE_PRIOR_EVENTS
from riskscore.features.registry import FEATURES
from riskscore.model.scores import Reason, format_value, is_reason_text, reason_texts

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
#: The features whose value is a count over its events plus SHARE_PRIOR_EVENTS.
EVIDENCE = (
    "child_night_share",
    "private_night_share",
    "adult_media_rate",
    "child_media_rate",
    "adult_night_media_rate",
)


def _value_text(feature: str, value: float) -> str:
    return str(Reason.of(feature, value, 1.0)).split(": ", 1)[1].split(" (")[0]


def test_the_shares_of_evidence_are_the_registrys_own() -> None:
    assert {s.name for s in FEATURES if s.unit == "share of evidence"} == set(EVIDENCE)


@pytest.mark.parametrize("feature", EVIDENCE)
@pytest.mark.parametrize(("count", "events"), [(1, 1), (2, 6), (32, 32), (6, 76), (1, 100)])
def test_a_share_of_evidence_never_reads_above_the_share_in_the_events(
    feature: str, count: int, events: int
) -> None:
    value = count / (events + SHARE_PRIOR_EVENTS)
    text = _value_text(feature, value)
    assert text.startswith("at least "), text
    assert text.endswith(" %"), text
    shown = float(text.removeprefix("at least ").removesuffix(" %"))
    assert shown <= 100.0 * count / events, (count, events, text)
    assert is_reason_text(str(Reason.of(feature, value, 1.0)))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1 / 5, "at least 20 %"),
        (32 / 36, "at least 88 %"),
        (29 / 100, "at least 29 %"),  # 100 * 0.29 is 28.999999999999996
        (1 / 104, "at least 0.9 %"),
        (1 / 2004, "over 0 %"),
        (0.0, "0 %"),
        (math.nan, "unknown"),
    ],
)
def test_a_share_of_evidence_is_rounded_down(value: float, text: str) -> None:
    assert format_value("share of evidence", value) == text


def test_an_exact_share_still_reads_as_the_share() -> None:
    """The shares that are no count over events plus 4 keep their wording."""
    assert _value_text("adult_unaccepted_share", 1.0) == "100 %"
    assert _value_text("adult_minor_contact_share", 0.25) == "25 %"


def test_one_private_night_message_of_one_reads_at_least_20_percent() -> None:
    """The conversation of one message, on disappearing messages at 23:00 in the child's
    local time: its feature is 1 / 5, its text (the one wording of every view) at least
    20 %."""
    event = {
        "conversation_id": "c1",
        "timestamp": T0 + 23 * 3600,
        "sender_id": "a",
        "recipient_id": "b",
        "sender_age": 34.0,
        "recipient_age": 12.0,
        "channel": "ephemeral",
        "event": "message",
        "recipient_tz_offset_min": 0,
    }
    events = {k: np.array([v]) for k, v in event.items()}
    table = rs.extract_features(events)
    value = float(table.column("private_night_share")[0])
    assert value == pytest.approx(0.2)
    text = reason_texts([Reason.of("private_night_share", value, 1.0)])[0]
    assert text.startswith(
        "share of contact on private channels at night in the child's local time: at least 20 %"
    ), text


#: The recent shares: an exponentially weighted average that starts from 0, so its value is
#: never above the weighted share of the recent events (the weights sum to 1 - 0.9 ** n).
RECENT = ("adult_recent_share", "child_recent_night_share")


def test_the_recent_shares_are_the_registrys_own() -> None:
    assert {s.name for s in FEATURES if s.unit == "recent share"} == set(RECENT)


@pytest.mark.parametrize("feature", RECENT)
@pytest.mark.parametrize("n", [1, 3, 5, 40])
def test_a_recent_share_of_all_events_never_reads_as_less_than_it_is(feature: str, n: int) -> None:
    """Was: ``share of recent contact at night in the child's local time: 41 %`` after five
    messages, all at night (1 - 0.9 ** 5)."""
    value = 1.0 - 0.9**n
    text = _value_text(feature, value)
    assert text == f"at least {math.floor(100.0 * value + 1e-9)} %", text
    assert is_reason_text(str(Reason.of(feature, value, 1.0)))


def test_a_share_stored_before_at_least_is_still_riskscores_own() -> None:
    """A queue keeps what it stored: ``20 % (raises risk, +1.40)`` is quoted as it is."""
    reason = Reason.of("private_night_share", 0.2, 1.4)
    stored = str(reason).replace("at least 20 %", "20 %")
    assert stored != str(reason)
    assert is_reason_text(stored)


@pytest.mark.parametrize(
    ("sent", "events", "text"),
    [(10, 10, "at least 85 %"), (1, 1, "at least 60 %"), (0, 6, "at most 20 %"), (3, 6, "50 %")],
)
def test_the_adults_share_pulled_toward_half_reads_as_a_bound(
    sent: int, events: int, text: str
) -> None:
    """Was: ``the older participant's share of the messages: 86 %`` when the adult sent
    all ten messages ((10 + 2) / (10 + 4)): a share pulled toward one half is never further
    from it than the share counted in the events."""
    value = (sent + SHARE_PRIOR_EVENTS / 2) / (events + SHARE_PRIOR_EVENTS)
    assert _value_text("adult_message_share", value) == text
    assert is_reason_text(str(Reason.of("adult_message_share", value, 1.0)))
