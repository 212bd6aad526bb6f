"""Conformance suite, the Spark backend (issue 14, item 5): ``riskscore.spark.score_events``
and ``account_features`` on the session tests/test_spark.py shares, a few streams only,
judged as every local backend is (tests/test_conformance.py, tests/conformance_cases.py);
skipped without Java. Its own file, so that the local backends run on the other worker
meanwhile (tests/conftest.py sends the Spark files to one worker).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from conformance_cases import (
    ID_CASES,
    MERGING_IDS,
    N_SPARK_HUB_STREAMS,
    N_SPARK_STREAMS,
    cases,
    check_backend,
    spark_streams,
)
from conformance_helpers import (
    ACCOUNT_FEATURES,
    CHECKS,
    SPARK_CONF,
    SPARK_LAYOUTS,
    Stream,
    assert_refused_alike,
    columns,
    hub_conversations,
    refusal,
    spark_refusals,
)
from spark_helpers import runtime_conf
from test_features import UncompiledKernel

import riskscore as rs


@pytest.fixture(scope="module")
def spark(spark_session: Any) -> Iterator[Any]:
    """The shared session (tests/conftest.py), with the suite's settings."""
    with runtime_conf(spark_session, SPARK_CONF) as session:
        yield session


@pytest.mark.parametrize(("backend", "check"), cases(("spark",), CHECKS))
def test_spark_conforms(
    backend: str,
    check: str,
    streams: tuple[Stream, ...],
    uncompiled: UncompiledKernel,
    spark: Any,
) -> None:
    check_backend(backend, check, spark_streams(streams), uncompiled, spark)


@pytest.mark.parametrize(("backend", "check"), cases(("spark",), ACCOUNT_FEATURES))
def test_spark_account_features_conform_across_partitions(
    backend: str,
    check: str,
    hub_streams: tuple[Stream, ...],
    uncompiled: UncompiledKernel,
    spark: Any,
) -> None:
    # block_events=1: each event is a block of the tally stage and each conversation a
    # block of the scoring stage; and in the streams where the hub has most conversations,
    # they land in several of the 4 partitions (by hash of their ids).
    some = sorted(hub_streams, key=lambda s: -len(hub_conversations(s)))[:N_SPARK_HUB_STREAMS]
    results = check_backend(backend, check, some, uncompiled, spark)
    spread = [
        len({got[-1].group[c] for c in hub_conversations(stream)})
        for stream, got in zip(some, results, strict=True)
    ]
    assert max(spread) >= 2, spread


@pytest.mark.parametrize("case", ID_CASES)
def test_ids_that_merge_conversations_are_refused_alike_on_spark(case: str, spark: Any) -> None:
    """``score_events`` and ``account_features``: the driver raises the in-memory error
    (not Spark's wrapping of an executor's), and releases what the job cached."""
    events = ID_CASES[case]
    reference = refusal(lambda: rs.read_messages(pa.Table.from_pylist(events)))
    cached = spark.sparkContext._jsc.getPersistentRDDs().size()
    # A clash within one block and across partitions (tests/test_spark.py covers blocks of
    # one partition too); ids that merge nothing, across partitions, where a false clash
    # would show.
    layouts = SPARK_LAYOUTS[::2] if case in MERGING_IDS else SPARK_LAYOUTS[2:]
    assert_refused_alike(reference, spark_refusals(events, spark, layouts), case)
    if case in MERGING_IDS:
        assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached


def test_spark_runs_streams_with_group_rooms(streams: tuple[Stream, ...]) -> None:
    chosen = spark_streams(streams)
    assert len(chosen) == N_SPARK_STREAMS
    assert sum(rs.read_messages(columns(s.events)).groups.n_rooms for s in chosen) >= 2
