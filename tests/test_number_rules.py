"""The compiled pass of the number columns' rules (riskscore/io/number_rules.py) equals its
own source run uncompiled (the reference) and the numpy expressions it replaced, row by row
(each row's first problem and the value kept), and reads a clean column without a copy."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore._read_only import read_only
from riskscore.io.columns import ages, room_sizes
from riskscore.io.number_rules import number_pass
from riskscore.io.problems import Found
from riskscore.io.schema import (
    EARLIEST_EVENT_TIMESTAMP,
    MAX_AGE,
    MAX_ROOM_SIZE,
    MAX_TIMESTAMP,
    MAX_TZ_OFFSET_MIN,
    MIN_AGE,
    MIN_TZ_OFFSET_MIN,
    ROOM_SIZE_UNKNOWN,
    TZ_UNKNOWN,
)
from riskscore.io.timestamps import FutureLimit, check_timestamps
from riskscore.io.tz_offsets import one_tz_offset_problem, tz_offsets

AnyArray = npt.NDArray[Any]
#: What a numpy reference reports: (mask, reason) in check order, and the values kept.
Reported = tuple[list[tuple[AnyArray, str]], AnyArray]

NOW = 1_700_000_000
EDGES = [0, 1, -1, 2, 120, 121, -720, -721, 840, 841, MAX_TIMESTAMP - 1, MAX_TIMESTAMP,
         NOW + 86_400, NOW + 86_401, MAX_ROOM_SIZE, MAX_ROOM_SIZE + 1, 2**53, -(2**63),
         2**63 - 1]  # fmt: skip
integers = st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from(EDGES)))
floats = st.lists(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([float(e) for e in EDGES]),
        st.sampled_from([0.5, -0.5, 13.25, 840.5, math.nan, math.inf, -math.inf, -0.0]),
    )
)


def as_array(values: list[float]) -> AnyArray:
    """float64 when some value is a float, else int64."""
    is_float = any(isinstance(v, float) for v in values)
    return np.asarray(values, dtype=np.float64 if is_float else np.int64)


def first_problems(problems: list[tuple[AnyArray, str]], n: int) -> list[str | None]:
    """Each row's first problem, as :class:`riskscore.io.problems.Problems` keeps it."""
    first: list[str | None] = [None] * n
    for mask, reason in problems:
        for i in np.flatnonzero(mask):
            first[i] = first[i] or reason
    return first


def assert_same(check: Callable[[AnyArray, Found], AnyArray], old: Reported, arr: AnyArray) -> None:
    found = Found()
    values = check(read_only(arr), found)
    new = [(mask, reason) for _, mask, reason in found.problems]
    assert first_problems(new, len(arr)) == first_problems(old[0], len(arr))
    np.testing.assert_array_equal(values, old[1])


# ------------------------------------------- the numpy expressions of the checks before


def numpy_timestamps(arr: AnyArray, latest: float) -> Reported:
    """riskscore.io.timestamps.check_timestamps before, for integer and float64 columns
    (with the earliest event time of 2000-01-01 since review 87)."""
    range_reason = (
        "is out of range: expected epoch seconds from 2000-01-01 (946684800) up to 2200 (UTC; "
        "a time before 2000 is a clock never set or a default value; if the clock counts "
        "milliseconds, divide by 1000, microseconds by 1e6, nanoseconds by 1e9)"
    )
    if arr.dtype.kind in "iu":
        refused = (arr > MAX_TIMESTAMP - 1) | (arr < EARLIEST_EVENT_TIMESTAMP)
        problems = [(refused, range_reason)]
        secs = np.where(refused, 0, arr).astype(np.int64)
    else:
        with np.errstate(invalid="ignore"):
            floored = np.floor(arr)
            missing = np.isnan(floored)
            beyond = ~missing & ((floored < EARLIEST_EVENT_TIMESTAMP) | (floored >= MAX_TIMESTAMP))
        problems = [(missing, "is missing: every event needs a timestamp"), (beyond, range_reason)]
        refused = missing | beyond
        secs = np.where(refused, 0, floored).astype(np.int64)
    if math.isfinite(latest):
        late = ~refused & (secs > math.floor(latest))
        problems.append((late, FutureLimit.at(NOW, latest - NOW).reason()))
        secs = np.where(late, 0, secs)
    return problems, secs


def numpy_ages(arr: AnyArray) -> Reported:
    """riskscore.io.columns.ages before, for a float64 column."""
    with np.errstate(invalid="ignore"):
        absurd = ~np.isnan(arr) & ((arr < MIN_AGE) | (arr > MAX_AGE))
    reason = f"is not a plausible age: expected years in [{MIN_AGE:g}, {MAX_AGE:g}], or empty "
    reason += "for unknown"
    return [(absurd, reason)], np.where(absurd, np.nan, arr)


def numpy_whole_numbers(arr: AnyArray, what: str, low: int, high: int, unknown: int) -> Reported:
    """riskscore.io.columns.whole_numbers before, for integer and float64 columns."""
    reason = f"is out of range: expected {what} in [{low}, {high}], or empty for unknown"
    if arr.dtype.kind in "iu":
        bad = arr > high
        if arr.dtype.kind == "i":
            bad |= arr < low
        return [(bad, reason)], np.where(bad, unknown, arr).astype(np.int64)
    empty = np.isnan(arr)
    values = np.where(empty, 0.0, arr)
    fractional = values != np.round(values)
    bad = fractional | (~empty & ((values < low) | (values > high)))
    problems = [(fractional, f"is not a whole number: expected {what}"), (bad, reason)]
    return problems, np.where(bad | empty, unknown, values).astype(np.int64)


