"""Defects fixed on branch hr71a (hostile review of the Synapse module's failure paths that
hr70a left open): shadow alerts the shadow file could not take were counted as written; a
FIFO whose reader closed it part-way through an append (EPIPE) counted every record of the
batch as failed, those written before too; a read of ``rooms.sqlite3`` that failed was
"could not map room event" with a traceback, and the event was not scored.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from synapse_helpers import _chat, _sinks

import riskscore.io.private as private
from riskscore.io.private import FifoAppendError, append_private_lines


def test_shadow_alerts_the_file_cannot_take_are_not_counted_as_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: ``stats()["shadow_alerts"]`` counted the shadow alerts before the append, so a
    shadow file that could not take them (a directory in its place, a full disk) still
    counted them as logged, and no counter said they were lost. Now only those written are
    counted, the others in ``stats()["shadow_failed"]`` beside the other files' failures."""
    module, _, _ = _sinks(tmp_path)
    shadow = tmp_path / "shadow.jsonl"
    shadow.mkdir()  # a directory in its place
    module._settings = replace(module._settings, shadow_jsonl=shadow)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        module._log_shadow(['{"n": 1}', '{"n": 2}'])
    (line,) = caplog.records
    assert line.getMessage().startswith(f"riskscore: could not append 2 shadow alerts to {shadow}")
    stats = module.stats()
    assert stats["shadow_alerts"] == 0  # was 2
    assert stats["shadow_failed"] == 2
    shadow.rmdir()
    module._log_shadow(['{"n": 3}'])
    assert (module.stats()["shadow_alerts"], module.stats()["shadow_failed"]) == (1, 2)


def _close_before_write(monkeypatch: pytest.MonkeyPatch, reader: int, nth: int) -> None:
    """The FIFO's reader (``reader``) closes just before the ``nth`` write of an append
    (each record its own write): that write and those after fail with EPIPE."""
    real = private._write_within
    calls = []

    def write_within(fd: int, data: bytes, deadline: float | None) -> int:
        calls.append(data)
        if len(calls) == nth:
            os.close(reader)
        return real(fd, data, deadline)

    monkeypatch.setattr(private, "PIPE_BUF", 1)  # one record a write
    monkeypatch.setattr(private, "_write_within", write_within)


def _fifo(path: Path) -> int:
    os.mkfifo(path)
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK)


def test_a_fifo_whose_reader_closes_mid_append_says_how_many_records_it_took(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: a BrokenPipeError that said nothing of the records already written. Now a
    FifoAppendError (EPIPE) whose ``written`` counts them, as the timeout's does."""
    fifo = tmp_path / "alerts.jsonl"
    reader = _fifo(fifo)
    _close_before_write(monkeypatch, reader, 2)
    with pytest.raises(FifoAppendError) as caught:
        append_private_lines(fifo, ['{"n": 1}', '{"n": 2}', '{"n": 3}'], wait_s=1.0)
    assert caught.value.written == 1
    assert "the append stopped, 1 of 3 records written" in str(caught.value)


def test_a_fifo_whose_reader_closes_mid_append_counts_only_the_records_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: the alerts file a FIFO whose reader closed while the module appended two
    alerts: the first was written, yet ``stats()["jsonl_failed"]`` counted both and the
    line named both. Now it counts the one lost, and the line names one."""
    module, _, jsonl = _sinks(tmp_path)
    _chat(module)
    alerts = module._process(100)
    assert len(alerts) == 2
    reader = _fifo(jsonl)
    _close_before_write(monkeypatch, reader, 2)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        module._append_jsonl(alerts)
    (line,) = caplog.records
    assert line.getMessage().startswith(
        f"riskscore: could not append 1 alert on conversation(s) @adult:x|@kid:x to {jsonl}: "
        "[Errno 32] Broken pipe: the append stopped, 1 of 2 records written"
    )
    assert module.stats()["jsonl_failed"] == 1


class _Failing:
    """A connection to a room facts file that fails each statement as SQLite fails a file
    damaged, or a disk gone, since start-up (its commit and rollback are the file's)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, *_: Any) -> Any:
        raise sqlite3.DatabaseError("disk I/O error")

    executemany = execute

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def test_a_room_facts_file_it_cannot_read_is_counted_and_the_events_scored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: a read of ``rooms.sqlite3`` that failed (a disk I/O error) made every event of
    the room "could not map room event" with a traceback that named neither the file nor
    the error, and none was scored. Now each read it cannot give is counted
    (``room_facts_not_read``) and one line names the file, the fact and the error; the
    room is taken as the file knowing nothing of it, and the invite and messages scored."""
    module, _, _ = _sinks(tmp_path)
    store = module._store
    store._conn = _Failing(store._conn)  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        _chat(module)
        module._process(100)
    stats = module.stats()
    assert stats["unmapped"] == 0  # was 14
    assert stats["scored"] == 13  # the invite and the messages (the join answers none)
    assert stats["room_facts_not_read"] > 0
    rooms = tmp_path / "s" / "rooms.sqlite3"
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == (
        f"riskscore: {rooms} could not read whether room !dm:x is a direct chat or encrypted "
        "(taken as neither for this event): disk I/O error"
    )
    assert (
        f"riskscore: {rooms} could not read the invite of @kid:x to room !dm:x (taken as "
        "none): disk I/O error"
    ) in lines
    assert not any(r.exc_info for r in caplog.records)


def test_a_moderation_room_id_the_file_cannot_take_is_kept_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: the moderation room's id, once the room was created, not written to a
    read-only ``rooms.sqlite3`` raised out of the notice's post: the id was not kept, and
    the next alert's notice created another room. Now it is counted, one line names the
    file, and the id is returned (kept by the module until a restart)."""
    module, _, _ = _sinks(tmp_path)
    module._store._conn.execute("PRAGMA query_only = ON")
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        assert module._room_meta("!mod:x") == "!mod:x"
    (line,) = caplog.records
    assert line.getMessage() == (
        f"riskscore: {tmp_path / 's' / 'rooms.sqlite3'} could not remember the "
        "moderation_room_id !mod:x (known until a restart): attempt to write a readonly "
        "database"
    )
    assert module.stats()["room_facts_not_written"] == 1


def test_a_direct_chats_list_the_file_cannot_read_is_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: an ``m.direct`` update whose earlier list ``rooms.sqlite3`` could not read
    raised the SQLite error into Synapse's account data callback (a traceback naming
    neither the file nor the user). Now it is counted and one line names them."""
    module, _, _ = _sinks(tmp_path)
    module._store._conn = _Failing(module._store._conn)  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        module._mark_direct_rooms({"@kid:x": ["!dm:x"]}, "@adult:x")
    (line,) = caplog.records
    assert line.getMessage() == (
        f"riskscore: {tmp_path / 's' / 'rooms.sqlite3'} could not remember the direct chats "
        "@adult:x lists in m.direct (the earlier list stays): disk I/O error"
    )
    assert module.stats()["room_facts_not_written"] == 1
