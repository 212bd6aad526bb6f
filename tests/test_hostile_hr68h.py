"""Defects fixed on branch hr68h (hostile review of the Synapse module when the review queue
is locked or fails): an alert raised while another process held the review queue locked
was logged and never queued (it is now held and queued after, by the rule ``riskscore
serve`` uses, :mod:`riskscore.moderation.queue_writer`); the alerts of a batch not sent yet
when the server stopped were lost to every sink; an events log or alerts file that could
not be written lost the batch's alerts, or stopped the shutdown before its checkpoint; a
full disk left half a record that the next append joined to another; a file setting that
could not work (a directory, another setting's file, a database that is no review queue)
was accepted at start-up.
"""

from __future__ import annotations

import json
import logging
import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from queue_helpers import locked, wait_briefly
from synapse.module_api.errors import ConfigError
from synapse_helpers import _base, _chat, _queued, _read_jsonl, _run, _sinks, _Suspended

import riskscore as rs
from riskscore.integrations.synapse import RiskscoreModule


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    wait_briefly(monkeypatch)


@pytest.mark.usefixtures("short_wait")
def test_an_alert_raised_while_the_queue_is_locked_is_queued_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: ``could not add the alert to the review queue`` with a traceback, and the alert
    never reached the queue (only the alerts file and the room notice); the checkpoint
    then counted it as raised, so no later event raised it again. Now it is held, the
    checkpoint is not written while it is, and it is queued before the next alert and
    before the next checkpoint, as ``riskscore serve`` does."""
    module, db, jsonl = _sinks(tmp_path)
    _chat(module)
    alerts = module._process(100)
    assert len(alerts) == 2
    with locked(db), caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        _run(module._emit(*alerts[0]))
        held = module.stats().get("queue_held")
        written = module._write_checkpoint()
    checkpointed = (tmp_path / "s" / "scorer.checkpoint").exists()
    _run(module._emit(*alerts[1]))  # the lock released: both, in order
    assert _queued(db) == [(alerts[0][0].conversation_id, 2)]
    assert (held, written, checkpointed) == (1, False, False)  # it counts the alert raised
    assert module.stats()["queue_held"] == 0
    logged = [r for r in caplog.records if "review queue locked" in r.getMessage()]
    assert logged
    assert not any(r.exc_info for r in caplog.records)
    assert "1 alert and 0 user reports held" in logged[0].getMessage()
    assert any("not written: 1 alert held" in r.getMessage() for r in caplog.records)
    assert module._write_checkpoint() is True
    assert len(_read_jsonl(jsonl)) == 2


@pytest.mark.usefixtures("short_wait")
def test_shutdown_queues_the_alerts_held_then_writes_the_checkpoint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The alerts held while the queue was locked are queued at shutdown, before its
    checkpoint; while the lock outlasts the shutdown, no checkpoint is written (a restart
    from it would never queue them) and the log says how many were not queued, and of which
    conversations (to find them in the alerts file)."""
    module, db, _ = _sinks(tmp_path)
    _chat(module)
    with locked(db):
        for alert, context in module._process(100):
            _run(module._emit(alert, context))
    module._before_shutdown()
    assert [n for _, n in _queued(db)] == [2]
    assert (tmp_path / "s" / "scorer.checkpoint").is_file()

    again, db2, _ = _sinks(tmp_path / "b")
    _chat(again)
    with locked(db2), caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        for alert, context in again._process(100):
            _run(again._emit(alert, context))
        again._before_shutdown()
    assert _queued(db2) == []
    (lost,) = [r for r in caplog.records if "not queued at shutdown" in r.getMessage()]
    assert "2 alerts not queued at shutdown (conversation(s) @adult:x|@kid:x" in lost.getMessage()
    assert not (tmp_path / "b" / "s" / "scorer.checkpoint").exists()


def test_alerts_of_a_batch_not_sent_yet_at_shutdown_are_sent(tmp_path: Path) -> None:
    """Was: the server stopping while the module awaited the review queue for a batch's
    first alert (another process held its lock, 30 s) lost the batch's other alerts: not
    in the alerts file, not queued, and counted as raised by the checkpoint. Now shutdown
    sends them to the alerts file and the queue."""
    module, db, jsonl = _sinks(tmp_path)
    module._api.defer_to_thread = lambda *_: _Suspended()  # type: ignore[attr-defined]
    module._api.sleep = lambda _: _Suspended()  # type: ignore[attr-defined]
    _chat(module)
    drain = module._drain()
    drain.send(None)  # suspended in the first alert's queue write
    module._before_shutdown()
    drain.close()
    assert [r["tier"] for r in _read_jsonl(jsonl)] == ["review", "urgent"]
    assert [n for _, n in _queued(db)] == [2]
    assert module.stats()["alerts"] == 2


