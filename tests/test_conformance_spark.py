"""Conformance suite, the Spark backend (issue 14, item 5): ``riskscore.spark.score_events``
and ``account_features`` on the session tests/test_spark.py shares, a few streams only,
judged as every local backend is (tests/test_conformance.py, tests/conformance_cases.py);
skipped without Java. Its own file, so that the local backends run on the other worker
meanwhile (tests/conftest.py sends the Spark files to one worker).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conformance_cases import (
    ID_CASES,
    MERGING_IDS,
    N_SPARK_HUB_STREAMS,
    N_SPARK_STREAMS,
    ROOM_IDS_AS_PAIR_IDS,
    cases,
    check_backend,
    spark_streams,
)
from conformance_helpers import (
    ACCOUNT_FEATURES,
    ALL_EVENTS,
    CHECKS,
    SPARK_CONF,
    Snapshot,
    hub_conversations,
    run_spark,
)
from conformance_helpers import (
    cached as cached_run,
)
from conformance_refusals import (
    SPARK_LAYOUTS,
    assert_refused_alike,
    refusal,
    spark_refusals,
)
from conformance_streams import (
    Stream,
    columns,
)
from features_helpers import UncompiledKernel
from spark_helpers import runtime_conf

import riskscore as rs
import riskscore.integrations.spark as rs_spark


@pytest.fixture(scope="module")
def spark(spark_session: Any) -> Iterator[Any]:
    """The shared session (tests/conftest.py), with the suite's settings."""
    with runtime_conf(spark_session, SPARK_CONF) as session:
        yield session


@pytest.fixture(scope="module")
def chosen(streams: tuple[Stream, ...]) -> tuple[Stream, ...]:
    """The streams Spark runs, chosen once: choosing reads all the streams, and each of
    the checks below reads the same few."""
    return spark_streams(streams)


@pytest.mark.parametrize(("backend", "check"), cases(("spark",), CHECKS))
def test_spark_conforms(
    backend: str,
    check: str,
    chosen: tuple[Stream, ...],
    uncompiled: UncompiledKernel,
    spark: Any,
) -> None:
    check_backend(backend, check, chosen, uncompiled, spark)


#: Conversation ids of the k-th of the streams run together are moved by k times this
#: (drawn ids are at most 10,000): no two streams share a conversation.
ID_STEP = 100_000


