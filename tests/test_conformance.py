"""Conformance suite (issue 14, item 5): every backend x every feature, one reference.

In the style of scikit-learn's ``parametrize_with_checks``: one test per backend and
check (ids such as ``online-child_night_share`` or ``spark-risk``), all fed the same
hypothesis-generated event streams (:func:`conformance_helpers.event_streams`) and judged
by one assertion (:func:`conformance_helpers.assert_feature_equal`) against one
reference, the event kernel's Python source run without numba. Backends:

- ``batch``: ``rs.extract_features`` and ``RiskModel.score`` on the whole table;
- ``threads``: the same with the threaded parts forced on (one part per conversation);
- ``online``: ``rs.OnlineScorer.update_one`` per event; after *every* event, every live
  conversation equals the reference on the events seen so far;
- ``out_of_core``: ``score_parquet`` with chunks of 1-4 events (sorted and unsorted files);
- ``spark``: ``riskscore.spark.score_events`` on a local session, a few streams only
  (skipped without Java).

The streams hold group rooms (conversations of 3-4 accounts, split into pair
conversations; the online scorer gets the rows as given and splits them itself), events
fanned out to several members, ``room_size`` given or not (group contact, broadcasts set
aside) and unknown time zones.

The per-account features get their own checks on *hub* streams, where one adult has
several conversations, each in its own chunk (out of core) and Spark block.

Deterministic and bounded: the streams are drawn once per test by hypothesis with
``derandomize=True``, no example database and ``max_examples`` = the counts below
(:func:`conformance_helpers.draw_streams`), and each backend runs once per stream, its
result shared by the 35 checks. About 25 s without Spark on 2 cores; Spark adds 7 small
jobs on the session tests/test_spark.py shares (tests/conftest.py; skipped without Java).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from _groups import room_events
from conformance_helpers import (
    ACCOUNT_FEATURES,
    CHECKS,
    FEATURES,
    LOCAL_BACKENDS,
    MODEL,
    SPARK_CONF,
    Snapshot,
    Stream,
    assert_feature_equal,
    assert_refused_alike,
    cached,
    columns,
    draw_streams,
    event_streams,
    hub_conversations,
    kernel_is_compiled,
    local_refusals,
    reference,
    reference_prefixes,
    refusal,
    run_spark,
    spark_refusals,
    threads_are_forced,
)
from spark_helpers import runtime_conf
from test_features import UncompiledKernel

import riskscore as rs
from riskscore.io.schema import TZ_UNKNOWN

#: Streams per test: each backend runs once per stream, and every check of a test reads
#: the same streams. Spark: a handful, the first of the same streams, on one session (a
#: job on a few dozen events takes several seconds).
N_STREAMS = 80
N_HUB_STREAMS = 40
N_SPARK_STREAMS = 4
N_SPARK_HUB_STREAMS = 3

#: Known mismatches, ``(backend, check) -> reason``: marked xfail(strict=True), so that a
#: fix shows up as an unexpected pass. Empty: every backend conforms.
KNOWN_MISMATCHES: dict[tuple[str, str], str] = {}


def cases(backends: tuple[str, ...], checks: tuple[str, ...]) -> list[Any]:
    params = []
    for backend in backends:
        for check in checks:
            reason = KNOWN_MISMATCHES.get((backend, check))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(backend, check, id=f"{backend}-{check}", marks=marks))
    return params


@pytest.fixture(scope="module")
def uncompiled() -> Iterator[UncompiledKernel]:
    worker = UncompiledKernel()
    assert worker.jit_off, "the reference worker must run the kernel without numba"
    yield worker
    worker.close()


@pytest.fixture(scope="module")
def streams() -> tuple[Stream, ...]:
    return draw_streams(event_streams(), N_STREAMS)


@pytest.fixture(scope="module")
def hub_streams() -> tuple[Stream, ...]:
    return draw_streams(event_streams(hub=True), N_HUB_STREAMS)


@pytest.fixture(scope="module")
def spark(spark_session: Any) -> Iterator[Any]:
    """The shared session (tests/conftest.py), with the suite's settings."""
    with runtime_conf(spark_session, SPARK_CONF) as session:
        yield session


