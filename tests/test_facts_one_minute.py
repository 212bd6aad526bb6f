"""A conversation whose events all fall in one minute (one event, or a burst) is described
to a moderator as such, not as a span from a time to itself."""

from __future__ import annotations

from riskscore.moderation.item_facts import facts_text

T = 1_766_966_400  # 2025-12-29 00:00 UTC


def test_one_event_reads_as_one_minute_not_a_span_to_itself() -> None:
    """Was: "conversation of under a minute (2025-12-29 00:00 UTC to 2025-12-29 00:00 UTC)"."""
    text = facts_text(34.0, T, T, alert_at=T + 7_200)
    assert "conversation within one minute (2025-12-29 00:00 UTC)" in text
    assert " to 2025-12-29 00:00 UTC" not in text
    burst = facts_text(34.0, T + 5, T + 50, alert_at=T + 7_200)
    assert "conversation within one minute (2025-12-29 00:00 UTC)" in burst


def test_events_in_two_minutes_read_as_a_span() -> None:
    text = facts_text(34.0, T, T + 61, alert_at=T + 7_200)
    assert "conversation of 1 minute (2025-12-29 00:00 UTC to 2025-12-29 00:01 UTC)" in text
