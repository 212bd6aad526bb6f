"""A checkpoint's lists of numbers are checked at once; a list that fails the quick check
is read value by value, so the message names the value (riskscore.online.checkpoint_values)."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

import riskscore as rs
from riskscore.features.kernel import new_state
from riskscore.features.slots import STATE_SLOTS
from riskscore.online.checkpoint_values import numbers_in_range, out_value, state_in
from riskscore.synthetic import generate


@pytest.mark.parametrize(
    "values",
    [[1, 2.5, 0], [0.0, 1e300, 7], [None, 3]],
)
def test_numbers_in_range_reads_finite_numbers_in_range(values: list[Any]) -> None:
    got = numbers_in_range(values, 0.0, math.inf, nan_ok=True)
    assert got is not None
    expected = [math.nan if v is None else float(v) for v in values]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "values",
    [[True, 1], ["1", 2], [math.inf, 1], [math.nan, 1], [None, 1], [-1, 2], [10**400], [[1], 2]],
)
def test_numbers_in_range_leaves_every_other_list_to_the_value_by_value_reading(
    values: list[Any],
) -> None:
    assert numbers_in_range(values, 0.0, math.inf) is None


def test_states_read_back_as_written_and_a_bad_slot_is_named() -> None:
    scorer = rs.OnlineScorer(rs.load_model(), rs.AlertPolicy.default(), max_future_s=math.inf)
    scorer.update_many(generate(60, prevalence=0.2, seed=5).messages.iter_events())
    states = [conv.state for conv in scorer._conversations.values()]
    assert len(states) == 60
    for state in states:  # NaN slots (unknown ages, offsets) written as null
        np.testing.assert_array_equal(state_in([out_value(float(v)) for v in state]), state)
    fresh = [out_value(float(v)) for v in new_state()]
    for bad in (True, "1", math.inf, 10**400, -5.0, None):
        broken = [*fresh]
        broken[2] = bad  # the number of events
        with pytest.raises(ValueError, match="state slot 'n_events'"):
            state_in(broken)


@pytest.mark.parametrize(("slot", "bad"), [("offset", 5), ("offset+1", 60.5), ("offset", 7.0)])
def test_a_state_offset_off_the_quarter_hour_is_refused_as_an_events_is(
    slot: str, bad: float
) -> None:
    """Was: a hand-edited checkpoint restored a side's clock 5 minutes off UTC, which no
    event can give (events refuse offsets off the quarter hour)."""
    state = [out_value(float(v)) for v in new_state()]
    for good in (60, -300.0, 345, None):
        state[STATE_SLOTS.index(slot)] = good
        state_in(state)
    state[STATE_SLOTS.index(slot)] = bad
    with pytest.raises(ValueError, match=rf"state slot '{re.escape(slot)}': {bad!r} is no"):
        state_in(state)
