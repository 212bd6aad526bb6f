"""Compiled passes of the table builder (riskscore/io/passes.py) equal the numpy
expressions they replaced, and Arrow columns converted on worker threads equal those
converted one after the other (riskscore/io/columnar.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore._read_only import read_only
from riskscore.io.columnar import arrow_to_numpy
from riskscore.io.passes import in_order, outside_first_pair, run_codes
from riskscore.io.threads import THREAD_MIN_ROWS, THREADS_VARIABLE

T0 = 1_700_000_000  # events are dated from 2000 on

rows = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)), min_size=0, max_size=40
)


def numpy_in_order(c: np.ndarray, t: np.ndarray, r: np.ndarray) -> bool:
    """The numpy check the compiled pass replaced (riskscore.io.messages before)."""
    if len(c) < 2:
        return True
    same = c[1:] == c[:-1]
    if not np.all(same | (c[1:] > c[:-1])):
        return False
    tie = same & (t[1:] == t[:-1])
    later = t[1:] > t[:-1]
    return bool(np.all(~same | later | (tie & (r[1:] > r[:-1]))))


@settings(max_examples=300, deadline=None)
@given(rows, st.booleans())
def test_in_order_equals_the_numpy_check(values: list[tuple[int, int, int]], sort: bool) -> None:
    if sort:
        values = sorted(values)
    arr = np.asarray(values, dtype=np.int64).reshape(-1, 3)
    c, t, r = (np.ascontiguousarray(arr[:, j]) for j in range(3))
    # read-only, as riskscore hands them over: the signature warmup compiled
    assert in_order(*map(read_only, (c, t, r))) == numpy_in_order(c, t, r)


def numpy_outside(starts: np.ndarray, sender: np.ndarray, recipient: np.ndarray) -> np.ndarray:
    """The numpy expression the compiled pass replaced (riskscore.io.groups before)."""
    n = len(sender)
    lengths = np.diff(starts, append=n)
    a, b = np.repeat(sender[starts], lengths), np.repeat(recipient[starts], lengths)
    inside = ((sender == a) | (sender == b)) & ((recipient == a) | (recipient == b))
    code = np.repeat(np.arange(len(starts)), lengths)
    return np.unique(code[~inside])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=6)))
def test_outside_first_pair_equals_the_numpy_expression(
    segments: list[list[tuple[int, int]]],
) -> None:
    events = [e for segment in segments for e in segment]
    sender = np.asarray([s for s, _ in events], dtype=np.int64)
    recipient = np.asarray([r for _, r in events], dtype=np.int64)
    starts = np.cumsum([0] + [len(s) for s in segments[:-1]]).astype(np.int64)[: len(segments)]
    got = outside_first_pair(starts, sender, recipient)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, numpy_outside(starts, sender, recipient))


@settings(deadline=None)  # the first example may load the kernel from numba's cache
@given(st.lists(st.integers(-3, 3), max_size=40), st.booleans())
def test_run_codes_equal_cumsum_and_flatnonzero(values: list[int], sort: bool) -> None:
    arr = np.asarray(sorted(values) if sort else values, dtype=np.int64)
    is_start = np.ones(len(arr), dtype=bool)
    if len(arr):
        is_start[1:] = arr[1:] != arr[:-1]
    code, starts = run_codes(read_only(arr))
    np.testing.assert_array_equal(code, np.cumsum(is_start, dtype=np.int64) - 1)
    np.testing.assert_array_equal(starts, np.flatnonzero(is_start))
    assert code.dtype == starts.dtype == np.int64


@pytest.mark.parametrize("ids", [[3, 1, 2, 1, 3], ["c", "a", "b", "a", "c"]])
def test_sorted_and_unsorted_input_give_the_same_codes(ids: list[object]) -> None:
    columns = {
        "timestamp": [T0 + 50, T0 + 10, T0 + 30, T0 + 20, T0 + 40],
        "sender_id": [1, 2, 3, 2, 1],
        "recipient_id": [5, 6, 7, 6, 5],
        "channel": ["direct"] * 5,
    }
    shuffled = rs.read_messages({"conversation_id": ids, **columns})
    order = sorted(range(5), key=lambda i: (ids[i], columns["timestamp"][i]))
    in_order_msgs = rs.read_messages(
        {"conversation_id": [ids[i] for i in order]}
        | {k: [v[i] for i in order] for k, v in columns.items()}
    )
    for msgs in (shuffled, in_order_msgs):
        np.testing.assert_array_equal(msgs.conversation_code, [0, 0, 1, 2, 2])
        np.testing.assert_array_equal(msgs.segment_starts, [0, 2, 3])
        assert list(msgs.conversations) == sorted(set(ids))  # type: ignore[type-var]


def test_a_group_room_is_found_and_split_by_the_compiled_pass() -> None:
    msgs = rs.read_messages(
        {
            "conversation_id": [1, 1, 1, 2],
            "timestamp": [T0 + 10, T0 + 20, T0 + 30, T0 + 40],
            "sender_id": [7, 8, 9, 7],
            "recipient_id": [8, 7, 7, 8],
            "channel": ["group", "group", "group", "direct"],
        }
    )
    assert msgs.groups.n_rooms == 1
    assert msgs.n_conversations == 3  # room 1 split into two pairs, conversation 2 kept


@pytest.mark.parametrize("threads", ["1", "2"])
def test_arrow_columns_on_threads_equal_one_by_one(
    threads: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = THREAD_MIN_ROWS + 10  # large enough for the worker threads
    rng = np.random.default_rng(4)
    ages = rng.uniform(8, 60, n)
    chunk = n // 3
    table = pa.Table.from_batches(
        [
            pa.record_batch(
                {
                    "conversation_id": np.arange(a, b) // 40,
                    "sender_age": pa.array(ages[a:b], mask=(np.arange(a, b) % 7 == 0)),
                    "channel": pa.array(
                        np.asarray(["public", "direct"], dtype=object)[np.arange(a, b) % 2]
                    ).dictionary_encode(),
                    "timestamp": pa.array(
                        np.arange(a, b) * 1_000_000, type=pa.timestamp("us", tz="UTC")
                    ),
                }
            )
            for a, b in ((0, chunk), (chunk, 2 * chunk), (2 * chunk, n))
        ]
    )
    monkeypatch.setenv(THREADS_VARIABLE, "1")
    want = arrow_to_numpy(table)
    monkeypatch.setenv(THREADS_VARIABLE, threads)
    got = arrow_to_numpy(table)
    assert list(got) == list(want)
    for name in want:
        assert got[name].dtype == want[name].dtype
        np.testing.assert_array_equal(got[name], want[name])
    assert np.isnan(got["sender_age"][0])
    assert got["timestamp"][1] == 1
    np.testing.assert_array_equal(got["channel"].distinct, want["channel"].distinct)
