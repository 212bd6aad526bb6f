"""Hostile-input review 23: Arrow and pandas types the readers had not met (times with a zone
in columns that are no times, containers and Spark structs that hid a content-like field,
dictionaries that hold a null), JSON lines split by carriage returns, CSV numbers that Arrow
read by its own rules, and one file named by two options of a command. Each test failed on
the code before its fix, but for those that guard against refusing or changing too much
(times of the timestamp column, number text every source reads), which pass on both."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from test_hostile_review22 import T0, _events  # two events of one conversation

import riskscore as rs
from riskscore.cli import main
from riskscore.io.jsonl import loads_event

TEXT = pa.struct([("text", pa.string())])  # a content-like field, to hide in a container


def _line(t: int, **fields: Any) -> str:
    return json.dumps({**{k: v[0] for k, v in _events().items()}, "timestamp": t, **fields})


# ------------------------------------ times with a zone in a column that is not the time


def _zoned(values: list[int], unit: str = "ns") -> pa.Array:
    return pa.array(values, pa.timestamp(unit, tz="UTC"))


def test_zoned_times_as_ids_are_refused_not_truncated_into_one_account() -> None:
    # a zoned time was read as epoch seconds in every column: nanosecond ids 1 and 2 became
    # account 0 twice (two senders merged), while a dict or an online event with a
    # datetime id is refused as no id
    events = _events(sender_id=_zoned([1, 2]), recipient_id=_zoned([5 * 10**9] * 2))
    with pytest.raises(rs.SchemaError, match=r"'sender_id', row 0: .* is not an id"):
        rs.read_messages(pa.table(events))
    frame = pd.DataFrame(_events())
    frame["sender_id"] = pd.to_datetime([1, 2], unit="ns", utc=True)
    frame["recipient_id"] = pd.to_datetime([5 * 10**9] * 2, unit="ns", utc=True)
    with pytest.raises(rs.SchemaError, match=r"'sender_id', row 0: .* is not an id"):
        rs.read_messages(frame)


@pytest.mark.parametrize("column", ["sender_age", "recipient_tz_offset_min", "room_size"])
def test_a_zoned_time_is_no_number_in_an_age_offset_or_room_size(column: str) -> None:
    # 1970-01-01T00:00:12Z was read as age 12 (a child), as a date column is refused
    events = _events(**{column: _zoned([12, 12], "s")})
    with pytest.raises(rs.SchemaError, match=rf"'{column}', row 0: .* is not a number"):
        rs.read_messages(pa.table(events))
    frame = pd.DataFrame(_events())
    frame[column] = pd.to_datetime([12, 12], unit="s", utc=True)
    with pytest.raises(rs.SchemaError, match=rf"'{column}', row 0: .* is not a number"):
        rs.read_messages(frame)


def test_zoned_times_in_the_timestamp_column_are_still_epoch_seconds() -> None:
    events = _events(timestamp=_zoned([T0 * 10**9, (T0 + 60) * 10**9]))
    assert rs.read_messages(pa.table(events)).timestamp.tolist() == [T0, T0 + 60]


@pytest.mark.parametrize(("unit", "ticks"), [("ms", -500), ("us", -1), ("ns", -1)])
def test_a_zoned_time_just_before_1970_is_refused_as_every_other_source_refuses_it(
    unit: str, ticks: int
) -> None:
    # the cast to seconds truncated toward zero: 1969-12-31T23:59:59.5Z read as 1970-01-01,
    # where the same instant as a float, ISO text or a pandas time is floored and refused
    zoned = pa.table(_events(timestamp=_zoned([ticks] * 2, unit)))
    for given in (zoned, _events(timestamp=[-0.5] * 2)):
        with pytest.raises(rs.SchemaError, match=r"'timestamp', row 0: .* out of range"):
            rs.read_messages(given)
    late = _zoned([(T0 + 1) * 10**3 - 1] * 2, "ms")  # .999 s: floored, as before
    assert rs.read_messages(pa.table(_events(timestamp=late))).timestamp.tolist() == [T0] * 2


# ------------------------------------------------ content hidden in other Arrow containers


def _texts() -> pa.Array:
    return pa.array([{"text": "hello"}, {"text": "there"}], TEXT)


class _Wrapped(pa.ExtensionType):
    """An extension type (as a platform's own Arrow types are) stored as ``TEXT``."""

    def __init__(self) -> None:
        super().__init__(TEXT, "riskscore.test.wrapped")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: Any, serialized: bytes) -> _Wrapped:
        return cls()


