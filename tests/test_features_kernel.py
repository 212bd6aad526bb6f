"""The compiled feature kernel equals its Python source run without numba (on hand-built
and random tables), and parts of a large table on worker threads equal one pass.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from features_helpers import (
    Event,
    UncompiledKernel,
    adult_to_child,
    assert_tables_identical,
    event_tables,
    extract,
    mixed_events,
)
from hypothesis import given, settings

import riskscore as rs
import riskscore.io.threads as _threads
from riskscore.features import extract_features, kernel
from riskscore.features.parts import PART_EVENTS, kernel_events
from riskscore.features.registry import FEATURE_NAMES
from riskscore.io.chunks import conversation_parts

# ---------------------------------------------------------------- the kernel without numba


@pytest.fixture(scope="module")
def uncompiled() -> Iterator[UncompiledKernel]:
    worker = UncompiledKernel()
    yield worker
    worker.close()


def test_the_uncompiled_worker_really_runs_without_numba(uncompiled: UncompiledKernel) -> None:
    assert uncompiled.jit_off
    assert not inspect.isfunction(kernel.update_conversation)  # compiled in this process


def assert_same_as_uncompiled(events: Sequence[Event], uncompiled: UncompiledKernel) -> None:
    compiled = extract(events)
    plain = uncompiled.features(events)
    assert plain["adult_id"] == compiled.adult_id.tolist()
    assert plain["child_id"] == compiled.child_id.tolist()
    got = [float(v).hex() for v in compiled.values.ravel()]
    assert got == plain["values"]


def test_compiled_kernel_equals_its_python_source_on_hand_built_tables(
    uncompiled: UncompiledKernel,
) -> None:
    assert_same_as_uncompiled(mixed_events(), uncompiled)
    assert_same_as_uncompiled(
        [adult_to_child(t * 7_919, tz=tz) for t, tz in enumerate((-720, -300, 0, 330, 840))],
        uncompiled,
    )


@settings(max_examples=60, deadline=None, database=None)
@given(events=event_tables(distinct_times=False))
def test_compiled_kernel_equals_its_python_source(
    events: list[Event], uncompiled: UncompiledKernel
) -> None:
    assert_same_as_uncompiled(events, uncompiled)


# ---------------------------------------------------------------- parts on threads


@pytest.fixture(scope="module")
def large() -> rs.MessageTable:
    # Large enough for worker threads and several parts of whole conversations.
    return rs.synthetic.generate(20_000, prevalence=0.02, seed=41).messages


def test_parts_on_threads_equal_one_pass_over_a_large_table(
    large: rs.MessageTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RISKSCORE_NUM_THREADS", raising=False)
    assert len(large) >= _threads.THREAD_MIN_ROWS
    assert _threads.worker_threads() >= 2 or (os.cpu_count() or 1) == 1
    assert len(conversation_parts(large, PART_EVENTS)) >= 3
    threaded = extract_features(large)

    # One compiled call over every conversation, no parts, no threads (the inputs as the
    # batch path hands them over: the signature warmup compiled).
    events = kernel_events(large)
    values = np.empty((large.n_conversations, len(FEATURE_NAMES)))
    adult = np.empty(large.n_conversations, dtype=np.int64)
    accounts = rs.extract_account_features(large)
    pair_first, pair_private = accounts.pairs.lookup(
        large.accounts[events.initiator], large.accounts[events.responder]
    )
    kernel.run_conversations(
        events.starts, *events.columns, events.initiator, events.responder,
        accounts.lookup(large.accounts), pair_first, pair_private,
        0, large.n_conversations, values, adult,
    )  # fmt: skip
    assert threaded.values.tobytes() == values.tobytes()
    np.testing.assert_array_equal(threaded.adult_id, large.accounts[adult])

    monkeypatch.setenv("RISKSCORE_NUM_THREADS", "1")
    assert_tables_identical(extract_features(large), threaded)


def test_online_kernel_calls_equal_the_batch_row(large: rs.MessageTable) -> None:
    # The one-event API (apply_event, then conversation_features) over the events of a
    # few conversations gives the batch rows.
    batch = extract_features(large)
    tallies = rs.extract_account_features(large)
    starts = large.segment_starts
    first, private = tallies.pairs.lookup(
        large.accounts[large.sender_code[starts]], large.accounts[large.recipient_code[starts]]
    )
    out = np.empty(len(FEATURE_NAMES))
    starts, ends = large.segment_starts, large.segment_ends
    for k in range(0, large.n_conversations, 997):
        state = kernel.new_state()
        initiator = large.sender_code[starts[k]]
        side = 1
        for e in range(starts[k], ends[k]):
            side = kernel.apply_event(
                state,
                1 if large.sender_code[e] == initiator else 0,
                int(large.timestamp[e]),
                float(large.sender_age[e]),
                float(large.recipient_age[e]),
                int(large.channel[e]),
                int(large.event[e]),
                float(large.recipient_tz_offset_min[e]),
                int(large.room_size[e]),
            )
        adult = initiator if side == 1 else large.recipient_code[starts[k]]
        assert large.accounts[adult] == batch.adult_id[k]
        kernel.conversation_features(
            state, tallies.lookup(large.accounts[[adult]])[0], first[k], private[k], out
        )
        assert out.tobytes() == batch.values[k].tobytes(), k
