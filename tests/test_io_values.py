"""Values as :func:`riskscore.read_messages` reads them: timestamps in every form (to UTC
epoch seconds), and the defaults of the optional columns. All events are synthetic.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from io_helpers import (
    H2130,
    T0,
    assert_same_table,
    required_only,
    valid_events,
    write_jsonl,
)

import riskscore as rs
from riskscore.io.schema import EventType

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
    events["timestamp"] = [946_684_800, T0, 7_258_118_399, T0]  # 2000-01-01: the earliest
    msgs = rs.read_messages(events, max_future_s=math.inf)  # 2199 on purpose
    assert sorted(msgs.recipient_tz_offset_min.tolist()) == [-720, 0, 345, 840]
    assert sorted(msgs.timestamp.tolist()) == [946_684_800, T0, T0, 7_258_118_399]


def test_empty_input_gives_an_empty_table() -> None:
    msgs = rs.read_messages({name: [] for name in required_only(valid_events())})
    assert len(msgs) == 0
    assert msgs.n_conversations == 0
