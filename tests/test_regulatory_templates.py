"""Implementing Regulation (EU) 2024/2835 template rows filled from a review queue."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from _regulatory import KEY, T0, decided_queue

from riskscore.moderation import ReviewQueue
from riskscore.moderation.transparency import transparency_report
from riskscore.policy import AlertPolicy
from riskscore.regulatory import (
    ExportFilter,
    decided_cases,
    quantitative_template,
    write_templates,
)

GROOMING = "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def written(tmp_path: Path) -> dict[str, Path]:
    path = decided_queue(tmp_path / "q.sqlite")
    f = ExportFilter(start=T0, end=T0 + 7 * 86_400)
    with ReviewQueue(path) as q:
        items = q.items()
    tables = quantitative_template(items, decided_cases(items, f), export_filter=f, service="demo")
    return write_templates(
        tables, tmp_path / "out", policy=AlertPolicy.default(), service="demo", export_filter=f
    )


def test_precision_matches_the_transparency_report(tmp_path: Path) -> None:
    path = decided_queue(tmp_path / "q.sqlite")
    period = (T0, T0 + 7 * 86_400)
    with ReviewQueue(path) as q:
        items = q.items()
        report = transparency_report(q, period, key=KEY, min_cell=0)  # exact: arithmetic
    f = ExportFilter(start=period[0], end=period[1])
    tables = quantitative_template(items, decided_cases(items, f), export_filter=f)
    automated = report.data["automated_detection"]
    assert tables.precision == automated["precision"] == 0.8  # 4 of 5 decided alerts
    assert tables.precision_ci95 is not None
    assert list(tables.precision_ci95) == automated["precision_ci95"]


def test_counts_by_section(written: dict[str, Path]) -> None:
    notices = {r["Category of illegal content"]: r for r in _rows(written["04_notices.csv"])}
    row = notices[GROOMING]
    assert row["Number of notices received"] == "1"
    assert (
        row["Number of actions taken on the basis of the terms and conditions of the service"]
        == "1"
    )
    assert row["Median time to take action"] == "8"  # report at +5 h, decision at +13 h
    assert notices["TOTAL"]["Number of notices received"] == ""

    illegal = {
        r["Category of illegal content"]: r for r in _rows(written["05_own_initiative_illegal.csv"])
    }
    terms = {
        r["Category of illegal content"]: r for r in _rows(written["06_own_initiative_TC.csv"])
    }
    own = "Number of measures taken at the provider's own initiative"
    assert illegal[GROOMING][own] == "2"  # adults 101 and 106, escalated
    assert illegal[GROOMING]["Account restriction Termination"] == "2"
    assert terms[GROOMING][own] == "1"  # adult 102; 104 came from a notice
    assert terms[GROOMING]["Account restriction Suspension"] == "1"
    assert (
        illegal[GROOMING]["Number of measures taken after detection with solely automated means"]
        == "0"
    )

    automated = {r["Indicator"]: r for r in _rows(written["08_automated_means.csv"])}
    precision = automated["Accuracy of the automated means - Precision"]
    assert precision["Value"] == "0.8"
    assert "Wilson 95% interval" in precision["Contextual Information"]
    assert automated["Number of measures solely taken by automated means"]["Value"] == "0"
    assert automated["Accuracy of the automated means - Recall"]["Value"] == ""


def test_unknown_rows_are_left_blank_for_the_platform(written: dict[str, Path]) -> None:
    for name in ("07_appeals_and_recidivism.csv", "09_human_resources.csv"):
        rows = _rows(written[name])
        assert rows
        for row in rows:
            assert row["Value"] == ""
            assert "left to the platform" in row["Contextual Information"]
    for row in _rows(written["04_notices.csv"]):
        assert row["Reporting period"] == "2026-01-01/2026-01-07"


def test_qualitative_fields_drafted_from_policy(written: dict[str, Path]) -> None:
    draft = written["qualitative_draft.md"].read_text()
    assert "DRAFT" in draft
    assert "Safeguards applied to the use of automated means" in draft
    policy = AlertPolicy.default()
    assert f"review at {policy.bands[0].review:.3f}" in draft
    assert "80.0%" in draft
    indicators = [r["Indicator"] for r in _rows(written["11_qualitative.csv"])]
    assert "Safeguards applied to the use of automated means" in indicators


def test_decision_filter(tmp_path: Path) -> None:
    path = decided_queue(tmp_path / "q.sqlite")
    f = ExportFilter(outcomes=("actioned",))
    with ReviewQueue(path) as q:
        items = q.items()
    tables = quantitative_template(items, decided_cases(items, f), export_filter=f)
    header, rows = tables.tables["05_own_initiative_illegal.csv"]
    own = header.index("Number of measures taken at the provider's own initiative")
    assert rows[-1][own] == 0
    assert rows[-1][0] == ""  # no service name given
    assert rows[-1][1] == "2026-01-01/2026-01-03"  # open period: first to last queue record
