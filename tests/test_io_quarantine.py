"""Raise versus quarantine in :func:`riskscore.read_messages`: good rows kept, bad rows
with reasons and the file line, row index or conversation that locates them, the lowest
bad row named first, the same on two threads. All events are synthetic.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_helpers import (
    T0,
    Events,
    valid_events,
)

import riskscore as rs

# ---------------------------------------------------------------- raise vs quarantine


def events_with_four_bad_rows() -> Events:
    """Six events; rows 1, 2, 3 and 5 are bad, in different columns."""
    return {
        "conversation_id": [1, 1, 1, 2, 2, 3],
        "timestamp": [str(T0), "yesterday", str(T0 + 2), str(T0 + 3), str(T0 + 4), str(T0 + 5)],
        "sender_id": ["a", "b", "a", "c", "d", "e"],
        "recipient_id": ["b", "a", "b", "d", "c", "f"],
        "channel": ["direct", "public", "direct", "telepathy", "direct", "direct"],
        "sender_age": [30.0, 12.0, -3.0, 40.0, 12.0, 250.0],
    }


def test_quarantine_returns_good_rows_and_bad_rows_with_reasons() -> None:
    msgs = rs.read_messages(events_with_four_bad_rows(), errors="quarantine")

    assert msgs.source_row.tolist() == [0, 4]
    assert msgs.conversation_id.tolist() == [1, 2]
    bad = msgs.quarantined
    assert len(bad) == 4
    assert bad.row.tolist() == [1, 2, 3, 5]
    assert bad.column == ("timestamp", "sender_age", "channel", "sender_age")
    assert bad.value == ("yesterday", -3.0, "telepathy", 250.0)
    assert "not a timestamp" in bad.reason[0]
    assert "plausible age" in bad.reason[1]
    assert "not recognised" in bad.reason[2]
    assert bad.counts() == {"timestamp": 1, "sender_age": 2, "channel": 1}
    assert bad.to_records()[2] == {
        "row": 3,
        "line": None,  # a dict of arrays has rows, not lines
        "conversation_id": 2,
        "column": "channel",
        "value": "telepathy",
        "reason": bad.reason[2],
    }


def test_raise_names_the_lowest_bad_row_and_counts_the_others() -> None:
    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(events_with_four_bad_rows())
    err = info.value
    assert (err.column, err.row, err.value) == ("timestamp", 1, "yesterday")
    assert "3 more bad rows" in str(err)
    assert "errors='quarantine'" in str(err)


def test_lowest_bad_row_wins_over_the_order_of_checks() -> None:
    # Row 2 has an unknown channel; row 1 a room of one account, found by the room size
    # check that runs last. Row 1 must be named.
    events = valid_events()
    events["room_size"] = [None, 1, None, None]
    events["channel"] = ["direct", "public", "pigeon", "direct"]

    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(events)
    assert (info.value.column, info.value.row, info.value.value) == ("room_size", 1, 1)
    assert "1 more bad row;" in str(info.value)


_HEADER = "conversation_id,timestamp,sender_id,recipient_id,channel,sender_age\n"


def test_csv_quarantine_records_carry_the_file_line_and_the_conversation(tmp_path: Path) -> None:
    # header = line 1; a blank line (skipped by the reader) and a quoted line break count
    path = tmp_path / "events.csv"
    path.write_text(
        _HEADER
        + "c1,1700000000,a,b,direct,35\n"  # line 2, row 0
        + "\n"  # line 3, blank
        + "c1,1700000100,b,a,whatsapp,13\n"  # line 4, row 1
        + 'c1,1700000200,a,b,"dir\nect",35\n'  # lines 5-6, row 2
        + "c2,yesterday,b,a,direct,abc\n"  # line 7, row 3
        + "c2,1700000400,a,b,direct,35\n"  # line 8, row 4
    )
    msgs = rs.read_messages(path, errors="quarantine")
    assert len(msgs) + len(msgs.quarantined) == 5
    records = msgs.quarantined.to_records()
    assert [(r["row"], r["line"]) for r in records] == [(1, 4), (2, 5), (3, 7)]
    assert [r["conversation_id"] for r in records] == ["c1", "c1", "c2"]
    # a channel with whitespace is not a category name but text, so it is not copied
    assert [r["value"] for r in records] == ["whatsapp", None, "yesterday"]
    assert records[0]["column"] == "channel"
    assert json.loads(json.dumps(records[0]))["value"] == "whatsapp"  # no repr quotes
    with pytest.raises(rs.SchemaError, match=r"row 1 \(line 4\): 'whatsapp'") as info:
        rs.read_messages(path)
    assert (info.value.row, info.value.line) == (1, 4)


def test_csv_line_numbers_of_a_late_row_and_of_crlf_files(tmp_path: Path) -> None:
    rows = [f"c{i},{1700000000 + i},a,b,direct,35" for i in range(300)]
    rows[250] = "c250,1700000250,a,b,pigeon,35"
    path = tmp_path / "events.csv"
    path.write_bytes((_HEADER + "\n".join(rows) + "\n").replace("\n", "\r\n").encode())
    [record] = rs.read_messages(path, errors="quarantine").quarantined.to_records()
    assert (record["row"], record["line"], record["value"]) == (250, 252, "pigeon")


def test_jsonl_quarantine_records_count_lines_from_one_blank_lines_included(
    tmp_path: Path,
) -> None:
    def event(conversation: object, channel: str) -> str:
        return json.dumps(
            {
                "conversation_id": conversation,
                "timestamp": T0,
                "sender_id": "a",
                "recipient_id": "b",
                "channel": channel,
            }
        )

    path = tmp_path / "events.jsonl"
    path.write_bytes(
        "\n".join(
            [
                event(1, "direct"),  # line 1
                "",  # line 2
                "   ",  # line 3
                event(1, "whatsapp"),  # line 4
                '{"conversation_id": 1, "timest',  # line 5: broken
                event(None, "direct"),  # line 6: no conversation
                "[1, 2]",  # line 7: not an object
            ]
        ).encode()
        + b"\n\xff\xfe{}\n"  # line 8: not UTF-8
    )
    records = rs.read_messages(path, errors="quarantine").quarantined.to_records()
    assert [(r["row"], r["line"], r["column"]) for r in records] == [
        (1, 4, "channel"),
        (2, 5, "line"),
        (3, 6, "conversation_id"),
        (4, 7, "line"),
        (5, 8, "line"),
    ]
    assert [r["conversation_id"] for r in records] == [1, None, None, None, None]
    # a line refused whole is not parsed, so never copied: located by its line number
    assert [r["value"] for r in records] == ["whatsapp", None, None, None, None]
    # a clean file goes through Arrow: the same line numbers
    path.write_text(event(1, "direct") + "\n\n" + event(1, "whatsapp") + "\n")
    [record] = rs.read_messages(path, errors="quarantine").quarantined.to_records()
    assert (record["row"], record["line"], record["value"]) == (1, 3, "whatsapp")


def test_a_broken_json_line_holding_message_text_is_never_copied(tmp_path: Path) -> None:
    # a line that is not valid JSON may hold content in any field: it is named by its
    # line number only, in the quarantine records and in the error message
    from riskscore.cli import main

    good = {"conversation_id": 1, "timestamp": T0, "sender_id": "a", "recipient_id": "b"}
    secret = "meet me after school, do not tell your mum"
    broken = '{"text": "' + secret + '", "conversation_id": 1, "timest'
    deep = '{"body": "' + secret + '", "x": ' + "[" * 100 + "]" * 100 + "}"
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([json.dumps({**good, "channel": "direct"}), broken, deep]) + "\n")
    with pytest.raises(
        rs.SchemaError, match=r"'line', row 1 \(line 2\): is not valid JSON"
    ) as info:
        rs.read_messages(path)
    assert "meet me" not in str(info.value)
    out = tmp_path / "out"
    assert main(["score", str(path), "--errors", "quarantine", "--out", str(out)]) == 0
    written = (out / "quarantine.jsonl").read_text()
    assert "meet me" not in written
    assert [json.loads(x)["line"] for x in written.splitlines()] == [2, 3]


def test_parquet_and_in_memory_quarantine_records_give_the_row_index(tmp_path: Path) -> None:
    events = valid_events()
    events["channel"] = ["direct", "public", "whatsapp", "direct"]
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table(events), path)
    for source in (path, pd.DataFrame(events), events):
        [record] = rs.read_messages(source, errors="quarantine").quarantined.to_records()
        assert record == {
            "row": 2,
            "line": None,
            "conversation_id": "c2",
            "column": "channel",
            "value": "whatsapp",
            "reason": record["reason"],
        }


@pytest.mark.parametrize(
    ("given", "written"),
    [
        (np.float64("nan"), None),
        (float("inf"), "inf"),
        (np.int64(7), 7),
        (b"caf\xe9", "caf\\xe9"),
        ({"a": [1, 2]}, {"a": [1, 2]}),
        ({("a",): 1}, "{('a',): 1}"),
        ("x" * 5000, "x" * 1000 + "... (5000 characters)"),
        (pd.Timestamp("2024-05-01"), "2024-05-01 00:00:00"),
    ],
)
def test_quarantined_values_are_written_as_read_in_json(given: object, written: object) -> None:
    from riskscore.io.validate import as_read

    assert as_read(given) == written
    json.dumps(as_read(given), allow_nan=False)


def test_quarantine_without_bad_rows_is_empty() -> None:
    msgs = rs.read_messages(valid_events(), errors="quarantine")
    assert len(msgs) == 4
    assert len(msgs.quarantined) == 0
    assert msgs.quarantined.counts() == {}


@pytest.mark.parametrize("errors", ["raise", "quarantine"])
def test_a_third_account_makes_a_group_split_into_pairs_nothing_cut(errors: str) -> None:
    events = {
        "conversation_id": [1, 1, 1, 1, 2],
        "timestamp": [T0, T0 + 1, T0 + 2, T0 + 3, T0],
        "sender_id": ["a", "b", "c", "a", "x"],
        "recipient_id": ["b", "a", "a", "b", "y"],
        "channel": ["group"] * 4 + ["direct"],
    }
    msgs = rs.read_messages(events, errors=errors)  # type: ignore[arg-type]
    assert len(msgs) == 5
    assert len(msgs.quarantined) == 0
    # every id is text once a group is split; the pair conversation of (a, b) in room 1
    # and that of (a, c) are two conversations; conversation 2 keeps its id (as text)
    assert msgs.conversations.tolist() == ["1|a|b", "1|a|c", "2"]
    assert msgs.source_row.tolist() == [0, 1, 3, 2, 4]
    assert (msgs.groups.n_rooms, msgs.groups.n_pairs, msgs.groups.n_without_room_size) == (1, 2, 4)
    assert msgs.groups.describe()[0].startswith("1 group conversation of")


#: One bad value per checked column, in the order read_messages checks the columns.
_BAD_VALUES: dict[str, object] = {
    "conversation_id": None,
    "timestamp": "yesterday",
    "sender_age": -3.0,
    "recipient_age": "old",
    "channel": "telepathy",
    "event": "wink",
    "recipient_tz_offset_min": 7.5,
    "room_size": 1,
}


def _many_bad_cells(n: int = 600, seed: int = 3) -> dict[str, list[object]]:
    """Rows with zero, one or several bad cells each, in every checked column."""
    rng = np.random.default_rng(seed)
    conversation = (np.arange(n) // 6).tolist()
    sender: list[object] = [f"a{c}" if i % 2 else f"k{c}" for i, c in enumerate(conversation)]
    recipient: list[object] = [f"k{c}" if i % 2 else f"a{c}" for i, c in enumerate(conversation)]
    columns: dict[str, list[object]] = {
        "conversation_id": list(conversation),
        "timestamp": [T0 + i for i in range(n)],
        "sender_id": sender,
        "recipient_id": recipient,
        "sender_age": [30.0] * n,
        "recipient_age": [13.0] * n,
        "channel": ["direct"] * n,
        "event": ["message"] * n,
        "recipient_tz_offset_min": [60] * n,
        "room_size": [None] * n,
    }
    for name, value in _BAD_VALUES.items():
        for row in np.flatnonzero(rng.random(n) < 0.05):
            columns[name][row] = value
    return columns


def test_checks_on_two_threads_report_each_rows_first_problem_in_check_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import riskscore.io.threads as _threads

    events = _many_bad_cells()
    inline = rs.read_messages(events, errors="quarantine")
    with pytest.raises(rs.SchemaError) as inline_error:
        rs.read_messages(events)
    monkeypatch.setattr(_threads, "THREAD_MIN_ROWS", 0)
    threaded = rs.read_messages(events, errors="quarantine")
    with pytest.raises(rs.SchemaError) as threaded_error:
        rs.read_messages(events)

    assert len(inline.quarantined) > 100
    assert threaded.quarantined.to_records() == inline.quarantined.to_records()
    np.testing.assert_array_equal(threaded.source_row, inline.source_row)
    assert str(threaded_error.value) == str(inline_error.value)
    # a row bad in several columns is blamed on the first of them in check order
    check_order = [name for name in _BAD_VALUES if name in events]
    first_bad: dict[int, str] = {}
    for name in check_order:
        for row, value in enumerate(events[name]):
            if value is _BAD_VALUES[name] or value == _BAD_VALUES[name]:
                first_bad.setdefault(row, name)
    blamed = dict(zip(inline.quarantined.row.tolist(), inline.quarantined.column, strict=True))
    assert {row: blamed[row] for row in first_bad} == first_bad
