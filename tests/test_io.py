"""Tests for :func:`riskscore.read_messages` (riskscore/io/).

All events are synthetic. Timestamps are built from ``T0`` = 2024-05-01T00:00:00Z
so that expected UTC epochs can be checked by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.io.schema import Channel, EventType

Events = dict[str, list[Any]]

#: 2024-05-01T00:00:00Z in epoch seconds.
T0 = 1_714_521_600
#: 21:30 after T0, in seconds (21 * 3600 + 30 * 60).
H2130 = 77_400


def valid_events() -> Events:
    """Four valid events in two conversations, deliberately out of order.

    Sorted by (conversation, time, input order) they are rows 1, 3, 2, 0:
    c1 has rows 1 and 3 at the same instant (input order breaks the tie),
    c2 has row 2 at T0 and row 0 a minute later.
    """
    return {
        "conversation_id": ["c2", "c1", "c2", "c1"],
        "timestamp": [T0 + 60, T0 + 120, T0, T0 + 120],
        "sender_id": ["x", "a", "y", "b"],
        "recipient_id": ["y", "b", "x", "a"],
        "sender_age": [34.0, 14.0, 13.0, 41.0],
        "recipient_age": [13.0, 41.0, 34.0, 14.0],
        "channel": ["direct", "public", "group", "direct"],
        "event": ["message", "contact_request", "message", "media"],
        "recipient_tz_offset_min": [60, 0, -300, 330],
    }


SORTED_ORDER = [1, 3, 2, 0]


def required_only(events: Events) -> Events:
    """The same events with only the required schema columns."""
    keep = ("conversation_id", "timestamp", "sender_id", "recipient_id", "channel")
    return {name: events[name] for name in keep}


def iso(epoch: int) -> str:
    """``epoch`` as ISO 8601 text in UTC with a ``Z`` suffix (T0-relative, same day)."""
    seconds = epoch - T0
    assert 0 <= seconds < 86_400
    hours, rest = divmod(seconds, 3_600)
    return f"2024-05-01T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


def assert_same_table(got: rs.MessageTable, expected: rs.MessageTable) -> None:
    """Two tables hold the same events, in the same order, with the same provenance."""
    assert len(got) == len(expected)
    got_cols = got.columns(decoded=False)
    for name, want in expected.columns(decoded=False).items():
        np.testing.assert_array_equal(got_cols[name], want, err_msg=name)
    np.testing.assert_array_equal(got.source_row, expected.source_row)
    np.testing.assert_array_equal(got.segment_starts, expected.segment_starts)


def write_jsonl(path: Path, events: Events) -> Path:
    names = list(events)
    with path.open("w", encoding="utf-8") as fh:
        for values in zip(*(events[n] for n in names), strict=True):
            fh.write(json.dumps(dict(zip(names, values, strict=True))) + "\n")
    return path


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


# ---------------------------------------------------------------- timestamps


def test_float32_timestamps_are_refused_not_rounded_by_minutes() -> None:
    events = required_only(valid_events())
    events["timestamp"] = np.asarray(events["timestamp"], dtype=np.float32)
    with pytest.raises(rs.SchemaError, match=r"'timestamp', row 0: .* is a 32-bit float"):
        rs.read_messages(events)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2024-05-01T21:30:00Z", T0 + H2130, id="Z"),
        pytest.param("2024-05-01 21:30:00Z", T0 + H2130, id="space-separator"),
        # 21:30 at UTC+02:00 is 19:30 UTC: subtract 2 * 3600.
        pytest.param("2024-05-01T21:30:00+02:00", T0 + H2130 - 7_200, id="+02:00"),
        # 21:30 at UTC+05:30 is 16:00 UTC: subtract 5.5 * 3600 = 19800.
        pytest.param("2024-05-01T21:30:00+0530", T0 + H2130 - 19_800, id="+0530"),
        # 21:30 at UTC-05:00 is 02:30 UTC the next day: add 5 * 3600.
        pytest.param("2024-05-01T21:30:00-05:00", T0 + H2130 + 18_000, id="-05:00"),
        # Fractions of a second are floored.
        pytest.param("2024-05-01T21:30:00.750Z", T0 + H2130, id="fraction"),
        pytest.param(str(T0 + 5), T0 + 5, id="digits"),
        # as a JSON or Parquet float gives it (a CSV cell is text)
        pytest.param(f"{T0 + 5}.0", T0 + 5, id="digits-point-zero"),
        pytest.param(f"{T0 + 5}.9", T0 + 5, id="digits-fraction-floored"),
    ],
)
def test_text_timestamps_give_utc_epoch_seconds(text: str, expected: int) -> None:
    events = required_only(valid_events())
    events["timestamp"] = [text] * 4
    assert rs.read_messages(events).timestamp.tolist() == [expected] * 4


def test_epoch_floats_are_floored_to_seconds() -> None:
    events = required_only(valid_events())
    events["timestamp"] = [T0 + 60.9, T0 + 120.0, T0 + 0.5, T0 + 120.25]
    msgs = rs.read_messages(events)
    assert msgs.timestamp.dtype == np.int64
    assert msgs.timestamp.tolist() == [T0 + 120, T0 + 120, T0, T0 + 60]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_iso_timestamps_with_offsets_in_text_files(tmp_path: Path, suffix: str) -> None:
    events = required_only(valid_events())
    events["timestamp"] = [
        "2024-05-01T21:30:00+02:00",  # T0 + 77400 - 7200
        "2024-05-01T21:30:00Z",  # T0 + 77400
        "2024-05-01T21:30:00+0530",  # T0 + 77400 - 19800
        "2024-05-01T21:31:00Z",  # T0 + 77460
    ]
    path = tmp_path / f"events{suffix}"
    if suffix == ".csv":
        pacsv.write_csv(pa.table(events), path)
    else:
        write_jsonl(path, events)

    msgs = rs.read_messages(path)
    # c1 = rows 1, 3; c2 = rows 2, 0 (row 2 at 16:00 UTC is before row 0 at 19:30 UTC).
    assert msgs.source_row.tolist() == [1, 3, 2, 0]
    assert msgs.timestamp.tolist() == [
        T0 + H2130,
        T0 + H2130 + 60,
        T0 + H2130 - 19_800,
        T0 + H2130 - 7_200,
    ]


# ---------------------------------------------------------------- defaults


def test_missing_optional_columns_take_their_defaults() -> None:
    msgs = rs.read_messages(required_only(valid_events()))
    assert np.isnan(msgs.sender_age).all()
    assert np.isnan(msgs.recipient_age).all()
    assert (msgs.event == EventType.MESSAGE).all()
    # an unknown time zone is unknown, never UTC; no room size: events between two accounts
    assert (msgs.recipient_tz_offset_min == rs.io.schema.TZ_UNKNOWN).all()
    assert (msgs.room_size == 0).all()
    assert "room_size" not in msgs.columns()
    assert msgs.columns()["recipient_tz_offset_min"].tolist() == [None] * 4


def test_empty_optional_cells_take_their_defaults() -> None:
    events = valid_events()
    events["sender_age"] = [34.0, None, 13.0, 41.0]
    events["recipient_age"] = [13.0, 41.0, float("nan"), 14.0]
    events["event"] = ["message", None, "message", "media"]
    events["recipient_tz_offset_min"] = [60, 0, None, 330]
    msgs = rs.read_messages(events)
    by_row = np.argsort(msgs.source_row)  # position of each input row in the table
    assert math.isnan(msgs.sender_age[by_row[1]])
    assert math.isnan(msgs.recipient_age[by_row[2]])
    assert msgs.event[by_row[1]] == EventType.MESSAGE
    assert msgs.recipient_tz_offset_min[by_row[2]] == rs.io.schema.TZ_UNKNOWN
    assert msgs.recipient_tz_offset_min[by_row[1]] == 0  # a given 0 is UTC


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_unknown_time_zones_and_room_sizes_survive_a_round_trip(
    tmp_path: Path, suffix: str
) -> None:
    events = valid_events()
    events["recipient_tz_offset_min"] = [60, None, 0, None]
    events["room_size"] = [None, 3, None, None]
    msgs = rs.read_messages(events)
    path = rs.write_messages(msgs, tmp_path / f"events{suffix}")
    again = rs.read_messages(path)
    np.testing.assert_array_equal(again.recipient_tz_offset_min, msgs.recipient_tz_offset_min)
    np.testing.assert_array_equal(again.room_size, msgs.room_size)
    by_row = np.argsort(msgs.source_row)
    for table in (msgs, again):
        assert table.columns()["recipient_tz_offset_min"][by_row].tolist() == [60, None, 0, None]
        assert table.columns()["room_size"][by_row].tolist() == [None, 3, None, None]


def test_channel_and_event_names_ignore_case_and_surrounding_space() -> None:
    events = valid_events()
    events["channel"] = ["Direct", " PUBLIC ", "group", "direct"]
    events["event"] = ["MESSAGE", "contact_request", "Message", " media"]
    assert_same_table(rs.read_messages(events), rs.read_messages(valid_events()))


def test_extreme_but_valid_values_are_accepted() -> None:
    events = valid_events()
    events["recipient_tz_offset_min"] = [-720, 840, 0, 345]
    events["sender_age"] = [0.0, 120.0, 13.5, 41.0]
    events["timestamp"] = [0, T0, 7_258_118_399, T0]
    msgs = rs.read_messages(events, max_future_s=math.inf)  # 2199 on purpose
    assert sorted(msgs.recipient_tz_offset_min.tolist()) == [-720, 0, 345, 840]
    assert sorted(msgs.timestamp.tolist()) == [0, T0, T0, 7_258_118_399]


def test_empty_input_gives_an_empty_table() -> None:
    msgs = rs.read_messages({name: [] for name in required_only(valid_events())})
    assert len(msgs) == 0
    assert msgs.n_conversations == 0


# ---------------------------------------------------------------- bad input

# (column replaced, its new values, column blamed, bad row, offending value)
BAD_CELLS = [
    pytest.param(
        "sender_age", [34.0, 14.0, "abc", 41.0], "sender_age", 2, "abc", id="age-not-a-number"
    ),
    pytest.param("sender_age", [34.0, 14.0, True, 41.0], "sender_age", 2, True, id="age-boolean"),
    pytest.param("sender_age", [34, 14, -3, 41], "sender_age", 2, -3, id="age-negative"),
    pytest.param("recipient_age", [13, 41, 34, 250], "recipient_age", 3, 250, id="age-absurd"),
    pytest.param("sender_id", [True, False, True, False], "sender_id", 0, True, id="id-boolean"),
    pytest.param(
        "conversation_id", [2.0, 1.0, 2.5, 1.0], "conversation_id", 2, 2.5, id="id-fractional"
    ),
    pytest.param("recipient_id", ["y", "b", None, "a"], "recipient_id", 2, None, id="id-missing"),
    # Row 2 becomes y -> y.
    pytest.param(
        "recipient_id", ["y", "b", "y", "a"], "recipient_id", 2, "y", id="sender-is-recipient"
    ),
    pytest.param("sender_id", ["x", "a", "", "b"], "sender_id", 2, "", id="id-empty"),
    pytest.param(
        "recipient_id", ["y", " \t", "x", "a"], "recipient_id", 1, " \t", id="id-whitespace"
    ),
    pytest.param(
        "conversation_id", ["c1", "c1", "  ", "c2"], "conversation_id", 2, "  ", id="cid-blank"
    ),
    pytest.param("room_size", [None, 1, 3, None], "room_size", 1, 1, id="room-of-one"),
    pytest.param("room_size", [None, 2.5, 3, None], "room_size", 1, 2.5, id="room-fractional"),
    pytest.param(
        "timestamp",
        [T0 + 60, T0 + 120, "yesterday", T0 + 120],
        "timestamp",
        2,
        "yesterday",
        id="ts-text",
    ),
    pytest.param(
        "timestamp",
        [iso(T0 + 60), iso(T0 + 120), "2024-05-01T21:30:00", iso(T0 + 120)],
        "timestamp",
        2,
        "2024-05-01T21:30:00",
        id="ts-iso-without-offset",
    ),
    pytest.param(
        "timestamp",
        [iso(T0 + 60), iso(T0 + 120), "2024-13-01T00:00:00Z", iso(T0 + 120)],
        "timestamp",
        2,
        "2024-13-01T00:00:00Z",
        id="ts-iso-month-13",
    ),
    pytest.param(
        "timestamp",
        [iso(T0 + 60), iso(T0 + 120), "2200-01-01T00:00:00Z", iso(T0 + 120)],
        "timestamp",
        2,
        "2200-01-01T00:00:00Z",
        id="ts-iso-year-2200",
    ),
    pytest.param(
        "timestamp", [T0 + 60, T0 + 120, -1, T0 + 120], "timestamp", 2, -1, id="ts-before-1970"
    ),
    pytest.param(
        "timestamp",
        [T0 + 60, T0 + 120, 7_258_118_400, T0 + 120],
        "timestamp",
        2,
        7_258_118_400,
        id="ts-year-2200",
    ),
    pytest.param(
        "timestamp",
        np.array([T0 + 60, T0 + 120, 2**64 - 1, T0 + 120], dtype=np.uint64),
        "timestamp",
        2,
        2**64 - 1,
        id="ts-uint64-beyond-int64",
    ),
    pytest.param(
        "timestamp", [T0 + 60, T0 + 120, None, T0 + 120], "timestamp", 2, None, id="ts-missing"
    ),
    pytest.param("timestamp", [True, False, True, False], "timestamp", 0, True, id="ts-boolean"),
    pytest.param(
        "channel",
        ["direct", "public", "carrier_pigeon", "direct"],
        "channel",
        2,
        "carrier_pigeon",
        id="channel-unknown",
    ),
    pytest.param(
        "channel", ["direct", "public", None, "direct"], "channel", 2, None, id="channel-missing"
    ),
    pytest.param(
        "event",
        ["message", "contact_request", "wink", "media"],
        "event",
        2,
        "wink",
        id="event-unknown",
    ),
    pytest.param(
        "recipient_tz_offset_min",
        [60, 0, 900, 330],
        "recipient_tz_offset_min",
        2,
        900,
        id="tz-above-840",
    ),
    pytest.param(
        "recipient_tz_offset_min",
        [60, 0, -721, 330],
        "recipient_tz_offset_min",
        2,
        -721,
        id="tz-below-minus-720",
    ),
    pytest.param(
        "recipient_tz_offset_min",
        np.array([60, 0, 2**64 - 60, 330], dtype=np.uint64),
        "recipient_tz_offset_min",
        2,
        2**64 - 60,
        id="tz-uint64-beyond-int64",
    ),
    pytest.param(
        "recipient_tz_offset_min",
        [60, 0, 30.5, 330],
        "recipient_tz_offset_min",
        2,
        30.5,
        id="tz-fractional",
    ),
    pytest.param(
        "recipient_tz_offset_min",
        [60, 0, "abc", 330],
        "recipient_tz_offset_min",
        2,
        "abc",
        id="tz-not-a-number",
    ),
]
BAD_CELL_ARGS = ("replaced", "values", "blamed", "row", "value")


def is_missing_value(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@pytest.mark.parametrize(BAD_CELL_ARGS, BAD_CELLS)
def test_bad_cell_raises_schema_error_naming_column_row_and_value(
    replaced: str, values: list[Any], blamed: str, row: int, value: object
) -> None:
    events = valid_events()
    events[replaced] = values

    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(events)

    err = info.value
    assert (err.column, err.row) == (blamed, row)
    if value is None:
        assert is_missing_value(err.value)
    else:
        assert err.value == value
    assert f"column {blamed!r}, row {row}:" in str(err)


@pytest.mark.parametrize(BAD_CELL_ARGS, BAD_CELLS)
def test_bad_cell_is_quarantined_with_a_reason(
    replaced: str, values: list[Any], blamed: str, row: int, value: object
) -> None:
    events = valid_events()
    events[replaced] = values

    msgs = rs.read_messages(events, errors="quarantine")

    bad = msgs.quarantined
    assert row in bad.row.tolist()
    i = bad.row.tolist().index(row)
    assert bad.column[i] == blamed
    assert bad.reason[i]
    if value is not None:
        assert bad.value[i] in (value, str(value))  # as read
    assert len(msgs) + len(bad) == 4
    assert set(msgs.source_row.tolist()).isdisjoint(bad.row.tolist())


def test_each_row_level_problem_is_named_with_the_offending_value_in_the_message() -> None:
    events = valid_events()
    events["sender_age"] = [34.0, 14.0, "abc", 41.0]
    with pytest.raises(rs.SchemaError, match=r"column 'sender_age', row 2: 'abc' is not a number"):
        rs.read_messages(events)


@pytest.mark.parametrize(
    "missing", [("sender_id",), ("timestamp", "channel"), ("conversation_id", "recipient_id")]
)
def test_missing_required_columns_are_listed(missing: tuple[str, ...]) -> None:
    events = valid_events()
    for name in missing:
        del events[name]
    with pytest.raises(rs.SchemaError, match="missing required column") as info:
        rs.read_messages(events)
    for name in missing:
        assert repr(name) in str(info.value)
    assert info.value.column == missing[0]
    assert info.value.row is None


@pytest.mark.parametrize(
    "name", ["text", "body", "content", "message", "Text", "BODY", "Message", " content "]
)
def test_content_columns_are_refused(name: str) -> None:
    events = valid_events()
    events[name] = ["hello"] * 4
    with pytest.raises(rs.SchemaError, match="riskscore reads no message content") as info:
        rs.read_messages(events)
    assert info.value.column == name
    assert info.value.row is None


def test_content_column_is_refused_from_files_too(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({**valid_events(), "Body": ["hello"] * 4}), path)
    with pytest.raises(rs.SchemaError, match="reads no message content"):
        rs.read_messages(path)


def test_columns_of_different_lengths_are_refused() -> None:
    events = valid_events()
    events["channel"] = ["direct", "public", "group"]
    with pytest.raises(rs.SchemaError, match="'channel' has 3 values") as info:
        rs.read_messages(events)
    assert info.value.column == "channel"


def test_two_dimensional_column_is_refused() -> None:
    events: dict[str, Any] = valid_events()
    events["sender_age"] = np.ones((4, 2))
    with pytest.raises(rs.SchemaError, match="one-dimensional"):
        rs.read_messages(events)


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
    assert msgs.groups.describe()[0].startswith("1 group conversation(s)")


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
