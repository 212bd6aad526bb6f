"""Follow-up 53: regulatory exports say what they count, of every child and every channel.

Each test failed before its fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskscore.cli import main
from riskscore.moderation import ReviewQueue
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY
from riskscore.policy import Alert, Tier
from riskscore.regulatory import (
    ExportFilter,
    cybertipline_drafts,
    decided_cases,
    statements_of_reasons,
)

T0 = 1_767_225_600  # 2026-01-01 UTC
KEY = SYNTHETIC_DEMO_KEY


def _two_bands(path: Path) -> ReviewQueue:
    """One escalated decision on an adult who contacted a child under 13 and one of 13-15."""
    q = ReviewQueue(path, simulation=True)
    q.add_alert(Alert(1, "a", "c1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
    q.add_alert(Alert(2, "a", "c2", 14.0, "13-15", 0.7, Tier.REVIEW), at=T0 + 1)
    q.decide("a", "escalated", moderator="m", item_ids=[1, 2], at=T0 + 60)
    return q


@pytest.mark.parametrize("band", ["under 13", "13-15"])
def test_a_band_filter_drafts_every_child_of_the_case(tmp_path: Path, band: str) -> None:
    """Was: ``--band "under 13"`` drafted the case with the child under 13 only, and
    ``--band 13-15`` with the older child only (not even the urgent alert): the band filter
    hid a child of the reported account from NCMEC. It now selects cases, each whole."""
    with _two_bands(tmp_path / "q.sqlite") as q:
        items = q.items()
    full = cybertipline_drafts(decided_cases(items))
    [draft] = cybertipline_drafts(decided_cases(items, ExportFilter(bands=(band,))))
    assert [v["espIdentifier"] for v in draft["report"]["victim"]] == ["c1", "c2"]
    assert draft["case"]["queue_item_ids"] == [1, 2]
    assert "escalateToHighPriority" in draft["report"]["incidentSummary"]
    assert draft == full[0]
    # the statement of reasons of one decision reads the same whatever the band filter
    kept = statements_of_reasons(decided_cases(items, ExportFilter(bands=(band,))), key=KEY)
    assert kept == statements_of_reasons(decided_cases(items), key=KEY)


def test_a_band_filter_still_selects_cases(tmp_path: Path) -> None:
    with _two_bands(tmp_path / "q.sqlite") as q:
        items = q.items()
    assert decided_cases(items, ExportFilter(bands=("16-17",))) == []


def test_the_simulated_warning_says_what_it_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: ``SIMULATED: 2 of the decisions exported`` above ``DSA statements of reasons: 1``:
    the count takes dismissed decisions too, which the line did not say."""
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    path = tmp_path / "q.sqlite"
    with ReviewQueue(path, simulation=True) as q:
        q.add_alert(Alert(1, "a", "c1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.add_alert(Alert(2, "b", "c2", 12.0, "under 13", 0.6, Tier.REVIEW), at=T0)
        q.decide("a", "actioned", moderator="m", item_ids=[1], at=T0 + 60)
        q.decide("b", "dismissed", moderator="m", item_ids=[2], at=T0 + 60)
    assert main(["export", "--db", str(path), "--out", str(tmp_path / "x")]) == 0
    out = capsys.readouterr().out
    assert "SIMULATED: 2 of 2 decisions exported (every outcome: dismissed ones get no " in out
    assert "DSA statements of reasons: 1 (restricting decisions: 1)" in out
    assert main(["export", "--db", str(path), "--out", str(tmp_path / "y"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["decisions"], result["simulated_decisions"], result["statements"]) == (2, 2, 1)


@pytest.mark.parametrize("channel", ["public", "group"])
def test_the_default_content_type_is_true_of_public_and_group_rooms(
    tmp_path: Path, channel: str
) -> None:
    """Was: "Account conduct in private conversations with a child" for every statement,
    one on an alert raised in a public or group room too."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        alert = Alert(1, "a", "c1", 12.0, "under 13", 0.9, Tier.URGENT, max_channel=channel)
        q.add_alert(alert, at=T0)
        q.decide("a", "actioned", moderator="m", item_ids=[1], at=T0 + 60)
        [statement] = statements_of_reasons(decided_cases(q.items()), key=KEY)
    said = statement["content_type_other"]
    assert not said.startswith("Account conduct in private conversations")
    assert channel in said
    assert "interaction metadata" in said
