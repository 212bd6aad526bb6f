"""Decimal columns, as data warehouses export integers (Snowflake's and BigQuery's
``NUMBER(38, 0)``/``NUMERIC``): read as the numbers they hold, never rounded into another id."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs

ID = pa.decimal128(38, 0)


def events(ids: list[Decimal | None], id_type: pa.DataType = ID, **columns: pa.Array) -> pa.Table:
    n = len(ids)
    base = {
        "conversation_id": pa.array([Decimal(1)] * n, ID),
        "sender_id": pa.array(ids, id_type),
        "recipient_id": pa.array([Decimal(999)] * n, ID),
        "timestamp": pa.array([Decimal(1_767_225_600 + 60 * i) for i in range(n)], ID),
        "channel": ["direct"] * n,
        "event": ["message"] * n,
        "sender_age": pa.array([Decimal("34.5")] * n, pa.decimal128(5, 1)),
        "recipient_age": pa.array([Decimal(12)] * n, pa.decimal128(5, 1)),
    }
    return pa.table({**base, **columns})


def test_a_warehouse_export_reads_as_its_integer_twin(tmp_path: Path) -> None:
    table = events([Decimal(5), Decimal(6)])
    path = tmp_path / "export.parquet"
    pq.write_table(table, path)
    twin = table.cast(
        pa.schema(
            (f.name, pa.int64() if f.type == ID else pa.float64())
            if pa.types.is_decimal(f.type)
            else f
            for f in table.schema
        )
    )
    got, expected = rs.read_messages(path), rs.read_messages(twin)
    for name, values in expected.columns().items():
        np.testing.assert_array_equal(got.columns()[name], values, err_msg=name)
    assert got.sender_age.tolist() == [34.5, 34.5]


def test_ids_beyond_int64_keep_their_digits() -> None:
    table = rs.read_messages(events([Decimal(2**70), Decimal(6)]))
    assert table.sender_id.tolist() == [str(2**70), "6"]


@pytest.mark.parametrize(
    ("ids", "id_type", "message"),
    [
        ([Decimal(5), None], ID, "row 1: None is missing"),
        ([Decimal("5.5"), Decimal(6)], pa.decimal128(10, 1), r"row 0: 5.5 is not"),
        # whole numbers beyond 2**53 with a fraction digit: refused, not rounded together
        ([Decimal(2**60 + 1), Decimal(2**60)], pa.decimal256(60, 2), r"beyond 2\*\*53"),
    ],
)
def test_decimal_ids_that_are_no_ids_are_refused_by_row(
    ids: list[Decimal | None], id_type: pa.DataType, message: str
) -> None:
    with pytest.raises(rs.SchemaError, match=message):
        rs.read_messages(events(ids, id_type))


def test_decimal_times_with_a_fraction_are_floored_as_float_times() -> None:
    times = pa.array([Decimal("1767225600.7"), Decimal("1767225700")], pa.decimal128(20, 1))
    table = rs.read_messages(events([Decimal(5), Decimal(6)], timestamp=times))
    assert table.timestamp.tolist() == [1_767_225_600, 1_767_225_700]