_CONTAINERS = {
    "fixed_size_list": lambda: pa.FixedSizeListArray.from_arrays(_texts(), 1),
    "list_view": lambda: pa.ListViewArray.from_arrays([0, 1], [1, 1], _texts()),
    "large_list_view": lambda: pa.LargeListViewArray.from_arrays([0, 1], [1, 1], _texts()),
    "run_end_encoded": lambda: pa.RunEndEncodedArray.from_arrays([1, 2], _texts()),
    "union": lambda: pa.UnionArray.from_sparse(pa.array([0, 0], pa.int8()), [_texts()]),
    "dictionary": lambda: pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int8()), _texts()),
    "extension": lambda: pa.ExtensionArray.from_storage(_Wrapped(), _texts()),
    "map key": lambda: pa.array([[({"text": "x"}, 1)]] * 2, pa.map_(TEXT, pa.int8())),
}


@pytest.mark.parametrize("container", sorted(_CONTAINERS))
def test_content_nested_in_any_arrow_container_is_refused(container: str) -> None:
    # field paths went through structs, lists, large lists and map values only: the same
    # struct with a "text" field inside a fixed-size list, a list view, a run-end encoded,
    # union, dictionary or extension column (or a map's keys) was read past as metadata
    table = pa.table(_events()).append_column("meta", _CONTAINERS[container]())
    with pytest.raises(rs.SchemaError, match=r"'meta\..*text' looks like message content"):
        rs.read_messages(table)


def test_content_nested_in_a_spark_struct_column_is_refused_before_any_job() -> None:
    # Spark frames were checked by their top-level names only: a struct column "meta" with a
    # field "text" (as a platform's nested Parquet export has) went to the executors
    st = pytest.importorskip("pyspark.sql.types")
    from riskscore.integrations._spark_frames import check_columns

    text = st.StructType([st.StructField("text", st.StringType())])
    plain = st.StructType([st.StructField(n, st.StringType()) for n in _events()])
    for meta in (text, st.ArrayType(text), st.MapType(st.StringType(), text)):
        schema = st.StructType([*plain.fields, st.StructField("meta", meta)])
        frame = SimpleNamespace(columns=schema.names, schema=schema)  # what is checked
        with pytest.raises(rs.SchemaError, match=r"'meta\.text' looks like message content"):
            check_columns(frame)  # type: ignore[arg-type]
    check_columns(SimpleNamespace(columns=plain.names, schema=plain))  # type: ignore[arg-type]


# --------------------------------------------------- dictionaries that hold a null value


def test_a_null_in_a_dictionary_of_ids_is_a_missing_id_not_the_text_none() -> None:
    # Arrow's dictionary_encode(null_encoding="encode") keeps a null as a dictionary value:
    # it was read as the id "None", every missing id one account (and one conversation)
    ids = pc.dictionary_encode(pa.array(["a", None]), null_encoding="encode")
    with pytest.raises(rs.SchemaError, match=r"'sender_id', row 1: .* is missing"):
        rs.read_messages(pa.table(_events(sender_id=ids)))
    rooms = pc.dictionary_encode(pa.array([None, None], pa.string()), null_encoding="encode")
    kept = rs.read_messages(pa.table(_events(conversation_id=rooms)), errors="quarantine")
    assert (len(kept), len(kept.quarantined)) == (0, 2)


def test_a_null_in_a_dictionary_of_events_takes_the_default_as_a_plain_null() -> None:
    events = pc.dictionary_encode(pa.array(["block", None]), null_encoding="encode")
    plain = rs.read_messages(pa.table(_events(event=pa.array(["block", None]))))
    assert rs.read_messages(pa.table(_events(event=events))).event.tolist() == plain.event.tolist()
    channels = pc.dictionary_encode(pa.array(["direct", None]), null_encoding="encode")
    with pytest.raises(rs.SchemaError, match=r"'channel', row 1: .* is missing"):
        rs.read_messages(pa.table(_events(channel=channels)))


# -------------------------------------------------- JSON lines split by carriage returns


def test_json_lines_split_by_carriage_returns_are_refused_by_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    # Arrow splits lines at a lone \r, the line count did not: a bad second event raised
    # IndexError (a traceback from `riskscore score`); stream reads such a line as one
    # line that is not JSON, and so does the file reader now
    path = tmp_path / "events.jsonl"
    path.write_bytes(f"{_line(T0)}\r{_line(T0 + 60, sender_age=500)}\r".encode())
    with pytest.raises(rs.SchemaError, match=r"events\.jsonl: .*line 1 is not valid JSON"):
        rs.read_messages(path)
    assert main(["score", str(path), "--out", str(tmp_path / "out"), "--errors", "quarantine"]) == 2
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(f"{_line(T0)}\r{_line(T0 + 1)}\n{_line(T0 + 2, sender_age=500)}\n".encode())
    kept = rs.read_messages(mixed, errors="quarantine", max_future_s=float("inf"))
    assert kept.quarantined.line.tolist() == [1, 2]
    assert kept.quarantined.column == ("line", "sender_age")


