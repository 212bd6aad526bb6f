"""Identifier cells a spreadsheet would read as a date, a time or a truth value are written
with a ``'`` in front in every CSV riskscore writes for people; other columns keep dates."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest

from riskscore.io.arrow import escape_csv_table, is_identifier_column, write_csv_rows, write_table

# each would show as a date, a time or TRUE/FALSE, two of them as one (1-2 and 01-02)
_DATE_LIKE = ["1-2", "01-02", "3/4/21", "1.2.2020", "MAR1", "SEPT2", "5-may", "12:30", "7pm"]
_DATE_LIKE += ["TRUE", "13-12"]
_AS_WRITTEN = ["13-15", "may", "junior", "u123", "abc-1", "1-2-3-4", "12345", "decor1"]


def _cells(path: Path, column: str) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [row[column] for row in csv.DictReader(fh)]


@pytest.mark.parametrize("name", ["conversation_id", "adult_id", "id", "account_ids", "puid"])
def test_date_like_identifiers_are_escaped_by_both_writers(name: str, tmp_path: Path) -> None:
    assert is_identifier_column(name)
    ids = _DATE_LIKE + _AS_WRITTEN
    expected = ["'" + v for v in _DATE_LIKE] + _AS_WRITTEN
    table = pa.table({name: ids, "content_date": ["2026-12-03"] * len(ids)})
    assert escape_csv_table(table).column(name).to_pylist() == expected
    for path in (
        write_table(table, tmp_path / "t.csv"),
        write_csv_rows(
            tmp_path / "r.csv", table.column_names, [list(r.values()) for r in table.to_pylist()]
        ),
    ):
        assert _cells(path, name) == expected
        assert set(_cells(path, "content_date")) == {"2026-12-03"}  # a date meant as a date


def test_other_columns_and_events_files_keep_date_like_text(tmp_path: Path) -> None:
    assert not is_identifier_column("content_date")
    assert not is_identifier_column("idle")
    table = pa.table({"tier": ["1-2", "TRUE"]})
    assert escape_csv_table(table).column("tier").to_pylist() == ["1-2", "TRUE"]
    events = pa.table({"conversation_id": ["1-2"]})  # riskscore's own input: ids as given
    path = write_table(events, tmp_path / "events.csv", escape_formulas=False)
    assert _cells(path, "conversation_id") == ["1-2"]


def test_a_row_longer_than_its_header_keeps_every_cell(tmp_path: Path) -> None:
    path = write_csv_rows(tmp_path / "r.csv", ["adult_id"], [["1-2", "1-2", "=x"]])
    assert path.read_text(encoding="utf-8").splitlines()[1] == "'1-2,1-2,'=x"
