"""Hostile review hr66a of what a moderator reads about an alert: each test failed before
its fix."""

from __future__ import annotations

import pytest

from riskscore.model.scores import Reason, format_value, is_reason_text


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1.04, "1.04 times"),
        (1.001, "under 1.01 times"),
        (0.996, "over 0.99 times"),
        (1.0, "the same rate"),
    ],
)
def test_a_multiple_above_one_never_reads_as_the_same_rate(value: float, shown: str) -> None:
    """Was: ``the recent contact rate as a multiple of the long-run rate: the same rate
    (raises risk, +1.78)``, for a rate 4 % above the long-run one: the text stated that
    contact had not become more frequent (an absence) beside a why of escalation, in 3 of
    435 alerts of a synthetic world (``synthetic.generate(3000, prevalence=0.2, seed=3)``)."""
    assert format_value("times", value) == shown
    assert is_reason_text(str(Reason.of("escalation_ratio", value, 1.78)))
