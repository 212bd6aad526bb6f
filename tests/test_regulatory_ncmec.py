"""NCMEC CyberTipline drafts: one per escalated case, marked as drafts, no message content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _regulatory import decided_queue

from riskscore.moderation import ReviewQueue
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
    assert victims[0]["additionalInfo"] == "declared age band: under 13"


def test_written_drafts(drafts: list[dict[str, Any]], tmp_path: Path) -> None:
    files = write_drafts(drafts, tmp_path)
    assert sorted(files) == ["ncmec-draft-000001.json", "ncmec-draft-000007.json"]
    assert json.loads(files["ncmec-draft-000001.json"].read_text()) == drafts[0]
