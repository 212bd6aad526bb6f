"""Defects fixed on branch tidy54c: an alert the review queue refuses in the Synapse
module is a counted one-line warning, not a logged traceback; ``riskscore stream --queue``
queues the alerts of every event its ``--max-future-s`` takes; a share pulled toward one
half never reads ``at most 0 %`` above 0."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from synapse_helpers import _module, _run

import riskscore as rs
from riskscore._words import toward_half_percent
from riskscore.cli import main
from riskscore.moderation.cases import QueueError
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
    module._unsent.append((_alert_ahead(3 * _DAY_S), {}))  # an alert left at shutdown
    module._before_shutdown()
    assert module.stats()["queue_refused"] == 2


@pytest.mark.parametrize("resumed", [False, True])
def test_stream_queue_takes_the_alerts_of_events_its_max_future_s_takes(
    resumed: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Events up to three days ahead of the clock, with ``--max-future-s`` four days: the
    stream takes them all, and the queue refused the alerts dated over a day ahead (its
    own fixed limit); now it takes the scorer's limit, and queues every alert. Resumed
    from a checkpoint (the option left out, the checkpoint's own limit in force) too."""
    events = list(rs.synthetic.generate(40, prevalence=0.5, seed=3).messages.iter_events())
    shift = int(time.time()) + 3 * _DAY_S - max(e["timestamp"] for e in events)
    lines = [json.dumps({**e, "timestamp": e["timestamp"] + shift}) + "\n" for e in events]
    db = tmp_path / "queue.sqlite"
    argv = ["stream", "--queue", str(db), "--json"]
    limit = ["--max-future-s", str(4 * _DAY_S)]
    if resumed:
        checkpoint = ["--checkpoint", str(tmp_path / "scorer.checkpoint")]
        monkeypatch.setattr(sys, "stdin", io.StringIO("".join(lines[:100])))
        assert main([*argv, *limit, *checkpoint]) == 0
        capsys.readouterr()
        argv, limit = [*argv, *checkpoint], []
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(lines)))
    assert main([*argv, *limit]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.splitlines()[-1])["summary"]
    assert summary["rejected"] == 0
    assert summary["alerts"] > 0
    assert summary["queue"]["refused"] == 0, captured.err
    assert "not queued" not in captured.err


def test_queue_limit_ahead_is_the_one_given_and_worded_by_it(tmp_path: Path) -> None:
    """A queue's limit ahead of the clock: default a day (the reason's wording unchanged),
    or the one given; inf takes any time in the events' range."""
    with (
        rs.ReviewQueue(tmp_path / "a.sqlite") as queue,
        pytest.raises(QueueError, match=r"over 24 hours after the clock's time"),
    ):
        queue.add_alert(_alert_ahead(2 * _DAY_S))
    with rs.ReviewQueue(tmp_path / "b.sqlite", max_ahead_s=3 * _DAY_S) as queue:
        assert queue.add_alert(_alert_ahead(2 * _DAY_S)) == 1
        with pytest.raises(QueueError, match=r"over 3 days after the clock's time"):
            queue.add_alert(_alert_ahead(4 * _DAY_S))
    with rs.ReviewQueue(tmp_path / "c.sqlite", max_ahead_s=float("inf")) as queue:
        assert queue.add_alert(_alert_ahead(400 * _DAY_S)) == 1


@pytest.mark.parametrize(
    ("percent", "text"),
    [
        (1e-12, "at most 1 %"),  # read "at most 0 %": an upper bound rounded down
        (1e-9, "at most 1 %"),
        (0.04, "at most 1 %"),
        (1.0, "at most 1 %"),
        (100 * 0.2000000001, "at most 21 %"),
        (100 * 0.07, "at most 7 %"),  # 7.000000000000001: the 7 % the division meant
        (100 * (0.5 - 1e-12), "at most 50 %"),
        (50.0, "50 %"),
        (0.0, "0 %"),
    ],
)
def test_toward_half_below_one_half_is_an_upper_bound_never_rounded_down(
    percent: float, text: str
) -> None:
    """The mirror of ``at_least_percent``: a share over 0 never reads ``at most 0 %``."""
    assert toward_half_percent(percent) == text