def run_spark_together(streams: tuple[Stream, ...], session: Any) -> list[tuple[Snapshot, ...]]:
    """:func:`run_spark` of streams of one layout (``partitions``, ``block_events``) in one
    Spark job instead of one each: stream k's conversation ids moved by k * ID_STEP and its
    accounts named ``s<k>:`` + name, so that no two streams share a conversation or an
    account (a common prefix keeps the order of a stream's ids). Its events in input order
    after those of the streams before it. Returns each stream's snapshots, as
    :func:`run_spark` would, with its own ids."""
    assert len({(s.partitions, s.block_events) for s in streams}) == 1, "one layout"
    events = tuple(
        {
            **e,
            "conversation_id": e["conversation_id"] + k * ID_STEP,
            "sender_id": f"s{k}:{e['sender_id']}",
            "recipient_id": f"s{k}:{e['recipient_id']}",
        }
        for k, stream in enumerate(streams)
        for e in stream.events
    )
    joined = replace(streams[0], events=events, order="streams one after another", hub=None)
    (together,) = run_spark(joined, session)
    ids = np.asarray(together.conversation_id)
    assert ids.dtype == np.int64, "integer ids, as each stream alone has (no group rooms)"
    out = []
    for k in range(len(streams)):
        rows = np.flatnonzero(ids // ID_STEP == k)
        own = tuple(int(c) - k * ID_STEP for c in ids[rows])
        group = {c: together.group[c + k * ID_STEP] for c in own}
        values, risk = together.values[rows], together.risk[rows]
        out.append((Snapshot(ALL_EVENTS, own, values, risk, group=group),))
    return out


@pytest.fixture(scope="module")
def hub_chosen(hub_streams: tuple[Stream, ...], spark: Any) -> tuple[Stream, ...]:
    """The hub streams Spark runs (those where the hub has most conversations), run in one
    job: their layout is one (``partitions`` 4, ``block_events`` 1) and a job costs
    seconds whatever its few dozen rows."""
    by_size = sorted(hub_streams, key=lambda s: -len(hub_conversations(s)))
    chosen = tuple(by_size[:N_SPARK_HUB_STREAMS])
    for stream, snapshots in zip(chosen, run_spark_together(chosen, spark), strict=True):
        cached_run("spark", stream, lambda snapshots=snapshots: snapshots)
    return chosen


@pytest.mark.parametrize(("backend", "check"), cases(("spark",), ACCOUNT_FEATURES))
def test_spark_account_features_conform_across_partitions(
    backend: str,
    check: str,
    hub_chosen: tuple[Stream, ...],
    uncompiled: UncompiledKernel,
    spark: Any,
) -> None:
    # block_events=1: each event is a block of the tally stage and each conversation a
    # block of the scoring stage; and in the streams where the hub has most conversations,
    # they land in several of the 4 partitions (by hash of their ids).
    results = check_backend(backend, check, hub_chosen, uncompiled, spark)
    spread = [
        len({got[-1].group[c] for c in hub_conversations(stream)})
        for stream, got in zip(hub_chosen, results, strict=True)
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
    if case in ROOM_IDS_AS_PAIR_IDS:  # and in blocks of their own
        layouts = SPARK_LAYOUTS
    assert_refused_alike(reference, spark_refusals(events, spark, layouts), case)
    if case in MERGING_IDS:
        assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached


def test_spark_runs_streams_with_group_rooms(chosen: tuple[Stream, ...]) -> None:
    assert len(chosen) == N_SPARK_STREAMS
    assert sum(rs.read_messages(columns(s.events)).groups.n_rooms for s in chosen) >= 2


def test_an_understated_room_is_refused_alike_on_spark(spark: Any) -> None:
    """A room_size below the recipients its event reached (riskscore.io.room_reach):
    Spark's blocks and partitions keep a conversation's rows together, so the same row is
    refused as in memory (tests/test_hostile_review62.py has the local backends)."""
    events = [
        {"conversation_id": "room", "timestamp": 1_714_521_600, "sender_id": "adult",
         "recipient_id": f"kid{k}", "channel": "group", "room_size": 3}
        for k in range(3)
    ]  # fmt: skip
    reference = refusal(lambda: rs.read_messages(pa.Table.from_pylist(events)))
    assert isinstance(reference, rs.SchemaError), reference
    assert_refused_alike(reference, spark_refusals(events, spark), "understated room")


def test_two_room_sizes_in_one_event_are_refused_alike_on_spark(spark: Any) -> None:
    """Was: rows of one event that give two room sizes (riskscore.io.room_reach), fewer
    rows than either room holds, spread over partitions: Spark's account features read
    them by partition and took them. Now such an event makes it read whole conversations,
    and it refuses the row read_messages refuses (tests/test_hostile_hr68b.py has the
    local backends)."""
    events = [
        {"conversation_id": "room", "timestamp": 1_714_521_600, "sender_id": "adult",
         "recipient_id": f"kid{k}", "channel": "group", "room_size": size}
        for k, size in enumerate((10, 10, 5))
    ]  # fmt: skip
    reference = refusal(lambda: rs.read_messages(pa.Table.from_pylist(events)))
    assert isinstance(reference, rs.SchemaError), reference
    assert (reference.column, reference.row) == ("room_size", 2)
    spread = spark.createDataFrame(pa.Table.from_pylist(events)).repartition(3)
    got = refusal(lambda: rs_spark.account_features(spread, partitions=4, block_events=1).toArrow())
    assert_refused_alike(reference, {"spark account_features, spread": got}, "two room sizes")
    assert_refused_alike(reference, spark_refusals(events, spark), "two room sizes")