def test_json_lines_without_a_timestamp_field_name_the_missing_column(tmp_path: Path) -> None:
    # Arrow was told the timestamp's type, so it made a column of nulls: the message said
    # row 0 had no timestamp (and a file of {} said it found a 'timestamp' column)
    path = tmp_path / "events.jsonl"
    line = {k: v[0] for k, v in _events().items() if k != "timestamp"}
    path.write_text(json.dumps(line) + "\n" + json.dumps(line) + "\n")
    with pytest.raises(rs.SchemaError, match=r"missing required column\(s\) \['timestamp'\]"):
        rs.read_messages(path)
    path.write_text("{}\n")
    with pytest.raises(rs.SchemaError, match=r"events\.jsonl: no event objects found"):
        rs.read_messages(path)


# ------------------------------------------ CSV numbers follow the rule of every source

CSV_HEADER = "conversation_id,timestamp,sender_id,recipient_id,channel,"


def _csv(tmp_path: Path, column: str, cell: str) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(f"{CSV_HEADER}{column}\nc1,{T0},a,b,direct,{cell}\n")
    return path


@pytest.mark.parametrize("column", ["sender_age", "recipient_tz_offset_min", "room_size"])
@pytest.mark.parametrize("cell", ["0x0c", "NA", "N/A", "#N/A", "NULL", "1.#IND", "-1.#QNAN"])
def test_csv_number_cells_arrow_reads_but_no_other_source_does_are_refused(
    tmp_path: Path, column: str, cell: str
) -> None:
    # Arrow's CSV reader typed these columns itself: "0x0c" was age 12 and "NA" unknown,
    # where the same text in a dict, a JSON line or an online event is not a number
    with pytest.raises(rs.SchemaError, match=rf"'{column}', row 0: .*is not a number"):
        rs.read_messages(_events(**{column: [cell, cell]}))
    with pytest.raises(rs.SchemaError, match=rf"'{column}', row 0 \(line 2\): .*is not a number"):
        rs.read_messages(_csv(tmp_path, column, cell))


@pytest.mark.parametrize(
    ("cell", "age"), [("", None), ("nan", None), (" 35 ", 35.0), ("+13", 13.0), ("1.25e1", 12.5)]
)
def test_csv_number_cells_every_source_reads_are_still_read(
    tmp_path: Path, cell: str, age: float | None
) -> None:
    msgs = rs.read_messages(_csv(tmp_path, "sender_age", cell))
    assert [None if a != a else a for a in msgs.sender_age.tolist()] == [age]
    assert rs.read_messages(_csv(tmp_path, "room_size", "3")).room_size.tolist() == [3]
    assert rs.read_messages(_csv(tmp_path, "recipient_tz_offset_min", "-90")).columns()[
        "recipient_tz_offset_min"
    ].tolist() == [-90]


@pytest.mark.parametrize("column", ["sender_age", "recipient_tz_offset_min", "room_size"])
def test_a_csv_column_of_numbers_reads_as_the_same_text_in_a_dict(
    tmp_path: Path, column: str
) -> None:
    # CSV number text is read in Arrow's kernels, a dict's cell by cell: one rule, the
    # same values; a bad value is quoted as read ('0x0c', text), a bad number as the
    # number it is (-4, as Arrow's CSV reader gave it)
    cells = ["", " 35 ", "+13", "nan", "1.2e1", "120", "7"] * 40
    if column == "room_size":
        cells = [c.replace("35", "3").replace("120", "5") for c in cells]
    elif column == "recipient_tz_offset_min":  # offsets in use: whole quarter hours
        cells = [
            c.replace("35", "30").replace("+13", "+15").replace("1.2e1", "4.5e1") for c in cells
        ]
        cells = [c.replace("7", "-7.5e1") for c in cells]
    path = tmp_path / "long.csv"
    rows = [f"c1,{T0 + i},a,b,direct,{cell}" for i, cell in enumerate(cells)]
    path.write_text("\n".join([CSV_HEADER + column, *rows]) + "\n")
    n = len(cells)
    given = _events(conversation_id=["c1"] * n, timestamp=[T0 + i for i in range(n)],
                    sender_id=["a"] * n, recipient_id=["b"] * n, channel=["direct"] * n,
                    **{column: cells})  # fmt: skip
    got = rs.read_messages(path).columns(decoded=False)[column]
    np.testing.assert_array_equal(got, rs.read_messages(given).columns(decoded=False)[column])
    rows[6] = rows[6].replace(f",{cells[6]}", ",0x0c")
    path.write_text("\n".join([CSV_HEADER + column, *rows]) + "\n")
    with pytest.raises(rs.SchemaError, match=rf"'{column}', row 6 \(line 8\): '0x0c'"):
        rs.read_messages(path)
    rows[6] = rows[6].replace(",0x0c", ",-4000")
    path.write_text("\n".join([CSV_HEADER + column, *rows]) + "\n")
    kept = rs.read_messages(path, errors="quarantine")
    assert kept.quarantined.value == (-4000,)


