"""Files that name accounts beside ages and risk are created readable by their owner only.

Scores, alerts, quarantined rows and per-account features are personal data about
children: created ``0600`` whatever the umask (as the review queue and checkpoints are).
Reports meant to be shared keep the umask's mode.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
from riskscore.batch.accounts import account_features_file
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.score import score_events
from riskscore.io.private import FILE_MODE, UnsafeFileError, open_private_append
from riskscore.io.staging import staged_outputs


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read new files (the usual 022)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(scope="module")
def events_with_a_bad_row(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = rs.synthetic.generate(300, prevalence=0.1, seed=5)
    messages = data.messages.to_pandas()
    messages.loc[3, "timestamp"] = np.nan  # one row for the quarantine file
    path = tmp_path_factory.mktemp("events") / "events.parquet"
    messages.to_parquet(path)
    return path


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_score_outputs_are_private(
    open_umask: None, events_with_a_bad_row: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out"
    score_events(events_with_a_bad_row, out, fmt=fmt, errors="quarantine")
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.name for p in files} >= {f"scores.{fmt}", f"alerts.{fmt}", "quarantine.jsonl"}
    assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(FILE_MODE) for p in files}


def test_score_replaces_an_earlier_readable_file_with_a_private_one(
    open_umask: None, events_with_a_bad_row: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "scores.parquet").write_bytes(b"earlier")
    os.chmod(out / "scores.parquet", 0o644)
    score_events(events_with_a_bad_row, out, errors="quarantine")
    assert mode(out / "scores.parquet") == FILE_MODE


def test_out_of_core_outputs_are_private(
    open_umask: None, events_with_a_bad_row: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    score_parquet(events_with_a_bad_row, out, chunk_rows=2000, errors="quarantine")
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(FILE_MODE) for p in files}


def test_account_features_file_is_private(
    open_umask: None, events_with_a_bad_row: Path, tmp_path: Path
) -> None:
    result = account_features_file(
        events_with_a_bad_row, tmp_path / "accounts.parquet", errors="quarantine"
    )
    assert mode(result.path) == FILE_MODE
    assert mode(tmp_path / "accounts.quarantine.jsonl") == FILE_MODE


def test_shared_reports_keep_the_umask(open_umask: None, tmp_path: Path) -> None:
    with staged_outputs(tmp_path, owned=["report.md"]) as stage:
        stage("report.md").write_text("counts only\n", encoding="utf-8")
    assert mode(tmp_path / "report.md") == 0o644


def test_appended_alert_files_are_created_private_and_refuse_a_shared_one(
    open_umask: None, tmp_path: Path
) -> None:
    new = tmp_path / "alerts.jsonl"
    with open_private_append(new) as fh:
        fh.write("{}\n")
    with open_private_append(new) as fh:
        fh.write("{}\n")
    assert mode(new) == FILE_MODE
    assert new.read_text() == "{}\n{}\n"
    chosen = tmp_path / "shared.jsonl"  # others may read it: refused, left as it was
    chosen.touch(mode=0o640)
    os.chmod(chosen, 0o640)
    with pytest.raises(UnsafeFileError, match="mode 0640"):
        open_private_append(chosen)
    assert mode(chosen) == 0o640
    assert chosen.read_text() == ""