def test_an_events_log_that_cannot_be_written_loses_no_alert(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: the events log replaced by a directory (or a full disk) raised out of the
    batch, after its events were scored: its alerts went to no sink (the drain task
    died) and the checkpoint counted them as raised. Now the batch's alerts are sent,
    the events not logged are counted, and one line names the file."""
    module, _, _ = _sinks(tmp_path)
    (tmp_path / "ev.jsonl").mkdir()
    _chat(module)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        alerts = module._process(100)
    assert len(alerts) == 2
    assert module.stats()["events_log_failed"] == 14
    (line,) = [r for r in caplog.records if "events log" in r.getMessage()]
    assert str(tmp_path / "ev.jsonl") in line.getMessage()
    assert not line.exc_info


def test_an_alerts_file_that_cannot_be_written_does_not_stop_the_shutdown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: at shutdown, an alerts file replaced by a directory raised
    ``IsADirectoryError`` out of the shutdown: the alerts were not queued, the checkpoint
    not written (every conversation's state since the last one lost). Now the file's
    failure is one line naming it and the conversation; the queue and checkpoint follow."""
    module, db, jsonl = _sinks(tmp_path)
    jsonl.mkdir()
    _chat(module)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        module._before_shutdown()
    assert [n for _, n in _queued(db)] == [2]
    assert (tmp_path / "s" / "scorer.checkpoint").is_file()
    assert module.stats()["jsonl_failed"] == 2
    (line,) = [r for r in caplog.records if "could not append" in r.getMessage()]
    assert "2 alerts on conversation(s) " in line.getMessage()
    assert str(jsonl) in line.getMessage()
    assert not line.exc_info


@contextmanager
def _disk_full_after(n_bytes: int) -> Iterator[None]:
    """Files of this process may grow to ``n_bytes`` only (``RLIMIT_FSIZE``): a write past
    it is cut short and then fails (``EFBIG``), as on a disk that fills mid-write."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_disk_full_mid_record_leaves_no_half_record(tmp_path: Path) -> None:
    """Was: a disk that filled while an alert's record was appended kept the part
    written, and the next alert's record was appended to it: one line of two records,
    which no JSON reader takes (``riskscore compare --alerts`` refused the file). Now the
    file is cut back to its last whole record."""
    module, _, jsonl = _sinks(tmp_path, queue=False)
    _chat(module)
    (first, context), second = module._process(100)
    with _disk_full_after(100):
        _run(module._emit(first, context))
    assert jsonl.read_bytes() == b""
    assert module.stats()["jsonl_failed"] == 1
    _run(module._emit(*second))
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["tier"] for r in records] == ["urgent"]


@pytest.mark.parametrize(
    ("alerts", "extra", "where", "message"),
    [
        ({"jsonl": "DIR"}, {}, ("alerts", "jsonl"), "is a directory: give a file"),
        ({"review_queue": "DIR"}, {}, ("alerts", "review_queue"), "is a directory"),
        ({"jsonl": "a.jsonl"}, {"events_log": "a.jsonl"}, ("events_log",), "is also alerts.jsonl"),
        (
            {"jsonl": "a.jsonl"},
            {"shadow": {"model": "BUNDLE", "jsonl": "LINK"}},
            ("shadow", "jsonl"),
            "is also alerts.jsonl",
        ),
        ({"review_queue": "ev.jsonl"}, {}, ("alerts", "review_queue"), "is not a riskscore queue"),
        (
            {"jsonl": "a.jsonl"},
            {"events_log": "s/scorer.checkpoint"},
            ("events_log",),
            "is also the module's scorer.checkpoint in state_dir",
        ),
    ],
)
def test_a_file_setting_that_cannot_work_is_refused_at_start(
    tmp_path: Path, alerts: dict[str, str], extra: dict[str, Any], where: Any, message: str
) -> None:
    """Was: accepted, and then every alert failed (a directory; a file that is no review
    queue, each alert a traceback), or two sinks wrote one file (the alerts among the
    events; the shadow's among production's, through a symbolic link). Now the
    homeserver does not start, and the error names the setting. An events log in the
    scorer checkpoint's place appended its JSON lines into that SQLite file."""
    (tmp_path / "DIR").mkdir()
    (tmp_path / "s").mkdir()
    (tmp_path / "ev.jsonl").write_text('{"conversation_id": "c"}\n')
    (tmp_path / "LINK").symlink_to(tmp_path / "a.jsonl")
    bundle = tmp_path / "BUNDLE"
    rs.save_model(rs.load_model(), bundle)

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return str(tmp_path / value)

    raw = _base(tmp_path, alerts=resolve(alerts), **resolve(extra))
    with pytest.raises(ConfigError) as caught:
        RiskscoreModule.parse_config(raw)
    assert message in str(caught.value)
    assert caught.value.path == ("modules", "riskscore", *where)


def test_a_queue_file_gone_bad_does_not_stop_the_shutdown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: a review queue file replaced by a directory while the server ran raised
    ``sqlite3.OperationalError`` out of the shutdown, before its checkpoint: every
    conversation's state since the last checkpoint was lost. Now the alert's failure is
    logged (it is in the alerts file) and the checkpoint is written."""
    module, db, jsonl = _sinks(tmp_path)
    _chat(module)
    db.unlink()
    db.mkdir()
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        module._before_shutdown()
    assert (tmp_path / "s" / "scorer.checkpoint").is_file()
    assert [r["tier"] for r in _read_jsonl(jsonl)] == ["review", "urgent"]
    assert any(
        "could not add 2 alerts on conversation(s)" in r.getMessage() for r in caplog.records
    )
