"""Hostile review 72: files riskscore wrote, rewritten by hand (review queue audit entries)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from _regulatory import decided_queue

from riskscore.moderation import QueueError, ReviewQueue

T0 = 1_767_225_600


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("at", "x"),  # a ValueError naming neither the entry nor the column
        ("at", 1.5),  # read as 1, another time than the one stored
        ("actor", "mod\nforged line"),  # passed on to the console as it was
        ("actor", b"m1"),  # read as the text "b'm1'"
        ("action", ""),
        ("item_id", "x"),  # a ValueError naming neither the entry nor the column
        ("item_id", 0),  # an entry of no item
    ],
)
def test_an_audit_entry_of_another_type_is_refused_by_entry_and_column(
    tmp_path: Path, column: str, value: object
) -> None:
    db = decided_queue(tmp_path / "q.sqlite")
    row = {"at": T0 + 100, "actor": "m1", "action": "review", "item_id": 1, column: value}
    with closing(sqlite3.connect(db)) as con, con:  # the log is append-only, not typed
        entry = con.execute(
            "INSERT INTO audit (at, recorded_at, actor, action, item_id, detail) "
            "VALUES (?, ?, ?, ?, ?, '{}')",
            (row["at"], T0 + 100, row["actor"], row["action"], row["item_id"]),
        ).lastrowid
    with ReviewQueue(db) as queue:
        for read in (queue.audit_log, queue.audit_page):
            with pytest.raises(QueueError, match=f"audit entry {entry}: column '{column}'"):
                read()
