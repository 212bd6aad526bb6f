"""Defects fixed on branch hr69b (hostile review of the Synapse module on a real
homeserver, where nothing may block Twisted's reactor thread): a checkpoint that failed at
shutdown escaped to Twisted's log as a traceback and stopped the shutdown's last steps;
while another process held the review queue locked, every alert (and, in ``riskscore
serve``, every batch) waited the queue's whole busy timeout again; events were mapped and
scored, the room facts file (``rooms.sqlite3``) written and the alerts file and events log
appended on the reactor thread, where a slow disk, a FIFO whose reader stalled or a lock
stopped the whole homeserver; an alerts file that is a FIFO whose reader stalled then held
the module's writes, and its shutdown, for ever; a declared-ages CSV file replaced by one
it refuses made every event unreadable (a traceback each), and none was scored; an alert
the moderation room could not take was a traceback in the log, and scoring waited for
each notice to be posted.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
from queue_helpers import locked
from synapse_helpers import _chat, _queued, _read_jsonl, _run, _sinks, _Suspended, full_fifo

import riskscore.integrations._synapse_sinks as sinks
from riskscore.integrations._synapse_store import RoomStore
from riskscore.io.private import append_private_lines
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


async def _in_a_thread(func: Callable[..., Any], *args: Any) -> Any:
    """Synapse's ``defer_to_thread``, run to its end in another thread."""
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(func(*args)))
    worker.start()
    worker.join()
    (result,) = out
    return result


def _record_writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Each append to a JSON lines file and each write of the room facts file, with the
    thread that made it."""
    writes: list[tuple[str, int]] = []

    def recorded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            writes.append((name, threading.get_ident()))
            return func(*args, **kwargs)

        return call

    monkeypatch.setattr(
        sinks, "append_private_lines", recorded("append", sinks.append_private_lines)
    )
    for method in ("mark_direct", "add_invite", "pop_invite", "set_direct_claims", "set_meta"):
        monkeypatch.setattr(RoomStore, method, recorded(method, getattr(RoomStore, method)))
    return writes


def test_nothing_is_written_on_the_reactor_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: the background task mapped and scored each batch on the reactor thread, and
    with it wrote ``rooms.sqlite3`` (each invite, join and direct chat: a commit, an fsync
    at each WAL checkpoint, a wait of up to 30 s on a lock), appended the events log,
    the shadow file and each alert to the alerts file (a FIFO whose reader stalled held
    the reactor for ever; no client was served meanwhile); an ``m.direct`` account data
    update wrote the file on the reactor too. Now all of it runs in a thread."""
    writes = _record_writes(monkeypatch)
    module, db, jsonl = _sinks(tmp_path)
    module._api.defer_to_thread = _in_a_thread  # type: ignore[attr-defined]
    _chat(module)
    update = module.on_account_data_updated("@kid:x", None, "m.direct", {"@adult:x": ["!dm:x"]})
    _run(update)
    _run(module._drain())
    names = [name for name, _ in writes]
    assert {"append", "mark_direct", "add_invite", "pop_invite", "set_direct_claims"} <= set(names)
    assert names.count("append") == 3  # the events log, then each alert
    assert threading.get_ident() not in {thread for _, thread in writes}
    assert [r["tier"] for r in _read_jsonl(jsonl)] == ["review", "urgent"]
    assert [n for _, n in _queued(db)] == [2]
    assert module.stats()["alerts"] == 2


def test_an_alert_whose_thread_has_not_run_at_shutdown_is_sent_once(tmp_path: Path) -> None:
    """The shutdown sends an alert whose thread had not written it yet (Synapse's thread
    pool stops after the shutdown trigger); the thread, if it runs after all, sends
    nothing again: the alerts file has each record once."""
    module, db, jsonl = _sinks(tmp_path)
    _chat(module)
    later: list[Any] = []

    async def send_later(func: Callable[..., Any], *args: Any) -> Any:
        if func == module._send:
            later.append(args)
            await _Suspended()
        return func(*args)

    module._api.defer_to_thread = send_later  # type: ignore[attr-defined]
    drain = module._drain()
    drain.send(None)  # the first alert waits for its thread
    module._before_shutdown()
    drain.close()
    module._send(*later[0])  # the thread runs after the shutdown
    assert [r["tier"] for r in _read_jsonl(jsonl)] == ["review", "urgent"]
    assert [n for _, n in _queued(db)] == [2]
    assert module.stats()["alerts"] == 2


@contextmanager
def _stalled_fifo(path: Path) -> Iterator[None]:
    """A FIFO at ``path`` whose reader is there and reads nothing, its pipe full."""
    with full_fifo(path, b"x" * 4096):
        yield


def _ends(func: Callable[[], Any]) -> bool:
    """Whether ``func`` returns (in a thread given 10 s: a write waiting for ever never does)."""
    worker = threading.Thread(target=func, daemon=True)
    worker.start()
    worker.join(10)
    return not worker.is_alive()


def test_a_fifo_whose_reader_stalled_gives_up_after_the_wait(tmp_path: Path) -> None:
    """Was: an append to a FIFO whose reader stopped reading waited for ever; with
    ``wait_s`` it waits that long for room, then fails naming the file and the wait."""
    fifo = tmp_path / "alerts.jsonl"
    errors: list[OSError] = []

    def append() -> None:
        try:
            append_private_lines(fifo, ['{"a": 1}'], wait_s=0.05)
        except OSError as exc:
            errors.append(exc)

    with _stalled_fifo(fifo):
        assert _ends(append)
    (error,) = errors
    assert error.errno == errno.ETIMEDOUT
    assert error.filename == str(fifo)
    assert "its reader read nothing for 0.05 s" in str(error)


