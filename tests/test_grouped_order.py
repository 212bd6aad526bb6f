"""``riskscore.io.coding.grouped_order``: an export grouped by conversation whose ids are not
in sorted order (text ids, or integer ids in order of first contact) is put in order by
moving its blocks, not by a sort; the order, and the table, must be the sort's."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.io.coding import grouped_order


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=40),
    st.booleans(),
)
def test_the_order_is_the_sorts_whenever_it_is_given(
    rows: list[tuple[int, int]], group: bool
) -> None:
    if group:  # rows of one code together, in time order: the case the blocks serve
        rows = sorted(rows, key=lambda r: (r[0] * 7919 % 6, r[1]))
    raw = np.array([c for c, _ in rows], dtype=np.int64)
    _, codes = np.unique(raw, return_inverse=True)
    codes = codes.astype(np.int64)
    timestamp = np.array([t for _, t in rows], dtype=np.int64)
    source_row = np.arange(len(rows), dtype=np.int64) * 2 + 1
    order = grouped_order(codes, timestamp, source_row)
    expected = np.lexsort((source_row, timestamp, codes))
    if order is not None:
        assert order.tolist() == expected.tolist()
    elif group and len(rows) > 1:
        raise AssertionError("grouped rows in time order were sorted, not moved")


def test_a_grouped_export_reads_as_the_sort_reads_it() -> None:
    messages = rs.synthetic.generate(300, prevalence=0.1, seed=9).messages
    table = messages.to_arrow()
    # conversations in another order than their ids' (as an export by first contact)
    rank = np.random.default_rng(1).permutation(messages.n_conversations)
    grouped = table.take(pa.array(np.argsort(rank[messages.conversation_code], kind="stable")))
    text = pa.array([f"c-{v}" for v in grouped["conversation_id"].to_pylist()])
    for source in (grouped, grouped.set_column(0, "conversation_id", text)):
        with mock.patch("riskscore.io.messages.grouped_order", return_value=None):
            sorted_ = rs.read_messages(source)  # the sort's table
        moved = rs.read_messages(source)
        for name in ("conversation_id", "timestamp", "sender_id", "source_row",
                     "conversation_code", "segment_starts", "sender_code"):  # fmt: skip
            got, want = getattr(moved, name), getattr(sorted_, name)
            assert np.asarray(got).tolist() == np.asarray(want).tolist(), name
        assert rs.extract_features(moved).values.tobytes() == (
            rs.extract_features(sorted_).values.tobytes()
        )
