"""Regulatory exports, from a hostile review: the 2024/2835 templates keep the transparency
report's disclosure control, quote the policy that raised the alerts, count a room and its
pair as one conversation, date a batch alert by its events, and mark simulated decisions in
the files themselves."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY as KEY
from riskscore.policy import Alert, Tier
from riskscore.regulatory import ExportFilter, export_all
from riskscore.regulatory.export import SIMULATED_NOTE

T = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400
LATER = T + 400 * DAY


def _alert(conv: str, adult: str, child: str, *, at: int, band: str = "under 13") -> Alert:
    return Alert(conv, adult, child, 12.0, band, 0.9, Tier.URGENT, timestamp=at)


def _decide(q: rs.ReviewQueue, adult: str, outcome: str, at: int) -> None:
    case = q.case(adult, now=at)
    q.decide(adult, outcome, moderator="mod-1", at=at, token=case.token)


def _month(path: Path, *, dismissed: int, escalated: int = 12, actioned: int = 12) -> None:
    """A queue of a month: each adult one alert, decided as asked, and two open alerts."""
    with rs.ReviewQueue(path, simulation=True) as q:
        n = 0
        for outcome, count in (
            ("actioned", actioned),
            ("escalated", escalated),
            ("dismissed", dismissed),
            ("open", 2),
        ):
            for _ in range(count):
                n += 1
                q.add_alert(_alert(f"c{n}", f"a{n}", f"k{n}", at=T + n * 600))
                if outcome != "open":
                    _decide(q, f"a{n}", outcome, T + n * 600 + 60)


def _rows(out: Path, name: str) -> list[dict[str, str]]:
    with (out / "eu-2024-2835" / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _precision(row: dict[str, str]) -> bool:
    return row["Indicator"].endswith("Precision")


def _value(out: Path, indicator: str) -> str:
    [row] = [r for r in _rows(out, "08_automated_means.csv") if r["Indicator"].endswith(indicator)]
    return row["Value"]


def _export(path: Path, out: Path, **kwargs: Any) -> dict[str, Any]:
    with rs.ReviewQueue(path) as q:
        return export_all(
            q, out, key=KEY, export_filter=ExportFilter(start=T, end=T + 31 * DAY), as_of=LATER,
            **kwargs,
        )  # fmt: skip


def test_the_template_withholds_a_precision_that_gives_back_small_outcome_counts(
    tmp_path: Path,
) -> None:
    # 12 actioned, 12 escalated, 3 dismissed, 2 open: the report withholds the dismissed
    # and open alerts; (actioned + escalated) / decided = 24/27 with alerts raised (29,
    # published) gives back both
    _month(tmp_path / "q.sqlite", dismissed=3)
    result = _export(tmp_path / "q.sqlite", tmp_path / "out")
    assert result["precision"] is None
    assert result["withheld"] == ["precision"]
    assert _value(tmp_path / "out", "Precision") == "[c]"
    [row] = [r for r in _rows(tmp_path / "out", "08_automated_means.csv") if _precision(r)]
    assert "24/27" not in json.dumps(row)
    assert "withheld" in json.dumps(row)
    draft = (tmp_path / "out" / "eu-2024-2835" / "qualitative_draft.md").read_text()
    assert "88.9" not in draft
    assert "withheld by statistical disclosure control" in draft
    # exact figures for a regulator under confidentiality
    exact = _export(tmp_path / "q.sqlite", tmp_path / "exact", min_cell=0)
    assert exact["precision"] == round(24 / 27, 4)
    assert exact["withheld"] == []


def test_the_template_publishes_a_precision_whose_counts_are_all_large(tmp_path: Path) -> None:
    _month(tmp_path / "q.sqlite", dismissed=0)  # 2 open alerts: still small
    assert _export(tmp_path / "q.sqlite", tmp_path / "out")["withheld"] == ["precision"]
    with rs.ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:  # the open ones decided
        for n in (25, 26):
            _decide(q, f"a{n}", "actioned", T + 20 * DAY)
    result = _export(tmp_path / "q.sqlite", tmp_path / "out2")
    assert result["withheld"] == []
    assert result["precision"] == 1.0


def test_notices_decided_are_withheld_when_few_are_left_open(tmp_path: Path) -> None:
    with rs.ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        for n in range(12):
            q.add_report(rs.UserReport(f"c{n}", f"k{n}", f"a{n}", 12.0, T + n * 600 + 1))
            if n:  # one notice left open
                _decide(q, f"a{n}", "dismissed", T + n * 600 + 60)
    out = tmp_path / "out"
    assert _export(tmp_path / "q.sqlite", out)["withheld"] == ["notices_decided"]
    assert _value(out, "not processed by automated means") == "[c]"
    exact = tmp_path / "exact"
    _export(tmp_path / "q.sqlite", exact, min_cell=0)
    assert _value(exact, "not processed by automated means") == "11"


def test_a_room_of_two_and_the_pair_it_became_are_one_conversation_reported(
    tmp_path: Path,
) -> None:
    with rs.ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_report(rs.UserReport("room9", "kid", "adult", 12.0, T + 100))
        q.add_report(rs.UserReport("room9|adult|kid", "kid", "adult", 12.0, T + 200))
        _decide(q, "adult", "actioned", T + 300)
    _export(tmp_path / "q.sqlite", tmp_path / "out", min_cell=0)
    [row] = [
        r for r in _rows(tmp_path / "out", "04_notices.csv")
        if r["Category of illegal content"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    ]  # fmt: skip
    assert row["Number of notices received"] == "2"
    column = "Number of specific items of information included in the total number of notices"
    assert row[column] == "1"


def _policy_file(tmp_path: Path) -> Path:
    text = rs.AlertPolicy.default().to_toml().replace('"under 13"', '"under-13s"')
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_export_quotes_the_policy_given_and_refuses_one_that_raised_none_of_the_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "q.sqlite"
    with rs.ReviewQueue(path, simulation=True) as q:
        q.add_alert(_alert("c1", "a1", "k1", at=T + 10, band="under-13s"))
        _decide(q, "a1", "escalated", T + 100)
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode() if isinstance(KEY, bytes) else KEY)
    base = ["export", "--db", str(path), "--from", "2026-01-01", "--to", "2026-01-31"]
    assert main([*base, "--out", str(tmp_path / "default")]) == 2
    err = capsys.readouterr().err
    assert "'under-13s'" in err
    assert "--policy" in err
    policy = _policy_file(tmp_path)
    assert main([*base, "--out", str(tmp_path / "mine"), "--policy", str(policy)]) == 0
    draft = (tmp_path / "mine" / "eu-2024-2835" / "qualitative_draft.md").read_text()
    assert "under-13s: review at" in draft


def test_a_batch_alert_on_old_events_is_dated_by_its_events(tmp_path: Path) -> None:
    first, last = T + 3 * DAY, T + 9 * DAY
    alert = Alert(
        "c1", "a1", "k1", 12.0, "under 13", 0.9, Tier.URGENT,
        first_event_at=first, last_event_at=last,
    )  # fmt: skip
    with rs.ReviewQueue(tmp_path / "q.sqlite") as q:  # not simulated: received now
        q.add_alert(alert)
        [item] = q.items()
    assert item.created_at == last


def test_simulated_decisions_are_marked_in_the_exported_files(tmp_path: Path) -> None:
    _month(tmp_path / "q.sqlite", dismissed=12)
    out = tmp_path / "out"
    result = _export(tmp_path / "q.sqlite", out, min_cell=0)
    assert result["simulated_decisions"] == 36
    for sub in ("dsa-statements", "eu-2024-2835", "ncmec-drafts"):
        note = out / sub / SIMULATED_NOTE
        assert "SIMULATED" in note.read_text()
        assert note.stat().st_mode & 0o777 == 0o600
    drafts = [json.loads(p.read_text()) for p in (out / "ncmec-drafts").glob("*.json")]
    assert drafts
    assert all("never submit" in d["simulated"] for d in drafts)
    [row] = [r for r in _rows(out, "08_automated_means.csv") if _precision(r)]
    assert "SIMULATED: 36 of 36 decision times" in row["Contextual Information"]


def test_a_withheld_precision_of_simulated_decisions_does_not_count_them(tmp_path: Path) -> None:
    """Was (a review of this stop's diff): the SIMULATED note kept "n of N decision
    times", N the very denominator withheld."""
    _month(tmp_path / "q.sqlite", dismissed=3)
    _export(tmp_path / "q.sqlite", tmp_path / "out")
    [row] = [r for r in _rows(tmp_path / "out", "08_automated_means.csv") if _precision(r)]
    assert row["Value"] == "[c]"
    assert "SIMULATED" in row["Contextual Information"]
    assert "27" not in row["Contextual Information"]
