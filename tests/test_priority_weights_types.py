"""The review queue's priority weights are finite numbers, and the cap of extra children a
whole number. Was: ``PriorityWeights(risk=True)`` weighed risk by 1 and
``max_extra_children=2.5`` counted two and a half extra children (hostile review 26)."""

from __future__ import annotations

import numpy as np
import pytest

from riskscore.moderation import PriorityWeights


@pytest.mark.parametrize(
    ("field", "value"),
    [("risk", True), ("tier", float("nan")), ("max_extra_children", 2.5),
     ("max_extra_children", True), ("youth", "2")],
)  # fmt: skip
def test_priority_weights_are_numbers_and_the_cap_a_whole_number(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"priority weight '{field}' must be"):
        PriorityWeights(**{field: value})


def test_the_defaults_and_numpy_numbers_are_weights() -> None:

    assert PriorityWeights(risk=np.float64(3.0), max_extra_children=np.int64(2)).risk == 3.0
