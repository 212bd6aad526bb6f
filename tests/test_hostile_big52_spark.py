"""Spark scoring refuses option values that are no counts on the driver, naming the option,
before a job runs (review 52); no session is started: the options are checked first."""

from __future__ import annotations

import pytest

pytest.importorskip("pyspark")

import riskscore as rs
from riskscore.integrations.spark import account_features, score_events

#: Each value and what it did: 0 and -3 raised the JVM's IllegalArgumentException, 2.5
#: PySparkTypeError, True and 2**40 a Py4JError with a Java trace from ``repartition``.
BAD_PARTITIONS = [0, -3, 2.5, True, 2**40]
#: True and 2.5 ran as blocks of 1 and 2.5 events; "x" raised a comparison's TypeError.
BAD_BLOCKS = [0, True, 2.5, "x", float("nan")]


class _NoFrame:
    """Stands for a DataFrame: reading anything of it fails the test."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the events were read ({name}) before the options were checked")


@pytest.mark.parametrize(
    ("option", "value", "bound"),
    [("partitions", v, 2**31 - 1) for v in BAD_PARTITIONS]
    + [("block_events", v, 2**53) for v in BAD_BLOCKS],
)
def test_partitions_and_block_sizes_that_are_no_count_are_refused(
    option: str, value: object, bound: int
) -> None:
    match = rf"{option} must be an integer from 1 to {bound}, got "
    with pytest.raises(ValueError, match=match):
        score_events(_NoFrame(), rs.load_model(), **{option: value})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=match):
        account_features(_NoFrame(), **{option: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("n_reasons", [0, True, 2.5, "3"])
def test_a_count_of_reasons_that_is_no_count_is_refused(n_reasons: object) -> None:
    with pytest.raises(ValueError, match=r"n_reasons must be an integer >= 1, got "):
        score_events(_NoFrame(), rs.load_model(), n_reasons=n_reasons)  # type: ignore[arg-type]