TZ = ("a UTC offset in whole minutes", MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN, TZ_UNKNOWN)


def numpy_tz_offsets(arr: AnyArray) -> Reported:
    """riskscore.io.tz_offsets.tz_offsets: whole numbers in range, then in whole quarter hours
    (since review 65)."""
    problems, values = numpy_whole_numbers(arr, *TZ)
    off_step = (values != TZ_UNKNOWN) & (values % 15 != 0)
    problems.append((off_step, str(one_tz_offset_problem(5))))
    return problems, np.where(off_step, TZ_UNKNOWN, values)


ROOM = (
    "the number of accounts in the room when the event was sent (the sender included)",
    2,
    MAX_ROOM_SIZE,
    ROOM_SIZE_UNKNOWN,
)


@settings(max_examples=300, deadline=None)  # the first example may compile the kernel
@given(st.one_of(integers, floats), st.sampled_from([NOW + 86_400.5, math.inf]))
def test_timestamps_as_checked_before(values: list[float], max_future: float) -> None:
    arr = as_array(values)
    future = FutureLimit.at(NOW, max_future - NOW if math.isfinite(max_future) else math.inf)
    old = numpy_timestamps(arr, max_future)
    assert_same(lambda a, found: check_timestamps(a, found, future), old, arr)


@settings(max_examples=300, deadline=None)
@given(floats)
def test_ages_as_checked_before(values: list[float]) -> None:
    arr = np.asarray(values, dtype=np.float64)
    assert_same(lambda a, found: ages("sender_age", a, found), numpy_ages(arr), arr)


@settings(max_examples=300, deadline=None)
@given(st.one_of(integers, floats))
def test_utc_offsets_and_room_sizes_as_checked_before(values: list[float]) -> None:
    arr = as_array(values)
    assert_same(tz_offsets, numpy_tz_offsets(arr), arr)
    assert_same(room_sizes, numpy_whole_numbers(arr, *ROOM), arr)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1)))
def test_unsigned_integers_beyond_int64_are_out_of_range_as_before(values: list[int]) -> None:
    arr = np.asarray(values, dtype=np.uint64)
    assert_same(tz_offsets, numpy_tz_offsets(arr), arr)
    old = numpy_timestamps(arr, math.inf)
    assert_same(lambda a, found: check_timestamps(a, found), old, arr)


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="NUMBA_DISABLE_JIT=1: nothing is compiled")
@settings(max_examples=300, deadline=None)
@given(
    st.one_of(integers, floats),
    st.tuples(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(-1000, 1000)),
    st.booleans(),
    st.booleans(),
)
def test_the_compiled_pass_equals_its_source_run_uncompiled(
    values: list[float], bounds: tuple[int, int, int], empty_refused: bool, whole: bool
) -> None:
    arr = read_only(as_array(values))
    kind = arr.dtype.type
    args = (arr, *map(kind, bounds), empty_refused, whole)
    counts, marks = number_pass(*args)
    with np.errstate(invalid="ignore"):  # numpy scalars: NaN compared as numba does
        plain_counts, plain_marks = number_pass.py_func(*args)
    np.testing.assert_array_equal(counts, plain_counts)
    np.testing.assert_array_equal(marks, plain_marks)
    assert len(marks) == (len(arr) if counts[1:].any() else 0)


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="NUMBA_DISABLE_JIT=1: nothing is compiled")
def test_the_pass_is_compiled_with_an_on_disk_cache() -> None:
    assert number_pass.stats.cache_path is not None


def test_a_clean_column_is_read_without_a_copy() -> None:
    ts = np.array([NOW, NOW + 5], dtype=np.int64)
    age = np.array([13.0, np.nan])
    assert check_timestamps(ts, Found()) is ts
    assert ages("sender_age", age, Found()) is age


def test_each_rule_names_column_row_and_value_in_a_table() -> None:
    events = {
        "conversation_id": [1, 1, 1, 1, 1],
        "timestamp": [NOW, NOW + 1, NOW * 9, NOW + 3, NOW + 4],
        "sender_id": [1, 2, 1, 2, 1],
        "recipient_id": [2, 1, 2, 1, 2],
        "channel": ["direct"] * 5,
        "sender_age": [30, 200, 30, 30, 30],
        "recipient_tz_offset_min": [60, 60, 60, 61.5, None],
    }
    msgs = rs.read_messages(events, errors="quarantine", now=NOW)
    q = msgs.quarantined
    assert list(zip(q.row, q.column, q.value, strict=True)) == [
        (1, "sender_age", 200),
        (2, "timestamp", NOW * 9),
        (3, "recipient_tz_offset_min", 61.5),
    ]
    assert q.reason[2] == "is not a whole number: expected a UTC offset in whole minutes"
    assert msgs.recipient_tz_offset_min.tolist() == [60, TZ_UNKNOWN]  # rows 0 and 4
