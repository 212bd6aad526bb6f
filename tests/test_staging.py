"""A scoring job's outputs appear together or not at all (``riskscore.io.staging``).

A job that fails part-way, in memory or out of core, leaves its output folder as an
earlier run left it; a job that succeeds leaves one run's files only; a job refused for
"every row was quarantined" leaves the quarantine file that explains it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _staging import digests, events_file, staging_left, with_a_bad_row

import riskscore as rs
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.score import score_events
from riskscore.io.staging import staged_outputs
from riskscore.model import RiskModel


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return events_file(tmp_path_factory.mktemp("staging"))


def _fail_after_writing(out: Path, name: str, *, owned: list[str]) -> None:
    with staged_outputs(out, owned=owned) as stage:
        stage(name).write_text("new")
        raise OSError("disk full")


def test_staged_files_appear_only_when_the_block_succeeds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("earlier")
    with pytest.raises(OSError, match="disk full"):
        _fail_after_writing(out, "a.txt", owned=["a.txt"])
    assert digests(out) == {"a.txt": hashlib.sha256(b"earlier").hexdigest()}
    (out / "gone.txt").write_text("of an earlier run")
    with staged_outputs(out, owned=["gone.txt"]) as stage:
        stage("sub").mkdir()
        (stage("sub") / "b.txt").write_text("nested")
        assert not (out / "sub").exists()
    # owned and not written this time: removed; not owned: kept
    assert sorted(digests(out)) == ["a.txt", "sub/b.txt"]
    assert (out / "a.txt").read_text() == "earlier"
    with pytest.raises(RuntimeError, match="already moved"):
        stage("late.txt")


def test_a_failed_job_creates_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    with pytest.raises(OSError, match="disk full"):
        _fail_after_writing(out, "x.txt", owned=[])
    assert not out.exists()


@pytest.mark.parametrize("streamed", [False, True])
def test_a_job_failing_while_writing_leaves_the_earlier_run(
    events: Path, tmp_path: Path, model: RiskModel, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    out = tmp_path / "out"
    if streamed:
        score_parquet(events, out, model=model, chunk_rows=2_000)
    else:
        score_events(events, out)
    before = digests(out)
    assert sorted(before) == ["alerts.parquet", "scores.parquet"]

    calls = {"n": 0}
    score_features = RiskModel.score_features

    def fails_on_the_second_chunk(self: RiskModel, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return score_features(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RiskModel, "score_features", fails_on_the_second_chunk)
    if streamed:
        with pytest.raises(OSError, match="No space"):
            score_parquet(events, out, model=model, chunk_rows=2_000)
    else:  # one table: the alerts writer fails after the scores are written
        monkeypatch.setattr(
            "riskscore.batch.score.write_alerts",
            lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")),
        )
        with pytest.raises(OSError, match="No space"):
            score_events(events, out)
    assert digests(out) == before
    assert not staging_left(out)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_clean_run_removes_the_quarantine_of_an_earlier_run(
    events: Path, tmp_path: Path, model: RiskModel, streamed: bool
) -> None:
    out = tmp_path / "out"
    bad = with_a_bad_row(events)

    first = _score(bad, out, model, streamed=streamed)
    assert first.quarantine_path == out / "quarantine.jsonl"  # type: ignore[attr-defined]
    assert first.scores_path == out / "scores.parquet"  # type: ignore[attr-defined]
    assert (out / "quarantine.jsonl").is_file()
    second = _score(events, out, model, streamed=streamed)
    assert second.quarantine_path is None  # type: ignore[attr-defined]
    assert sorted(digests(out)) == ["alerts.parquet", "scores.parquet"]
    assert not staging_left(out)


@pytest.mark.parametrize("streamed", [False, True])
def test_every_row_quarantined_keeps_the_quarantine_file_it_names(
    events: Path, tmp_path: Path, model: RiskModel, streamed: bool
) -> None:
    table = pq.read_table(events).slice(0, 5)
    table = table.set_column(
        table.schema.get_field_index("sender_age"), "sender_age", pa.array([-1.0] * 5)
    )
    path = tmp_path / "all_bad.parquet"
    pq.write_table(table, path)
    out = tmp_path / "out"
    with pytest.raises(rs.SchemaError, match="every row was quarantined") as info:
        _score(path, out, model, streamed=streamed)
    assert str(out / "quarantine.jsonl") in str(info.value)
    assert sorted(digests(out)) == ["quarantine.jsonl"]
    assert len((out / "quarantine.jsonl").read_text().splitlines()) == 5


def _score(path: Path, out: Path, model: RiskModel, *, streamed: bool) -> object:
    if streamed:
        return score_parquet(path, out, model=model, chunk_rows=2_000, errors="quarantine")
    return score_events(path, out, errors="quarantine")


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return rs.load_model()


def test_a_relative_output_folder_is_named_when_mkdtemp_returns_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python 3.12+ mkdtemp returns an absolute path even for a relative ``dir``: the error
    # about a staged file named ``/abs/out/.riskscore-job-x/scores.json``, not out/scores.json.
    monkeypatch.chdir(tmp_path)
    mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: os.path.abspath(mkdtemp(*a, **k)))

    def open_a_folder() -> None:
        with staged_outputs(Path("out")) as stage:
            staged = stage("scores.json")
            staged.mkdir()
            staged.open("w")

    with pytest.raises(IsADirectoryError) as info:
        open_a_folder()
    assert info.value.filename == str(Path("out") / "scores.json")
