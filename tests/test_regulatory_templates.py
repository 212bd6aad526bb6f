"""Implementing Regulation (EU) 2024/2835 template rows filled from a review queue."""

from __future__ import annotations

import csv
from math import inf
from pathlib import Path
from typing import Any

import pytest
from _regulatory import KEY, T0, decided_queue

from riskscore.moderation import ReviewQueue, UserReport
from riskscore.moderation.transparency import transparency_report
from riskscore.policy import AgeBand, Alert, AlertPolicy, Guards, Tier
from riskscore.policy.bands import threshold_text
from riskscore.regulatory import (
    ExportFilter,
    decided_cases,
    quantitative_template,
    write_templates,
)
from riskscore.regulatory.eu_qualitative import QUALITATIVE_INDICATORS, qualitative_fields

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
    tables = quantitative_template(
        items, decided_cases(items, f), export_filter=f, service="demo", min_cell=0
    )
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
    tables = quantitative_template(items, decided_cases(items, f), export_filter=f, min_cell=0)
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
    assert f"review at {threshold_text(policy.bands[0].review)}," in draft
    assert "80.0%" in draft
    indicators = [r["Indicator"] for r in _rows(written["11_qualitative.csv"])]
    assert "Safeguards applied to the use of automated means" in indicators


def test_decision_filter(tmp_path: Path) -> None:
    path = decided_queue(tmp_path / "q.sqlite")
    f = ExportFilter(outcomes=("actioned",))
    with ReviewQueue(path) as q:
        items = q.items()
    tables = quantitative_template(items, decided_cases(items, f), export_filter=f, min_cell=0)
    header, rows = tables.tables["05_own_initiative_illegal.csv"]
    own = header.index("Number of measures taken at the provider's own initiative")
    assert rows[-1][own] == 0
    assert rows[-1][0] == ""  # no service name given
    assert rows[-1][1] == "2026-01-01/2026-01-03"  # open period: first to last queue record


def _actions(tables: dict[str, tuple[tuple[str, ...], list[list[Any]]]]) -> dict[str, Any]:
    """The measures each section counts in its category row (law, terms, own initiative)."""
    header, rows = tables["04_notices.csv"]
    notices = dict(zip(header, rows[-1], strict=True))
    counts = {
        "law": notices["Number of actions taken on the basis of the law"],
        "terms": notices[
            "Number of actions taken on the basis of the terms and conditions of the service"
        ],
        "median": notices["Median time to take action"],
    }
    for name in ("05_own_initiative_illegal.csv", "06_own_initiative_TC.csv"):
        header, rows = tables[name]
        row = dict(zip(header, rows[-1], strict=True))
        counts[name[:2]] = row["Number of measures taken at the provider's own initiative"]
    return counts


