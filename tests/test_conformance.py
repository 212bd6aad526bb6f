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
  (tests/test_conformance_spark.py; skipped without Java).

The streams hold group rooms (conversations of 3-4 accounts, split into pair
conversations; the online scorer gets the rows as given and splits them itself), events
fanned out to several members, ``room_size`` given or not (group contact, broadcasts set
aside) and unknown time zones.

The per-account features get their own checks on *hub* streams, where one adult has
several conversations, each in its own chunk (out of core) and Spark block.

Deterministic and bounded: the streams are drawn once per test by hypothesis with
``derandomize=True``, no example database and ``max_examples`` = the counts below
(:func:`conformance_helpers.draw_streams`), and each backend runs once per stream, its
result shared by the 35 checks. The streams and the backends' runs are shared with the Spark
file (tests/conftest.py, tests/conformance_cases.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conformance_cases import ID_CASES, SEPARATED_IDS, cases, check_backend
from conformance_helpers import (
    ACCOUNT_FEATURES,
    CHECKS,
    FEATURES,
    LOCAL_BACKENDS,
    MODEL,
    hub_conversations,
    kernel_is_compiled,
    reference,
    threads_are_forced,
)
from conformance_refusals import (
    assert_refused_alike,
    local_refusals,
    refused_alike,
)
from conformance_streams import (
    Stream,
    columns,
)
from features_helpers import UncompiledKernel

import riskscore as rs
from riskscore.io.groups import group_contact_mask
from riskscore.io.schema import TZ_UNKNOWN

# ---------------------------------------------------------------- every feature


@pytest.mark.parametrize(("backend", "check"), cases(tuple(LOCAL_BACKENDS), CHECKS))
def test_backend_conforms(
    backend: str, check: str, streams: tuple[Stream, ...], uncompiled: UncompiledKernel
) -> None:
    check_backend(backend, check, streams, uncompiled)


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


# ---------------------------------------------------------------- ids that merge conversations


@pytest.mark.parametrize("case", ID_CASES)
def test_ids_that_merge_conversations_are_refused_alike(case: str) -> None:
    got = local_refusals(ID_CASES[case])
    reference = got.pop("read_messages")
    assert (reference is None) == (case in SEPARATED_IDS), reference
    assert_refused_alike(reference, got, case)


# ---------------------------------------------------------------- values out of a column's range


def _one_event(**values: object) -> list[dict[str, Any]]:
    event = {
        "conversation_id": 1, "timestamp": 1_700_000_000, "sender_id": "a",
        "recipient_id": "b", "channel": "direct", "sender_age": 30.0, "recipient_age": 12.0,
    }  # fmt: skip
    return [{**event, **values}]


@pytest.mark.parametrize(
    "values",
    [
        {"sender_age": math.inf},
        {"recipient_age": -math.inf},
        {"sender_age": 130.0},
        {"recipient_age": -1.0},
    ],
    ids=repr,
)
def test_values_out_of_range_are_refused_alike(values: dict[str, object]) -> None:
    """Was: online (one event's cells read one by one) took an infinite age for text that
    is no number ("inf is not a number") where every other backend read a number out of
    range ("inf is not a plausible age"): one rule, two messages."""
    refused_alike(_one_event(**values), repr(values))


def test_a_float16_age_is_refused_alike() -> None:
    """Was: read as the float16 holds it, 17.999 as exactly 18.0 (an adult), everywhere.
    An Arrow half-float column in memory and out of core, a ``np.float16`` online. (Spark
    has no 16-bit float: such a column cannot reach its backend.)"""
    reference = refused_alike(_one_event(recipient_age=np.float16(17.999)), "float16 age")
    assert (reference.column, reference.row) == ("recipient_age", 0)
    assert "16-bit float" in str(reference)


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
    assert sum(int(group_contact_mask(t.room_size, t.event).sum()) for t in tables) >= 50
    assert sum(int((t.recipient_tz_offset_min == TZ_UNKNOWN).sum()) for t in tables) >= 50
    moved = [rs.extract_features(t).column("pair_hours_to_private") for t in tables]
    assert sum(int((~np.isnan(m)).sum()) for m in moved) >= 5
    known = np.concatenate([rs.extract_features(t).column("child_tz_known_share") for t in tables])
    assert ((known > 0) & (known < 1)).any()


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
