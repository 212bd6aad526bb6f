"""NCMEC CyberTipline drafts: one per escalated case, marked as drafts, no message content."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from _regulatory import decided_queue

from riskscore.cli import main
from riskscore.moderation import ReviewQueue, UserReport
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY, transparency_report
from riskscore.policy import Alert, Tier
from riskscore.regulatory import cybertipline_drafts, decided_cases, write_drafts
from riskscore.regulatory.ncmec import INCIDENT_TYPE

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC: queue items are dated within the events' range


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
        q.add_report(UserReport("c1", "parent-1", "x", 40.0, timestamp=T0 + 100))
        q.add_report(UserReport("c2", "parent-2", "x", 45.0, timestamp=T0 + 110))
        q.add_report(UserReport("c3", "kid", "y", 13.0, timestamp=T0 + 120))
        q.add_report(UserReport("c4", "parent-3", "y", 41.0, timestamp=T0 + 130))
        x, y = q.case("x", now=T0 + 200), q.case("y", now=T0 + 200)
        assert x is not None
        assert y is not None
        assert x.children == ()
        assert (
            "reported by adults only: every reporter declared an adult age (youngest 40)"
            in x.reasons
        )
        assert y.children == ("kid",)
        assert "youngest child: age 13" in y.reasons
        for adult in ("x", "y"):
            token = q.case(adult, now=T0 + 200).token  # type: ignore[union-attr]
            q.decide(adult, "escalated", moderator="m", at=T0 + 300, token=token)
        drafts = {
            d["report"]["personOrUserReported"]["espIdentifier"]: d
            for d in cybertipline_drafts(decided_cases(q.items()), platform="demo")
        }
        report = transparency_report(q, (T0, T0 + 1000), key=SYNTHETIC_DEMO_KEY)
    assert drafts["x"]["report"]["victim"] == []
    assert drafts["x"]["case"]["youngest_declared_age"] is None
    said = drafts["x"]["report"]["personOrUserReported"]["additionalInfo"]
    assert said.startswith("2 user reports about this account; declared age: ")  # no absence
    assert [v["espIdentifier"] for v in drafts["y"]["report"]["victim"]] == ["kid"]
    assert drafts["y"]["case"]["youngest_declared_age"] == 13.0
    cases = report.data["cases"]
    assert cases["accounts_with_several_children"] == 0
    assert cases["escalated_multi_child_cases"] == []


_REPORTS = [  # a child reports an account of declared age 34, another one of no age given
    {"conversation_id": "c1", "timestamp": 1767225600, "sender_id": "kid-1",
     "recipient_id": "adult-x", "channel": "direct", "event": "report", "sender_age": 13,
     "recipient_age": 34},
    {"conversation_id": "c2", "timestamp": 1767225700, "sender_id": "kid-2",
     "recipient_id": "adult-y", "channel": "direct", "event": "report", "sender_age": 12},
]  # fmt: skip


def _reported(queue: Path) -> dict[str, dict[str, Any]]:
    """The drafts of every case of ``queue`` escalated, by reported account."""
    with ReviewQueue(queue) as q:
        for adult in ("adult-x", "adult-y"):
            shown = q.case(adult)
            assert shown is not None
            q.decide(adult, "escalated", moderator="m", token=shown.token)
        drafts = cybertipline_drafts(decided_cases(q.items()), platform="demo")
    return {d["report"]["personOrUserReported"]["espIdentifier"]: d for d in drafts}


@pytest.mark.parametrize("command", ["stream", "score"])
def test_the_reported_accounts_declared_age_is_in_the_draft(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: the queue dropped the recipient's declared age of a ``report`` event, so a
    draft made from user reports said nothing of the reported account's age. Now a
    report keeps it (the queue's ``adult_age``, null when not given, as in a file queued
    before) and the draft states it: ``declared age: 34 years``, or ``declared age:
    unknown``, never a guess; ``case.reported_declared_age`` holds the number or null."""
    text = "".join(json.dumps(e) + "\n" for e in _REPORTS)
    queue = tmp_path / "q.sqlite"
    if command == "stream":
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        assert main(["stream", "--queue", str(queue)]) == 0
    else:
        (tmp_path / "events.jsonl").write_text(text)
        argv = ["score", str(tmp_path / "events.jsonl"), "--queue", str(queue), "--top", "0"]
        assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    drafts = _reported(queue)
    x, y = (
        drafts[a]["report"]["personOrUserReported"]["additionalInfo"]
        for a in ("adult-x", "adult-y")
    )
    assert x.startswith("1 user report about this account concerning 1 child account; "
                        "declared age: 34 years. Indicators")  # fmt: skip
    assert "; declared age: unknown. Indicators" in y
    assert drafts["adult-x"]["case"]["reported_declared_age"] == 34.0
    assert drafts["adult-y"]["case"]["reported_declared_age"] is None


def test_an_alerts_adult_age_is_the_reported_accounts_declared_age(tmp_path: Path) -> None:
    """The age an alert recorded of its adult (``adult_age``) is the reported account's
    declared age too; an alert that knows none says unknown."""
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        q.add_alert(Alert(1, "adult-x", "k1", 12.0, "under 13", 0.9, Tier.URGENT,
                          adult_age=41.0), at=T0 + 100)  # fmt: skip
        q.add_alert(Alert(2, "adult-y", "k2", 12.0, "under 13", 0.9, Tier.URGENT), at=T0 + 100)
    drafts = _reported(tmp_path / "q.sqlite")
    assert drafts["adult-x"]["case"]["reported_declared_age"] == 41.0
    assert (
        "; declared age: 41 years. "
        in (drafts["adult-x"]["report"]["personOrUserReported"]["additionalInfo"])
    )
    assert drafts["adult-y"]["case"]["reported_declared_age"] is None
