"""The command line's wording of small refusals (review 52): options named as typed, one
sentence for one problem, the same word for the same cell. All data is synthetic.

Each test failed on the code before its fix."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from cli_helpers import _one_line_error
from serve_helpers import config

import riskscore as rs
from riskscore.cli import main
from riskscore.moderation.cases import QueueError
from riskscore.policy.volume import Traffic, policy_for_volume


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = rs.synthetic.generate(60, prevalence=0.2, seed=52)
    return data.write(tmp_path_factory.mktemp("data"))[0]


def test_policy_tune_names_the_options_of_two_targets(
    events: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: "urgent_per_million (200) cannot exceed review_per_million (100)", the
    library's parameter names where the user typed options."""
    argv = ["policy", "tune", str(events), "--review-per-million", "100"]
    assert main([*argv, "--urgent-per-million", "200"]) == 2
    err = _one_line_error(capsys, "policy")
    assert "--urgent-per-million (200) cannot exceed --review-per-million (100)" in err
    assert "_per_million" not in err


def test_policy_for_volume_keeps_its_parameter_names() -> None:
    """A library caller still reads the parameters it passed."""
    traffic = Traffic.of(*_scored())
    with pytest.raises(ValueError, match=r"^urgent_per_million \(200\) cannot exceed "):
        policy_for_volume(traffic, review_per_million=100, urgent_per_million=200)


def _scored() -> tuple[rs.FeatureTable, npt.NDArray[np.float64]]:
    data = rs.synthetic.generate(20, prevalence=0.2, seed=52)
    features = rs.extract_features(data.messages)
    return features, np.asarray(rs.load_model().predict_proba(features), dtype=np.float64)


def test_report_published_fifo_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: "--published '…' is not a transparency report's report.json (…): SchemaError:
    … is not a regular file (…): give the path of one report.json", the file and the
    problem said twice. The FIFO is refused before the queue is read."""
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    argv = ["report", "--db", str(tmp_path / "q.sqlite"), "--out", str(tmp_path / "out")]
    assert main([*argv, "--published", str(fifo)]) == 2
    err = _one_line_error(capsys, "report")
    assert f"error: {fifo} is not a regular file (a FIFO" in err
    assert err.count(str(fifo)) == 1
    assert "SchemaError" not in err
    assert "--published" in err


def test_compare_shadow_run_fifo_summary_is_named_for_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: "no shadow run in DIR (no shadow/shadow.json)" where shadow.json is there, a
    FIFO."""
    (tmp_path / "shadow").mkdir()
    os.mkfifo(tmp_path / "shadow" / "shadow.json")
    assert main(["compare", "--shadow-run", str(tmp_path)]) == 2
    err = _one_line_error(capsys, "compare")
    assert "shadow.json is not a regular file (a FIFO, socket or device)" in err
    assert "no shadow run" not in err


@pytest.mark.parametrize("same", ["as given", "./", "symbolic link"])
def test_compare_refuses_an_alerts_file_compared_with_itself(
    tmp_path: Path, events: Path, same: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `compare --shadow-alerts F --alerts F` compared F with itself, every alert
    matched: a mistake reported as two models that agree."""
    assert main(["score", str(events), "--out", str(tmp_path), "--format", "jsonl"]) == 0
    alerts = tmp_path / "alerts.jsonl"
    other = {
        "as given": str(alerts),
        "./": str(tmp_path / "." / "alerts.jsonl"),
        "symbolic link": str(tmp_path / "link.jsonl"),
    }[same]
    (tmp_path / "link.jsonl").symlink_to(alerts)
    capsys.readouterr()
    assert main(["compare", "--shadow-alerts", str(alerts), "--alerts", other]) == 2
    err = _one_line_error(capsys, "compare")
    assert "--alerts and --shadow-alerts name one file" in err
    copy = tmp_path / "shadow.jsonl"  # another file of the same alerts is compared
    copy.write_bytes(alerts.read_bytes())
    assert main(["compare", "--shadow-alerts", str(copy), "--alerts", other, "--json"]) == 0


@pytest.mark.parametrize("command", ["serve", "export", "report"])
@pytest.mark.parametrize("name", ["", " ", "\t"])
def test_platform_refuses_an_empty_or_blank_name(
    tmp_path: Path, command: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `serve --platform ''` (or blank) was accepted, to fail at the console's first
    report or export; `export` and `report` took '' as no name. A name given is one, as
    other name options (`--add-moderator`) refuse it; left out, the platform is unnamed."""
    argv = [command, "--db", str(tmp_path / "q.sqlite"), "--platform", name]
    # serve changes one account and exits (accepted, the name started a service before)
    argv += ["--remove-moderator", "nobody"] if command == "serve" else ["--out", str(tmp_path)]
    assert main(argv) == 2
    err = _one_line_error(capsys, command)
    assert "error: --platform: a platform name or id is required (non-empty text)" in err
    assert not (tmp_path / "q.sqlite").exists()  # refused before any work


def test_serve_config_refuses_a_blank_platform(tmp_path: Path) -> None:
    """The library's rule, at start: a blank platform name failed only at the console's
    first report or export."""
    with pytest.raises(QueueError, match="platform name or id is required"):
        config(tmp_path, rs.load_model(), platform=" ")
    assert config(tmp_path / "unnamed", rs.load_model(), platform="").platform == ""


_EVENT = (
    '{"conversation_id": 1, "timestamp": 1768939410, "sender_id": 1, "recipient_id": 2, '
    '"sender_age": 22, "recipient_age": 12, "channel": "public", "event": "message"}'
)


@pytest.mark.parametrize("column", ["conversation_id", "sender_id", "recipient_id"])
@pytest.mark.parametrize("literal", ["Infinity", "-Infinity"])
def test_a_number_that_is_not_finite_is_not_an_id_in_both_readers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    column: str,
    literal: str,
) -> None:
    """Was: `stream` said "inf is not an id: expected an integer or a string" of Infinity
    and `score` said "is missing": both now say it is not an id, a number that is not
    finite. JSON's NaN and null are missing in both, as NaN is in every table."""
    line = _EVENT.replace(f'"{column}": {1 if column != "recipient_id" else 2}', "")
    line = line.replace("{", f'{{"{column}": {literal}, ', 1).replace(", ,", ",")
    assert line.count(column) == 1
    path = tmp_path / "events.jsonl"
    path.write_text(line + "\n")
    said = "is not an id: a number that is not finite"
    assert main(["score", str(path), "--out", str(tmp_path / "out")]) == 2
    err = _one_line_error(capsys, "score")
    assert f"column '{column}', row 0 (line 1): " in err
    assert err.rstrip().endswith(said)
    monkeypatch.setattr(sys, "stdin", io.StringIO(line + "\n"))
    assert main(["stream", "--time-source", "events"]) == 0
    err = capsys.readouterr().err
    assert f"line 1: column '{column}', event 1: " in err
    assert f"{said}\n" in err
    assert "missing" not in err


def test_a_null_id_is_still_missing(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(_EVENT.replace('"sender_id": 1', '"sender_id": null') + "\n")
    with pytest.raises(rs.SchemaError, match=r"None is missing: every event needs an id"):
        rs.read_messages(path)
