"""An integer column with empty cells is quoted as the integers it holds.

numpy holds such a column as floats (NaN for the empty cells); an error and a quarantine
record used to quote a refused value as that float (``300.0`` for an age given as 300, a
time-zone offset of ``5.0``), where the caller's table, file or frame shows ``300``. A
float column keeps its floats. All data is synthetic.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.exceptions import SchemaError


def _table(column: str, bad: int) -> pa.Table:
    values = {"sender_age": [30, None, bad], "recipient_tz_offset_min": [60, None, bad]}
    return pa.table(
        {
            "conversation_id": [1, 1, 1],
            "timestamp": [1_700_000_000, 1_700_000_100, 1_700_000_200],
            "sender_id": ["a", "b", "a"],
            "recipient_id": ["b", "a", "b"],
            "channel": ["direct", "direct", "direct"],
            column: pa.array(values[column], pa.int16()),
        }
    )


def _source(kind: str, table: pa.Table, tmp_path: Path) -> Any:
    if kind == "arrow":
        return table
    if kind == "pandas Int64":
        return table.to_pandas(types_mapper={pa.int16(): pd.Int64Dtype()}.get)
    if kind == "pandas Arrow":
        return table.to_pandas(types_mapper=pd.ArrowDtype)
    path = tmp_path / f"events.{kind}"
    if kind == "parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
    return path


KINDS = ("arrow", "pandas Int64", "pandas Arrow", "parquet", "csv")
CASES = (("sender_age", 300), ("recipient_tz_offset_min", 5))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("column", "bad"), CASES)
def test_a_refused_integer_is_quoted_as_given(
    kind: str, column: str, bad: int, tmp_path: Path
) -> None:
    source = _source(kind, _table(column, bad), tmp_path)
    with pytest.raises(SchemaError) as caught:
        rs.read_messages(source)
    assert re.search(rf"column {column!r}, row 2( \(line 4\))?: {bad} is ", str(caught.value))
    assert f"{bad}.0" not in str(caught.value)
    assert caught.value.value == bad
    assert type(caught.value.value) is int
    record = rs.read_messages(source, errors="quarantine").quarantined
    assert record.value == (bad,)
    assert type(record.value[0]) is int


def test_a_float_column_keeps_its_floats() -> None:
    table = _table("sender_age", 300)
    floats = table.set_column(5, "sender_age", table["sender_age"].cast(pa.float64()))
    with pytest.raises(SchemaError, match=r"row 2: 300\.0 is "):
        rs.read_messages(floats)


@pytest.mark.parametrize("kind", KINDS)
def test_an_integer_beyond_2_53_is_never_quoted_as_another_integer(
    kind: str, tmp_path: Path
) -> None:
    """Was: 2**53 + 1 (an age, in a column with an empty cell) was quoted as the integer
    9007199254740992, the float numpy holds it as: a value the input never held, given as
    exact. Beyond 2**53 the float is quoted as the float it is."""
    bad = 2**53 + 1
    table = _table("sender_age", 300)
    column = pa.array([30, None, bad], pa.int64())
    source = _source(kind, table.set_column(5, "sender_age", column), tmp_path)
    with pytest.raises(SchemaError) as caught:
        rs.read_messages(source)
    assert f": {2**53} is " not in str(caught.value)
    assert caught.value.value == bad or type(caught.value.value) is not int
    (value,) = rs.read_messages(source, errors="quarantine").quarantined.value
    assert value == bad or type(value) is not int