def check_backend(
    backend: str,
    check: str,
    streams: tuple[Stream, ...],
    worker: UncompiledKernel,
    session: Any = None,
) -> list[tuple[Snapshot, ...]]:
    """``check`` of ``backend`` equals the reference on every stream (and, online, after
    every event); returns the backend's snapshots per stream."""
    results = []
    for stream in streams:
        if backend == "spark":
            got = cached("spark", stream, functools.partial(run_spark, stream, session))
        else:
            got = cached(backend, stream, functools.partial(LOCAL_BACKENDS[backend], stream))
        if backend == "online":
            expected = reference_prefixes(stream, worker)
        else:
            expected = reference(stream, worker)
        assert len(got) == len(expected), (backend, len(got), len(expected))
        for ref, other in zip(expected, got, strict=True):
            assert_feature_equal(ref, other, check, backend, stream)
        results.append(got)
    return results


# ---------------------------------------------------------------- every feature


@pytest.mark.parametrize(("backend", "check"), cases(tuple(LOCAL_BACKENDS), CHECKS))
def test_backend_conforms(
    backend: str, check: str, streams: tuple[Stream, ...], uncompiled: UncompiledKernel
) -> None:
    check_backend(backend, check, streams, uncompiled)


@pytest.mark.parametrize(("backend", "check"), cases(("spark",), CHECKS))
def test_spark_conforms(
    backend: str,
    check: str,
    streams: tuple[Stream, ...],
    uncompiled: UncompiledKernel,
    spark: Any,
) -> None:
    check_backend(backend, check, spark_streams(streams), uncompiled, spark)


def spark_streams(streams: tuple[Stream, ...]) -> tuple[Stream, ...]:
    """The streams Spark runs: the first two, and the two with the most group rooms (split
    in a block by ``read_messages``, with their pair rows joined)."""
    rooms = sorted(
        streams[2:],
        key=lambda s: -rs.read_messages(columns(s.events)).groups.n_rooms,
    )
    return (*streams[:2], *rooms[: N_SPARK_STREAMS - 2])


# ---------------------------------------------------------------- per-account features


@pytest.mark.parametrize(("backend", "check"), cases(tuple(LOCAL_BACKENDS), ACCOUNT_FEATURES))
def test_account_features_conform_across_chunks(
    backend: str, check: str, hub_streams: tuple[Stream, ...], uncompiled: UncompiledKernel
) -> None:
    results = check_backend(backend, check, hub_streams, uncompiled)
    if backend == "out_of_core":
        # Chunks of one event: each of the hub's conversations is in a chunk of its own,
        # so its tallies are right only if the parts of every chunk were merged.
        for stream, got in zip(hub_streams, results, strict=True):
            hub = hub_conversations(stream)
            assert len({got[-1].group[c] for c in hub}) == len(hub) >= 2


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


# ---------------------------------------------------------------- ids that merge conversations


T1 = 1_700_000_000
#: Ids that would merge two conversations (room and account ids joined by "|" give a
#: room's pair ids): each refused by ``rs.read_messages`` with a SchemaError naming the
#: id, and so by every backend, whether the two lie in one chunk, block or partition or
#: in two, and whichever comes first online.
MERGING_IDS: dict[str, list[dict[str, Any]]] = {
    "a room, then a conversation under one of its pair ids": room_events(
        "g", [("a", "b"), ("a", "c")], T1
    )
    + room_events("g|a|b", [("x", "y"), ("y", "x")], T1 + 500),
    "a conversation, then a room that derives its id": room_events(
        "g|a|b", [("x", "y"), ("y", "x")], T1
    )
    + room_events("g", [("a", "b"), ("a", "c")], T1 + 500),
    "two rooms that derive one pair id": room_events("g", [("a|b", "c"), ("a|b", "d")], T1)
    + room_events("g|a", [("b", "c"), ("b", "e")], T1 + 500),
    "two pairs of one room that derive one id": room_events(
        "g", [("a|b", "c"), ("a", "b|c"), ("a", "z")], T1
    ),
}
#: Ids that hold the separator and merge nothing: accepted by every backend.
SEPARATED_IDS: dict[str, list[dict[str, Any]]] = {
    "ids holding the separator that merge nothing": room_events(
        "g", [("a|b", "c"), ("a|b", "d")], T1
    )
    + room_events("g|x", [("b", "c"), ("c", "e")], T1 + 500)
    + room_events("h|a|b", [("a", "b"), ("b", "a")], T1 + 900),
}
ID_CASES = {**MERGING_IDS, **SEPARATED_IDS}


