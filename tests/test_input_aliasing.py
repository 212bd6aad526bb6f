"""A validated table does not change when the caller changes the arrays it was read from.

Reading keeps a column without a copy where it can (a sorted input, a column already of
its final type); an array the caller can still write is copied, so that a value changed
after reading cannot enter a table that was validated without it. Arrays Arrow lends
(read-only, as from a Parquet file) are kept as they are.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import riskscore as rs


@pytest.fixture
def columns() -> dict[str, np.ndarray]:
    """A sorted table as the caller's own writable numpy arrays."""
    return {
        "conversation_id": np.array([1, 1, 2, 2], dtype=np.int64),
        "sender_id": np.array([10, 11, 12, 13], dtype=np.int64),
        "recipient_id": np.array([11, 10, 13, 12], dtype=np.int64),
        "timestamp": np.array([100, 200, 300, 400], dtype=np.int64) + 1_700_000_000,
        "channel": np.array(["direct"] * 4),
        "event": np.array(["message"] * 4),
        "sender_age": np.array([34.0, 12.0, 15.0, 14.0]),
        "recipient_age": np.array([12.0, 34.0, 14.0, 15.0]),
        "recipient_tz_offset_min": np.array([60, 60, 0, 0], dtype=np.int64),
    }


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("timestamp", -(2**62)),  # a time no reader accepts
        ("sender_age", 500.0),  # an age no reader accepts
        ("recipient_tz_offset_min", 10_000),
        ("sender_id", 11),  # now the recipient too: two accounts merged
        ("conversation_id", 2),  # the table's conversation runs broken
    ],
)
def test_changing_an_input_array_after_reading_leaves_the_table_as_validated(
    columns: dict[str, np.ndarray], column: str, value: object
) -> None:
    table = rs.read_messages(columns)
    before = {name: np.array(values, copy=True) for name, values in table.columns().items()}
    columns[column][0] = value
    after = table.columns()
    for name, values in before.items():
        np.testing.assert_array_equal(after[name], values, err_msg=name)


def test_arrays_lent_by_arrow_are_not_copied(columns: dict[str, np.ndarray]) -> None:
    arrow = pa.table(columns)
    lent = arrow.column("timestamp").chunk(0).to_numpy(zero_copy_only=True)
    table = rs.read_messages(arrow)
    assert np.shares_memory(table.timestamp, lent)


def test_read_only_text_id_columns_are_read_and_left_alone() -> None:
    """pandas (copy-on-write) lends an object column read-only: reading its text ids
    wrote into it (and failed) since ids all text were no longer checked cell by cell."""
    frame = rs.synthetic.generate(30, seed=1).messages.to_pandas()
    for name in ("conversation_id", "sender_id", "recipient_id"):
        frame[name] = ("acct-" + frame[name].astype(str)).astype(object)
    lent = frame["sender_id"].to_numpy()
    assert not lent.flags.writeable
    table = rs.read_messages(frame)
    assert len(table) == len(frame)
    assert set(table.sender_id.tolist()) == set(frame["sender_id"])
