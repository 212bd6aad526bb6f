"""Columns beyond schema v1 are never read, and every reader says which they were: a
column under another name (``tz_offset`` for ``recipient_tz_offset_min``) would otherwise
leave every time zone unknown without a word."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.io import read_chunk

UNREAD = ("tz_offset", "platform_region")


@pytest.fixture(scope="module")
def table() -> pa.Table:
    events = rs.synthetic.generate(40, seed=1).messages.to_arrow()
    renamed = events.rename_columns(
        ["tz_offset" if n == "recipient_tz_offset_min" else n for n in events.column_names]
    )
    return renamed.append_column("platform_region", pa.array(["eu"] * renamed.num_rows))


def _files(table: pa.Table, tmp_path: Path) -> list[Path]:
    pq.write_table(table, tmp_path / "events.parquet")
    pacsv.write_csv(table, tmp_path / "events.csv")
    with (tmp_path / "events.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in table.to_pylist())
    return [tmp_path / f"events.{suffix}" for suffix in ("parquet", "csv", "jsonl")]


def test_every_reader_names_the_columns_it_did_not_read(table: pa.Table, tmp_path: Path) -> None:
    sources: list[object] = [
        table,
        table.to_batches()[0],
        table.to_pandas(),
        {name: table.column(name).to_pylist() for name in table.column_names},
        *_files(table, tmp_path),
    ]
    for source in sources:
        msgs = rs.read_messages(source)
        assert msgs.unread_columns == UNREAD, type(source)
        assert "tz_offset" not in msgs.columns()  # named, and still not read
    rows = np.arange(table.num_rows, dtype=np.int64)
    assert read_chunk(table, rows).unread_columns == UNREAD


def test_schema_columns_only_leave_nothing_unread() -> None:
    events = rs.synthetic.generate(5, seed=2).messages
    assert rs.read_messages(events.to_arrow()).unread_columns == ()


@pytest.mark.parametrize("streamed", [False, True])
def test_score_prints_the_unread_columns(
    table: pa.Table, tmp_path: Path, capsys: pytest.CaptureFixture[str], streamed: bool
) -> None:
    path = _files(table, tmp_path)[0]
    extra = ["--chunk-rows", "500"] if streamed else []
    assert main(["score", str(path), "--out", str(tmp_path / "out"), "--top", "0", *extra]) == 0
    out = capsys.readouterr().out
    assert "column(s) not read, not in schema v1: 'tz_offset', 'platform_region'" in out
    capsys.readouterr()
    args = ["score", str(path), "--out", str(tmp_path / "json"), "--json", *extra]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["unread_columns"] == list(UNREAD)


def test_a_hidden_character_in_an_unread_name_is_shown_escaped(
    table: pa.Table, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "region\u202e\x1b[31m" + "x" * 100
    path = tmp_path / "odd.parquet"
    pq.write_table(
        table.drop_columns(["platform_region"]).append_column(name, table["tz_offset"]), path
    )
    assert main(["score", str(path), "--out", str(tmp_path / "out"), "--top", "0"]) == 0
    line = next(s for s in capsys.readouterr().out.splitlines() if "not read" in s)
    assert "\x1b" not in line
    assert "\u202e" not in line
    # not printable and long: kept as "(other names)", as riskscore stream keeps it (was:
    # shown cut, with its length, before review 89 made the two one rule)
    assert "(other names: long, not printable or sentences" in line


def test_accounts_prints_the_unread_columns(
    table: pa.Table, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _files(table, tmp_path)[1]  # CSV
    assert main(["accounts", str(path), "--out", str(tmp_path / "accounts.parquet")]) == 0
    assert "not in schema v1: 'tz_offset', 'platform_region'" in capsys.readouterr().out
    out = tmp_path / "again.parquet"
    assert main(["accounts", str(path), "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unread_columns"] == list(UNREAD)


def test_evaluate_prints_the_unread_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = rs.synthetic.generate(300, prevalence=0.1, seed=4)
    events_path, _ = data.write(tmp_path / "data")
    events = pq.read_table(events_path)
    pq.write_table(
        events.append_column("tz_offset", events["recipient_tz_offset_min"]), events_path
    )
    args = ["evaluate", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "report"),
            "--no-plots", "--bootstrap", "40", "--replay-events", "0"]  # fmt: skip
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unread_columns"] == ["tz_offset"]
    assert main(args) == 0
    assert "not in schema v1: 'tz_offset'" in capsys.readouterr().out
