"""Text ids ranked once (``riskscore.io.coding.RankedText``): a text id column from Arrow
is hashed into its distinct ids and the table is sorted, coded and split into
conversations by their ranks, not by comparing strings row by row. The table must be the
one the row-by-row path builds from the same ids as Python strings, whatever the ids, their
order, or a dictionary that repeats a value."""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.io.coding import RankedText

# Code points of 1, 2, 3 and 4 UTF-8 bytes, and ids that are prefixes of each other.
_IDS = st.sampled_from(["a", "ab", "B", "é", "中", "\U0001d11e", "a\U0001d11e", "z9", "0"])
_FIELDS = (
    "conversation_id",
    "timestamp",
    "sender_id",
    "recipient_id",
    "conversation_code",
    "conversations",
    "segment_starts",
    "sender_code",
    "recipient_code",
    "accounts",
    "source_row",
)


def _events(draw: Any) -> dict[str, list[Any]]:
    n = draw(st.integers(1, 40))
    pairs = draw(
        st.lists(st.tuples(_IDS, _IDS).filter(lambda p: p[0] != p[1]), min_size=n, max_size=n)
    )
    return {
        "conversation_id": draw(st.lists(_IDS, min_size=n, max_size=n)),
        "timestamp": draw(
            st.lists(st.integers(1_700_000_000, 1_700_000_050), min_size=n, max_size=n)
        ),
        "sender_id": [p[0] for p in pairs],
        "recipient_id": [p[1] for p in pairs],
        "channel": ["direct"] * n,
    }


def _same(a: rs.MessageTable, b: rs.MessageTable) -> None:
    for name in _FIELDS:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.dtype == y.dtype, name
        assert x.tolist() == y.tolist(), name


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_ranked_text_ids_build_the_table_strings_build(data: st.DataObject) -> None:
    events = _events(data.draw)
    columns = {k: np.asarray(v, dtype=object if k != "timestamp" else np.int64)
               for k, v in events.items()}  # fmt: skip
    with mock.patch("riskscore.io.ids.ranked_text", lambda ids, distinct, index: ids):
        by_rows = rs.read_messages(columns)  # the row-by-row path, string comparisons
    as_arrow = pa.table(events)
    ranked = rs.read_messages(as_arrow)
    assert not isinstance(by_rows.sender_id, RankedText)
    _same(rs.read_messages(columns), by_rows)
    _same(ranked, by_rows)
    # a dictionary may hold a value twice: the two entries are still one id
    ids = events["sender_id"]
    doubled = pa.DictionaryArray.from_arrays(
        pa.array([2 * i + (k % 2) for k, i in enumerate(sorted(set(ids)).index(v) for v in ids)],
                 pa.int32()),
        pa.array([v for v in sorted(set(ids)) for _ in range(2)]),
    )  # fmt: skip
    _same(rs.read_messages(as_arrow.set_column(2, "sender_id", doubled)), by_rows)
    # pandas' text columns (its default str, and Arrow's) and object columns of str
    frame = as_arrow.to_pandas()
    for dtype in ("str", "string[pyarrow]", object):
        ids = {n: frame[n].astype(dtype) for n in ("conversation_id", "sender_id", "recipient_id")}
        _same(rs.read_messages(frame.assign(**ids)), by_rows)


def test_an_arrow_text_column_is_ranked_once() -> None:
    """Ranked while the table is built, the ranks then dropped (the table keeps codes)."""
    table = pa.table(
        {
            "conversation_id": ["c2", "c1", "c2"],
            "timestamp": [1_700_000_003, 1_700_000_002, 1_700_000_001],
            "sender_id": ["b", "a", "a"],
            "recipient_id": ["a", "b", "b"],
            "channel": ["direct"] * 3,
        }
    )
    with mock.patch("riskscore.io.messages.forget_ranks"):  # to see them
        kept = rs.read_messages(table)
    assert isinstance(kept.sender_id, RankedText)
    assert kept.sender_id.ranks is not None
    messages = rs.read_messages(table)
    assert all(getattr(messages.columns(decoded=False)[n], "ranks", None) is None
               for n in ("conversation_id", "sender_id", "recipient_id"))  # fmt: skip
    assert messages.conversations.tolist() == ["c1", "c2"]
    assert messages.sender_id.tolist() == ["a", "a", "b"]
    assert messages.sender_code.tolist() == [0, 0, 1]
