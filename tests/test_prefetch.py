"""Work ahead on worker threads (riskscore.batch.prefetch.one_ahead) and the thread limit
(riskscore.io.threads.limited_threads) that out-of-core scoring works under."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import riskscore as rs
from riskscore.batch.prefetch import one_ahead
from riskscore.io.threads import (
    THREAD_MIN_ROWS,
    Inline,
    executor_for,
    limited_threads,
    worker_threads,
)


def test_one_ahead_works_on_the_next_item_while_the_caller_holds_this_one() -> None:
    started = [threading.Event() for _ in range(3)]

    def work(i: int) -> int:
        started[i].set()
        return i * 10

    got = []
    for result in one_ahead(range(3), work):
        i = result // 10
        if i + 1 < 3:  # without a worker thread, item i + 1 would wait for this loop
            assert started[i + 1].wait(timeout=30)
        got.append(result)
    assert got == [0, 10, 20]
    assert list(one_ahead([], work)) == []


def test_one_ahead_raises_in_order_and_stops_reading() -> None:
    taken: list[int] = []

    def source() -> Iterator[int]:
        for i in range(10):
            taken.append(i)
            yield i

    def work(i: int) -> int:
        if i == 2:
            raise rs.SchemaError(f"bad item {i}")
        return i

    results = one_ahead(source(), work)
    assert [next(results), next(results)] == [0, 1]  # the items before the bad one first
    with pytest.raises(rs.SchemaError, match="bad item 2"):
        next(results)
    assert taken == [0, 1, 2]  # nothing read past the bad item


def test_one_ahead_closes_its_source_when_the_caller_stops() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.set()

    results = one_ahead(source(), lambda i: i)
    assert next(results) == 0
    results.close()
    assert closed.is_set()

    def caller() -> None:
        for _ in one_ahead(source(), lambda i: i):
            raise ValueError("caller stops")

    closed.clear()
    with pytest.raises(ValueError, match="caller stops"):
        caller()
    assert closed.is_set()


def test_one_ahead_with_two_workers_keeps_the_order_of_the_items() -> None:
    # item 0 is the slowest: its result still comes first, and item k is the work on k
    release = threading.Event()

    def work(i: int) -> int:
        if i == 0:
            assert release.wait(timeout=30)
        return i * 10

    results = one_ahead(range(6), work, workers=2)
    threading.Timer(0.2, release.set).start()
    assert list(results) == [0, 10, 20, 30, 40, 50]
    with pytest.raises(ValueError, match="workers must be at least 1"):
        list(one_ahead(range(3), work, workers=0))


def test_a_thread_limit_holds_in_the_block_and_in_its_workers() -> None:
    def kind() -> type:
        with executor_for(THREAD_MIN_ROWS) as pool:
            return type(pool)

    default = Inline if worker_threads() == 1 else ThreadPoolExecutor
    assert kind() is default  # two threads for a large table, on two cores or more
    with limited_threads(1):
        assert kind() is Inline
        assert list(one_ahead(range(2), lambda _: kind(), workers=2)) == [Inline, Inline]
    assert kind() is default
    with pytest.raises(ValueError, match="at least 1"), limited_threads(0):
        pass
