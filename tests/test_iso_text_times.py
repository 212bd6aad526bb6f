"""ISO 8601 text times with an offset, read by one Arrow cast where Arrow takes the text as
it is (the common case) and normalised first where it does not (digits beyond
microseconds; an offset of hours alone): each is the instant Python's ``datetime`` reads,
floored to the second, whatever the separator, fraction and offset, in columns that mix
the forms."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs


@st.composite
def _iso(draw: st.DrawFn) -> tuple[str, int]:
    when = draw(st.datetimes(dt.datetime(2000, 1, 2), dt.datetime(2199, 12, 30)))
    minutes = draw(st.integers(-12 * 60, 14 * 60))  # the offsets in use (review 87)
    sign, whole = ("-" if minutes < 0 else "+"), abs(minutes)
    hours_only = draw(st.booleans()) and whole % 60 == 0
    if minutes == 0 and draw(st.booleans()):
        offset = "Z"
    elif hours_only:
        offset = f"{sign}{whole // 60:02d}"
    else:
        offset = f"{sign}{whole // 60:02d}{draw(st.sampled_from([':', '']))}{whole % 60:02d}"
    digits = draw(st.integers(0, 9))
    decimals = draw(st.text("0123456789", min_size=digits, max_size=digits))
    fraction = "." + decimals if digits else ""
    sep = draw(st.sampled_from(["T", " "]))
    text = f"{when:%Y-%m-%d}{sep}{when:%H:%M:%S}{fraction}{offset}"
    zone = dt.timezone(dt.timedelta(minutes=minutes))
    epoch = int(when.replace(microsecond=0, tzinfo=zone).timestamp())
    return text, epoch


@settings(max_examples=60, deadline=None)
@given(st.lists(_iso(), min_size=1, max_size=25))
def test_iso_text_times_are_the_instants_python_reads(drawn: list[tuple[str, int]]) -> None:
    n = len(drawn)
    table = rs.read_messages(
        {
            "conversation_id": list(range(n)),
            "timestamp": [text for text, _ in drawn],
            "sender_id": [1] * n,
            "recipient_id": [2] * n,
            "channel": ["direct"] * n,
        },
        max_future_s=float("inf"),
    )
    got = dict(zip(table.conversation_id.tolist(), table.timestamp.tolist(), strict=True))
    assert [got[i] for i in range(n)] == [epoch for _, epoch in drawn]
    assert np.asarray(table.timestamp).dtype == np.int64
