"""Hostile review of the regulatory and transparency exports (review hostreg53). All data
is synthetic (tests/_regulatory.py). Each test failed on the code before its fix."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from _regulatory import KEY, T0, decided_queue
from cli_helpers import _one_line_error
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.cli import main
from riskscore.moderation import QueueItem, ReviewQueue, UserReport
from riskscore.policy import Alert, Tier
from riskscore.regulatory import (
    ExportFilter,
    decided_cases,
    quantitative_template,
    statements_of_reasons,
)


@pytest.mark.parametrize(
    ("start", "end"),
    [(T0 + 86_400, T0), (T0, T0), (-86_400, T0)],
    ids=["reversed", "empty", "before-1970"],
)
def test_a_published_report_whose_period_is_not_one_is_named(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    start: int,
    end: int,
) -> None:
    """Was: "period start 2026-01-02T00:00:00+00:00 (...) must be before its end ...", as
    if --start and --end were at fault, naming neither --published nor the file."""
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode())
    db = decided_queue(tmp_path / "q.sqlite")
    published = tmp_path / "report.json"
    published.write_text(json.dumps({"period": {"start_epoch": start, "end_epoch": end}}))
    argv = ["report", "--db", str(db), "--out", str(tmp_path / "out"), "--no-charts"]
    period = ["--start", "2026-02-01", "--end", "2026-02-28"]
    assert main([*argv, *period, "--published", str(published)]) == 2
    err = _one_line_error(capsys, "report")
    assert f"--published {str(published)!r}" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["export", "report"])
def test_a_key_that_is_not_utf8_is_refused_naming_the_variable(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    """Was: "'utf-8' codec can't encode characters in position 0-1: surrogates not
    allowed", naming neither the key nor the variable (bytes that are not UTF-8 reach
    ``os.environ`` as lone surrogates)."""
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", "\udcff\udcfe" + KEY.decode())
    db = decided_queue(tmp_path / "q.sqlite")
    argv = [command, "--db", str(db), "--out", str(tmp_path / "out")]
    assert main([*argv, *(["--no-charts"] if command == "report" else [])]) == 2
    err = _one_line_error(capsys, command)
    assert "the key in the environment variable RISKSCORE_REPORT_KEY is not UTF-8 text" in err
    assert "codec" not in err
    assert not (tmp_path / "out").exists()


def test_an_end_before_the_default_start_names_the_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: "period start 2026-01-01T00:00:00+00:00 (...) must be before its end
    2025-06-02T00:00:00+00:00 (...)", a start the user never gave, named by neither option."""
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode())
    db = decided_queue(tmp_path / "q.sqlite")  # first item on 2026-01-01
    argv = ["report", "--db", str(db), "--out", str(tmp_path / "out"), "--no-charts"]
    assert main([*argv, "--end", "2025-06-01"]) == 2
    err = _one_line_error(capsys, "report")
    assert (
        "--end 2025-06-02T00:00:00+00:00 (excluded) is not after 2026-01-01T00:00:00+00:00" in err
    )
    assert "when --start is not given: give --start" in err
    assert not (tmp_path / "out").exists()
    assert main([*argv, "--end", "2026-01-01"]) == 0  # the first item's day, included


@pytest.mark.parametrize("given", ["2023-02-29", "2026-13-01", "2025-02-29T12:00:00Z"])
def test_a_date_not_in_the_calendar_is_called_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    """Was: "'2023-02-29' is neither epoch seconds, YYYY-MM-DD nor ISO 8601", of a text
    written as YYYY-MM-DD (2023 has no 29 February)."""
    argv = ["export", "--db", str(tmp_path / "q.sqlite"), "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--from", "2023-01-01", "--to", given])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"riskscore export: error: argument --to: {given!r} is ")
    assert "not a date of the calendar" in last
    assert "neither" not in last


# ---------------------------------------------------------------- invariants of the exports

DAY = 86_400
_OUTCOMES = ("actioned", "dismissed", "escalated")
_EVENT = st.tuples(
    st.integers(0, 20 * 24),  # hour of the event from T0
    st.sampled_from(["a", "b", 7, "=c"]),  # the adult (a text id a spreadsheet would run)
    st.booleans(),  # a user report (else an alert)
    st.sampled_from([9.0, 12.0, 14.0, 16.0, 40.0]),  # child's age (reporter's: 40 a parent)
    st.one_of(st.none(), st.sampled_from(_OUTCOMES)),  # a decision at this time, before it
)


def _queue(path: Path, events: list[tuple[int, Any, bool, float, str | None]]) -> None:
    with ReviewQueue(path, simulation=True) as q:
        in_time = sorted(events, key=lambda e: (e[0], repr(e)))
        for k, (hour, adult, report, age, outcome) in enumerate(in_time):
            t = T0 + hour * 3_600
            if outcome is not None:  # decide an open case shown at t
                shown = q.case(adult, now=t)
                if shown is not None:
                    q.decide(adult, outcome, moderator="m", at=t, token=shown.token)
            if report:
                q.add_report(UserReport(f"c{k}", f"kid{k % 3}", adult, age, timestamp=t))
            elif age < 18:
                band = "under 13" if age < 13 else ("13-15" if age < 16 else "16-17")
                alert = Alert(f"c{k}", adult, f"kid{k % 3}", age, band, 0.1 + k % 9 / 10, Tier(1))
                q.add_alert(alert, at=t)


def _sections(items: list[QueueItem], f: ExportFilter) -> tuple[int, int, int, float | None]:
    """Statements, measures of sections 4 to 6, notices received, precision."""
    cases = decided_cases(items, f)
    t = quantitative_template(items, cases, export_filter=f)
    columns = (
        "Number of actions taken on the basis of the law",
        "Number of actions taken on the basis of the terms and conditions of the service",
        "Number of measures taken at the provider's own initiative",
    )
    measures = 0
    for name in ("04_notices.csv", "05_own_initiative_illegal.csv", "06_own_initiative_TC.csv"):
        header, rows = t.tables[name]
        row = dict(zip(header, rows[-1], strict=True))
        measures += sum(row.get(c, 0) for c in columns)
    notices = t.tables["04_notices.csv"][1][-1][3]
    return len(statements_of_reasons(cases, key=KEY)), measures, notices, t.precision


@settings(max_examples=25, deadline=None, database=None)
@given(events=st.lists(_EVENT, min_size=8, max_size=25), cut=st.integers(1, 20))
def test_exports_add_up_over_periods_and_filters(
    events: list[tuple[int, Any, bool, float, str | None]], cut: int
) -> None:
    """Measures of sections 4 to 6 equal the statements of reasons; two adjacent periods
    hold the statements and notices of their union; the precision does not depend on the
    decisions an export keeps."""
    with tempfile.TemporaryDirectory() as tmp:
        _queue(Path(tmp) / "q.sqlite", events)
        with ReviewQueue(Path(tmp) / "q.sqlite") as q:
            items = q.items()
    start, middle, end = T0 - DAY, T0 + cut * DAY, T0 + 22 * DAY
    whole = _sections(items, ExportFilter(start=start, end=end))
    first = _sections(items, ExportFilter(start=start, end=middle))
    second = _sections(items, ExportFilter(start=middle, end=end))
    for statements, measures, _, _ in (whole, first, second):
        assert measures == statements
    assert whole[0] == first[0] + second[0]
    assert whole[2] == first[2] + second[2]
    for outcome in _OUTCOMES:
        kept = ExportFilter(start=start, end=end, outcomes=(outcome,))
        assert _sections(items, kept)[3] == whole[3]
