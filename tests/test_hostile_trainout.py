"""Hostile-input review: an output never replaces the model bundle or file its command
reads, and the console's period takes no time before the first event riskscore reads.

Was: ``train --from-queue --model models/mine --out models/mine`` replaced the bundle it
started from (the model being replaced was lost): ``train --out`` was left out of the rule
that refuses an output inside a bundle the same command line names.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import add_account, config, sign_in

import riskscore as rs
import riskscore.model.bundle as bundle
from riskscore.cli import main
from riskscore.serve import create_app


def _bundle_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("inside", ["", "candidate"])
def test_train_out_is_not_the_model_it_starts_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], inside: str
) -> None:
    """Refused with one line and status 2 before any work (the queue and the events do not
    exist: their errors would come later)."""
    model = tmp_path / "mine"
    shutil.copytree(bundle.shipped_model_dir(), model)
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    out = model / inside if inside else model
    argv = ["train", "--from-queue", str(tmp_path / "queue.sqlite")]
    argv += ["--events", str(tmp_path / "events.parquet"), "--model", str(model)]
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"--out {out} is" in err[0]
    assert "the model bundle --model names" in err[0]
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before


def test_train_out_beside_the_model_is_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another directory passes the rule: the error is then the missing queue's."""
    model = tmp_path / "mine"
    shutil.copytree(bundle.shipped_model_dir(), model)
    argv = ["train", "--from-queue", str(tmp_path / "queue.sqlite")]
    argv += ["--events", str(tmp_path / "events.parquet"), "--model", str(model)]
    assert main([*argv, "--out", str(tmp_path / "next")]) == 2
    err = capsys.readouterr().err
    assert "queue.sqlite" in err
    assert "--model names" not in err


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"from": "1970-01-01", "to": "2026-01-31"}, "'from': '1970-01-01' is out of range"),
        ({"from": "2026-01-01", "to": "1999-12-31"}, "'to': '1999-12-31' is out of range"),
        ({"from": "2199-12-01", "to": "2200-01-01"}, "'to': '2200-01-01' is out of range"),
        ({"from": "0", "to": "2026-01-31"}, "'from' must be a day YYYY-MM-DD (UTC), got '0'"),
        ({"from": "junk", "to": "2026-01-31"}, "'from' must be a day YYYY-MM-DD"),
    ],
)
def test_console_report_period_follows_the_time_rule(
    tmp_path: Path, query: dict[str, str], named: str
) -> None:
    """Was: ``/console/report?from=1970-01-01`` made a report of a period from epoch 0,
    where every time option of the command line refuses a time before 2000-01-01 (and
    ``from=junk`` gave a 200 page). Now 400, naming the parameter and its value, and no
    report is made (none is logged as read)."""
    cfg = config(tmp_path, rs.load_model(), report_key=b"0f3c9a7e-platform-secret-b81d44e2")
    add_account(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        r = client.get("/console/report", params=query)
        assert r.status_code == 400
        assert f"query parameter {named}" in html.unescape(r.text)
        assert 'id="report"' not in r.text
        ok = client.get("/console/report", params={"from": "2026-01-01", "to": "2026-01-31"})
        assert ok.status_code == 200
        assert 'id="report"' in ok.text


@pytest.mark.parametrize("option", ["--from-queue", "--events"])
def test_train_out_does_not_replace_a_file_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    """Was: ``train --from-queue out/manifest.json --out out`` read the review queue, then
    wrote the bundle's manifest over it (the moderators' decisions lost). Now refused by the
    rule of every command's outputs (``check_not_inputs``) before anything is read."""
    out = tmp_path / "out"
    out.mkdir()
    files = {"--from-queue": tmp_path / "queue.sqlite", "--events": tmp_path / "events.jsonl"}
    files[option] = out / "manifest.json"
    files[option].write_bytes(b"kept")
    argv = ["train", "--from-queue", str(files["--from-queue"])]
    argv += ["--events", str(files["--events"]), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"would replace the input {files[option]}" in err[0]
    assert files[option].read_bytes() == b"kept"
