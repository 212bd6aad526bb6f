"""A shadow run's files are read back only when they are of one run
(``riskscore.batch.shadow_records.check_one_run``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch import read_shadow_run
from riskscore.cli import main
from riskscore.exceptions import SchemaError


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two shadow runs of the same candidate on the events of two seeds."""
    root = tmp_path_factory.mktemp("runs")
    bundle = rs.save_model(rs.load_model().at_prevalence(0.05), root / "candidate")
    out = []
    for seed in (1, 2):
        data = rs.synthetic.generate(400, prevalence=0.1, seed=seed)
        events = rs.write_messages(data.messages, root / f"events{seed}.parquet")
        run = root / f"run{seed}"
        argv = ["score", str(events), "--out", str(run), "--shadow-model", str(bundle)]
        assert main([*argv, "--top", "0"]) == 0
        out.append(run)
    return out[0], out[1]


def _copy(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


def test_a_run_as_written_is_read(runs: tuple[Path, Path]) -> None:
    run = read_shadow_run(runs[0])
    assert run.shadow
    assert set(run.shadow) <= set(run.scored)


def test_alerts_of_another_run_are_refused(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was (found by a hostile review): the three files of a run were read with no check
    between them, so a shadow alerts file of another run's events (ids 0, 1, 2 ... recur)
    gave "gains 89, loses 96" with exit 0."""
    run = _copy(runs[0], tmp_path / "run")
    shutil.copy(runs[1] / "shadow" / "alerts.parquet", run / "shadow" / "alerts.parquet")
    with pytest.raises(SchemaError, match=r"shadow/alerts\.parquet: the alert of conversation"):
        read_shadow_run(run)
    assert main(["compare", "--shadow-run", str(run)]) == 2
    assert "not of one run" in capsys.readouterr().err


def test_an_alert_of_a_conversation_not_scored_is_refused(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    run = _copy(runs[0], tmp_path / "run")
    path = run / "alerts.parquet"
    table = pq.read_table(path)
    ids = table.column("conversation_id").to_pylist()
    ids[0] = 10**9
    at = table.schema.get_field_index("conversation_id")
    pq.write_table(table.set_column(at, "conversation_id", pa.array(ids, pa.int64())), path)
    with pytest.raises(SchemaError, match=r"conversation 1000000000 is not among the 400 conv"):
        read_shadow_run(run)


def test_counts_the_files_disagree_with_are_refused(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    run = _copy(runs[0], tmp_path / "run")
    path = run / "shadow" / "shadow.json"
    summary = json.loads(path.read_text())
    summary["alerts_gained"] += 1
    path.write_text(json.dumps(summary))
    with pytest.raises(SchemaError, match=r"shadow\.json: 'alerts_gained' is"):
        read_shadow_run(run)
