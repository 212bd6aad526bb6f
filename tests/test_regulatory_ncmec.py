"""NCMEC CyberTipline drafts: one per escalated case, marked as drafts, no message content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _regulatory import decided_queue

from riskscore.moderation import ReviewQueue, UserReport
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY, transparency_report
from riskscore.regulatory import cybertipline_drafts, decided_cases, write_drafts
from riskscore.regulatory.ncmec import INCIDENT_TYPE


@pytest.fixture(scope="module")
def drafts(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    path = decided_queue(tmp_path_factory.mktemp("q") / "q.sqlite")
    with ReviewQueue(path) as q:
        return cybertipline_drafts(decided_cases(q.items()), platform="demo")


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_one_draft_per_escalated_case(drafts: list[dict[str, Any]]) -> None:
    assert [d["report"]["personOrUserReported"]["espIdentifier"] for d in drafts] == ["101", "106"]
    for d in drafts:
        assert d["draft"] is True
        assert d["status"] == "DRAFT — not submitted"
        summary = d["report"]["incidentSummary"]
        assert summary["incidentType"] == INCIDENT_TYPE
        assert summary["incidentDateTime"].endswith("+00:00")
        assert "chatImIncident" in d["report"]["internetDetails"][0]
        assert d["report"]["personOrUserReported"]["priorCTReports"] == []
        assert d["report"]["personOrUserReported"]["screenName"] is None
        assert "report.personOrUserReported.screenName" in d["to_complete"]
        assert not {k for k in _keys(d) if "content" in k.lower() or "text" in k.lower()}


def test_urgent_cases_are_escalated_to_high_priority(drafts: list[dict[str, Any]]) -> None:
    urgent, review = drafts
    assert "escalateToHighPriority" in urgent["report"]["incidentSummary"]
    assert "escalateToHighPriority" not in review["report"]["incidentSummary"]
    victims = urgent["report"]["victim"]
    assert [v["espIdentifier"] for v in victims] == ["201", "202"]
    assert victims[0]["additionalInfo"] == (
        "declared age band: under 13 (youngest declared age: 12 years)"
    )


def test_written_drafts(drafts: list[dict[str, Any]], tmp_path: Path) -> None:
    files = write_drafts(drafts, tmp_path)
    assert sorted(files) == ["ncmec-draft-000001.json", "ncmec-draft-000007.json"]
    assert json.loads(files["ncmec-draft-000001.json"].read_text()) == drafts[0]


def test_a_reporter_who_declared_an_adult_age_is_no_child_victim(tmp_path: Path) -> None:
    # two parents report account "x"; a 13-year-old reports account "y"
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_report(UserReport("c1", "parent-1", "x", 40.0, timestamp=100))
        q.add_report(UserReport("c2", "parent-2", "x", 45.0, timestamp=110))
        q.add_report(UserReport("c3", "kid", "y", 13.0, timestamp=120))
        q.add_report(UserReport("c4", "parent-3", "y", 41.0, timestamp=130))
        x, y = q.case("x", now=200), q.case("y", now=200)
        assert x is not None
        assert y is not None
        assert x.children == ()
        assert "reported by adults only: no child account among the items" in x.reasons
        assert y.children == ("kid",)
        assert "youngest child: age 13" in y.reasons
        for adult in ("x", "y"):
            token = q.case(adult, now=200).token  # type: ignore[union-attr]
            q.decide(adult, "escalated", moderator="m", at=300, token=token)
        drafts = {
            d["report"]["personOrUserReported"]["espIdentifier"]: d
            for d in cybertipline_drafts(decided_cases(q.items()), platform="demo")
        }
        report = transparency_report(q, (0, 1000), key=SYNTHETIC_DEMO_KEY)
    assert drafts["x"]["report"]["victim"] == []
    assert drafts["x"]["case"]["youngest_declared_age"] is None
    assert (
        "concerning 0 child accounts"
        in (drafts["x"]["report"]["personOrUserReported"]["additionalInfo"])
    )
    assert [v["espIdentifier"] for v in drafts["y"]["report"]["victim"]] == ["kid"]
    assert drafts["y"]["case"]["youngest_declared_age"] == 13.0
    cases = report.data["cases"]
    assert cases["accounts_with_several_children"] == 0
    assert cases["escalated_multi_child_cases"] == []
