"""Defects fixed on branch tidy54c: an alert the review queue refuses in the Synapse
module is a counted one-line warning, not a logged traceback."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from synapse_helpers import _module, _run

from riskscore.policy import Alert, Tier

_DAY_S = 86_400


def _alert_ahead(seconds: int) -> Alert:
    when = int(time.time()) + seconds
    return Alert(
        "conv-ahead",
        "@adult:x",
        "@kid:x",
        12.0,
        "12-13",
        0.9,
        Tier.URGENT,
        timestamp=when,
        first_event_at=when - 60,
        last_event_at=when,
    )


async def _in_this_thread(func: Any, *args: Any) -> Any:
    return func(*args)


def test_synapse_alert_refused_by_the_queue_is_a_counted_one_line_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An alert dated three days ahead of the clock: the queue refuses it (QueueError).
    It was logged with a traceback and counted nowhere; now one warning line names the
    conversation and the queue's reason, and ``stats()["queue_refused"]`` counts it, both
    when the drain emits it and when shutdown queues it."""
    module, api = _module(tmp_path, alerts={"review_queue": str(tmp_path / "q.sqlite3")})
    api.defer_to_thread = _in_this_thread  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="riskscore.integrations.synapse"):
        _run(module._emit(_alert_ahead(3 * _DAY_S), {}))
    refused = [r for r in caplog.records if "review queue refused" in r.getMessage()]
    assert len(refused) == 1
    assert refused[0].levelno == logging.WARNING
    assert not refused[0].exc_info  # no traceback
    message = refused[0].getMessage()
    assert "conv-ahead" in message
    assert "after the clock's time" in message
    assert "\n" not in message
    assert module.stats()["queue_refused"] == 1
    assert module.stats()["alerts"] == 1
    module._queue_alert_or_count(_alert_ahead(3 * _DAY_S))  # as _before_shutdown does
    assert module.stats()["queue_refused"] == 2