# ------------------------------------------- an output file that is another of the files


def _policy_at(path: Path) -> str:
    """The default policy written at ``path`` (whatever its name), and its text."""
    path.write_text(text := rs.AlertPolicy().to_toml())
    return text


@pytest.mark.parametrize("other", ["--queue", "--policy"])
def test_score_refuses_a_queue_or_policy_that_an_output_would_replace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], other: str
) -> None:
    # the queue was filled, then alerts.parquet put in its place beside the queue's WAL:
    # the next `riskscore queue` wrote the WAL over the alerts (both files lost); a policy
    # file there was replaced by the alerts
    events = rs.write_messages(rs.read_messages(_events()), tmp_path / "events.parquet")
    out = tmp_path / "out"
    out.mkdir()
    named = out / "alerts.parquet"
    policy = _policy_at(named) if other == "--policy" else None
    assert main(["score", str(events), "--out", str(out), other, str(named)]) == 2
    assert "would replace the input" in capsys.readouterr().err
    assert not (out / "scores.parquet").exists()
    assert (named.read_text() if policy else named.exists()) == (policy or False)


@pytest.mark.parametrize("other", ["--checkpoint", "--queue", "--policy"])
def test_stream_refuses_shadow_alerts_appended_to_another_of_its_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    other: str,
) -> None:
    # shadow alerts appended to the checkpoint (or queue) file were written over by its
    # SQLite pages: 21 shadow alerts recorded, 4 left in the file, exit status 0 (and
    # appended to a policy file, they made it unreadable)
    monkeypatch.setattr("sys.stdin", io.StringIO(_line(T0) + "\n"))
    path = tmp_path / "state.sqlite"
    policy = _policy_at(path) if other == "--policy" else None
    argv = ["stream", "--shadow-model", "default", "--shadow-out", str(path), other, str(path)]
    assert main(argv) == 2
    named = re.findall(r"(--[a-z-]+) and (--[a-z-]+) name one file", capsys.readouterr().err)
    assert sorted(*named) == sorted(["--shadow-out", other])
    assert (path.read_text() if policy else path.exists()) == (policy or False)


@pytest.mark.parametrize("other", ["--checkpoint", "--timeline"])
def test_serve_refuses_a_checkpoint_or_timeline_in_the_queue_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], other: str
) -> None:
    # --checkpoint: served for hours, then every checkpoint failed (the file holds the
    # queue's tables) and the state was lost at shutdown; --timeline: served, then the
    # queue and its decisions were refused at every start ("it has table(s) events")
    pytest.importorskip("uvicorn")
    monkeypatch.setattr("uvicorn.Server.run", lambda self, sockets=None: None)  # no serving
    db = tmp_path / "queue.sqlite"
    assert (
        main(["serve", "--db", str(db), other, str(tmp_path / "." / db.name), "--port", "0"]) == 2
    )
    assert f"--db and {other} name one file" in capsys.readouterr().err
    assert not db.exists()


def test_a_json_integer_longer_than_python_reads_is_refused_in_words(tmp_path: Path) -> None:
    """Python's own error advised raising its digit limit and named no field."""
    line = '{"conversation_id": 1, "sender_id": ' + "9" * 5000 + ', "recipient_id": 2}'
    with pytest.raises(ValueError, match="holds an integer of 5000 digits") as caught:
        loads_event(line)
    assert "set_int_max_str_digits" not in str(caught.value)
    path = tmp_path / "e.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(rs.SchemaError, match="integer of 5000 digits"):
        rs.read_messages(path)
