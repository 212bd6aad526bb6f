"""Bad input to :func:`riskscore.read_messages`: each bad cell raises a ``SchemaError``
naming column, row and value, or is quarantined with a reason; missing, content and
misshapen columns are refused. All events are synthetic.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_helpers import (
    T0,
    iso,
    valid_events,
)

import riskscore as rs

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


def test_a_clock_in_milliseconds_is_named_in_the_message() -> None:
    """Was: epoch milliseconds (a JavaScript or Kafka clock) read "is out of range:
    expected epoch seconds from 1970 up to 2200 (UTC)", which names the unit but not the
    likely slip; the message now says what to do with milliseconds."""
    events = valid_events()
    events["timestamp"] = [t * 1000 for t in events["timestamp"]]
    with pytest.raises(rs.SchemaError, match=r"if the clock counts milliseconds, divide by 1000"):
        rs.read_messages(events)
    with pytest.raises(rs.SchemaError, match=r"if the clock counts milliseconds, divide by 1000"):
        rs.OnlineScorer(rs.load_model()).update_one({k: v[0] for k, v in events.items()})


@pytest.mark.parametrize(("separator", "said"), [(";", "';'"), ("\t", "tabs")])
def test_a_csv_with_another_separator_says_so(tmp_path: Path, separator: str, said: str) -> None:
    """Was: a CSV separated by ';' (a spreadsheet's export in many locales) was refused
    as missing every column, found ['conversation_id;timestamp;sender_id;r'...]."""
    path = tmp_path / "events.csv"
    header = separator.join(
        ["conversation_id", "timestamp", "sender_id", "recipient_id", "channel"]
    )
    path.write_text(f"{header}\n1{separator}{T0}{separator}a{separator}b{separator}direct\n")
    with pytest.raises(rs.SchemaError, match=f"separated by {said}: riskscore reads comma-sep"):
        rs.read_messages(path)
