"""Defects fixed on branch hr70a (hostile review of the Synapse module's failure paths that
hr69b left open): an append to a FIFO whose reader stalled gave up part-way through a
record, and the next record joined it on one line (a reader lost both); the moderation
room's notices queue had no bound, and the notices not posted at shutdown were dropped
without a word; ``n_unmapped`` was counted from two threads without a lock; an age source
that failed for one user (an SQLite table listing the user twice, a callable that raised)
and a room facts file that could not be written (a full disk, a read-only file) were a
"could not map room event" traceback, and an invite or join on the full disk was not
scored at all.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from synapse_helpers import _chat, _Event, _module, _queued, _read_jsonl, _run, _sinks, full_fifo

import riskscore.integrations._synapse_sinks as sinks
from riskscore.integrations._synapse_ages import AgeLookupError, AgeSource, make_age_source
from riskscore.integrations._synapse_config import AgeSourceConfig
from riskscore.integrations.synapse import RiskscoreModule
from riskscore.io.private import FifoAppendTimeoutError, append_private_lines
from riskscore.moderation.queue import ReviewQueue


@contextmanager
def _fifo_with_one_page_free(path: Path) -> Iterator[int]:
    """A FIFO at ``path`` whose reader (yielded) has read one page of a full pipe: one
    write of at most a page fits, then the pipe is full again. The pipe holds blank lines."""
    with full_fifo(path, b" " * 4095 + b"\n") as reader:
        os.read(reader, 4096)
        yield reader


def _drain(reader: int) -> list[str]:
    """Every line the FIFO holds, blank ones left out."""
    data = b""
    while True:
        try:
            chunk = os.read(reader, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return [line for line in data.decode().split("\n") if line.strip()]


def _record(n: int, size: int) -> str:
    return json.dumps({"n": n, "pad": "x" * (size - 20)})


def test_a_fifo_append_that_gives_up_leaves_no_half_record(tmp_path: Path) -> None:
    """Was: the reader made room for one page, the append of two 4000-byte records wrote
    the first and 95 bytes of the second, then gave up; the next record joined that part
    on one line, and a reader parsed neither. Now records of at most PIPE_BUF bytes are
    written whole or not begun: the error says how many were, and the next starts a line."""
    fifo = tmp_path / "alerts.jsonl"
    with _fifo_with_one_page_free(fifo) as reader:
        with pytest.raises(FifoAppendTimeoutError) as caught:
            append_private_lines(fifo, [_record(1, 4000), _record(2, 4000)], wait_s=0.05)
        assert caught.value.written == 1
        assert "the append gave up, 1 of 2 records written" in str(caught.value)
        _drain(reader)
        append_private_lines(fifo, [_record(3, 100)], wait_s=0.05)
        tail = _drain(reader)
    assert [json.loads(line)["n"] for line in tail] == [3]


def test_a_record_longer_than_a_pipe_writes_whole_ends_its_line(tmp_path: Path) -> None:
    """A record longer than PIPE_BUF may be cut by a reader that stalls; the next append
    to the FIFO starts a new line, so its record is read (the cut one is a line of its own)."""
    fifo = tmp_path / "alerts.jsonl"
    with _fifo_with_one_page_free(fifo) as reader:
        with pytest.raises(FifoAppendTimeoutError) as caught:
            append_private_lines(fifo, [_record(1, 6000)], wait_s=0.05)
        assert caught.value.written == 0
        assert "record 1 (6000 bytes" in str(caught.value)
        assert "the next append starts a new line" in str(caught.value)
        lines = _drain(reader)
        append_private_lines(fifo, [_record(2, 100)], wait_s=0.05)
        lines += _drain(reader)
    assert len(lines[-2]) == 4096
    assert json.loads(lines[-1])["n"] == 2


# ---------------------------------------------------------------- the module's failure paths


def _with_room(module: RiskscoreModule) -> None:
    """The module's settings with a moderation room (posting is stubbed by each test)."""
    module._settings = replace(module._settings, moderation_room=object())  # type: ignore[arg-type]


