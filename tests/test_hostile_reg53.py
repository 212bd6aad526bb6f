"""Hostile review of the regulatory and transparency exports (review hostreg53). All data
is synthetic (tests/_regulatory.py). Each test failed on the code before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _regulatory import KEY, T0, decided_queue
from cli_helpers import _one_line_error

from riskscore.cli import main


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
