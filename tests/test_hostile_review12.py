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

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.score import score_events
from riskscore.cli import main
from riskscore.io.staging import STAGING_PREFIX, StagedOutputs, staged_outputs
from riskscore.model import RiskModel
from riskscore.model.bundle import default_model_dir


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = rs.synthetic.generate(300, prevalence=0.1, seed=5)
    path = tmp_path_factory.mktemp("hostile12") / "events.parquet"
    pq.write_table(data.messages.to_arrow(), path)
    return path


@pytest.fixture(scope="module")
def bad_events(events: Path) -> Path:
    table = pq.read_table(events)
    ages = table["sender_age"].to_pylist()
    ages[7] = -4.0
    path = events.with_name("bad.parquet")
    i = table.schema.get_field_index("sender_age")
    pq.write_table(table.set_column(i, "sender_age", pa.array(ages)), path)
    return path


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return rs.load_model()


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _staging_left(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.startswith(STAGING_PREFIX)]


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
    before = _digests(out)

    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(RiskModel, "score_features", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _score(bad_events, out, model, streamed=streamed, errors="quarantine")
    assert _digests(out) == before
    assert not _staging_left(out)


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
    assert sorted(_digests(out)) == ["alerts.jsonl", "quarantine.jsonl", "scores.jsonl"]


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
        assert sorted(_digests(tmp_path / "out")) == ["shadow/scores.parquet"]


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
        assert not _staging_left(out)


def test_a_shadow_run_that_cannot_place_its_shadow_files_changes_nothing(
    events: Path, bad_events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["score", str(events), "--out", str(out), "--top", "0"]) == 0
    (out / "shadow").write_text("not a folder")
    before = _digests(out)
    argv = ["score", str(bad_events), "--out", str(out), "--errors", "quarantine",
            "--shadow-model", str(default_model_dir())]  # fmt: skip
    assert main(argv) == 2
    assert "shadow" in capsys.readouterr().err
    assert _digests(out) == before
    assert not _staging_left(out)


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
    before = _digests(out)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-c", _SLOW_CLI, "score", str(events), "--out", str(out)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"scoring\n"  # files staged, the job part-way
        assert _staging_left(out)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143
    assert b"terminated" in err
    assert _digests(out) == before
    assert not _staging_left(out)


# ------------------------------------------------------------ riskscore accounts


def _truncating_write(table: object, where: object, **kwargs: object) -> None:
    """``pq.write_table`` on a full disk: a few bytes, then the error."""
    if isinstance(where, str | os.PathLike):
        Path(where).write_bytes(b"PAR1")
    else:
        where.write(b"PAR1")  # type: ignore[attr-defined]
    raise OSError(28, "No space left on device")


def test_accounts_failing_while_writing_keeps_the_earlier_file(
    events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file was written in place: a full disk left 4 bytes where the accounts file
    # of the last run was, and every `riskscore score --accounts` after it failed.
    out = tmp_path / "accounts.parquet"
    assert main(["accounts", str(events), "--out", str(out)]) == 0
    before = _digests(tmp_path)
    monkeypatch.setattr(pq, "write_table", _truncating_write)
    assert main(["accounts", str(events), "--out", str(out)]) == 2
    assert _digests(tmp_path) == before
    assert not _staging_left(tmp_path)
    monkeypatch.undo()
    rs.read_account_features(out)


def test_a_clean_accounts_run_removes_the_quarantine_of_an_earlier_run(
    events: Path, bad_events: Path, tmp_path: Path
) -> None:
    out = tmp_path / "accounts.parquet"
    argv = ["accounts", str(bad_events), "--out", str(out), "--errors", "quarantine"]
    assert main(argv) == 0
    assert sorted(_digests(tmp_path)) == ["accounts.parquet", "accounts.quarantine.jsonl"]
    assert main(["accounts", str(events), "--out", str(out), "--errors", "quarantine"]) == 0
    assert sorted(_digests(tmp_path)) == ["accounts.parquet"]


def test_an_interrupted_accounts_run_leaves_no_quarantine_beside_the_earlier_file(
    events: Path, bad_events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "accounts.parquet"
    assert main(["accounts", str(events), "--out", str(out)]) == 0
    before = _digests(tmp_path)

    def interrupted(*args: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr("riskscore.batch.accounts.extract_account_features", interrupted)
    argv = ["accounts", str(bad_events), "--out", str(out), "--errors", "quarantine"]
    assert main(argv) == 130
    assert _digests(tmp_path) == before


def test_accounts_into_a_folder_whose_name_is_not_utf8(events: Path, tmp_path: Path) -> None:
    out = tmp_path / os.fsdecode(b"hist\xff") / "accounts.parquet"
    assert main(["accounts", str(events), "--out", str(out)]) == 0
    assert rs.read_account_features(out).n_events > 0


# ------------------------------------------- bundles and reports written file by file


def _fails(*args: object, **kwargs: object) -> None:
    raise OSError(28, "No space left on device")


def test_a_bundle_save_failing_part_way_leaves_the_earlier_bundle_loadable(
    tmp_path: Path, model: RiskModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # params.json and MODEL_CARD.md were replaced, then the manifest failed: the bundle
    # (the production model) no longer loaded ("does not match the manifest").
    bundle = tmp_path / "bundle"
    rs.save_model(model, bundle)
    before = _digests(bundle)
    monkeypatch.setattr("riskscore.model.bundle._versions", _fails)
    with pytest.raises(OSError, match="No space"):
        rs.save_model(model, bundle, model_card="# another card\n")
    assert _digests(bundle) == before
    rs.load_model(bundle)


def test_an_evaluation_report_is_one_runs_files(
    tmp_path: Path, model: RiskModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # report.md of a run without plots sat beside the plots of an earlier run; a save
    # failing part-way left a new report.json beside the old report.md.
    pytest.importorskip("matplotlib")
    data = rs.synthetic.generate(300, prevalence=0.1, seed=5)
    report = rs.evaluate(model, data.messages, data.labels, n_bootstrap=0)
    out = tmp_path / "eval"
    report.save(out)
    files = report.save(out, plots=False)
    assert sorted(_digests(out)) == ["report.json", "report.md"]
    assert files == [out / "report.json", out / "report.md"]
    before = _digests(out)
    monkeypatch.setattr(type(report), "to_markdown", _fails)
    with pytest.raises(OSError, match="No space"):
        report.save(out)
    assert _digests(out) == before


def test_a_transparency_report_is_one_runs_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A report of another period with --no-charts sat beside the charts of the earlier
    # one; a write failing part-way left a new report.json beside the old report.html.
    pytest.importorskip("matplotlib")
    from _regulatory import KEY, T0, decided_queue

    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode())
    db = decided_queue(tmp_path / "q.sqlite")
    out = tmp_path / "r"
    argv = ["report", "--db", str(db), "--out", str(out), "--start", str(T0)]
    assert main([*argv, "--end", str(T0 + 86_400)]) == 0
    assert main([*argv, "--end", str(T0 + 2 * 86_400), "--no-charts"]) == 0
    assert sorted(_digests(out)) == ["report.html", "report.json", "report.md"]
    before = _digests(out)
    monkeypatch.setattr("riskscore.moderation.transparency.render_html", _fails)
    assert main([*argv, "--end", str(T0 + 3 * 86_400)]) == 2
    assert _digests(out) == before
    assert not _staging_left(out)


def _truncating_write_text(self: Path, data: str, *args: object, **kwargs: object) -> int:
    """``Path.write_text`` on a full disk: the file cut short, then the error."""
    with self.open("w", encoding="utf-8") as fh:
        fh.write(data[:10])
    raise OSError(28, "No space left on device")


def _cli_outputs(events: Path, out: Path) -> dict[str, list[str]]:
    model = str(default_model_dir())
    return {
        "monitor": ["monitor", str(events), "--out", str(out)],
        "compare": ["compare", model, model, "--events", str(events), "--out", str(out)],
        "evaluate": ["evaluate", "--worlds", "1", "--conversations", "200", "--out", str(out)],
    }


@pytest.mark.parametrize("command", ["monitor", "compare", "evaluate"])
def test_a_report_file_cut_short_by_a_full_disk_leaves_the_earlier_one(
    events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # monitor wrote drift.json over the earlier one and failed on drift.md; compare and
    # evaluate --worlds wrote their JSON in place: a full disk left it cut short.
    out = tmp_path / "out"
    argv = _cli_outputs(events, out)[command]
    assert main(argv) == 0
    before = _digests(out)
    monkeypatch.setattr(Path, "write_text", _truncating_write_text)
    assert main(argv) == 2
    monkeypatch.undo()
    assert _digests(out) == before
    assert not _staging_left(out)


def test_generate_leaves_no_events_file_of_another_format_beside_new_labels(
    tmp_path: Path,
) -> None:
    # events.csv of a --format csv run stayed beside the events.parquet and labels of a
    # later run: the labels of one data set beside the events of another.
    out = tmp_path / "data"
    base = ["generate", "--conversations", "30", "--out", str(out)]
    assert main([*base, "--seed", "1", "--format", "csv"]) == 0
    assert main([*base, "--seed", "2"]) == 0
    assert sorted(_digests(out)) == ["events.parquet", "labels.parquet"]
    assert main([*base, "--seed", "3", "--format", "jsonl"]) == 0
    assert sorted(_digests(out)) == ["events.jsonl", "labels.parquet"]


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
        assert not _staging_left(out)
    finally:
        shutil.rmtree(elsewhere)


def test_a_failed_job_leaves_none_of_the_folders_it_created(tmp_path: Path) -> None:
    stage = StagedOutputs(tmp_path / "new" / "deeper" / "out")
    stage("x.txt").write_text("new")
    stage.abandon()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ synthetic data


def test_a_data_set_write_failing_part_way_keeps_the_earlier_events_and_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # events.parquet of data set 2 beside labels.parquet of data set 1: the same
    # conversation ids, so the labels matched the wrong conversations without an error.
    out = tmp_path / "data"
    rs.synthetic.generate(40, prevalence=0.2, seed=1).write(out)
    before = _digests(out)
    second = rs.synthetic.generate(40, prevalence=0.2, seed=2)
    monkeypatch.setattr(pq, "write_table", _truncating_write)
    with pytest.raises(OSError, match="No space"):
        second.write(out)
    assert _digests(out) == before


def test_generate_into_a_folder_whose_name_is_not_utf8(tmp_path: Path) -> None:
    out = tmp_path / os.fsdecode(b"data\xff")
    assert main(["generate", "--conversations", "30", "--out", str(out)]) == 0
    assert sorted(_digests(out)) == ["events.parquet", "labels.parquet"]


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
    assert _digests(out) == {
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
    assert not _staging_left(out)


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
