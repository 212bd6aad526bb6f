"""Hostile review 93: batch readers. A JSON lines time whose exponent crashed Arrow, a
Parquet column whose one long dictionary value was decoded per row, JSON lines of many
distinct field names, and a duplicated field name quoted in an error."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.io.json_scans import more_names_than
from riskscore.io.schema import MAX_JSON_FIELD_NAMES
from riskscore.io.text import parquet_file

_EVENT = '"conversation_id":"c","sender_id":"a","recipient_id":"b","channel":"direct"'


def test_a_time_with_a_long_negative_exponent_is_quarantined_not_a_crash(tmp_path: Path) -> None:
    # Arrow's text-to-decimal parse (the exact re-read of whole float times) killed the
    # process with a segmentation fault on this 112-byte file.
    path = tmp_path / "events.jsonl"
    path.write_text(
        f'{{"timestamp":1767256200e-999999999,{_EVENT}}}\n{{"timestamp":1767256260.0,{_EVENT}}}\n'
    )
    messages = rs.read_messages(path, errors="quarantine")
    assert len(messages.quarantined) == 1
    assert messages.quarantined.line.tolist() == [1]
    assert messages.quarantined.column == ("timestamp",)


def _bomb(path: Path, n: int, value_chars: int) -> None:
    """Events whose ``channel`` is dictionary-coded with one long value every row points
    to, written without the Arrow schema (as Spark and DuckDB write)."""
    table = pa.table(
        {
            "conversation_id": pa.array(np.arange(n) // 2, pa.int64()),
            "timestamp": pa.array(1767256200 + np.arange(n), pa.int64()),
            "sender_id": pa.array(np.arange(n) % 7, pa.int64()),
            "recipient_id": pa.array(np.arange(n) % 7 + 100, pa.int64()),
            "channel": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int32)), pa.array(["d" * value_chars])
            ),
        }
    )
    pq.write_table(table, path, store_schema=False, compression="zstd")


def test_a_parquet_text_column_is_read_coded_each_value_once(tmp_path: Path) -> None:
    # Decoded, 3,000 rows of one 1 MB value took 6 GB before the first row was refused.
    path = tmp_path / "events.parquet"
    _bomb(path, 3_000, 100_000)
    with parquet_file(path) as parquet:
        channel = parquet.read(columns=["channel"]).column("channel")
    assert pa.types.is_dictionary(channel.type)
    assert channel.nbytes < 1_000_000
    with pytest.raises(rs.SchemaError, match=r"column 'channel', row 0: text of 100000 char"):
        rs.read_messages(path)


def test_json_lines_of_too_many_field_names_are_refused_naming_the_count(tmp_path: Path) -> None:
    # Arrow makes a column of each distinct name, null in every other line: five names of
    # their own a line made a 4.5 MB file take 12 GB and abort.
    path = tmp_path / "events.jsonl"
    with path.open("w") as fh:
        for i in range(MAX_JSON_FIELD_NAMES // 5 + 1):
            extra = ",".join(f'"x{i}_{k}":1' for k in range(5))
            fh.write(f'{{"timestamp":{1767256200 + i},{_EVENT},{extra}}}\n')
    assert more_names_than(path, MAX_JSON_FIELD_NAMES)
    with pytest.raises(rs.SchemaError, match=r"gives? [0-9,]+ distinct field names, more than"):
        rs.read_messages(path)


def test_the_name_count_sees_nested_names_and_not_values(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps({"a": 'x":', "b": {"c": 1, "d": [{"e": "f:"}]}, "g": "h" * 10}),
        '{"a" : 1, "i":"j"}',
    ]
    path.write_text("\n".join(lines) + "\n")
    # names a b c d e g i; the values 'x":' and "f:" are none
    assert not more_names_than(path, 7)
    assert more_names_than(path, 6)


def test_a_duplicated_field_name_that_may_be_content_is_not_quoted(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    name = "meet me after school tomorrow"
    path.write_text(
        f'{{"timestamp":1767256200,{_EVENT},"meta":{{"{name}":1,"{name}":2}}}}\n'
        f'{{"timestamp":1767256260,{_EVENT}}}\n'
    )
    messages = rs.read_messages(path, errors="quarantine")
    (reason,) = messages.quarantined.reason
    assert name not in reason
    assert f"field of {len(name)} characters (not shown) appears twice" in reason


_B = '"timestamp":1767256200,"sender_id":"a","recipient_id":"b"'


@pytest.mark.parametrize(
    "text",
    [
        '{"conversation_id":1,\n' + _B + ',"channel":"direct"}\n',  # one object on two lines
        '{"conversation_id":2,' + _B + ',"channel":"direct"}\r'  # two objects on one line
        '{"conversation_id":3,' + _B + ',"channel":"direct"}\n',
    ],
)
def test_json_lines_arrow_would_split_otherwise_are_read_line_by_line(
    tmp_path: Path, text: str
) -> None:
    # Together in one file, Arrow's row count matched the count of lines holding "{", and
    # the file was read, its rows put on the wrong lines.
    path = tmp_path / "events.jsonl"
    path.write_bytes(text.encode())
    with pytest.raises(rs.SchemaError, match=r"line 1 is not valid JSON"):
        rs.read_messages(path)


def test_a_csv_file_with_line_breaks_in_quoted_cells_is_read_whatever_its_size(
    tmp_path: Path,
) -> None:
    # Read at 0.6 MB, refused at 3.5 MB: Arrow's blocks split a quoted cell.
    path = tmp_path / "events.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(
            ["conversation_id", "timestamp", "sender_id", "recipient_id", "channel", "note"]
        )
        for i in range(30_000):
            writer.writerow(
                [i // 10, 1767256200 + i, i % 13, 100 + i % 17, "direct", "a\nb" + "x" * 60]
            )
    assert len(rs.read_messages(path)) == 30_000
