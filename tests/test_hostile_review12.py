"""Hostile review 12: the files a command leaves when it fails or is interrupted, and
whether two runs' outputs can be mixed (``riskscore.io.staging`` and its users)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _staging import digests, events_file, staging_left, with_a_bad_row

import riskscore as rs
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.score import score_events
from riskscore.cli import main
from riskscore.io.staging import STAGING_PREFIX, StagedOutputs, staged_outputs
from riskscore.model import RiskModel
from riskscore.model.bundle import default_model_dir


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return events_file(tmp_path_factory.mktemp("hostile12"))


@pytest.fixture(scope="module")
def bad_events(events: Path) -> Path:
    return with_a_bad_row(events)


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return rs.load_model()


def _score(path: Path, out: Path, model: RiskModel, *, streamed: bool, **kwargs: object) -> object:
    if streamed:
        return score_parquet(path, out, model=model, chunk_rows=2_000, **kwargs)  # type: ignore[arg-type]
    return score_events(path, out, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------- a failed run's quarantine beside old scores


@pytest.mark.parametrize("streamed", [False, True])
def test_an_interrupted_run_leaves_no_quarantine_beside_the_earlier_scores(
    events: Path,
    bad_events: Path,
    tmp_path: Path,
    model: RiskModel,
    monkeypatch: pytest.MonkeyPatch,
    streamed: bool,
) -> None:
    # The quarantine file is kept on failure to explain "every row was quarantined"; it
    # was kept on any failure, so Ctrl-C (or a full disk) while scoring a file with a bad
    # row left that run's quarantine.jsonl beside the scores and alerts of the earlier run.
    out = tmp_path / "out"
    _score(events, out, model, streamed=streamed)
    before = digests(out)

    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(RiskModel, "score_features", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _score(bad_events, out, model, streamed=streamed, errors="quarantine")
    assert digests(out) == before
    assert not staging_left(out)


# ------------------------------------------------ an earlier run's shadow folder


@pytest.mark.parametrize("streamed", [False, True])
def test_a_run_without_a_shadow_model_removes_an_earlier_runs_shadow_files(
    events: Path, bad_events: Path, tmp_path: Path, model: RiskModel, streamed: bool
) -> None:
    # shadow/shadow.json names the production files by name: left beside a later run's
    # production files, `riskscore compare --shadow-run OUT` matched two runs' alerts.
    out = tmp_path / "out"
    kwargs: dict[str, object] = {"fmt": "jsonl"}
    if streamed:
        kwargs["shadow_model"] = model
    else:
        kwargs["shadow_model_dir"] = default_model_dir()
    _score(events, out, model, streamed=streamed, **kwargs)
    assert (out / "shadow" / "shadow.json").is_file()
    _score(bad_events, out, model, streamed=streamed, fmt="jsonl", errors="quarantine")
    assert sorted(digests(out)) == ["alerts.jsonl", "quarantine.jsonl", "scores.jsonl"]


def test_shadow_outputs_that_are_the_input_are_refused(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --out holding the events file as shadow/scores.parquet: the run replaced its input
    # (and the streamed run then read the scores for the unread-columns note).
    source = tmp_path / "out" / "shadow" / "scores.parquet"
    source.parent.mkdir(parents=True)
    source.write_bytes(events.read_bytes())
    for extra in ([], ["--chunk-rows", "2000"]):
        argv = ["score", str(source), "--out", str(tmp_path / "out"),
                "--shadow-model", str(default_model_dir()), *extra]  # fmt: skip
        assert main(argv) == 2
        assert "would replace the input" in capsys.readouterr().err
        assert source.read_bytes() == events.read_bytes()
        assert sorted(digests(tmp_path / "out")) == ["shadow/scores.parquet"]


# ----------------------------------------------------- a move into place that fails


def test_a_commit_that_cannot_place_every_file_places_none(tmp_path: Path) -> None:
    # The files were moved one by one: the first ones replaced, then an error, and the
    # staging folder (with the rest) left in the output folder for good.
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("earlier")
    (out / "b.txt").mkdir()  # e.g. a Spark-style folder of that name
    (out / "sub").write_text("a file where the job writes a folder")
    for name in ("b.txt", "sub/c.txt"):
        stage = StagedOutputs(out)
        stage("a.txt").write_text("new")
        stage(name).parent.mkdir(parents=True, exist_ok=True)
        stage(name).write_text("new")
        with pytest.raises(OSError, match=r"(?i)directory"):
            stage.commit()
        assert (out / "a.txt").read_text() == "earlier"
        assert not staging_left(out)


def test_a_shadow_run_that_cannot_place_its_shadow_files_changes_nothing(
    events: Path, bad_events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["score", str(events), "--out", str(out), "--top", "0"]) == 0
    (out / "shadow").write_text("not a folder")
    before = digests(out)
    argv = ["score", str(bad_events), "--out", str(out), "--errors", "quarantine",
            "--shadow-model", str(default_model_dir())]  # fmt: skip
    assert main(argv) == 2
    assert "shadow" in capsys.readouterr().err
    assert digests(out) == before
    assert not staging_left(out)


def test_two_runs_committing_at_once_leave_one_runs_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each run stages in its own folder, but the moves of two runs interleaved: run 2
    # (no quarantine) removed quarantine.jsonl before run 1 placed its own, leaving run
    # 2's scores beside run 1's quarantine.
    out = tmp_path / "out"
    replace = os.replace

    def slow_replace(src: object, dst: object) -> None:
        time.sleep(0.2)
        replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", slow_replace)
    runs = {1: StagedOutputs(out, owned=["q.txt"]), 2: StagedOutputs(out, owned=["q.txt"])}
    for run, stage in runs.items():
        for name in ("scores.txt", "q.txt")[: 3 - run]:
            stage(name).write_text(f"run {run}")
    threads = [threading.Thread(target=stage.commit) for stage in runs.values()]
    threads[0].start()
    time.sleep(0.1)
    threads[1].start()
    for thread in threads:
        thread.join()
    texts = {p.name: p.read_text() for p in out.iterdir()}
    assert texts in ({"scores.txt": "run 2"}, {"scores.txt": "run 1", "q.txt": "run 1"})


# ---------------------------------------------------------------- names and signals


def test_streamed_scores_into_a_folder_whose_name_is_not_utf8(
    events: Path, tmp_path: Path, model: RiskModel
) -> None:
    # The in-memory run wrote there; the streamed one failed ("'utf-8' codec can't encode
    # character '\udcff'"): pyarrow's ParquetWriter was given the name to open.
    out = tmp_path / os.fsdecode(b"out\xff")
    result = score_parquet(events, out, model=model, chunk_rows=2_000)
    assert result.scores_path == out / "scores.parquet"
    with result.scores_path.open("rb") as fh:
        assert pq.read_table(fh).num_rows == result.n_conversations


_SLOW_CLI = """
import sys, time
from riskscore.model import RiskModel
RiskModel.score_features = lambda *a, **k: (print("scoring", flush=True), time.sleep(120))
from riskscore.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_ends_a_run_leaving_the_output_folder_as_it_was(
    events: Path, tmp_path: Path
) -> None:
    # SIGTERM (a scheduler's timeout, `kill`) ended the process at once: the staging
    # folder with its part-written files stayed in --out for good.
    out = tmp_path / "out"
    assert main(["score", str(events), "--out", str(out), "--top", "0"]) == 0
    before = digests(out)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-c", _SLOW_CLI, "score", str(events), "--out", str(out)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"scoring\n"  # files staged, the job part-way
        assert staging_left(out)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143
    assert b"terminated" in err
    assert digests(out) == before
    assert not staging_left(out)


