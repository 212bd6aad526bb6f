"""Hostile review 72: files riskscore wrote, rewritten by hand (review queue audit entries),
and CSV files for people that a spreadsheet opens."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _regulatory import decided_queue

import riskscore as rs
from riskscore.cli import main
from riskscore.io.arrow import escape_csv_cell, write_table
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


# ----------------------------------------------- CSV for people: ids a spreadsheet rounds


def _as_a_spreadsheet_shows(cell: str) -> object:
    """What a spreadsheet makes of a CSV cell (quotes already removed): a cell starting
    with ``'`` is text; one that reads as a number is that number, to 15 significant
    digits (leading zeros, the exponent and digits beyond the 15th gone)."""
    if cell.startswith("'"):
        return cell
    try:
        return float(f"{float(cell.strip().replace(',', '').rstrip('%')):.15g}")
    except ValueError:
        return cell


@pytest.mark.parametrize(
    ("ids", "written"),
    [
        (["007", "7", "07"], ["'007", "7", "'07"]),  # leading zeros: one number
        (["1e5", "100000"], ["'1e5", "100000"]),  # an exponent: one number
        (["12.50", "12.5"], ["'12.50", "'12.5"]),
        # 16 digits or more: rounded to 15 significant digits
        (["1234567890123456789", "1234567890123456788"],
         ["'1234567890123456789", "'1234567890123456788"]),
        # shown as written: a whole number of at most 15 digits, or text that is no number
        (["0", "999999999999999", "13-15", "a7"], ["0", "999999999999999", "13-15", "a7"]),
    ],
)  # fmt: skip
def test_text_ids_a_spreadsheet_shows_as_another_number_are_escaped(
    ids: list[str], written: list[str], tmp_path: Path
) -> None:
    # the ids were written as given: a spreadsheet showed two of them as one number
    path = write_table(pa.table({"adult_id": ids, "n": list(range(len(ids)))}), tmp_path / "a.csv")
    cells = pd.read_csv(path, dtype=str)["adult_id"].tolist()
    assert cells == written
    assert len({_as_a_spreadsheet_shows(c) for c in cells}) == len(ids)
    assert [escape_csv_cell(i) for i in ids] == cells


def test_integer_ids_of_16_digits_or_more_are_written_as_text(tmp_path: Path) -> None:
    # 64-bit platform ids (snowflakes): a spreadsheet kept 15 significant digits of each,
    # and showed two accounts as one; a moderator copying the id had another account's
    adults = [1234567890123456789, 1234567890123456788, -(10**15), 10**15 - 1, 5]
    table = pa.table({"adult_id": pa.array(adults, pa.int64()), "risk": [0.5] * 5})
    path = write_table(table, tmp_path / "alerts.csv")
    cells = pd.read_csv(path, dtype=str)["adult_id"].tolist()
    assert cells == [
        "'1234567890123456789",
        "'1234567890123456788",
        "'-1000000000000000",
        "999999999999999",
        "5",
    ]
    assert len({_as_a_spreadsheet_shows(c) for c in cells}) == len(adults)
    assert [str(escape_csv_cell(a)) for a in adults] == cells
    big = pa.table({"adult_id": pa.array([2**64 - 1], pa.uint64())})
    assert write_table(big, tmp_path / "u.csv").read_text().splitlines()[1] == (
        '"\'18446744073709551615"'
    )


def test_score_csv_keeps_64_bit_ids_apart_in_a_spreadsheet(tmp_path: Path) -> None:
    data = rs.synthetic.generate(300, prevalence=0.1, seed=5)
    events = data.messages.to_pandas()
    for column in ("sender_id", "recipient_id"):  # 64-bit ids that differ in the last digits
        events[column] = events[column].astype("int64") + 1_234_567_890_000_000_000
    path = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_pandas(events, preserve_index=False), path)
    assert main(["score", str(path), "--out", str(tmp_path / "out"), "--format", "csv"]) == 0
    alerts = pd.read_csv(tmp_path / "out" / "alerts.csv", dtype=str)
    assert len(alerts) > 0
    for column in ("adult_id", "child_id"):
        cells = alerts[column].tolist()
        shown = {_as_a_spreadsheet_shows(c) for c in cells}
        assert len(shown) == len(set(cells)), column
        assert {int(c.removeprefix("'")) for c in cells} <= set(events["sender_id"]) | set(
            events["recipient_id"]
        )


@pytest.mark.parametrize(
    ("table", "row", "message"),
    [
        # int('x'): a ValueError, the lead's audit page a 500
        ("assignments", {"adult_id": '"a"', "moderator": "m1", "assigned_by": "lead", "at": "x"},
         "assignment 1: column 'at' is 'x'"),
        ("account_log", {"at": T0, "actor": "lead\nforged", "action": "add", "moderator": "m2",
                         "role": "moderator"}, "account log entry 3: column 'actor'"),
        ("account_log", {"at": T0, "actor": "lead", "action": "add", "moderator": b"m2",
                         "role": "moderator"}, "account log entry 3: column 'moderator'"),
        ("access_log", {"at": 1.5, "moderator": "m1", "action": "sign-out", "detail": None},
         "access log entry 1: column 'at' is 1.5"),
    ],
)  # fmt: skip
def test_a_console_log_entry_of_another_type_is_refused_by_entry_and_column(
    tmp_path: Path, table: str, row: dict[str, object], message: str
) -> None:
    from serve_helpers import CHEAP_HASHER

    from riskscore.serve.accounts import ModeratorStore

    db = tmp_path / "q.sqlite"
    ReviewQueue(db).close()
    store = ModeratorStore(db, hasher=CHEAP_HASHER)
    store.add("lead", "lead", None)
    store.add("m1", "moderator", None)
    with closing(sqlite3.connect(db)) as con, con:  # append-only, not typed
        columns = ", ".join(row)
        con.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})",
                    tuple(row.values()))  # fmt: skip
    read = {
        "assignments": store.assignment_log,
        "account_log": store.account_log,
        "access_log": store.access_log,
    }[table]
    with pytest.raises(QueueError, match=re.escape(message)):
        read()
    store.close()