def test_an_alerts_fifo_whose_reader_stalled_holds_no_alert_for_ever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: an alerts file that is a FIFO whose reader (a log shipper) stopped reading
    held the alert's send for ever: no later alert, checkpoint or shutdown. Now the
    append gives up after ``FIFO_WAIT_S``: counted, one line in the log, and the alert
    still queued."""
    monkeypatch.setattr(sinks, "FIFO_WAIT_S", 0.05)
    module, db, jsonl = _sinks(tmp_path)
    _chat(module)
    (first, context), _ = module._process(100)
    with (
        _stalled_fifo(jsonl),
        caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"),
    ):
        assert _ends(lambda: _run(module._emit(first, context)))
    assert module.stats()["jsonl_failed"] == 1
    (line,) = [r for r in caplog.records if "could not append" in r.getMessage()]
    assert "its reader read nothing for 0.05 s" in line.getMessage()
    assert [n for _, n in _queued(db)] == [1]


def _touch_ahead(path: Path, text: str, seconds: int) -> None:
    """``path`` rewritten with ``text``, its mtime ``seconds`` ahead (a new version)."""
    path.write_text(text)
    ahead = time.time() + seconds
    os.utime(path, (ahead, ahead))


def test_an_ages_file_refused_at_runtime_keeps_the_rows_read_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: an ages CSV rewritten with a user listed twice (or half written, or removed)
    made every room event "could not map room event" with a traceback, counted as
    unreadable, and no event was scored until the file was fixed. Now the rows read before
    stay in force, one line names the file and its problem, and a fixed file is read."""
    module, _, _ = _sinks(tmp_path)
    ages = tmp_path / "ages.csv"
    _touch_ahead(ages, "user_id,age\n@adult:x,34\n@kid:x,12\n@kid:x,13\n", 5)
    _chat(module)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        alerts = module._process(100)
        ages.unlink()
        assert module._translator.ages.get("@kid:x").age == 12.0
        assert module._translator.ages.get("@kid:x").age == 12.0  # no second line
    assert (module.stats()["scored"], module.stats()["unmapped"]) == (14, 0)
    assert [a.child_age for a, _ in alerts] == [12.0, 12.0]
    twice, gone = (r.getMessage() for r in caplog.records)
    assert twice.startswith(f"riskscore: declared ages not re-read from {ages}: ")
    assert "lists user '@kid:x' twice, on lines 3 and 4" in twice
    assert "No such file" in gone
    assert not any(r.exc_info for r in caplog.records)
    _touch_ahead(ages, "user_id,age\n@adult:x,34\n@kid:x,13\n", 10)
    assert module._translator.ages.get("@kid:x").age == 13.0


def test_an_alert_the_moderation_room_cannot_take_is_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: a traceback per alert in the log when the notice could not be posted (the
    notice user removed from the room, a remote room unreachable); now one line naming the
    conversation and the error, and the alert is still in the file and the queue."""
    module, db, jsonl = _sinks(tmp_path)
    module._settings = replace(module._settings, moderation_room=object())  # type: ignore[arg-type]

    async def refused(*_: Any) -> None:
        raise RuntimeError("403: @riskscore:x is not in room !mod:x")

    module._post_to_moderation_room = refused  # type: ignore[method-assign]
    _chat(module)
    (alert, context), _ = module._process(100)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        _run(module._emit(alert, context))
        _run(module._post_notices())  # the notices' own task
    (line,) = caplog.records
    assert line.getMessage() == (
        "riskscore: could not post the alert on conversation @adult:x|@kid:x to the moderation "
        "room (it is in the alerts file and the review queue when configured): RuntimeError: "
        "403: @riskscore:x is not in room !mod:x"
    )
    assert not line.exc_info
    assert len(_read_jsonl(jsonl)) == 1
    assert [n for _, n in _queued(db)] == [1]


def test_scoring_never_waits_for_the_moderation_room(tmp_path: Path) -> None:
    """Was: the background task awaited each notice's post before the next alert and the
    next batch: a moderation room on a server that did not answer (its join retried for
    each alert) held every event behind it, and a full scoring queue dropped them. Now
    the notices are posted in order by a task of their own."""
    module, db, jsonl = _sinks(tmp_path)
    module._settings = replace(module._settings, moderation_room=object())  # type: ignore[arg-type]
    posted: list[str] = []

    async def unanswered(alert: Alert, _: Any) -> None:
        posted.append(alert.tier.name)
        await _Suspended()

    module._post_to_moderation_room = unanswered  # type: ignore[method-assign]
    _chat(module)
    for alert, context in module._process(100):
        _run(module._emit(alert, context))  # returns at once
    assert [r["tier"] for r in _read_jsonl(jsonl)] == ["review", "urgent"]
    assert [n for _, n in _queued(db)] == [2]
    assert module._api.background.count("riskscore_notices") == 1  # type: ignore[attr-defined]
    notices = module._post_notices()
    notices.send(None)  # the first notice waits for the server
    assert posted == ["REVIEW"]
    notices.close()
