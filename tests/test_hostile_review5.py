"""Fifth hostile-input review: `riskscore generate --format csv/jsonl` in bounded memory,
the numbers of the training and evaluation library functions checked as the CLI checks
them, and an empty world name refused."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import riskscore as rs
import riskscore.io.time_order as time_order
from riskscore.cli import main
from riskscore.evaluation.robustness import evaluate_worlds
from riskscore.evaluation.splits import split_by_adult
from riskscore.evaluation.training_job import train_model
from riskscore.evaluation.world_samples import world_samples
from riskscore.io.json_lines import write_json_lines
from riskscore.io.time_order import write_in_time_order
from riskscore.synthetic import generate_parquet

# ------------------------------------------- generate --format csv/jsonl, streamed


def _old_conversion(parquet: Path, target: Path) -> bytes:
    """The conversion as it was (whole file in memory), written here as the reference."""
    table = pq.read_table(parquet)
    table = table.sort_by([("timestamp", "ascending"), ("conversation_id", "ascending")])
    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            col = table.column(i)
            table = table.set_column(i, field, pc.if_else(pc.is_nan(col), None, col))
    if target.suffix == ".csv":
        pacsv.write_csv(table, target)  # events: ids as given, not escaped
    else:  # the cells as the writer writes them (tests/test_json_lines.py checks it)
        with target.open("wb") as fh:
            write_json_lines(table, fh)
    return target.read_bytes()


@pytest.fixture(scope="module")
def events_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 conversations in 3 chunks (so several row groups), ages partly unknown."""
    out = tmp_path_factory.mktemp("gen")
    events, _ = generate_parquet(out / "events.parquet", 300, seed=5, chunk_conversations=100)
    return events


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_generate_csv_and_jsonl_are_byte_identical_to_the_in_memory_conversion(
    tmp_path: Path, fmt: str
) -> None:
    argv = ["generate", "--conversations", "300", "--seed", "5", "--chunk-conversations", "100"]
    assert main([*argv, "--out", str(tmp_path / "pq")]) == 0
    assert main([*argv, "--format", fmt, "--out", str(tmp_path / fmt)]) == 0
    expected = _old_conversion(tmp_path / "pq" / "events.parquet", tmp_path / f"ref.{fmt}")
    written = (tmp_path / fmt / f"events.{fmt}").read_bytes()
    assert written == expected
    assert sorted(p.name for p in (tmp_path / fmt).iterdir()) == [f"events.{fmt}", "labels.parquet"]


@pytest.mark.parametrize("bucket_rows", [1, 97, 1_000, 10**9])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_time_order_is_the_same_whatever_the_memory_bound(
    events_parquet: Path, tmp_path: Path, fmt: str, bucket_rows: int
) -> None:
    expected = _old_conversion(events_parquet, tmp_path / f"ref.{fmt}")
    target = tmp_path / "out" / f"events.{fmt}"
    target.parent.mkdir()
    assert write_in_time_order(events_parquet, target, bucket_rows=bucket_rows) == target
    assert target.read_bytes() == expected
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no spill files left


