"""Figures the docs quote from the committed outputs of ``make report`` match those files.

docs/transparency.md's table of the synthetic month and docs/regulatory.md's counts of
statements and drafts were written for an earlier model; ``make report`` regenerated
``reports/`` and the pages went on quoting the old month (242 alerts raised against 200,
199 statements of reasons against 170, a shadow run of 172 alerts against 127). Only the
figures the published files hold are checked (the report withholds small cells).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports"


def _json(path: Path) -> Any:
    if not path.is_file():
        pytest.skip(f"{path.relative_to(ROOT)} is not in this checkout")
    return json.loads(path.read_text(encoding="utf-8"))


def _page(name: str) -> str:
    """A page of docs/ with its lines joined by single spaces."""
    return " ".join((ROOT / "docs" / name).read_text(encoding="utf-8").split())


def _row(page: str, label: str) -> str:
    """The cells after ``label`` of a table row of ``page``."""
    found = re.search(rf"\| {re.escape(label)} \| ([^|]+) \|", page)
    assert found is not None, label
    return found.group(1)


def _drafts() -> tuple[int, int]:
    """(statements of reasons, NCMEC drafts) in reports/regulatory/."""
    statements = REPORTS / "regulatory" / "dsa-statements" / "statements_of_reasons.jsonl"
    if not statements.is_file():
        pytest.skip("reports/regulatory/ is not in this checkout")
    lines = statements.read_text(encoding="utf-8").splitlines()
    drafts = list((REPORTS / "regulatory" / "ncmec-drafts").glob("ncmec-draft-*.json"))
    return sum(1 for line in lines if line.strip()), len(drafts)


def test_the_synthetic_month_table_quotes_the_committed_report() -> None:
    report = _json(REPORTS / "transparency" / "report.json")
    page = _page("transparency.md")
    alerts = _row(page, "alerts raised")
    assert alerts.startswith(f"{report['alerts_raised']}: actioned {report['actioned']},")
    assert f"escalated {report['escalated']}," in alerts
    reports = _row(page, "user reports received")
    received = report["user_reports"]
    shown = r"\[c\]" if received is None else received  # withheld, as the report shows it
    assert reports.startswith(f"{shown} ({report['user_reports_from_children']} from children):")
    dismissed = report["user_report_outcomes"]["dismissed"]
    assert dismissed is None or f"dismissed {dismissed}," in reports
    for label, key in (
        ("time to first review, all items", "time_to_first_review_hours"),
        ("time to decision, all items", "time_to_decision_hours"),
    ):
        times = report[key]["all"]
        expected = f"median {times['median']:.1f} h, 90th percentile {times['p90']:.1f} h"
        assert _row(page, label) == expected


def test_the_pages_count_the_committed_regulatory_drafts() -> None:
    statements, drafts = _drafts()
    row = _row(
        _page("transparency.md"), "DSA statements of reasons, NCMEC drafts (`reports/regulatory/`)"
    )
    assert row == f"{statements} (one per restricting decision), {drafts} (one per escalation)"
    said = (
        f"({statements} statements for {statements} restricting decisions and {drafts} drafts "
        f"for {drafts} escalations"
    )
    assert said in _page("regulatory.md")


def test_the_shadow_row_quotes_the_committed_comparison() -> None:
    compare = _json(REPORTS / "shadow" / "compare.json")
    production, shadow = (model["n_alerts"] for model in compare["models"])
    decisions = compare["decisions"]
    row = _row(
        _page("transparency.md"),
        "shadow run of the bundle learnt from the decisions (`reports/shadow/compare.json`)",
    )
    assert row == (
        f"{shadow} alerts against {production}: {compare['alerts_gained_by_b']} gained, "
        f"{compare['alerts_lost_by_b']} lost; precision on decided conversations "
        f"{decisions['b']['precision_on_decided']:.1%} against "
        f"{decisions['a']['precision_on_decided']:.1%}"
    )


def test_learning_quotes_the_committed_shadow_comparison() -> None:
    """docs/learning.md's synthetic-month paragraph gives the figures of
    reports/shadow/compare.json (they went stale once when the month was re-run)."""
    compare = _json(REPORTS / "shadow" / "compare.json")
    production, shadow = (model["n_alerts"] for model in compare["models"])
    decisions = compare["decisions"]
    a, b = decisions["a"], decisions["b"]
    text = " ".join(_page("learning.md").split())
    assert (
        f"recalibrated on {decisions['positive']} positive and {decisions['dismissed']} "
        f"dismissed conversations" in text
    )
    assert (
        f"alerts {shadow} conversations against production's {production}, gains "
        f"{'none' if compare['alerts_gained_by_b'] == 0 else compare['alerts_gained_by_b']} "
        f"and loses {compare['alerts_lost_by_b']}" in text
    )
    assert (
        f"it alerts {b['alerted_positive']} (production {a['alerted_positive']}), and "
        f"{b['alerted_dismissed']} of the dismissed ones (production {a['alerted_dismissed']})"
        in text
    )
    assert f"{b['precision_on_decided']:.1%} against {a['precision_on_decided']:.1%}" in text


def _speedups(result: dict[str, Any], key: str) -> dict[str, float]:
    return {row["pipeline"]: row["riskscore_speedup"] for row in result[key]}


def test_the_readme_benchmark_table_quotes_its_results_files() -> None:
    """Each row of the README's table of batch runs gives the ratios and time of the
    results file it links."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| .*\(\[file\]\((benchmarks/results/[^)]+\.json)\)\) \|(.*)\|$", text, re.M
    )
    assert len(rows) >= 4
    for path, cells in rows:
        result = _json(ROOT / path)
        _, *ratios, seconds = (cell.strip() for cell in cells.split("|"))
        features = _speedups(result, "read_features_pipelines")
        scores = _speedups(result, "pipelines")
        expected = [features["polars"], features["pandas"], scores["polars"], scores["pandas"]]
        assert ratios == [f"{x:.2f}" for x in expected], path
        riskscore = next(
            r for r in result["read_features_pipelines"] if r["pipeline"] == "riskscore"
        )
        assert seconds == f"{riskscore['seconds']:.3f} s", path


def test_the_readme_quotes_the_ten_million_run() -> None:
    result = _json(ROOT / "benchmarks" / "results" / "throughput_10m.json")
    features = _speedups(result, "read_features_pipelines")
    scores = _speedups(result, "pipelines")
    said = (
        f"{features['polars']:.2f}x polars and {features['pandas']:.2f}x pandas for read + "
        f"features, {scores['polars']:.2f}x and {scores['pandas']:.2f}x with scores"
    )
    assert said in " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())


def test_the_alert_volumes_quoted_are_the_robustness_benchmarks() -> None:
    """Was: docs/policy.md said `riskscore score` alerts "about 480 review and 50 urgent per
    million benign conversations in the median unseen world" citing robustness.md, which
    says 354 and 0 for the shipped model."""
    volume = _json(ROOT / "benchmarks" / "results" / "robustness.json")["shipped_policy_volume"]
    online = [round(volume[f"online_{tier}_per_million_median"]) for tier in ("review", "urgent")]
    once = [
        round(volume[f"final_state_{tier}_per_million_median"]) for tier in ("review", "urgent")
    ]
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"({online[0]} and {online[1]} measured:" in readme
    assert f"; {once[0]} and {once[1]} when each conversation is scored once" in readme
    urgent = "no" if once[1] == 0 else f"{once[1]}"
    assert (
        f"{once[0]} review and {urgent} urgent alerts per million benign conversations in the "
        f"median unseen world, against {online[0]} and {online[1]} online"
    ) in _page("policy.md")
