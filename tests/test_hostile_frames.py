"""Hostile-input review of tables handed over by other tools (pandas, polars, pyarrow,
Parquet written elsewhere): what was left after the earlier reviews.

Was: a Parquet text column holding bytes that are not UTF-8 (a writer that does not check
its text) refused the whole file as "not a readable Parquet events file
(UnicodeDecodeError ...)", naming no column nor row, even with ``errors="quarantine"``; an
Arrow table holding such text raised a bare ``UnicodeDecodeError``, and one whose
dictionary index pointed past its dictionary an ``IndexError``. A table missing a required
column (a DataFrame, a Parquet file) was told "The header reads as one column separated by
';'" whenever it held another required column, since a name without ';' splits into itself.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import _one_line_error
from io_helpers import T0

import riskscore as rs
from riskscore.cli import main


def _events() -> pa.Table:
    return pa.table(
        {
            "conversation_id": ["c1", "c1", "c2", "c2"],
            "timestamp": [T0, T0 + 60, T0 + 120, T0 + 180],
            "sender_id": ["ann", "bo", "ann", "cy"],
            "recipient_id": ["bo", "ann", "cy", "ann"],
            "channel": ["direct"] * 4,
        }
    )


def _not_utf8_ids() -> pa.Array:
    """Four text ids, the second (row 1) of bytes that are not UTF-8, as a writer that does
    not check its text leaves them (Arrow checks none it is handed or reads)."""
    offsets = np.array([0, 3, 4, 7, 9], dtype=np.int32).tobytes()
    return pa.Array.from_buffers(
        pa.string(), 4, [None, pa.py_buffer(offsets), pa.py_buffer(b"ann\xffanncy")]
    )


def _with_bad_sender() -> pa.Table:
    return _events().set_column(2, "sender_id", _not_utf8_ids())


def test_arrow_text_not_utf8_is_refused_by_row() -> None:
    with pytest.raises(rs.SchemaError, match=r"column 'sender_id', row 1: .*not UTF-8") as caught:
        rs.read_messages(_with_bad_sender())
    assert (caught.value.column, caught.value.row) == ("sender_id", 1)


def test_parquet_text_not_utf8_is_refused_by_row_or_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(_with_bad_sender(), path)
    with pytest.raises(rs.SchemaError, match=r"column 'sender_id', row 1: .*not UTF-8"):
        rs.read_messages(path)
    msgs = rs.read_messages(path, errors="quarantine")
    assert len(msgs.timestamp) == 3  # rows in = rows kept + rows quarantined
    (record,) = msgs.quarantined.to_records()
    assert (record["row"], record["column"], record["value"]) == (1, "sender_id", "\\xff")
    assert record["conversation_id"] == "c1"


def test_score_chunked_quarantines_text_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(_with_bad_sender(), path)
    out = tmp_path / "out"
    args = ["score", str(path), "--out", str(out), "--chunk-rows", "2", "--top", "0"]
    assert main([*args, "--errors", "quarantine"]) == 0
    assert (out / "quarantine.jsonl").read_text().count("\n") == 1


def test_score_names_the_row_of_text_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(_with_bad_sender(), path)
    assert main(["score", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "column 'sender_id', row 1:" in _one_line_error(capsys, "score")


def test_dictionary_of_text_not_utf8_is_refused_by_row() -> None:
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 0, 2], pa.int8()), _not_utf8_ids().take([0, 1, 3])
    )
    events = _events().set_column(2, "sender_id", dictionary)
    with pytest.raises(rs.SchemaError, match=r"column 'sender_id', row 1: .*not UTF-8"):
        rs.read_messages(events)


def test_broken_dictionary_index_names_the_column() -> None:
    broken = pa.DictionaryArray.from_arrays(
        pa.array([0, 5, 0, 0], pa.int32()), pa.array(["ann"]), safe=False
    )
    with pytest.raises(rs.SchemaError, match=r"column 'sender_id' is not a valid Arrow array"):
        rs.read_messages(_events().set_column(2, "sender_id", broken))


def test_a_missing_column_is_not_blamed_on_a_separator() -> None:
    events = _events().drop_columns(["channel"]).to_pandas()
    with pytest.raises(
        rs.SchemaError, match=r"missing required column\(s\) \['channel'\]"
    ) as caught:
        rs.read_messages(events)
    assert "separated by" not in str(caught.value)


def _twice(table: pa.Table, name: str) -> pa.Table:
    return pa.Table.from_arrays([*table.columns, table[name]], names=[*table.column_names, name])


def test_an_account_features_file_naming_a_column_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: a ``KeyError`` traceback (``Field "contacts" exists 2 times in schema``)."""
    events, accounts = tmp_path / "events.parquet", tmp_path / "accounts.parquet"
    pq.write_table(_events(), events)
    assert main(["accounts", str(events), "--out", str(accounts)]) == 0
    table = pq.read_table(accounts)
    pq.write_table(
        _twice(table, "contacts").replace_schema_metadata(table.schema.metadata), accounts
    )
    capsys.readouterr()
    args = ["score", str(events), "--accounts", str(accounts), "--out", str(tmp_path / "out")]
    assert main(args) == 2
    assert "column 'contacts' appears twice" in _one_line_error(capsys, "score")


