"""Review 19 of the Synapse module: a remote server or user sending many refused or odd
events wrote one log line each, flooding the homeserver's log. Warnings are now the first
few of each kind, then a count at most once per interval; every event is still counted."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from synapse_helpers import _Event, _module, _Room, _run
from test_synapse_review18 import T0, _at, _remote_dm

from riskscore.integrations._synapse_log import FIRST_LOGGED, EventWarnings
from riskscore.integrations.synapse import RiskscoreModule

N = 1000


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("riskscore")]


def test_warnings_are_the_first_few_then_a_count_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    warnings = EventWarnings(logging.getLogger("riskscore.test"), clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for i in range(N):
            warnings.warn("refused events", logging.WARNING, "event %d refused", i)
            now[0] += 0.01  # 1000 events in 10 s: within one interval
        warnings.warn("odd events", logging.WARNING, "odd event")
    lines = _lines(caplog)
    assert [line for line in lines if "refused" in line and "event " in line][:FIRST_LOGGED] == [
        f"event {i} refused" for i in range(FIRST_LOGGED)
    ]
    assert len(lines) == FIRST_LOGGED + 1 + 1  # five, the notice that more are counted, odd
    assert warnings.seen == {"refused events": N, "odd events": 1}
    assert warnings.suppressed == {"refused events": N - FIRST_LOGGED}
    caplog.clear()
    now[0] += 60.0  # the interval is up: the next event brings the count
    with caplog.at_level(logging.WARNING):
        warnings.warn("refused events", logging.WARNING, "event refused")
        warnings.warn("refused events", logging.WARNING, "event refused")
        warnings.flush()  # within the interval of that count: nothing
    (count,) = _lines(caplog)
    assert count.startswith(f"riskscore: {N - FIRST_LOGGED + 1} more refused events not logged")
    assert f"({N + 1} in all" in count
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        warnings.flush(force=True)  # at shutdown: what is left, at once
        warnings.flush(force=True)  # and only once
    assert _lines(caplog) == [
        f"riskscore: 1 more refused events not logged one by one ({N + 2} in all since start-up)"
    ]
    assert warnings.suppressed["refused events"] == N - FIRST_LOGGED + 2


def _flooded(caplog: pytest.LogCaptureFixture, module: RiskscoreModule) -> list[str]:
    lines = _lines(caplog)
    assert len(lines) <= FIRST_LOGGED + 2, lines[: FIRST_LOGGED + 5]
    assert module.stats()["warnings_not_logged"] == N - FIRST_LOGGED
    return lines


def test_events_the_scorer_refuses_cannot_flood_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module, _ = _module(tmp_path)
    room = _Room("!r:x")
    room.member("@adult:x", "join")
    room.member("@kid:x", "join")
    ahead = int((time.time() + 30 * 86_400) * 1000)  # this server's user: kept, and refused
    with caplog.at_level(logging.WARNING):
        for _ in range(N):
            message = room.message("@adult:x")
            message.origin_server_ts = ahead
            _run(module.on_new_event(message, room.state))
        module._process(N)
    _flooded(caplog, module)
    assert module.n_rejected == N


def test_unreadable_events_cannot_flood_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module, _ = _module(tmp_path)
    room = _Room("!r:x")
    with caplog.at_level(logging.WARNING):
        for _ in range(N):  # a sender that is no user id: the module cannot read it
            _run(module.on_new_event(_Event("m.room.message", "!r:x", 7), room.state))  # type: ignore[arg-type]
    _flooded(caplog, module)
    assert module.stats()["unmapped"] == N
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == FIRST_LOGGED  # the first ones keep theirs, for a bug report


def test_remote_events_dated_far_off_cannot_flood_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module, room, _now = _remote_dm(tmp_path)
    with caplog.at_level(logging.WARNING):
        for i in range(N):
            event = _at(room.message("@adult:far.example"), T0 + 86_400, f"$e{i}")
            _run(module.on_new_event(event, room.state))
    _flooded(caplog, module)
    assert module.stats()["clamped_timestamps"] == N


def test_a_full_queue_warns_the_first_few_then_counts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module, _ = _module(tmp_path, max_queue=1)
    room = _Room("!r:x")
    room.member("@adult:x", "join")
    room.member("@kid:x", "join")
    with caplog.at_level(logging.WARNING):
        for _ in range(N + 1):
            _run(module.on_new_event(room.message("@adult:x"), room.state))
        module._before_shutdown()  # the count of what was not logged, at shutdown
    lines = _flooded(caplog, module)
    assert module.n_dropped == N
    assert any(f"{N - FIRST_LOGGED} more events dropped" in line for line in lines)
