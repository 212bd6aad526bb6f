"""The command line, called through main() as a user would call it: each command's job,
errors in one line with exit status 2, quarantine counts, one alert schema in every
format. The options of every command (help, defaults, ranges) are in
``test_cli_options.py``.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cli_helpers import _one_line_error

import riskscore as rs
from riskscore.cli import main
from riskscore.integrations._synapse_store import RoomStore
from riskscore.online.checkpoint import write as checkpoint_write
from riskscore.serve.accounts import ModeratorStore
from riskscore.warmup import warm_up


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
    assert "raises risk, +" in out  # how much, in words, then the number
    # values in words by the feature's unit (a flag is yes/no, a share a percentage), and why
    # each reason matters, as in every other view of a reason
    reasons = [line for line in out.splitlines() if line.startswith("     - ")]
    assert reasons
    assert all(". Why it can matter: " in line for line in reasons)
    assert not any(": 1 (" in line or ": 0.5 (" in line for line in reasons)
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


def test_warmup_reports_what_it_ran(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["warmup", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["events"] > 1000
    assert result["seconds"] > 0
    assert main(["warmup", "--processes", "1"]) == 0
    assert "kernels compiled or loaded from numba's cache" in capsys.readouterr().out


def test_warmup_says_a_numba_cache_dir_it_cannot_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was (found by a hostile review): a NUMBA_CACHE_DIR that is a file (or empty, or
    under /proc) was passed over in silence, the kernels cached elsewhere."""
    setting = tmp_path / "a-file"
    setting.write_text("")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(setting))
    assert main(["warmup", "--processes", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["numba_cache_dir_unused"] == str(setting)
    assert main(["warmup", "--processes", "1"]) == 0
    assert f"NUMBA_CACHE_DIR={str(setting)!r} is not used" in capsys.readouterr().out
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert main(["warmup", "--processes", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["numba_cache_dir_unused"] is None


@pytest.mark.parametrize("processes", [0, 3, True])
def test_warm_up_refuses_other_process_counts(processes: int) -> None:
    with pytest.raises(ValueError, match="processes must be 1 or 2"):
        warm_up(processes)


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
    assert record["line"] == 3  # the header is line 1
    assert record["conversation_id"] == "1"
    assert record["column"] == "sender_age"
    assert record["value"] == -4  # as read, not repr-quoted
    # the text output names the quarantine file and the count of each reason
    assert main(["score", str(events), "--out", str(tmp_path / "p"), "--errors", "quarantine"]) == 0
    printed = capsys.readouterr().out
    assert f"quarantined: {tmp_path / 'p' / 'quarantine.jsonl'} (1 row)" in printed
    assert "     1  sender_age: is not a plausible age" in printed


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
    assert "| quiet\\_groomers |" in (out / "robustness.md").read_text()  # shown as written


def test_evaluate_data_whose_labels_have_the_documented_columns_only(
    data_dir: Path, tmp_path: Path
) -> None:
    """labels.parquet with conversation_id, is_grooming, onset_index and adult_id (what
    docs/evaluation.md asks of a platform's own labels) is evaluated; it was refused for
    lacking the generator's `scenario` column."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "events.parquet").write_bytes((data_dir / "events.parquet").read_bytes())
    labels = pq.read_table(data_dir / "labels.parquet")
    pq.write_table(
        labels.select(["conversation_id", "is_grooming", "onset_index", "adult_id"]),
        mine / "labels.parquet",
    )
    args = ["--data", str(mine), "--out", str(tmp_path / "ev"), "--bootstrap", "0"]
    assert main(["evaluate", *args, "--replay-events", "0", "--no-plots", "--json"]) == 0


def test_evaluate_needs_data_or_worlds(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--out", str(tmp_path)])
    assert exit_info.value.code == 2


# ---------------------------------------------------------------- errors: one line, exit 2


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("score", ["EVENTS"]),
        ("generate", ["--conversations", "10"]),
        ("train", ["--data", "DATA"]),
        ("evaluate", ["--data", "DATA"]),
        ("export", ["--db", "DB"]),
        ("report", ["--db", "DB"]),
    ],
)
def test_out_naming_an_existing_file_is_one_line_and_exit_2(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    args: list[str],
) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", "a test key that is long enough: 0123456789abcdef")
    db = tmp_path / "queue.sqlite"
    with rs.ReviewQueue(db):
        pass
    names = {"EVENTS": data_dir / "events.parquet", "DATA": data_dir, "DB": db}
    existing = tmp_path / "results.csv"
    existing.write_text("not a directory\n")
    argv = [command, *(str(names.get(a, a)) for a in args), "--out", str(existing)]
    assert main(argv) == 2
    err = _one_line_error(capsys, command)
    assert f"{existing} exists and is not a directory" in err
    assert existing.read_text() == "not a directory\n"


@pytest.mark.parametrize("command", ["queue", "report", "export"])
def test_a_db_that_is_not_a_queue_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", "a test key that is long enough: 0123456789abcdef")
    events = tmp_path / "events.csv"
    events.write_text("conversation_id,timestamp,sender_id,recipient_id,channel\n" * 50)
    extra = [] if command == "queue" else ["--out", str(tmp_path / "out")]
    assert main([command, "--db", str(events), *extra]) == 2
    assert f"{events} is not a riskscore queue" in _one_line_error(capsys, command)


def _other_databases(tmp_path: Path) -> dict[str, Path]:
    """An online checkpoint, the Synapse module's room state and an unrelated database."""
    checkpoint = tmp_path / "checkpoint.sqlite"
    checkpoint_write(checkpoint, {}, [], [])
    rooms = tmp_path / "rooms.sqlite"
    RoomStore(rooms).close()
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.commit()
    con.close()
    return {"checkpoint": checkpoint, "synapse rooms": rooms, "other": other}


@pytest.mark.parametrize("kind", ["checkpoint", "synapse rooms", "other"])
@pytest.mark.parametrize(
    "args",
    [
        ["queue", "--db", "DB", "--top", "1"],
        ["report", "--db", "DB", "--out", "OUT"],
        ["export", "--db", "DB", "--out", "OUT"],
        ["score", "EVENTS", "--out", "OUT", "--queue", "DB"],
        ["stream", "--time-source", "events", "--queue", "DB"],
    ],
    ids=lambda a: a[0],
)
def test_another_database_is_refused_as_a_queue_unchanged(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    args: list[str],
) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", "a test key that is long enough: 0123456789abcdef")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    db = _other_databases(tmp_path)[kind]
    before = db.read_bytes()
    names = {"DB": db, "OUT": tmp_path / "out", "EVENTS": data_dir / "events.parquet"}
    assert main([str(names.get(a, a)) for a in args]) == 2
    err = _one_line_error(capsys, args[0])
    assert f"{db} is not a riskscore queue (it has table(s) " in err
    assert db.read_bytes() == before
    assert not (tmp_path / "out").exists()


def test_a_queue_file_with_moderator_accounts_only_is_a_queue(tmp_path: Path) -> None:
    db = tmp_path / "queue.sqlite"
    ModeratorStore(db).close()
    with rs.ReviewQueue(db) as queue:
        assert len(queue) == 0


def test_a_queue_is_refused_as_synapse_room_state_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "queue.sqlite"
    with rs.ReviewQueue(db):
        pass
    before = db.read_bytes()
    with pytest.raises(ValueError, match=r"is not the Synapse module's room state .*items"):
        RoomStore(db)
    assert db.read_bytes() == before


@pytest.mark.parametrize("kind", ["missing", "directory", "corrupt parquet"])
def test_unreadable_events_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = {
        "missing": tmp_path / "nothing.csv",
        "directory": tmp_path,
        "corrupt parquet": tmp_path / "events.parquet",
        "binary csv": tmp_path / "events.csv",
    }[kind]
    if kind == "corrupt parquet":
        path.write_bytes(b"not parquet at all")
    if kind == "binary csv":
        header = b"conversation_id,timestamp,sender_id,recipient_id,channel\n"
        path.write_bytes(header + b"\xff\xfe\x00\x81,1,a,b,direct\n")
    assert main(["score", str(path), "--out", str(tmp_path / "o")]) == 2
    assert str(path) in _one_line_error(capsys, "score")


def test_quarantine_prints_counts_by_reason_and_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel,sender_age\n"
        "1,1700000000,a,b,direct,35\n"
        "1,1700000100,b,a,direct,-4\n"
        "1,1700000200,a,b,direct,-5\n"
        "1,1700000300,a,b,direct,35\n"
    )
    assert main(["score", str(events), "--out", str(tmp_path / "o"), "--errors", "quarantine"]) == 0
    out = capsys.readouterr().out
    assert f"quarantined: {tmp_path / 'o' / 'quarantine.jsonl'} (2 rows)" in out
    assert "     2  sender_age: is not a plausible age" in out


def test_every_row_quarantined_says_so_with_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel,sender_age\n"
        "1,1700000100,b,a,direct,-4\n"
        "1,1700000200,a,b,direct,-5\n"
    )
    assert main(["score", str(events), "--out", str(tmp_path / "o"), "--errors", "quarantine"]) == 2
    err = _one_line_error(capsys, "score")
    assert "every row was quarantined (2 rows: 2 sender_age: is not a plausible age" in err
    assert str(tmp_path / "o" / "quarantine.jsonl") in err
    assert "message table is empty" not in err


def test_a_closed_pipe_ends_quietly(data_dir: Path, tmp_path: Path) -> None:
    # `riskscore score ... | head -2`: no traceback, no "Exception ignored" at exit.
    command = [sys.executable, "-m", "riskscore.cli", "score", str(data_dir / "events.parquet")]
    command += ["--out", str(tmp_path), "--top", "50"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stderr is not None
    # Closed before the command prints (scoring takes seconds), as `head` does once it has
    # its lines; output smaller than the pipe's buffer could otherwise fit in it.
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert err == b""


# ---------------------------------------------------------------- outputs and help


def test_alerts_have_one_schema_in_every_format(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = str(data_dir / "events.parquet")
    for fmt in ("parquet", "jsonl", "csv"):
        assert main(["score", events, "--out", str(tmp_path / fmt), "--format", fmt]) == 0
    capsys.readouterr()
    parquet = pq.read_table(tmp_path / "parquet" / "alerts.parquet").to_pylist()
    lines = (tmp_path / "jsonl" / "alerts.jsonl").read_text().splitlines()
    jsonl = [json.loads(line) for line in lines]
    with (tmp_path / "csv" / "alerts.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert parquet
    assert len(parquet) == len(jsonl) == len(rows)
    assert isinstance(jsonl[0]["reasons"], list)
    fields = {"feature", "value", "contribution", "description", "text"}
    assert set(jsonl[0]["reasons"][0]) == fields
    assert [a["reasons"] for a in parquet] == [a["reasons"] for a in jsonl]
    assert [json.loads(r["reasons"]) for r in rows] == [a["reasons"] for a in jsonl]
    assert list(rows[0]) == list(jsonl[0]) == list(parquet[0])