def test_a_subfolder_on_another_file_system_is_refused_before_any_move(tmp_path: Path) -> None:
    # out/shadow a link to another mount: os.replace fails there (EXDEV), after the files
    # at the top of the folder were replaced.
    other = Path("/dev/shm")
    if not other.is_dir() or other.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system")
    elsewhere = Path(tempfile.mkdtemp(dir=other))
    try:
        out = tmp_path / "out"
        out.mkdir()
        (out / "a.txt").write_text("earlier")
        (out / "shadow").symlink_to(elsewhere)
        stage = StagedOutputs(out)
        stage("a.txt").write_text("new")
        stage("shadow").mkdir()
        stage("shadow/b.txt").write_text("new")
        with pytest.raises(OSError, match="device"):
            stage.commit()
        assert (out / "a.txt").read_text() == "earlier"
        assert not any(elsewhere.iterdir())
        assert not staging_left(out)
    finally:
        shutil.rmtree(elsewhere)


def test_a_failed_job_leaves_none_of_the_folders_it_created(tmp_path: Path) -> None:
    stage = StagedOutputs(tmp_path / "new" / "deeper" / "out")
    stage("x.txt").write_text("new")
    stage.abandon()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ names


def test_a_folder_whose_name_is_not_utf8_is_printed_as_its_bytes(
    events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under a UTF-8 locale stdout is strict: the run wrote its files, then printing their
    # path failed and the command said "error" with status 2.
    out = tmp_path / os.fsdecode(b"out\xff")
    buffer = io.BytesIO()
    stdout = io.TextIOWrapper(buffer, encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["score", str(events), "--out", str(out), "--top", "0"]) == 0
    stdout.flush()
    assert os.fsencode(out / "scores.parquet") in buffer.getvalue()
    assert stdout.errors == "strict"  # as it was


def test_an_owned_name_under_a_file_does_not_fail_a_run(tmp_path: Path) -> None:
    # A file named `shadow` in --out: a run without a shadow model moved its files, then
    # failed removing shadow/shadow.json ("Not a directory") and reported an error.
    out = tmp_path / "out"
    out.mkdir()
    (out / "shadow").write_text("the user's")
    with staged_outputs(out, owned=["shadow/shadow.json"]) as stage:
        stage("scores.txt").write_text("new")
    assert digests(out) == {
        "scores.txt": hashlib.sha256(b"new").hexdigest(),
        "shadow": hashlib.sha256(b"the user's").hexdigest(),
    }


def test_a_kept_file_that_cannot_be_placed_does_not_hide_the_jobs_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "quarantine.jsonl").mkdir(parents=True)  # where the kept file would go

    def refused() -> None:
        with staged_outputs(out) as stage:
            stage("quarantine.jsonl").write_text("{}\n")
            stage.keep("quarantine.jsonl")
            raise rs.SchemaError("every row was quarantined")

    with pytest.raises(rs.SchemaError, match="every row"):
        refused()
    assert not staging_left(out)