@pytest.mark.parametrize("case", ID_CASES)
def test_ids_that_merge_conversations_are_refused_alike(case: str) -> None:
    got = local_refusals(ID_CASES[case])
    reference = got.pop("read_messages")
    assert (reference is None) == (case in SEPARATED_IDS), reference
    assert_refused_alike(reference, got, case)


@pytest.mark.parametrize("case", ID_CASES)
def test_ids_that_merge_conversations_are_refused_alike_on_spark(case: str, spark: Any) -> None:
    """``score_events`` and ``account_features``: the driver raises the in-memory error
    (not Spark's wrapping of an executor's), and releases what the job cached."""
    events = ID_CASES[case]
    reference = refusal(lambda: rs.read_messages(pa.Table.from_pylist(events)))
    cached = spark.sparkContext._jsc.getPersistentRDDs().size()
    assert_refused_alike(reference, spark_refusals(events, spark), case)
    if case in MERGING_IDS:
        assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached


# ---------------------------------------------------------------- the suite's own premises


def test_every_feature_and_backend_is_checked() -> None:
    assert FEATURES == rs.FEATURE_NAMES
    assert set(CHECKS) == {*rs.FEATURE_NAMES, "risk"}
    assert set(ACCOUNT_FEATURES) <= set(FEATURES)
    assert len(ACCOUNT_FEATURES) == 8


def test_the_reference_runs_without_numba(uncompiled: UncompiledKernel) -> None:
    assert uncompiled.jit_off
    assert kernel_is_compiled()  # ... and every backend here runs it compiled


def test_hub_streams_exercise_every_account_feature(
    hub_streams: tuple[Stream, ...], uncompiled: UncompiledKernel
) -> None:
    """The account checks are not vacuous: over the hub streams, every per-account
    feature takes a value other than zero, and some hub contacts two minors or more."""
    snapshots = [reference(stream, uncompiled)[-1] for stream in hub_streams]
    for name in ACCOUNT_FEATURES:
        values = {v for snap in snapshots for v in snap.values[:, FEATURES.index(name)]}
        assert len(values) >= 2, (name, values)
    fanout = max(snap.values[:, FEATURES.index("adult_minor_fanout")].max() for snap in snapshots)
    assert fanout >= 2


def test_streams_exercise_groups_broadcasts_and_unknown_time_zones(
    streams: tuple[Stream, ...],
) -> None:
    """The checks are not vacuous for group rooms and unknown clocks: the streams hold
    rooms split into pairs (some with a fan-out to several members), broadcasts set
    aside, group contact, unknown offsets, and pairs that met in a group and moved."""
    tables = [rs.read_messages(columns(stream.events)) for stream in streams]
    assert sum(t.groups.n_rooms for t in tables) >= 10
    assert sum(t.groups.n_broadcast for t in tables) >= 5
    assert sum(int((t.room_size >= 3).sum()) for t in tables) >= 50
    assert sum(int((t.recipient_tz_offset_min == TZ_UNKNOWN).sum()) for t in tables) >= 50
    moved = [rs.extract_features(t).column("pair_hours_to_private") for t in tables]
    assert sum(int((~np.isnan(m)).sum()) for m in moved) >= 5
    known = np.concatenate([rs.extract_features(t).column("child_tz_known_share") for t in tables])
    assert ((known > 0) & (known < 1)).any()


def test_spark_runs_streams_with_group_rooms(streams: tuple[Stream, ...]) -> None:
    chosen = spark_streams(streams)
    assert len(chosen) == N_SPARK_STREAMS
    assert sum(rs.read_messages(columns(s.events)).groups.n_rooms for s in chosen) >= 2


def test_threaded_parts_really_run_on_threads() -> None:
    assert threads_are_forced()


def test_the_probe_model_makes_every_known_feature_a_reason() -> None:
    """What the Spark backend's features are read from: with ``n_reasons`` = every
    feature, the reasons hold each known value, and only unknown ages are missing."""
    msgs = rs.synthetic.generate(60, prevalence=0.2, seed=5).messages
    features = rs.extract_features(msgs)
    scores = MODEL.score_features(features, n_reasons=len(FEATURES))
    assert np.all(scores.risk > 0.05)
    assert np.all(scores.risk < 0.95)
    got = np.full_like(features.values, np.nan)
    rows, cols = np.nonzero(scores.reason_feature >= 0)
    got[rows, scores.reason_feature[rows, cols]] = scores.reason_value[rows, cols]
    np.testing.assert_array_equal(got, features.values)
