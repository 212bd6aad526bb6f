"""Hostile-input review: an output never replaces the model bundle or file its command
reads, and the console's period takes no time before the first event riskscore reads.

Was: ``train --from-queue --model models/mine --out models/mine`` replaced the bundle it
started from (the model being replaced was lost): ``train --out`` was left out of the rule
that refuses an output inside a bundle the same command line names.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import riskscore.model.bundle as bundle
from riskscore.cli import main


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