def test_a_labels_file_naming_a_column_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: Arrow's "Multiple matches for FieldRef.Name(is_grooming)" and the file's schema,
    over many lines; in memory, ``Labels.from_arrow`` read one of the two."""
    data = rs.synthetic.generate(40, prevalence=0.1, seed=0)
    data.write(tmp_path)
    labels = _twice(data.labels.to_arrow(), "is_grooming")
    pq.write_table(labels, tmp_path / "labels.parquet")
    assert main(["evaluate", "--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "column 'is_grooming' appears twice" in _one_line_error(capsys, "evaluate")
    with pytest.raises(rs.SchemaError, match="column 'is_grooming' appears twice"):
        rs.synthetic.Labels.from_arrow(labels)


@pytest.mark.parametrize("first_id", [1, 2**64], ids=["arrow", "line by line"])
def test_a_json_line_misspelling_a_column_other_lines_give_is_refused(
    tmp_path: Path, first_id: int
) -> None:
    """Was: one producer's ``recipent_age`` among others' ``recipient_age`` was read as an
    unknown age (the column is given, by the other lines), only listed among the unread
    columns; the online scorer refuses such an event. (An id beyond int64 sends the file to
    the line by line reader.)"""
    lines = [
        {
            "conversation_id": first_id,
            "sender_id": "ann",
            "recipient_id": "bo",
            "recipient_age": 12,
        },
        {"conversation_id": 2, "sender_id": "cy", "recipient_id": "di", "recipent_age": 13},
        {"conversation_id": 3, "sender_id": "ed", "recipient_id": "fi"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text(
        "".join(json.dumps({**e, "timestamp": T0, "channel": "direct"}) + "\n" for e in lines)
    )
    with pytest.raises(rs.SchemaError, match=r"row 1 \(line 2\): .*gives 'recipent_age'") as caught:
        rs.read_messages(path)
    assert caught.value.column == "recipient_age"
    msgs = rs.read_messages(path, errors="quarantine")
    assert len(msgs.timestamp) == 2  # the line without either field is read
    (record,) = msgs.quarantined.to_records()
    assert (record["row"], record["line"], record["column"]) == (1, 2, "recipient_age")
    event = {**lines[1], "timestamp": T0, "channel": "direct"}
    with pytest.raises(rs.SchemaError, match="'recipent_age'"):  # as online
        rs.OnlineScorer(rs.load_model()).update_one(event)


def test_a_polars_object_column_is_refused_by_name() -> None:
    """Was: polars hands an ``Object`` column over as each cell's memory address (8 bytes),
    refused row by row as ``b'\\x10\\x8a...' is bytes, not an id: decode it to text``."""
    pl = pytest.importorskip("polars")
    frame = pl.from_arrow(_events())
    ids = pl.Series("sender_id", ["ann", "bo", "ann", "cy"], dtype=pl.Object)
    with pytest.raises(rs.SchemaError, match=r"column 'sender_id' of the DataFrame holds Python"):
        rs.read_messages(frame.with_columns(ids))
    other = frame.with_columns(pl.Series("note", [object()] * 4, dtype=pl.Object))
    assert rs.read_messages(other).unread_columns == ("note",)  # not read: no matter


@pytest.mark.parametrize("name", ["events.csv", "events.jsonl"])
def test_a_compressed_text_file_is_named_as_such(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: a gzip file named ``.csv`` was refused as missing every column, found
    ``['\\x1f\\ufffd\\x08...']``; one named ``.jsonl`` as every line not UTF-8."""
    path = tmp_path / name
    plain = _events().to_pandas()
    text = (
        plain.to_csv(index=False)
        if name.endswith(".csv")
        else plain.to_json(orient="records", lines=True)
    )
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(rs.SchemaError, match=rf"^{name}: the file is gzip-compressed: decompress"):
        rs.read_messages(path)
    assert main(["score", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "gzip-compressed" in _one_line_error(capsys, "score")


def test_a_csv_whose_first_column_name_begins_bzh_is_no_bzip2_file(tmp_path: Path) -> None:
    """Was: any file starting ``BZh`` was named bzip2-compressed; a bzip2 stream carries a
    block size and a block's magic after it."""
    path = tmp_path / "events.csv"
    plain = _events().to_pandas()
    plain.insert(0, "BZh_export_batch", 1)
    path.write_text(plain.to_csv(index=False))
    assert len(rs.read_messages(path)) == len(plain)
    path.write_bytes(bz2.compress(plain.to_csv(index=False).encode()))
    with pytest.raises(rs.SchemaError, match=r"the file is bzip2-compressed"):
        rs.read_messages(path)


def test_labels_given_as_a_table_are_read_as_the_labels_file() -> None:
    """Was: an Arrow table or polars DataFrame of labels was refused as lacking
    ``['conversation_id', 'is_grooming', 'onset_index', 'adult_id']``, the columns it has."""
    data = rs.synthetic.generate(200, prevalence=0.1, seed=2)
    model = rs.load_model()
    expected = rs.evaluate(model, data.messages, data.labels, n_bootstrap=0, replay_events=0)
    table = data.labels.to_arrow()
    floats = table.set_column(0, "conversation_id", table["conversation_id"].cast(pa.float64()))
    for labels in (table, table.to_batches()[0], floats):
        got = rs.evaluate(model, data.messages, labels, n_bootstrap=0, replay_events=0)
        assert got.pr_auc == expected.pr_auc
    twice = _twice(table, "is_grooming")
    with pytest.raises(rs.SchemaError, match="column 'is_grooming' appears twice"):
        rs.evaluate(model, data.messages, twice, n_bootstrap=0, replay_events=0)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (dt.datetime(2024, 5, 1, 8), "'2024-05-01 08:00:00'"),
        (dt.date(2024, 5, 1), "'2024-05-01'"),
        (np.datetime64("2024-05-01T08:00"), "'2024-05-01T08:00'"),
    ],
)
def test_a_time_without_a_zone_is_quoted_as_text_online_as_in_batch(
    value: object, shown: str
) -> None:
    """Was: online quoted ``datetime.datetime(2024, 5, 1, 8, 0)`` (numpy's and pandas'
    times as that too, or as ``Timestamp(...)``) where a table quotes the ISO text."""
    event = {"conversation_id": "c", "sender_id": "a", "recipient_id": "b", "channel": "direct"}
    cells = np.empty(1, dtype=object)
    cells[0] = value
    with pytest.raises(rs.SchemaError, match=rf"row 0: {shown} is a") as batch:
        rs.read_messages({**{k: [v] for k, v in event.items()}, "timestamp": cells})
    with pytest.raises(rs.SchemaError, match=rf"event 0: {shown} is a") as online:
        rs.OnlineScorer(rs.load_model()).update_one({**event, "timestamp": value})
    assert str(online.value).split(": ", 1)[1] == str(batch.value).split(": ", 1)[1]