def test_the_moderation_room_notices_are_bounded_and_those_dropped_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: while the moderation room did not answer, every alert's notice waited in a
    queue of no bound (the module's memory grew with each alert), and the notices left at
    shutdown were dropped without a word. Now at most MAX_NOTICES wait; one more is
    counted and warned about, and those left at shutdown are one line naming them."""
    monkeypatch.setattr(sinks, "MAX_NOTICES", 1)
    module, db, jsonl = _sinks(tmp_path)
    _with_room(module)
    _chat(module)
    with caplog.at_level(logging.WARNING, logger="riskscore.integrations.synapse"):
        for alert, context in module._process(100):
            _run(module._emit(alert, context))  # the notices' task has not run yet
        module._before_shutdown()
    full, left = (r.getMessage() for r in caplog.records if "moderation room" in r.getMessage())
    assert full == (
        "riskscore: the notice of the alert on conversation @adult:x|@kid:x is not posted to "
        "the moderation room: 1 notices wait for it already (it is in the alerts file and "
        "the review queue when configured)"
    )
    assert left == (
        "riskscore: 1 alert notice not posted to the moderation room at shutdown "
        "(conversation(s) @adult:x|@kid:x; in the alerts file and the review queue when "
        "configured)"
    )
    assert module.stats()["notices_dropped"] == 2
    assert len(_read_jsonl(jsonl)) == 2
    assert [n for _, n in _queued(db)] == [2]


class _Interleaved(RiskscoreModule):
    """A module in which "another thread" skips its event between this thread's read of
    ``n_unmapped`` and its write (the reactor and the scoring thread, at once)."""

    def __setattr__(self, name: str, value: Any) -> None:
        other: list[Any] = self.__dict__.get("other", [])
        if name == "n_unmapped" and other:
            self._unmapped(other.pop())
        super().__setattr__(name, value)


def test_events_skipped_by_two_threads_at_once_are_each_counted(tmp_path: Path) -> None:
    """Was: ``n_unmapped += 1`` in the reactor (an event it could not read) and in the
    scoring thread (one it could not map), without a lock: an increment between another's
    read and write was lost. Now the count is the warnings' own, kept under their lock."""
    module, _ = _module(tmp_path)
    module.__class__ = _Interleaved
    other = [_Event("m.room.message", "!r:x", "@x:x")]
    module.other = other  # type: ignore[attr-defined]
    module._unmapped(_Event("m.room.message", "!r:x", "@y:x"))
    for event in other:  # no read and write to come between: after it
        module._unmapped(event)
    assert module.stats()["unmapped"] == 2


def _ages_table(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE declared_ages (user_id TEXT, age REAL, tz_offset_min INTEGER)")
    con.executemany(
        "INSERT INTO declared_ages VALUES (?, ?, 0)", [("@adult:x", 34.0), ("@kid:x", 12.0)]
    )
    con.commit()
    con.close()


def test_a_user_the_age_source_fails_on_is_scored_as_of_unknown_age(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: an ages table given a second row for a user after start-up (or a callable that
    raised) made each of that user's events "could not map room event" with a traceback,
    which named neither the user nor the table, and skipped it: no event of the child was
    scored, nor any other member's of a group room it was in, and no alert was raised
    on the child. Now one line names the user and the problem (rate-limited as every
    event warning, the profile cached as any), and the user is of unknown age."""
    module, _, _ = _sinks(tmp_path)
    path = tmp_path / "ages.sqlite3"
    _ages_table(path)
    module._translator.ages = make_age_source(AgeSourceConfig("sqlite", path))
    con = sqlite3.connect(path)
    con.execute("INSERT INTO declared_ages VALUES ('@kid:x', 13.0, 0)")
    con.commit()
    con.close()
    _chat(module)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        module._process(100)
    (line,) = caplog.records
    assert line.getMessage() == (
        "riskscore: the declared age of user '@kid:x' could not be read: table "
        f"'declared_ages' in {str(path)!r} lists user '@kid:x' twice (rows 2 and 3): give "
        "each user one row (which declared age applies is the platform's decision); scored "
        "as of unknown age"
    )
    assert not line.exc_info
    stats = module.stats()
    assert (stats["unmapped"], stats["scored"], stats["age_lookups_failed"]) == (0, 14, 1)
    rows = _read_jsonl(tmp_path / "ev.jsonl")  # the events log: the schema v1 events scored
    assert {r["recipient_age"] for r in rows if r["recipient_id"] == "@kid:x"} == {None}
    assert {r["recipient_age"] for r in rows if r["recipient_id"] == "@adult:x"} == {34.0}


def test_a_callable_age_source_that_raises_is_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def lookup(user: str) -> None:
        raise ConnectionError(f"age service down\nwhile asking for {user}")

    with pytest.raises(AgeLookupError, match=r"^the declared age of user '@x:x' could not be"):
        AgeSource(lookup).get("@x:x")  # the source's own rule: it raises, naming the user
    module, _, _ = _sinks(tmp_path)
    module._translator.ages = AgeSource(lookup)
    _chat(module, n=1)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        module._process(1)
    first, second = caplog.records
    assert first.getMessage() == (
        "riskscore: the declared age of user '@adult:x' could not be read: ConnectionError: "
        "age service down while asking for @adult:x; scored as of unknown age"
    )
    assert "'@kid:x'" in second.getMessage()
    assert not first.exc_info
    assert module.stats()["scored"] == 1


def test_a_room_facts_file_it_cannot_write_is_counted_and_the_invite_still_scored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: ``rooms.sqlite3`` made read-only (or on a full disk) made the invite and the
    join "could not map room event" with a traceback each, and neither was scored. Now
    each write it cannot take is counted and one line names the file, the fact and the
    error; the invite is scored (as a direct chat, known in memory), its join answers
    nothing (the invite was not remembered), and the messages are scored."""
    module, _, _ = _sinks(tmp_path)
    store = module._store
    store._conn.execute("PRAGMA query_only = ON")  # the file read-only
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        _chat(module)
        module._process(100)
    stats = module.stats()
    assert (stats["unmapped"], stats["room_facts_not_written"]) == (0, 3)
    assert stats["scored"] == 13  # the invite and the messages
    lines = [r.getMessage() for r in caplog.records]
    rooms = tmp_path / "s" / "rooms.sqlite3"
    assert lines[0] == (
        f"riskscore: {rooms} could not remember that room !dm:x is direct (known until a "
        "restart): attempt to write a readonly database"
    )
    assert lines[1].startswith(
        f"riskscore: {rooms} could not remember the invite of @kid:x to room !dm:x (the "
        "event is scored; its join will answer none): attempt to write a readonly database"
    )
    assert not any(r.exc_info for r in caplog.records)
    assert store.status("!dm:x") == (True, True)


class _Full(ReviewQueue):
    """A review queue on a full disk: each write of alerts fails as SQLite fails it."""

    def add_alerts(self, *_: Any, **__: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")


def test_a_review_queue_that_cannot_take_an_alert_is_one_line_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: a review queue on a full disk (or read-only) lost each alert to the queue with
    "could not add the alert to the review queue" and a traceback, which named neither the
    alert nor the error, and no counter said how many were lost. Now one line names them,
    the queue and the error, and ``stats()["queue_failed"]`` counts them."""
    monkeypatch.setattr(sinks, "ReviewQueue", _Full)
    module, db, jsonl = _sinks(tmp_path)
    _chat(module)
    (alert, context), _ = module._process(100)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        _run(module._emit(alert, context))
    (line,) = caplog.records
    assert line.getMessage() == (
        "riskscore: could not add 1 alert on conversation(s) @adult:x|@kid:x to the review "
        f"queue {db}: OperationalError: database or disk is full (in the alerts file when "
        "one is configured)"
    )
    assert not line.exc_info
    assert module.stats()["queue_failed"] == 1
    assert module.stats()["queue_held"] == 0
    assert len(_read_jsonl(jsonl)) == 1
