"""Reading in-memory tables (:mod:`riskscore.io.readers`): a polars LazyFrame."""

from __future__ import annotations

from typing import Any

import pytest

import riskscore as rs

pl = pytest.importorskip("polars")

EVENTS = {
    "conversation_id": [1, 1, 2],
    "timestamp": [1_700_000_060, 1_700_000_000, 1_700_000_100],
    "sender_id": ["a", "b", "c"],
    "recipient_id": ["b", "a", "d"],
    "channel": ["direct", "public", "direct"],
    "sender_age": [34, 13, 40],
}


def _counted(calls: list[int]) -> Any:
    """An expression polars runs only when it reads the column: counts its calls."""

    def run(s: Any) -> Any:
        calls.append(len(s))
        return s

    return pl.col("sender_age").map_batches(run, return_dtype=pl.Int64)


def test_a_lazy_frame_is_collected_as_its_data_frame_is_read() -> None:
    """Was: ``rs.read_messages(polars.LazyFrame)`` raised a bare TypeError ("got
    LazyFrame"), where a LazyFrame (``pl.scan_parquet``) is how polars users hold a
    table. Now it is collected and read as its DataFrame is; a column beyond schema v1 is
    listed as unread and never computed (only the schema v1 columns are collected)."""
    calls: list[int] = []
    lazy = pl.LazyFrame(EVENTS).with_columns(_counted(calls).alias("region"))
    got = rs.read_messages(lazy)
    want = rs.read_messages(pl.DataFrame(EVENTS))
    assert got.to_arrow().to_pandas().equals(want.to_arrow().to_pandas())  # NaN ages alike
    assert got.unread_columns == ("region",)
    assert calls == []


@pytest.mark.parametrize("name", ["message_text", "meta"])
def test_a_lazy_frames_content_column_is_refused_before_a_row_is_read(name: str) -> None:
    """A content column (or one with a content field nested in it) is refused by name on
    the LazyFrame's schema, before polars computes a row."""
    calls: list[int] = []
    extra = _counted(calls).alias(name)
    if name == "meta":
        extra = pl.struct(_counted(calls).alias("text")).alias(name)
    lazy = pl.LazyFrame(EVENTS).with_columns(extra).with_columns(_counted(calls))
    with pytest.raises(rs.SchemaError, match="text"):
        rs.read_messages(lazy)
    assert calls == []
