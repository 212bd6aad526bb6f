"""Tests for the table building blocks of riskscore/io/messages.py, riskscore/io/coding.py
and riskscore/io/chunks.py and for featurizing a table in parts (riskscore/features/batch.py):
the parts must give exactly what one pass gives."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
import riskscore.features.batch as batch_module
import riskscore.features.parts as parts_module
import riskscore.io.threads as _threads
from riskscore.io.chunks import conversation_parts, slice_conversations
from riskscore.io.coding import factorize, search_sorted
from riskscore.io.ids import DecimalIds
from riskscore.io.segments import spread


def _synthetic(n_conversations: int = 300, seed: int = 5) -> rs.MessageTable:
    return rs.read_messages(rs.synthetic.generate(n_conversations, seed=seed).messages)


def _reference_codes(*columns: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    uniques, codes = np.unique(np.concatenate(columns), return_inverse=True)
    return uniques, np.split(codes, np.cumsum([len(c) for c in columns])[:-1])


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param(np.array([5, 3, 9, 3, 5, 12]), id="small ints from 0"),
        pytest.param(np.array([1_000_007, 1_000_003, 1_000_009, 1_000_003]), id="offset ints"),
        pytest.param(np.array([-4, 7, -4, 0, 2]), id="negative ints"),
        pytest.param(np.array([2**62, 1, 2**40, 1]), id="sparse ints: sorted path"),
        pytest.param(np.array(["b", "a", "c", "a"]), id="strings"),
        pytest.param(
            np.array(
                ["b", "a", "é", "a", "ä", "Z", "", "😀", "\U0010ffff", "10", "9"], dtype=object
            ),
            id="text objects: Arrow's hash table, code-point order",
        ),
        pytest.param(np.array(["x\ud800", "a", "x\ud800"], dtype=object), id="a lone surrogate"),
        pytest.param(np.array([70_003, 70_001, 70_003, 70_009], dtype=np.int32), id="int32"),
        pytest.param(np.array([2**40 + 5, 2**40 + 1, 2**40 + 5], dtype=np.uint64), id="uint64"),
        pytest.param(np.arange(1_000_000, 1_000_040)[::-3], id="strided offset int64"),
    ],
)
@pytest.mark.parametrize("threads", [False, True])
def test_factorize_matches_unique_over_all_columns(
    ids: np.ndarray, threads: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if threads:
        monkeypatch.setattr(_threads, "THREAD_MIN_ROWS", 0)
    senders, recipients = ids, ids[::-1].copy()
    uniques, codes = factorize(senders, recipients)
    expected_uniques, expected_codes = _reference_codes(senders, recipients)
    np.testing.assert_array_equal(uniques, expected_uniques)
    assert uniques.dtype == expected_uniques.dtype
    for got, expected in zip(codes, expected_codes, strict=True):
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == np.int64
    np.testing.assert_array_equal(uniques[codes[0]], senders)


@pytest.mark.parametrize(
    "haystack",
    [
        pytest.param(np.array([], dtype=np.int64), id="empty"),
        pytest.param(np.array([3, 3, 5, 9, 9, 9, 12]), id="repeats"),
        pytest.param(np.arange(-20, 40, 3), id="negative"),
        pytest.param(np.array([2**40, 2**41, 2**62], dtype=np.uint64), id="uint64"),
        pytest.param(np.array(["a", "c", "e"]), id="text: plain search"),
    ],
)
def test_search_sorted_gives_the_positions_of_numpy(haystack: np.ndarray) -> None:
    rng = np.random.default_rng(4)
    if haystack.dtype.kind == "U":
        needles = np.array(["d", "a", "z", "0", "c"])
    else:
        low, high = (int(haystack.min()), int(haystack.max())) if len(haystack) else (0, 9)
        pool = np.array([low - 1, low, high, high + 1, *haystack.tolist()], dtype=object)
        needles = np.asarray(rng.choice(pool, 40).tolist(), dtype=haystack.dtype)
    for size in (0, 1, 2, len(needles)):  # one needle, none, and bands narrower than all
        got = search_sorted(haystack, needles[:size])
        np.testing.assert_array_equal(got, np.searchsorted(haystack, needles[:size]))
        assert got.dtype == np.int64


@pytest.mark.parametrize("max_events", [1, 7, 40, 10**9])
def test_conversation_parts_cover_every_conversation_once_and_never_split_one(
    max_events: int,
) -> None:
    msgs = _synthetic(60)
    parts = conversation_parts(msgs, max_events)
    assert parts[0][0] == 0
    assert parts[-1][1] == msgs.n_conversations
    assert all(a < b for a, b in parts)
    assert all(prev[1] == nxt[0] for prev, nxt in pairwise(parts))
    for start, stop in parts:
        part = slice_conversations(msgs, start, stop)
        np.testing.assert_array_equal(part.conversations, msgs.conversations[start:stop])
        # every event of these conversations, and no other
        assert len(part) == int(np.isin(msgs.conversation_code, np.arange(start, stop)).sum())
        assert part.conversation_code[0] == 0
        assert part.segment_starts[0] == 0
        # a part holds about max_events events: it closes at the first conversation that
        # reaches the mark, so it is over max_events only by its last conversation
        if stop - start > 1:
            assert part.segment_starts[-1] < max_events


def test_features_in_parts_on_two_threads_equal_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    msgs = _synthetic()
    one_pass = rs.extract_features(msgs)
    monkeypatch.setattr(_threads, "THREAD_MIN_ROWS", 0)
    monkeypatch.setattr(parts_module, "PART_EVENTS", 97)  # dozens of parts
    assert len(conversation_parts(msgs, 97)) > 20
    in_parts = rs.extract_features(msgs)
    assert in_parts.values.tobytes() == one_pass.values.tobytes()  # bit for bit, NaNs included
    np.testing.assert_array_equal(in_parts.conversation_id, one_pass.conversation_id)
    np.testing.assert_array_equal(in_parts.adult_id, one_pass.adult_id)
    np.testing.assert_array_equal(in_parts.child_id, one_pass.child_id)

    given = rs.extract_account_features(msgs)
    with_accounts = rs.extract_features(msgs, account_features=given)
    assert with_accounts.values.tobytes() == one_pass.values.tobytes()


def test_an_error_in_a_part_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def broken(*args: object) -> None:
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("part failed")

    monkeypatch.setattr(_threads, "THREAD_MIN_ROWS", 0)
    monkeypatch.setattr(parts_module, "PART_EVENTS", 50)
    monkeypatch.setattr(batch_module, "run_conversations", broken)
    with pytest.raises(RuntimeError, match="part failed"):
        rs.extract_features(_synthetic(40))


def test_spread_equals_the_gather_by_conversation_code() -> None:
    msgs = _synthetic(50)
    per_conversation = np.arange(msgs.n_conversations) * 10 + 3
    got = spread(per_conversation, msgs.segment_starts, len(msgs))
    np.testing.assert_array_equal(got, per_conversation[msgs.conversation_code])
    assert got.dtype == per_conversation.dtype
    one = spread(np.array([7]), np.array([0]), 4)
    np.testing.assert_array_equal(one, [7, 7, 7, 7])
    assert spread(np.empty(0), np.empty(0, dtype=np.int64), 0).shape == (0,)


@pytest.mark.parametrize(("setting", "expected"), [("1", 1), ("3", 3), (" 2 ", 2)])
def test_number_of_threads_comes_from_the_environment(
    setting: str, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKSCORE_NUM_THREADS", setting)
    assert _threads.worker_threads() == expected
    pool = _threads.executor_for(10**9)
    with pool:
        assert isinstance(pool, _threads.Inline) == (expected == 1)


def test_one_thread_gives_the_same_features(monkeypatch: pytest.MonkeyPatch) -> None:
    msgs = _synthetic()
    monkeypatch.setattr(_threads, "THREAD_MIN_ROWS", 0)
    monkeypatch.setattr(parts_module, "PART_EVENTS", 97)
    threaded = rs.extract_features(msgs)
    monkeypatch.setenv("RISKSCORE_NUM_THREADS", "1")
    inline = rs.extract_features(msgs)
    assert inline.values.tobytes() == threaded.values.tobytes()


@pytest.mark.parametrize("setting", ["0", "-2", "two", "1.5"])
def test_a_bad_number_of_threads_is_refused_by_name(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKSCORE_NUM_THREADS", setting)
    with pytest.raises(ValueError, match=r"RISKSCORE_NUM_THREADS='.*' is not a number of threads"):
        _threads.worker_threads()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=4), min_size=1, max_size=40))
def test_factorize_of_any_text_ids_matches_unique(texts: list[str]) -> None:
    ids = np.array(texts, dtype=object)
    uniques, (codes,) = factorize(ids)
    expected_uniques, expected_codes = np.unique(ids, return_inverse=True)
    assert list(uniques) == list(expected_uniques)
    np.testing.assert_array_equal(codes, expected_codes.reshape(-1))


def test_factorize_keeps_the_class_of_text_ids_beyond_int64() -> None:
    """Integer ids beyond int64 are held as decimal text of class DecimalIds: their sorted
    uniques stay DecimalIds (integers to every writer), as np.unique keeps them."""
    ids = np.array(["33", str(2**70), "33"], dtype=object).view(DecimalIds)
    uniques, _ = factorize(ids)
    assert isinstance(uniques, DecimalIds)
    assert uniques.tolist() == [str(2**70), "33"]


def test_a_table_of_one_kernel_part_runs_on_the_calling_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two threads made tables of 100,000 and 250,000 events slower (threads started and
    # joined per step; the event kernel runs such a table as one part): bench_stages.py.
    monkeypatch.setenv("RISKSCORE_NUM_THREADS", "2")
    assert isinstance(_threads.executor_for(parts_module.PART_EVENTS), _threads.Inline)
    with _threads.executor_for(2 * parts_module.PART_EVENTS) as pool:
        assert not isinstance(pool, _threads.Inline)
