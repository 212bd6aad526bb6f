"""Hostile review 27: pandas categoricals whose categories are not text, and channel bytes
read apart from the other rows' bytes.

Each test failed on the code before its fix."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from _read_outcome import read_outcome

import riskscore as rs

T0 = 1_767_225_600  # 2026-01-01


def _frame(**columns: Any) -> pd.DataFrame:
    base: dict[str, Any] = {
        "conversation_id": [1, 1, 2],
        "timestamp": [T0, T0 + 60, T0 + 120],
        "sender_id": [10, 20, 30],
        "recipient_id": [20, 10, 40],
        "channel": ["direct", "direct", "group"],
    }
    base.update(columns)
    return pd.DataFrame(base)


# (column, values): categories of ints and text, of periods (numbers of months to Arrow),
# of a negative integer beyond int64, of intervals, complex numbers and tuples
_NOT_TEXT = [
    ("channel", ["direct", 1, "direct"]),
    ("sender_id", ["a", 1, "b"]),
    ("sender_id", list(pd.period_range("2024-01", periods=3, freq="M"))),
    ("sender_id", [-(2**63) - 1, 5, 6]),
    ("sender_id", list(pd.interval_range(0, 3))),
    ("sender_id", [1j, 2j, 1j]),
    ("sender_id", [(1,), (2,), (1,)]),
    ("conversation_id", [Decimal(1), Decimal(1), Decimal(2)]),
]


@pytest.mark.parametrize("errors", ["raise", "quarantine"])
@pytest.mark.parametrize(("column", "values"), _NOT_TEXT)
def test_a_categorical_of_values_that_are_not_text_reads_as_those_values(
    column: str, values: list[Any], errors: str
) -> None:
    """Was: a pandas categorical channel, event or id column was handed to Arrow whatever
    its categories: categories of text and integers stopped the read with pyarrow's
    ArrowInvalid, of intervals, complex numbers or tuples with ArrowNotImplementedError, a
    negative id beyond int64 with OverflowError, and a Period became its number of months
    since 1970 (Period('2024-01') read as the id 648) instead of being refused."""
    plain = _frame(**{column: pd.Series(values, dtype=object)})
    categorical = _frame(**{column: pd.Series(values, dtype=object).astype("category")})
    assert read_outcome(categorical, errors=errors) == read_outcome(plain, errors=errors)


def test_a_categorical_of_text_with_unknown_and_unused_categories_reads_as_its_text() -> None:
    """A guard that passed before: text categories keep the dictionary path, unused ones
    are not read, an unknown one used is named by row."""
    used = ["direct", "whatsapp", "direct"]
    values = pd.Categorical(used, categories=["direct", "whatsapp", "x"])
    plain = _frame(channel=pd.Series(used, dtype=object))
    assert read_outcome(_frame(channel=values)) == read_outcome(plain)
    assert read_outcome(_frame(channel=values), errors="quarantine") == read_outcome(
        plain, errors="quarantine"
    )


@pytest.mark.parametrize(
    "kind", [pa.binary(), pa.large_binary(), pa.binary_view()], ids=["binary", "large", "view"]
)
def test_a_channel_in_bytes_is_read_apart_from_the_other_rows_bytes(kind: pa.DataType) -> None:
    """Was: channels given as bytes were read as their UTF-8 text (b"direct" as "direct")
    only while every row's bytes were UTF-8: one row of other bytes (b"\\xff") turned every
    row's value into its repr, so b"direct" was "not recognised" on all rows and the
    quarantine set aside the valid rows with the invalid one."""
    alone = pa.array([b"direct", b"direct", b"group"], kind)
    beside = pa.array([b"direct", b"direct", b"\xff"], kind)
    frame = _frame()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    index = table.schema.get_field_index("channel")
    assert read_outcome(table.set_column(index, "channel", alone))[0] == "table"
    _, (columns, held) = read_outcome(
        table.set_column(index, "channel", beside), errors="quarantine"
    )
    assert held[0] == [2]
    assert columns["channel"] == repr(["direct", "direct"])
    with pytest.raises(rs.SchemaError, match=r"column 'channel', row 2: b'\\xff' is not recog"):
        rs.read_messages(table.set_column(index, "channel", beside), max_future_s=float("inf"))
    # the same in a dict of Python bytes
    events = dict(frame)
    events["channel"] = np.asarray([b"direct", b"direct", b"\xff"], dtype=object)
    with pytest.raises(rs.SchemaError, match=r"column 'channel', row 2: b'\\xff' is not recog"):
        rs.read_messages(events, max_future_s=float("inf"))


def test_dates_stay_refused_as_ids_in_a_categorical() -> None:
    """A guard that passed before: a categorical of dates is refused as its values."""
    dates = [dt.datetime(2024, 1, 1)] * 3
    kind, (message, column, row) = read_outcome(_frame(sender_id=pd.Categorical(dates)))
    assert (kind, column, row) == ("error", "sender_id", 0)
    assert "is not an id" in message


@pytest.mark.parametrize("column", ["channel", "sender_id"])
def test_a_categorical_of_missing_cells_only_is_named_as_text_missing_cells_are(
    column: str,
) -> None:
    """Was: a categorical whose every cell is missing has no categories, which pandas types
    as floats: its cells were read as NaN ("nan is missing"), where the same cells of an
    Arrow dictionary, a text column or a categorical with categories are None ("None is
    missing"); tests/test_text_categories.py's hypothesis test failed when it drew one."""
    frame = _frame()
    frame[column] = pd.Series([None, None, None], dtype="category")
    kind, (message, name, row) = read_outcome(frame)
    assert (kind, name, row) == ("error", column, 0)
    assert message.startswith(f"column {column!r}, row 0: None is missing")
    as_text = _frame()
    as_text[column] = pd.Series([None, None, None], dtype=object)
    assert read_outcome(frame) == read_outcome(as_text)
