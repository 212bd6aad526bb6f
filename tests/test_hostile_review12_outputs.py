"""Hostile review 12, the commands other than ``riskscore score``: a command that fails
part-way leaves the files of its earlier run whole, and a run leaves no file of an earlier
one beside its own (``riskscore.io.staging``)."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _staging import digests, events_file, staging_left, with_a_bad_row

import riskscore as rs
from riskscore.cli import main
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
    before = digests(tmp_path)
    monkeypatch.setattr(pq, "write_table", _truncating_write)
    assert main(["accounts", str(events), "--out", str(out)]) == 2
    assert digests(tmp_path) == before
    assert not staging_left(tmp_path)
    monkeypatch.undo()
    rs.read_account_features(out)


def test_a_clean_accounts_run_removes_the_quarantine_of_an_earlier_run(
    events: Path, bad_events: Path, tmp_path: Path
) -> None:
    out = tmp_path / "accounts.parquet"
    argv = ["accounts", str(bad_events), "--out", str(out), "--errors", "quarantine"]
    assert main(argv) == 0
    assert sorted(digests(tmp_path)) == ["accounts.parquet", "accounts.quarantine.jsonl"]
    assert main(["accounts", str(events), "--out", str(out), "--errors", "quarantine"]) == 0
    assert sorted(digests(tmp_path)) == ["accounts.parquet"]


def test_an_interrupted_accounts_run_leaves_no_quarantine_beside_the_earlier_file(
    events: Path, bad_events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "accounts.parquet"
    assert main(["accounts", str(events), "--out", str(out)]) == 0
    before = digests(tmp_path)

    def interrupted(*args: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr("riskscore.batch.accounts.extract_account_features", interrupted)
    argv = ["accounts", str(bad_events), "--out", str(out), "--errors", "quarantine"]
    assert main(argv) == 130
    assert digests(tmp_path) == before


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
    before = digests(bundle)
    monkeypatch.setattr("riskscore.model.bundle._versions", _fails)
    with pytest.raises(OSError, match="No space"):
        rs.save_model(model, bundle, model_card="# another card\n")
    assert digests(bundle) == before
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
    assert sorted(digests(out)) == ["report.json", "report.md"]
    assert files == [out / "report.json", out / "report.md"]
    before = digests(out)
    monkeypatch.setattr(type(report), "to_markdown", _fails)
    with pytest.raises(OSError, match="No space"):
        report.save(out)
    assert digests(out) == before


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
    assert sorted(digests(out)) == ["report.html", "report.json", "report.md"]
    before = digests(out)
    monkeypatch.setattr("riskscore.moderation.transparency.render_html", _fails)
    assert main([*argv, "--end", str(T0 + 3 * 86_400)]) == 2
    assert digests(out) == before
    assert not staging_left(out)


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
    before = digests(out)
    monkeypatch.setattr(Path, "write_text", _truncating_write_text)
    assert main(argv) == 2
    monkeypatch.undo()
    assert digests(out) == before
    assert not staging_left(out)


def test_generate_leaves_no_events_file_of_another_format_beside_new_labels(
    tmp_path: Path,
) -> None:
    # events.csv of a --format csv run stayed beside the events.parquet and labels of a
    # later run: the labels of one data set beside the events of another.
    out = tmp_path / "data"
    base = ["generate", "--conversations", "30", "--out", str(out)]
    assert main([*base, "--seed", "1", "--format", "csv"]) == 0
    assert main([*base, "--seed", "2"]) == 0
    assert sorted(digests(out)) == ["events.parquet", "labels.parquet"]
    assert main([*base, "--seed", "3", "--format", "jsonl"]) == 0
    assert sorted(digests(out)) == ["events.jsonl", "labels.parquet"]


# ------------------------------------------------------------------ synthetic data


def test_a_data_set_write_failing_part_way_keeps_the_earlier_events_and_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # events.parquet of data set 2 beside labels.parquet of data set 1: the same
    # conversation ids, so the labels matched the wrong conversations without an error.
    out = tmp_path / "data"
    rs.synthetic.generate(40, prevalence=0.2, seed=1).write(out)
    before = digests(out)
    second = rs.synthetic.generate(40, prevalence=0.2, seed=2)
    monkeypatch.setattr(pq, "write_table", _truncating_write)
    with pytest.raises(OSError, match="No space"):
        second.write(out)
    assert digests(out) == before


def test_generate_into_a_folder_whose_name_is_not_utf8(tmp_path: Path) -> None:
    out = tmp_path / os.fsdecode(b"data\xff")
    assert main(["generate", "--conversations", "30", "--out", str(out)]) == 0
    assert sorted(digests(out)) == ["events.parquet", "labels.parquet"]
