"""What the transparency report's words say its figures count (riskscore.moderation.
transparency_render): a reader, a regulator among them, takes a table's note at its word."""

from __future__ import annotations

from pathlib import Path

from riskscore.moderation import ReviewQueue, UserReport
from riskscore.moderation.transparency import transparency_report
from riskscore.moderation.transparency_render import render_markdown
from riskscore.policy import Alert, Tier

KEY = b"test-key-not-secret-0123456789-ABCDEF"
T0 = 1_767_225_600


def test_times_note_says_which_items_are_counted(tmp_path: Path) -> None:
    """The times are those of the period's items (received in it) reviewed or decided by its
    end: an item received before the period and decided in it is not among them, so the note
    must not say "decided within the period"."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.7, Tier.URGENT), at=T0 - 600)
        q.add_alert(Alert(2, "b", "d", 12.0, "under 13", 0.7, Tier.URGENT), at=T0 + 60)
        for adult in ("a", "b"):
            q.decide(
                adult,
                "actioned",
                moderator="m",
                at=T0 + 600,
                token=_token(q, adult, T0 + 600),
            )
        report = transparency_report(q, (T0, T0 + 3600), key=KEY, min_cell=0)
    assert report.data["time_to_decision_hours"]["all"]["n"] == 1  # alert 1 came before
    text = render_markdown(report.data, [])
    assert "decided within the period" not in text
    assert "items received in the period, reviewed or decided by its end" in text


def test_share_of_actions_is_worded_as_a_share_of_items(tmp_path: Path) -> None:
    """One decision on a case with an alert and a child's report is two actioned items, one
    of them an alert: 50 %, which is not the share of decisions that started from automated
    detection (all of them here), so the report must not word it so."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.7, Tier.URGENT), at=T0)
        q.add_report(UserReport(1, "c", "a", 12.0, T0 + 60))
        q.decide("a", "actioned", moderator="m", at=T0 + 600, token=_token(q, "a", T0 + 600))
        report = transparency_report(q, (T0, T0 + 3600), key=KEY, min_cell=0)
    assert report.data["automated_detection"]["share_of_actions"] == 0.5
    text = render_markdown(report.data, [])
    assert "actions that started from automated detection" not in text
    assert "| share of actioned or escalated items that are alerts | 50.0% |" in text


def _token(q: ReviewQueue, adult: str, now: int) -> str:
    case = q.case(adult, now=now)
    assert case is not None
    return case.token