# ------------------------------------------------------- a job killed outright


def test_the_staging_folder_of_a_killed_job_is_removed_by_the_next_job(tmp_path: Path) -> None:
    # SIGKILL (the OOM killer on a large file) runs no clean-up: each killed run left a
    # hidden .riskscore-job-* in --out, with the scores written so far, for good.
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "out"
    dead, live, fresh = (out / f"{STAGING_PREFIX}{name}" for name in ("dead", "live", "fresh"))
    for folder in (dead, live, fresh):
        folder.mkdir(parents=True)
        (folder / "scores.parquet").write_bytes(b"PAR1" * 1000)
    for folder in (dead, live):
        os.utime(folder, (time.time() - 3600,) * 2)
    held = os.open(live, os.O_RDONLY)  # a job at work holds its folder
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        with staged_outputs(out) as stage:
            stage("a.txt").write_text("new")
            mine = os.open(stage.root, os.O_RDONLY)
            with pytest.raises(BlockingIOError):  # and so does this one
                fcntl.flock(mine, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.close(mine)
    finally:
        os.close(held)
    # the dead job's folder is gone; a live one, or one just made (not locked yet), stays
    assert sorted(p.name for p in out.iterdir()) == sorted(["a.txt", live.name, fresh.name])


def test_a_run_after_a_sigkilled_one_removes_its_staging_folder(
    events: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-c", _SLOW_CLI, "score", str(events), "--out", str(out)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"scoring\n"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    (left,) = (out / name for name in staging_left(out))
    os.utime(left, (time.time() - 3600,) * 2)  # a while ago
    assert main(["score", str(events), "--out", str(out), "--top", "0"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["alerts.parquet", "scores.parquet"]