def test_the_conversion_never_sorts_more_than_a_bucket(
    events_parquet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before, the whole file was read (pq.read_table) and sorted in memory at once
    sorted_rows: list[int] = []
    sort = time_order._sorted

    def counting(table: pa.Table) -> pa.Table:
        sorted_rows.append(table.num_rows)
        return sort(table)

    monkeypatch.setattr(time_order, "_sorted", counting)
    monkeypatch.setattr(pq, "read_table", None)
    n_rows = pq.ParquetFile(events_parquet).metadata.num_rows
    write_in_time_order(events_parquet, tmp_path / "e.csv", bucket_rows=500)
    assert sum(sorted_rows) == n_rows
    assert len(sorted_rows) >= n_rows // 500
    assert max(sorted_rows) <= 500  # no second of the file holds more than 500 events


def test_a_failed_conversion_leaves_no_spill_files(
    events_parquet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(table: pa.Table) -> pa.Table:
        raise OSError("disk full")

    monkeypatch.setattr(time_order, "_sorted", fail)
    with pytest.raises(OSError, match="disk full"):
        write_in_time_order(events_parquet, tmp_path / "e.jsonl", bucket_rows=500)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_the_conversion_refuses_a_bad_bound_and_a_null_time(tmp_path: Path) -> None:
    source = tmp_path / "e.parquet"
    pq.write_table(pa.table({"conversation_id": [1, 1], "timestamp": [5, None]}), source)
    with pytest.raises(ValueError, match="bucket_rows must be an integer >= 1, got 0"):
        write_in_time_order(source, tmp_path / "e.csv", bucket_rows=0)
    with pytest.raises(rs.SchemaError, match=r"column 'timestamp', row 1: null"):
        write_in_time_order(source, tmp_path / "e.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["e.parquet"]


# ------------------------------------- library numbers checked as the CLI checks them

BAD_FRACTIONS = [math.nan, math.inf, -math.inf, 0.0, 1.0, -0.5, 2, True, "0.5", None]


@pytest.mark.parametrize("value", BAD_FRACTIONS)
def test_train_model_refuses_a_test_fraction_outside_0_1_before_any_work(
    tmp_path: Path, value: Any
) -> None:
    # before, it was ignored without data_dir and checked only after the features were
    # extracted with it ("0.5" gave a TypeError)
    message = f"test_fraction must be a number between 0 and 1 (both excluded), got {value!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        train_model(tmp_path / "m", test_fraction=value)
    with pytest.raises(ValueError, match=re.escape(message)):
        train_model(tmp_path / "m", data_dir=tmp_path / "absent", test_fraction=value)
    with pytest.raises(ValueError, match=re.escape(message)):
        split_by_adult(np.arange(4), test_fraction=value)
    assert not (tmp_path / "m").exists()


_N_CONVERSATIONS = "n_conversations must be an integer from 1 to 10000000"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_conversations": 0}, f"{_N_CONVERSATIONS}, got 0"),
        ({"n_conversations": 2.0}, f"{_N_CONVERSATIONS}, got 2.0"),
        ({"n_conversations": True}, f"{_N_CONVERSATIONS}, got True"),
        ({"prevalence": math.nan}, "prevalence must be a number in [0, 1], got nan"),
        ({"prevalence": 1.5}, "prevalence must be a number in [0, 1], got 1.5"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"seed": True}, "seed must be a non-negative integer, got True"),
        ({"seed": 1.5}, "seed must be a non-negative integer, got 1.5"),
        ({"seed": None}, "seed must be a non-negative integer, got None"),
        ({"n_worlds": 0}, "n_worlds must be an integer from 1 to 1000, got 0"),
        ({"n_worlds": 2.5}, "n_worlds must be an integer from 1 to 1000, got 2.5"),
    ],
)
def test_train_model_checks_its_numbers_before_any_work(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    # before: numpy's "expected non-negative integer" for seed -1, a bool seed used as 1,
    # n_worlds 2.5 a TypeError from slicing, each after worlds were drawn
    with pytest.raises(ValueError, match=re.escape(message)):
        train_model(tmp_path / "m", **change)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"seed": True}, "seed must be a non-negative integer, got True"),
        ({"seed": 1.5}, "seed must be a non-negative integer, got 1.5"),
        ({"n_conversations": 0}, f"{_N_CONVERSATIONS}, got 0"),
        ({"prevalence": -0.1}, "prevalence must be a number in [0, 1], got -0.1"),
    ],
)
def test_world_samples_and_evaluate_worlds_check_their_numbers(
    change: dict[str, Any], message: str
) -> None:
    # before: numpy's "expected non-negative integer" (seed -1), a TypeError (seed 1.5),
    # and seed True taken as 1
    world = [rs.synthetic.World.default()]
    with pytest.raises(ValueError, match=re.escape(message)):
        world_samples(world, **{"n_conversations": 50, **change})
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate_worlds(lambda f: np.zeros(len(f)), world, **{"n_conversations": 50, **change})


@pytest.mark.parametrize("seed", [-1, True, 1.5])
def test_split_by_adult_checks_its_seed(seed: Any) -> None:
    with pytest.raises(ValueError, match=re.escape(f"got {seed!r}")):
        split_by_adult(np.arange(4), seed=seed)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--test-fraction", "nan"], "'nan' is not a number between 0 and 1"),
        (["train", "--prevalence", "1.5"], "'1.5' is not a number from 0 to 1"),
        (["train", "--worlds", "0"], "'0' is not a whole number from 1 to 1000"),
        (["generate", "--prevalence", "nan"], "'nan' is not a number from 0 to 1"),
        (["policy", "check", "policies/default.toml", "--prevalence", "-1"], "'-1' is not a"),
        (["report", "--synthetic-month", "--prevalence", "2"], "'2' is not a number from 0"),
    ],
)
def test_cli_prevalence_and_worlds_are_checked_by_the_library_rule_while_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith(f"riskscore {argv[0]}"), line
    assert message in line, line
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------- world names


def test_draw_world_refuses_an_empty_name() -> None:
    # before, "" fell back to "drawn-3" silently; None still means the default name
    with pytest.raises(ValueError, match="name: must be one line of printable text"):
        rs.synthetic.draw_world(3, name="")
    assert rs.synthetic.draw_world(3, name=None).name == "drawn-3"
    assert rs.synthetic.draw_world(3, name="mine").name == "mine"
