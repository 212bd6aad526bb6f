"""Tests for :func:`riskscore.read_messages` (riskscore/io/): sorting, the kinds of input
(dicts, pandas, Arrow, CSV, JSON lines, Parquet) and ids.

All events are synthetic. Timestamps are built from ``T0`` = 2024-05-01T00:00:00Z
so that expected UTC epochs can be checked by hand. Timestamps and defaults are in
``test_io_values.py``, bad cells in ``test_io_bad_input.py``, raise versus quarantine
in ``test_io_quarantine.py``.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from io_helpers import (
    SORTED_ORDER,
    T0,
    assert_same_table,
    valid_events,
    write_jsonl,
)

import riskscore as rs
from riskscore.io.schema import Channel, EventType

# ---------------------------------------------------------------- sorting and provenance


def test_events_are_sorted_by_conversation_time_then_input_order() -> None:
    events = valid_events()
    msgs = rs.read_messages(events)

    assert msgs.source_row.tolist() == SORTED_ORDER
    assert msgs.conversation_id.tolist() == ["c1", "c1", "c2", "c2"]
    assert msgs.timestamp.tolist() == [T0 + 120, T0 + 120, T0, T0 + 60]
    assert msgs.segment_starts.tolist() == [0, 2]
    assert msgs.conversations.tolist() == ["c1", "c2"]
    # source_row maps every column back to the input row it came from.
    for name in ("sender_id", "recipient_id", "sender_age", "recipient_tz_offset_min"):
        np.testing.assert_array_equal(
            getattr(msgs, name), np.asarray(events[name])[msgs.source_row], err_msg=name
        )
    assert msgs.channel.tolist() == [Channel.PUBLIC, Channel.DIRECT, Channel.GROUP, Channel.DIRECT]
    assert msgs.event.tolist() == [
        EventType.CONTACT_REQUEST,
        EventType.MEDIA,
        EventType.MESSAGE,
        EventType.MESSAGE,
    ]


def test_message_table_passes_through_unchanged() -> None:
    msgs = rs.read_messages(valid_events())
    assert rs.read_messages(msgs) is msgs


# ---------------------------------------------------------------- input kinds


def test_dict_of_numpy_arrays_equals_dict_of_lists() -> None:
    events = valid_events()
    arrays = {name: np.asarray(values) for name, values in events.items()}
    assert_same_table(rs.read_messages(arrays), rs.read_messages(events))


def test_pandas_dataframe() -> None:
    events = valid_events()
    assert_same_table(rs.read_messages(pd.DataFrame(events)), rs.read_messages(events))


def test_pandas_tz_aware_datetime_column_is_converted_to_utc_epoch() -> None:
    events = valid_events()
    frame = pd.DataFrame(events)
    utc = pd.to_datetime(pd.Series(events["timestamp"]), unit="s", utc=True)
    frame["timestamp"] = utc.dt.tz_convert("America/New_York")

    assert_same_table(rs.read_messages(frame), rs.read_messages(events))


def test_pandas_naive_datetime_column_is_refused_row_by_row() -> None:
    frame = pd.DataFrame(valid_events())
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s")  # no time zone

    with pytest.raises(rs.SchemaError, match="without a UTC offset") as info:
        rs.read_messages(frame)
    assert info.value.column == "timestamp"
    assert info.value.row == 0
    # the message quotes the cell as text, not a Timestamp(...) repr
    assert "row 0: '2024-05-01 00:01:00' is a date and time" in str(info.value)
    # quarantine: per row, the other rows are kept
    frame.loc[1, "timestamp"] = pd.NaT
    mixed = frame.astype({"timestamp": object})
    mixed.loc[2, "timestamp"] = T0 + 120
    msgs = rs.read_messages(mixed, errors="quarantine")
    assert len(msgs) == 1
    assert msgs.quarantined.row.tolist() == [0, 1, 3]
    assert "without a UTC offset" in msgs.quarantined.reason[0]


def test_pyarrow_table_and_record_batch() -> None:
    events = valid_events()
    expected = rs.read_messages(events)
    table = pa.table(events)

    assert_same_table(rs.read_messages(table), expected)
    assert_same_table(rs.read_messages(table.to_batches()[0]), expected)


def test_pyarrow_tz_aware_timestamp_and_dictionary_columns() -> None:
    events = valid_events()
    table = pa.table(
        {
            **events,
            "timestamp": pa.array(
                [t * 1000 for t in events["timestamp"]], pa.timestamp("ms", tz="+02:00")
            ),
            "channel": pa.array(events["channel"]).dictionary_encode(),
        }
    )
    assert_same_table(rs.read_messages(table), rs.read_messages(events))


def test_bad_and_null_cells_of_dictionary_columns_are_shown_as_given() -> None:
    events = valid_events()
    channels = pa.array(["direct", "Telepathy", None, "public"]).dictionary_encode()
    table = pa.table({**events, "channel": channels})
    msgs = rs.read_messages(table, errors="quarantine")
    assert msgs.quarantined.row.tolist() == [1, 2]
    assert msgs.quarantined.column == ("channel", "channel")
    assert msgs.quarantined.value == ("Telepathy", None)  # as read, not repr-quoted
    assert "not recognised" in msgs.quarantined.reason[0]
    assert "missing" in msgs.quarantined.reason[1]
    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(table)
    assert (info.value.column, info.value.row, info.value.value) == ("channel", 1, "Telepathy")


def test_pyarrow_naive_timestamp_column_is_refused_row_by_row() -> None:
    events = valid_events()
    table = pa.table({**events, "timestamp": pa.array(events["timestamp"], pa.timestamp("s"))})
    with pytest.raises(rs.SchemaError, match="without a UTC offset") as info:
        rs.read_messages(table)
    assert (info.value.column, info.value.row) == ("timestamp", 0)
    assert "row 0: '2024-05-01 00:01:00' is a date and time" in str(info.value)
    msgs = rs.read_messages(table, errors="quarantine")
    assert len(msgs) == 0
    assert len(msgs.quarantined) == 4
    assert msgs.quarantined.value[0] == "2024-05-01 00:01:00"


@pytest.mark.parametrize(
    ("column", "expected", "missing"),
    [
        (pa.array([dt.time(3, 20)] * 4, pa.time32("s")), "'03:20:00'", "without a date"),
        (pa.array([dt.date(2024, 5, 1)] * 4, pa.date32()), "'2024-05-01'", "without a time"),
    ],
)
def test_arrow_times_and_dates_without_the_rest_are_refused_per_row(
    column: pa.Array, expected: str, missing: str
) -> None:
    table = pa.table({**valid_events(), "timestamp": column})
    with pytest.raises(rs.SchemaError, match=missing) as info:
        rs.read_messages(table)
    assert f"row 0: {expected}" in str(info.value)
    msgs = rs.read_messages(table, errors="quarantine")
    assert msgs.quarantined.value == (expected.strip("'"),) * 4  # the value as read
    assert all(missing in why for why in msgs.quarantined.reason)


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("03:20", "a time of day without a date and UTC offset"),
        ("3:20:15", "a time of day without a date and UTC offset"),
        ("03:20+02:00", "a time of day without a date:"),
        ("2024-05-01T03:20:00", "a date and time without a UTC offset"),
        ("2024-05-01 03:20", "a date and time without a UTC offset"),
        ("2024-05-01", "a date without a time and UTC offset"),
    ],
)
def test_incomplete_timestamp_text_says_what_is_missing(
    tmp_path: Path, text: str, missing: str
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel\n"
        f"7,{T0},10,20,direct\n"
        f"7,{text},20,10,direct\n",
        encoding="utf-8",
    )
    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(path)
    assert f"row 1 (line 3): {text!r} is {missing}" in str(info.value)
    msgs = rs.read_messages(path, errors="quarantine")
    assert len(msgs) == 1  # the row with a full timestamp is kept
    assert msgs.quarantined.value == (text,)  # the value as read
    assert msgs.quarantined.line.tolist() == [3]
    assert missing in msgs.quarantined.reason[0]


def test_csv_file(tmp_path: Path) -> None:
    events = valid_events()
    path = tmp_path / "events.csv"
    pacsv.write_csv(pa.table(events), path)

    assert_same_table(rs.read_messages(path), rs.read_messages(events))
    assert_same_table(rs.read_messages(str(path)), rs.read_messages(events))


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json"])
def test_json_lines_file(tmp_path: Path, suffix: str) -> None:
    events = valid_events()
    path = write_jsonl(tmp_path / f"events{suffix}", events)
    assert_same_table(rs.read_messages(path), rs.read_messages(events))


def test_parquet_file(tmp_path: Path) -> None:
    events = valid_events()
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table(events), path)
    assert_same_table(rs.read_messages(path), rs.read_messages(events))


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_write_then_read_round_trip(tmp_path: Path, suffix: str) -> None:
    msgs = rs.read_messages(valid_events())
    path = rs.write_messages(msgs, tmp_path / f"events{suffix}")
    again = rs.read_messages(path)
    got, want = again.columns(decoded=False), msgs.columns(decoded=False)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_csv_with_empty_age_cell_reads_unknown_age(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel,sender_age\n"
        f"7,{T0},10,20,direct,\n"
        f"7,{T0 + 60},20,10,direct,13\n",
        encoding="utf-8",
    )
    msgs = rs.read_messages(path)
    assert msgs.sender_id.tolist() == ["10", "20"]  # CSV ids are text: "007" is not "7"
    assert math.isnan(msgs.sender_age[0])
    assert msgs.sender_age[1] == 13.0


def test_csv_with_empty_event_cell_reads_the_default_event(tmp_path: Path) -> None:
    # schema.OPTIONAL_COLUMNS: "the value a missing column or an empty cell takes".
    path = tmp_path / "events.csv"
    path.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel,event\n"
        f"7,{T0},10,20,direct,\n"
        f"7,{T0 + 60},20,10,direct,media\n",
        encoding="utf-8",
    )
    msgs = rs.read_messages(path)
    assert msgs.event.tolist() == [EventType.MESSAGE, EventType.MEDIA]


def test_unknown_file_suffix_is_a_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "events.xlsx"
    path.write_text("not read", encoding="utf-8")
    with pytest.raises(rs.SchemaError, match=r"\.parquet"):
        rs.read_messages(path)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        rs.read_messages(tmp_path / "absent.parquet")


def test_unsupported_source_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="file path"):
        rs.read_messages([1, 2, 3])


def test_errors_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="'raise' or 'quarantine'"):
        rs.read_messages(valid_events(), errors="ignore")  # type: ignore[arg-type]


# ---------------------------------------------------------------- ids


def test_integer_ids_stay_integers() -> None:
    events = valid_events()
    events["conversation_id"] = [2, 1, 2, 1]
    events["sender_id"] = [10, 20, 11, 21]
    events["recipient_id"] = [11, 21, 10, 20]
    msgs = rs.read_messages(events)
    assert msgs.conversation_id.dtype == np.int64
    assert msgs.sender_id.dtype == np.int64
    assert msgs.accounts.tolist() == [10, 11, 20, 21]
    assert msgs.conversation_id.tolist() == [1, 1, 2, 2]


def test_string_ids_stay_strings() -> None:
    msgs = rs.read_messages(valid_events())
    assert msgs.sender_id.dtype == object  # str objects: memory follows the data
    assert all(type(v) is str for v in msgs.sender_id)
    assert msgs.accounts.tolist() == ["a", "b", "x", "y"]


def test_int_senders_and_str_recipients_are_refused_not_merged() -> None:
    # one account space: 1 and "1" are two ids as given, as within one column
    events = valid_events()
    events["sender_id"] = [1, 2, 3, 4]
    events["recipient_id"] = ["3", "4", "1", "2"]
    with pytest.raises(rs.SchemaError, match=r"'recipient_id', row 0: '3' is text while"):
        rs.read_messages(events)
