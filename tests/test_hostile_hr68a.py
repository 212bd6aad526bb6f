"""Hostile review hr68a: regulatory exports (DSA statements of reasons and their validator,
the 2024/2835 templates). All data is synthetic (tests/_regulatory.py). Each test failed
before its fix."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.csv as pacsv
from _regulatory import KEY, decided_queue

from riskscore.moderation import ReviewQueue
from riskscore.regulatory import export_all


def _export(tmp_path: Path) -> Path:
    """The exports of the hand-made queue, every period, under ``tmp_path / "out"``."""
    db = decided_queue(tmp_path / "q.sqlite")
    with ReviewQueue(db) as queue:
        export_all(queue, tmp_path / "out", key=KEY, platform="demo")
    return tmp_path / "out"


def test_every_template_row_has_a_cell_for_each_column(tmp_path: Path) -> None:
    """Was: the TOTAL row of ``04_notices.csv`` had 10 cells under a header of 15 (its
    blanks counted the six figures but not their six contextual columns), a CSV that a
    strict reader refuses ("Expected 15 columns, got 10", pyarrow) and a spreadsheet
    shows ragged. Now each row of each table has one cell per column, the TOTAL row's
    note in its first contextual column."""
    out = _export(tmp_path) / "eu-2024-2835"
    tables = sorted(out.glob("*.csv"))
    assert len(tables) == 7
    for path in tables:
        with path.open(encoding="utf-8", newline="") as fh:
            header, *rows = list(csv.reader(fh))
        assert rows, path.name
        for row in rows:
            assert len(row) == len(header), (path.name, row)
        pacsv.read_csv(path)  # strict: refuses a row of another width
    with (out / "04_notices.csv").open(encoding="utf-8", newline="") as fh:
        total = next(r for r in csv.DictReader(fh) if r["Category of illegal content"] == "TOTAL")
    assert total["Number of notices received"] == ""
    assert total["Contextual information on Number of notices received"].startswith(
        "all categories: left to the platform"
    )
    assert total["Contextual information on Median time to take action"] == ""
