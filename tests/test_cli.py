"""The command line, called through main() as a user would call it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.cli import main


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    assert (
        main(
            [
                "generate",
                "--conversations",
                "2500",
                "--prevalence",
                "0.05",
                "--seed",
                "4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


def test_generate_writes_events_and_labels(data_dir: Path) -> None:
    assert pq.read_table(data_dir / "events.parquet").num_rows > 2500
    assert pq.read_table(data_dir / "labels.parquet").num_rows == 2500


def test_score_prints_top_alerts_with_reasons(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["score", str(data_dir / "events.parquet"), "--out", str(tmp_path), "--top", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "alerts" in out
    assert "#1" in out
    assert "(+" in out
    assert (tmp_path / "scores.parquet").exists()
    assert (tmp_path / "alerts.parquet").exists()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_score_writes_other_formats_and_json_summary(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    code = main(
        [
            "score",
            str(data_dir / "events.parquet"),
            "--out",
            str(tmp_path),
            "--format",
            fmt,
            "--json",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["conversations"] == 2500
    assert (tmp_path / f"scores.{fmt}").exists()
    assert (tmp_path / f"alerts.{fmt}").exists()


def test_train_writes_a_loadable_bundle_with_metrics(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", "--data", str(data_dir), "--out", str(tmp_path / "m"), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert 0.0 <= result["metrics"]["pr_auc"] <= 1.0
    assert (tmp_path / "m" / "MODEL_CARD.md").exists()
    code = main(
        [
            "score",
            str(data_dir / "events.parquet"),
            "--model",
            str(tmp_path / "m"),
            "--out",
            str(tmp_path / "s"),
            "--top",
            "0",
        ]
    )
    assert code == 0


def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "events.csv"
    bad.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel,text\n1,0,a,b,direct,x\n"
    )
    assert main(["score", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "no message content" in capsys.readouterr().err


def test_quarantine_sets_bad_rows_aside_and_reports_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel,sender_age\n"
        "1,1700000000,a,b,direct,35\n"
        "1,1700000100,b,a,direct,-4\n"
        "1,1700000200,a,b,direct,35\n"
    )
    code = main(
        ["score", str(events), "--out", str(tmp_path / "o"), "--errors", "quarantine", "--json"]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["quarantined"] == 1
    record = json.loads((tmp_path / "o" / "quarantine.jsonl").read_text())
    assert record["row"] == 1
    assert record["column"] == "sender_age"


@pytest.mark.parametrize("command", ["generate", "train", "score"])
def test_every_command_has_help_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "riskscore " + command in capsys.readouterr().out


def test_evaluate_on_unseen_and_stress_worlds_writes_a_robustness_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "robustness"
    args = ["evaluate", "--worlds", "1", "--conversations", "1500", "--out", str(out), "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    report = json.loads((out / "robustness.json").read_text())
    names = [w["world"] for w in report["worlds"]]
    assert names == ["drawn-1000", *rs.synthetic.STRESS_WORLDS]
    assert result["worlds"] == len(names)
    assert result["worst_pr_auc"] == report["summary"]["pr_auc"]["worst"]
    assert "| quiet_groomers |" in (out / "robustness.md").read_text()


def test_evaluate_needs_data_or_worlds(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