def test_actions_on_notices_are_counted_in_the_period_of_the_decision(tmp_path: Path) -> None:
    """A notice received in one period and acted on in the next is an action of the next
    (as its statement of reasons is): the measures of sections 4, 5 and 6 add up to the
    restricting decisions of the period, whichever period the notice came in."""
    day = 86_400
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        # adult "a": reported by a child on day 1, escalated on day 4
        q.add_report(UserReport("conv-a", "kid-a", "a", 12.0, T0 + day + 3_600))
        q.decide("a", "escalated", moderator="m", at=T0 + 4 * day, token=_token(q, "a", 4))
        # adult "b": reported on day 4, actioned on day 4 (2 hours later)
        q.add_report(UserReport("conv-b", "kid-b", "b", 13.0, T0 + 4 * day))
        q.decide("b", "actioned", moderator="m", at=T0 + 4 * day + 7_200, token=_token(q, "b", 5))
        # adult "c": an alert on day 0, actioned on day 1
        q.add_alert(Alert("conv-c", "c", "kid-c", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.decide("c", "actioned", moderator="m", at=T0 + day, token=_token(q, "c", 2))
        items = q.items()
    first, second = (
        ExportFilter(start=T0, end=T0 + 3 * day),
        ExportFilter(start=T0 + 3 * day, end=T0 + 6 * day),
    )
    got = {}
    for name, f in (("first", first), ("second", second)):
        cases = decided_cases(items, f)
        tables = quantitative_template(items, cases, export_filter=f, min_cell=0).tables
        got[name] = _actions(tables)
        restricting = [c for c in cases if c.outcome in ("actioned", "escalated")]
        counted = got[name]
        assert counted["law"] + counted["terms"] + counted["05"] + counted["06"] == len(
            restricting
        ), name
    assert got["first"] == {"law": 0, "terms": 0, "median": "", "05": 0, "06": 1}
    # a's escalation (notice at day 1 + 1 h, decided at day 4: 71 hours), b's action (2 hours)
    assert got["second"] == {"law": 1, "terms": 1, "median": round((71 + 2) / 2), "05": 0, "06": 0}


def _token(q: ReviewQueue, adult: str, day: int) -> str:
    case = q.case(adult, now=T0 + day * 86_400)
    assert case is not None
    return case.token


@pytest.mark.parametrize(
    ("start", "end", "written"),
    [
        # whole UTC days: the days, both included
        (T0, T0 + 7 * 86_400, "2026-01-01/2026-01-07"),
        # a month in UTC+01:00 starts on 31 December at 23:00 UTC: as dates it read
        # 2025-12-31/2026-01-31, a day the export does not cover; written as the instants
        (T0 - 3_600, T0 + 31 * 86_400 - 3_600, "2025-12-31T23:00:00Z/2026-01-31T23:00:00Z"),
        (T0 + 5 * 3_600, T0 + 31 * 86_400 + 5 * 3_600, "2026-01-01T05:00:00Z/2026-02-01T05:00:00Z"),
    ],
)
def test_reporting_period_is_written_as_it_was_given(
    tmp_path: Path, start: int, end: int, written: str
) -> None:
    path = decided_queue(tmp_path / "q.sqlite")
    f = ExportFilter(start=start, end=end)
    with ReviewQueue(path) as q:
        items = q.items()
    tables = quantitative_template(
        items, decided_cases(items, f), export_filter=f, min_cell=0
    ).tables
    for _, rows in tables.values():
        assert {row[1] for row in rows} == {written}


@pytest.mark.parametrize(
    "outcomes", [("escalated",), ("dismissed",), ("actioned", "escalated"), ("actioned",)]
)
def test_precision_is_over_every_decided_alert_whatever_the_decision_filter(
    tmp_path: Path, outcomes: tuple[str, ...]
) -> None:
    """Precision is a figure of the automated means: counted over the decisions the export
    keeps it was 100% with ``--decision escalated`` and 0% with ``--decision dismissed``
    by construction, in section 8 and in the qualitative draft."""
    path = decided_queue(tmp_path / "q.sqlite")
    f = ExportFilter(start=T0, end=T0 + 7 * 86_400, outcomes=outcomes)
    with ReviewQueue(path) as q:
        items = q.items()
    tables = quantitative_template(items, decided_cases(items, f), export_filter=f, min_cell=0)
    assert tables.precision == 0.8  # 4 of the 5 decided alerts, as without the filter
    header, rows = tables.tables["08_automated_means.csv"]
    [row] = [dict(zip(header, r, strict=True)) for r in rows if r[3].endswith("Precision")]
    assert row["Value"] == 0.8
    assert "= 4/5" in row["Contextual Information"]
    assert "whatever the decisions the export keeps" in row["Contextual Information"]


def test_the_safeguards_drafted_are_those_of_the_policy_in_use() -> None:
    """Was: "Thresholds are stricter for younger children; two known adults never alert,
    and peers close in age are capped at review" for every policy, also one whose adult
    pairs may alert and whose bands share one set of thresholds."""
    safeguards = QUALITATIVE_INDICATORS[3]
    default = qualitative_fields(AlertPolicy.default(), None, None)[safeguards]
    assert "Thresholds are stricter for younger children" in default
    assert "two known adults never alert" in default
    assert "two known minors at most 3 years apart are never urgent" in default
    flat = AlertPolicy(
        bands=(AgeBand("minors", 0, 18, 0.3, 0.8), AgeBand("adults", 18, inf, 0.3, 0.8)),
        unknown=AgeBand("unknown", 0, inf, 0.3, 0.8),
        guards=Guards(adult_pairs_alert=True, minor_peer_max_gap_years=1.0),
    )
    text = qualitative_fields(flat, None, None)[safeguards]
    assert "never alert" not in text
    assert "stricter" not in text
    assert "two known adults may alert" in text
    assert "two known minors at most 1 year apart are never urgent" in text
    assert "The thresholds are the same for every age band" in text


def test_thresholds_are_quoted_as_the_policy_holds_them() -> None:
    """Was: "urgent at 1.000" for a tuned urgent threshold of 0.99971 (read as no urgent
    alert at all) and "review at 0.000" for 0.0004: three decimals, as no policy file
    writes them. Quoted as ``riskscore policy check`` prints them, never rounded to 0 or 1."""
    policy = AlertPolicy(
        bands=(AgeBand("minors", 0, 18, 0.0004, 0.99971), AgeBand("adults", 18, inf, 0.5, 1.0)),
        unknown=AgeBand("unknown", 0, inf, 0.306, 0.99971),
    )
    text = qualitative_fields(policy, None, None)[QUALITATIVE_INDICATORS[0]]
    assert "minors: review at 0.0004, urgent at 0.9997" in text
    assert "adults: review at 0.5, urgent at 1;" in text
    assert "unknown: review at 0.306, urgent at 0.9997;" in text
    assert "minor, other age unknown: review at 0.899, urgent at 0.961)" in text  # the default
    assert "1.000" not in text
    assert "0.000," not in text
