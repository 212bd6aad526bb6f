"""Defects fixed on branch hr69b (hostile review of the Synapse module on a real
homeserver, where nothing may block Twisted's reactor thread): a checkpoint that failed at
shutdown escaped to Twisted's log as a traceback and stopped the shutdown's last steps;
while another process held the review queue locked, every alert (and, in ``riskscore
serve``, every batch) waited the queue's whole busy timeout again.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
from queue_helpers import locked
from synapse_helpers import _run
from test_hostile_hr68h import _chat, _queued, _sinks

import riskscore.integrations._synapse_sinks as sinks
from riskscore.moderation.queue import ReviewQueue
from riskscore.moderation.queue_writer import HELD_WAIT_S, QueueWriter
from riskscore.policy import Alert, Tier


def _checkpoint_made_unwritable(tmp_path: Path) -> Path:
    """The scorer checkpoint's place taken by a directory (as a full disk or a state_dir
    made read-only fails the write)."""
    path = tmp_path / "s" / "scorer.checkpoint"
    path.unlink(missing_ok=True)
    path.mkdir()
    return path


def test_a_final_checkpoint_that_fails_is_one_line_and_the_shutdown_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: ``IsADirectoryError`` (a full disk alike) raised out of ``_before_shutdown``:
    Twisted logged a traceback, and the room state file was not closed nor the
    shutdown's counts logged. Now one line names the file and what is lost."""
    module, _, _ = _sinks(tmp_path)
    _chat(module)
    path = _checkpoint_made_unwritable(tmp_path)
    with caplog.at_level(logging.INFO, logger="riskscore.integrations.synapse"):
        module._before_shutdown()
    (line,) = [r for r in caplog.records if "failed" in r.getMessage()]
    assert line.getMessage().startswith(f"riskscore: checkpoint to {path} failed: {path} is a")
    assert "since the last checkpoint is lost (the server is stopping)" in line.getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert any("stopped after 14 room events" in r.getMessage() for r in caplog.records)


def test_a_periodic_checkpoint_that_fails_is_one_line_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: a traceback in the log at every checkpoint interval (``logger.exception``)
    while the disk stayed full; now one line, as ``riskscore serve`` logs it."""
    module, _, _ = _sinks(tmp_path)
    _chat(module)
    module._process(100)
    path = _checkpoint_made_unwritable(tmp_path)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        _run(module._checkpoint_in_thread())
    (line,) = caplog.records
    assert line.getMessage().startswith(f"riskscore: checkpoint to {path} failed: ")
    assert line.getMessage().endswith("; tried again in 60 s")
    assert not line.exc_info
    assert module._dirty


class _Recorded(ReviewQueue):
    """A review queue that records the busy timeout it was opened with (None: default)."""

    opened: ClassVar[list[float | None]] = []

    def __init__(self, path: Path, **kwargs: Any) -> None:
        self.opened.append(kwargs.get("timeout_s"))
        super().__init__(path, **{"timeout_s": 0.2, **kwargs})


def test_alerts_held_by_a_locked_queue_wait_the_busy_timeout_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: each alert raised while another process held the review queue waited the
    whole busy timeout (30 s) again: the module's scoring stalled 30 s per alert, and
    its scoring queue filled and dropped events. Now the first try waits it; while alerts
    are held, each later one waits HELD_WAIT_S; once queued, the full wait is back."""
    monkeypatch.setattr(_Recorded, "opened", [])
    monkeypatch.setattr(sinks, "ReviewQueue", _Recorded)
    module, db, _ = _sinks(tmp_path)
    _chat(module)
    first, second = module._process(100)
    with locked(db):
        _run(module._emit(*first))
        _run(module._emit(*second))
        module._before_shutdown()
    assert _Recorded.opened == [None, HELD_WAIT_S, HELD_WAIT_S]
    assert module.stats()["queue_held"] == 2  # kept, in order, for the next try
    module._flush_queue()
    assert [n for _, n in _queued(db)] == [2]
    assert _Recorded.opened[3] == HELD_WAIT_S  # the try that queued them
    module._writer.hold(None, [(0, first[0])], [])
    module._flush_queue()
    assert _Recorded.opened[4:] == [None]


def test_serve_batches_held_by_a_locked_queue_wait_the_busy_timeout_once(
    tmp_path: Path,
) -> None:
    """``riskscore serve``'s writer keeps the same rule: each batch met by the lock
    waited the queue's busy timeout again (a scoring request answered after 30 s);
    now the later ones wait HELD_WAIT_S, and the queue's own timeout is set back."""
    db = tmp_path / "q.sqlite"
    t = int(time.time())
    alerts = [
        (0, Alert(f"c{i}", "a", f"k{i}", 12.0, "under 13", 0.9, Tier.URGENT)) for i in range(3)
    ]
    with ReviewQueue(db, timeout_s=0.2) as q:
        waits: list[int] = []
        add_alerts = q.add_alerts

        def recording(*args: Any, **kwargs: Any) -> Any:
            waits.append(q._con.execute("PRAGMA busy_timeout").fetchone()[0])
            return add_alerts(*args, **kwargs)

        q.add_alerts = recording  # type: ignore[method-assign]
        writer = QueueWriter(q)
        with locked(db):
            writer.add(t, alerts[:1], [])
            writer.add(t, alerts[1:2], [])
        assert writer.held == (2, 0)
        writer.add(t, alerts[2:], [])
        assert [i.conversation_id for i in q.items()] == ["c0", "c1", "c2"]
        assert waits == [200, 50, 50, 50, 50]
        assert q._con.execute("PRAGMA busy_timeout").fetchone()[0] == 200
