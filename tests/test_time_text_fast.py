"""One text time, or whole decimal, read by the standard library equals the column rule's reading.

Was: `one_text_time` read each ISO text (and each number written as text) through a
one-row Arrow cast, about 50 µs of an online event's 55 when a producer sends ISO times
(JSON lines, webhooks), against 2.5 µs for epoch seconds. It now reads them with
`datetime.fromisoformat` and `float` (about 1 µs) where that provably gives the Arrow
cast's second, and hands the rest (text Python refuses, instants beyond the float-exact
range, numbers beyond the finite floats) to the cast. These tests hold the rules equal.
Likewise a whole decimal (a database cursor's `NUMERIC(20, 0)`), read by `int` instead
of a one-row Arrow column.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import riskscore.io.events as events
import riskscore.io.time_text as time_text
from riskscore.io.decimals import decimal_cells, one_whole_decimal
from riskscore.io.raw import as_python_value
from riskscore.io.time_text import (
    _ISO_MATCH,
    _NUMBER_MATCH,
    _cast_iso,
    _floor_number_text,
    _iso_in_python,
    _number_in_python,
    one_text_time,
)


def _column_rule(text: str) -> float:
    return float(_cast_iso(pa.array([text], pa.string()))[0])


_DIGITS = st.integers(min_value=0, max_value=99).map(lambda n: f"{n:02d}")
_OFFSETS = st.sampled_from(
    ["Z", "+00:00", "-00:00", "+01:00", "+0530", "+05", "-12:00", "+14:00", "-03:30", "+13:45"]
)
_FRACTIONS = st.one_of(
    st.just(""),
    st.integers(1, 6).flatmap(
        lambda k: st.text("0123456789", min_size=k, max_size=k).map(lambda d: "." + d)
    ),
)


@st.composite
def iso_texts(draw: st.DrawFn) -> str:
    """ISO-looking text, months, days, hours and seconds out of range included."""
    year = draw(st.integers(min_value=0, max_value=9999))
    month, day, hour, minute = draw(_DIGITS), draw(_DIGITS), draw(_DIGITS), draw(_DIGITS)
    seconds = draw(st.one_of(st.just(""), _DIGITS.map(lambda s: ":" + s)))
    fraction = draw(_FRACTIONS) if seconds else ""
    separator = draw(st.sampled_from("T "))
    return f"{year:04d}-{month}-{day}{separator}{hour}:{minute}{seconds}{fraction}{draw(_OFFSETS)}"


@given(iso_texts())
def test_python_reads_iso_text_as_the_column_rule_or_leaves_it_to_it(text: str) -> None:
    if not _ISO_MATCH(text):
        return
    fast = _iso_in_python(text)
    if fast is not None:
        assert fast == _column_rule(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-05T10:25:33Z",
        "2026-01-05 10:25Z",
        "2024-02-29T23:59:59.999999+14:00",
        "2026-01-01T00:00:00.5-12:00",
        "2026-06-30T23:59:59+0530",
        "1970-01-01T00:00:00.000001-00:00",
        "1969-12-31T23:59:59.999999Z",  # before the epoch: floored, not truncated
    ],
)
def test_common_iso_text_takes_the_fast_rule_with_the_same_second(text: str) -> None:
    assert _iso_in_python(text) == _column_rule(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-13-01T00:00:00Z",  # month 13
        "2026-02-30T00:00:00Z",  # no such day
        "2026-01-01T24:00:00Z",  # hour 24
        "2026-01-01T23:59:60Z",  # a leap second
        "0001-01-01T10:25:33.999999Z",  # beyond the float-exact range: the cast's float
    ],
)
def test_text_python_might_read_otherwise_is_left_to_the_column_rule(text: str) -> None:
    assert _iso_in_python(text) is None
    got = one_text_time(text)
    expected = _column_rule(text)
    assert got == expected if expected == expected else isinstance(got, str)


def _never_called(monkeypatch: pytest.MonkeyPatch, module: object, *names: str) -> None:
    """Make each of ``module``'s functions ``names`` fail the test when it is called."""

    def refused(*args: object) -> object:
        raise AssertionError(f"one of {names} was called (a one-row Arrow column)")

    for name in names:
        monkeypatch.setattr(module, name, refused)


def test_one_text_time_is_read_without_a_one_row_arrow_cast(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _never_called(monkeypatch, time_text, "_cast_iso", "_floor_number_text")
    expected = int(dt.datetime(2024, 5, 1, 20, 30, tzinfo=dt.UTC).timestamp())
    assert one_text_time(" 2024-05-01T21:30:00+01:00 ") == expected
    assert one_text_time("1714595400.5") == expected


_NUMBER_TEXTS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"\A[+-]?[0-9]{1,25}(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?\Z"),
)


@given(_NUMBER_TEXTS)
def test_python_floors_number_text_as_the_column_rule(text: str) -> None:
    if not _NUMBER_MATCH(text):
        return
    fast = _number_in_python(text)
    expected = float(_floor_number_text(pa.array([text], pa.string()))[0])
    if fast is not None:
        assert fast == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1767225600", 1767225600.0),
        ("1767225600.9", 1767225600.0),
        ("1704067200.9999999999", 1704067200.0),  # its float is whole; its digits are not
        ("1.7e9", 1700000000.0),
        ("-5", -5.0),
    ],
)
def test_number_text_is_floored_by_its_digits(text: str, seconds: float) -> None:
    assert _number_in_python(text) == seconds == one_text_time(text)


def test_number_text_beyond_the_floats_is_left_to_the_column_rule() -> None:
    assert _number_in_python("1e999") is None
    assert isinstance(one_text_time("1e999"), float | str)


_WHOLE_DECIMALS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(Decimal),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.from_regex(r"\A-?[0-9]{1,22}(\.[0-9]{0,6})?(E[+-]?[0-9])?\Z").map(Decimal),
)


@given(_WHOLE_DECIMALS, st.sampled_from(["timestamp", "sender_age", "room_size"]))
def test_a_whole_decimal_is_read_as_a_decimal_column_reads_it(value: Decimal, name: str) -> None:
    fast = one_whole_decimal(value)
    if fast is not None:
        column = as_python_value(decimal_cells(np.array([value], dtype=object), name)[0])
        assert type(column) is int
        assert fast == column


def test_a_database_cursors_whole_decimals_take_no_arrow_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _never_called(monkeypatch, events, "decimal_cells")
    event = {
        "conversation_id": "c",
        "timestamp": Decimal(1767225600),
        "sender_id": "a",
        "recipient_id": "b",
        "channel": "direct",
        "sender_age": Decimal(30),
        "recipient_age": Decimal(12),
    }
    parsed = events.parse_event(event)
    assert (parsed.timestamp, parsed.sender_age, parsed.recipient_age) == (1767225600, 30.0, 12.0)
