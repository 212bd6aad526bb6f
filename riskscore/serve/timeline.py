"""The metadata of recent events per conversation, for the case page's timeline plot.

The online scorer keeps running aggregates only, so the service also keeps each applied
event's metadata (time, sender, channel, event type, the recipient's UTC offset; never
content; an unknown offset is stored as ``TZ_UNKNOWN`` and read back as None) in a SQLite
file of its own, for ``retention_s`` of event time. Written behind the
requests: :meth:`TimelineStore.add` hands the rows to a writer thread of the store, which
writes whatever has gathered once a second, in one transaction (SQLite's own work, and its
checkpoints of the write-ahead log, then run beside the requests instead of in them);
reading, pruning and closing wait for what is pending. Old
rows are pruned at each checkpoint. A crash loses the rows not yet written (at most the
last moments' events; the scorer's own state goes back to its last checkpoint anyway).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

import riskscore.io.sqlite as sqlite
from riskscore.io.events import EventTuple
from riskscore.io.raw import show
from riskscore.io.schema import (
    CHANNEL_NAMES,
    EVENT_NAMES,
    MAX_TIMESTAMP,
    MAX_TZ_OFFSET_MIN,
    MIN_TIMESTAMP,
    MIN_TZ_OFFSET_MIN,
    TZ_OFFSET_STEP_MIN,
    TZ_OFFSETS_IN_USE,
    TZ_UNKNOWN,
)
from riskscore.moderation.cases import QueueError
from riskscore.moderation.queue_db import encode_id
from riskscore.moderation.queue_rows import CHANGED_OUTSIDE, stored_id, stored_id_form

__all__ = ["TimelineEvent", "TimelineStore"]

_INSERT = (
    "INSERT INTO events (conversation_id, ts, sender_id, channel, event, tz_offset_min) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_COPY = (
    "INSERT INTO events (conversation_id, ts, sender_id, channel, event, tz_offset_min) "
    "SELECT ?, ts, sender_id, channel, event, tz_offset_min FROM events WHERE conversation_id = ?"
)
_Row = tuple[str, int, str, int, int, int]
#: The values of each column as :meth:`TimelineStore.add` writes them, read back by these.
_TIMES = range(MIN_TIMESTAMP, MAX_TIMESTAMP)
_CHANNELS, _EVENTS = range(len(CHANNEL_NAMES)), range(len(EVENT_NAMES))
_CHANNELS_FORM = f"from 0 to {len(CHANNEL_NAMES) - 1}"
_EVENTS_FORM = f"from 0 to {len(EVENT_NAMES) - 1}"
_OFFSETS = TZ_OFFSETS_IN_USE | {TZ_UNKNOWN}  # the schema's: a scorer refuses any other
_OFFSETS_FORM = (
    f"whole quarter hours ({TZ_OFFSET_STEP_MIN} minutes) from {MIN_TZ_OFFSET_MIN} to "
    f"{MAX_TZ_OFFSET_MIN}, or {TZ_UNKNOWN} for unknown"
)


def _coded_offset(offset_min: float) -> int:
    """An event's offset as the table keeps it: whole minutes, ``TZ_UNKNOWN`` when unknown
    (NaN), as the coded event tables do."""
    return TZ_UNKNOWN if offset_min != offset_min else int(offset_min)


_DDL = (
    "CREATE TABLE IF NOT EXISTS events (conversation_id TEXT NOT NULL, ts INTEGER NOT NULL, "
    "sender_id TEXT NOT NULL, channel INTEGER NOT NULL, event INTEGER NOT NULL, "
    "tz_offset_min INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_conversation ON events (conversation_id, ts)",
    "CREATE INDEX IF NOT EXISTS events_ts ON events (ts)",
)


#: The columns of the ``events`` table (:data:`_DDL`).
_COLUMNS = frozenset({"conversation_id", "ts", "sender_id", "channel", "event", "tz_offset_min"})


def _refuse_foreign(path: Path) -> None:
    """Refuse, before anything is written, a file that is not a timeline: another
    database (a review queue, a checkpoint, another application's) would get an
    ``events`` table added, a file that is no database would fail at start-up."""
    try:
        foreign = sqlite.foreign_tables(path, frozenset({"events"}))
    except sqlite3.DatabaseError as exc:
        raise QueueError(f"{path} is not a riskscore timeline ({exc})") from None
    if foreign:
        raise QueueError(
            f"{path} is not a riskscore timeline (it has table(s) {', '.join(foreign)}); "
            "it was left unchanged: give a new file or the service's timeline"
        )


def _key(value: object) -> str:
    """:func:`~riskscore.moderation.queue_db.encode_id` of a validated id, faster: the
    same JSON text for the plain ``int`` and ``str`` ids events carry."""
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return str(encode_basestring_ascii(value))
    return encode_id(value)


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One event's metadata as the timeline shows it."""

    timestamp: int
    sender_id: Any
    channel: int
    event: int
    tz_offset_min: int | None  # the recipient's UTC offset; None when unknown


class TimelineStore:
    """Events' metadata by conversation, in a SQLite file (created ``0600``).

    Parameters
    ----------
    path : str or Path
        The file; created when missing.
    retention_s : float, default 30 days
        Rows older than the newest event time minus this are pruned by :meth:`prune`.
    max_events : int, default 5000
        Most events :meth:`events_of` returns (the latest).
    write_every_s : float, default 1
        Longest time added events wait before the writer thread writes them.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        retention_s: float = 30 * 86_400.0,
        max_events: int = 5_000,
        write_every_s: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self.retention_s = float(retention_s)
        self.max_events = max_events
        _refuse_foreign(self.path)
        # Read by the console's request threads, one at a time (the lock).
        self._con = sqlite.connect(self.path, check_same_thread=False)
        self._read = threading.Lock()
        columns = {row[1] for row in self._con.execute("PRAGMA table_info(events)")}
        if columns and columns != _COLUMNS:
            self._con.close()
            raise QueueError(
                f"{self.path} is not a riskscore timeline (its events table has the columns "
                f"{', '.join(sorted(map(str, columns)))}): give a new file or the service's "
                "timeline"
            )
        for ddl in _DDL:
            self._con.execute(ddl)
        self.write_every_s = float(write_every_s)
        self._cond = threading.Condition()
        self._buffer: list[_Row] = []
        self._added = 0  # rows handed over so far
        self._written = 0  # rows written (or dropped by a failure) so far
        self._urgent = False  # a reader waits: write now
        self._stop = False
        self._failed: BaseException | None = None
        self._writer = threading.Thread(
            target=self._write_loop, name=f"riskscore-timeline-{self.path.name}", daemon=True
        )
        self._writer.start()

    def close(self) -> None:
        """Write what is pending, stop the writer thread and close the file."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._writer.join()
        self._con.close()
        self._raise_failure()

    def add(self, events: Sequence[EventTuple]) -> None:
        """Append validated events (:func:`riskscore.io.events.parse_event_fast` tuples);
        the store's writer thread writes them within ``write_every_s``."""
        self._raise_failure()
        if not events:
            return
        rows = [(_key(e[0]), e[1], _key(e[2]), e[6], e[7], _coded_offset(e[8])) for e in events]
        with self._cond:
            if self._stop:
                raise RuntimeError(f"the timeline {self.path} is closed")
            self._buffer += rows
            self._added += len(rows)

    def flush(self) -> None:
        """Wait until every event added so far is written."""
        with self._cond:
            target = self._added
            if self._written < target:
                self._urgent = True
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._written >= target)
        self._raise_failure()

    def events_of(self, conversation_id: Any) -> list[TimelineEvent]:
        """The latest ``max_events`` events of a conversation, oldest first."""
        self.flush()
        with self._read:
            rows = self._con.execute(
                "SELECT rowid, ts, sender_id, channel, event, tz_offset_min FROM events "
                "WHERE conversation_id = ? ORDER BY ts DESC, rowid DESC LIMIT ?",
                (encode_id(conversation_id), self.max_events),
            ).fetchall()
        return [self._event(*row) for row in reversed(rows)]

    def _event(
        self, rowid: int, ts: object, sender: object, ch: object, ev: object, tz: object
    ) -> TimelineEvent:
        """A row read back as :meth:`add` writes it, or a :class:`QueueError` naming the
        file, the row, the column and the value: a file changed outside riskscore is
        neither drawn as other events nor a bare error on the case page."""
        sender_id = stored_id("sender_id", sender)
        if sender_id is None:
            raise self._refused(rowid, "sender_id", sender, stored_id_form("sender_id"))
        offset = self._code(rowid, "tz_offset_min", tz, _OFFSETS, _OFFSETS_FORM)
        return TimelineEvent(
            self._code(rowid, "ts", ts, _TIMES, "epoch seconds from 1970 up to 2200"),
            sender_id,
            self._code(rowid, "channel", ch, _CHANNELS, f"a channel code {_CHANNELS_FORM}"),
            self._code(rowid, "event", ev, _EVENTS, f"an event type code {_EVENTS_FORM}"),
            None if offset == TZ_UNKNOWN else offset,
        )

    def _code(self, rowid: int, column: str, value: object, allowed: Any, expected: str) -> int:
        """``value`` of ``column`` when it is an int in ``allowed``, else refused."""
        if type(value) is int and value in allowed:
            return value
        raise self._refused(rowid, column, value, expected)

    def _refused(self, rowid: int, column: str, value: object, expected: str) -> QueueError:
        return QueueError(
            f"timeline {self.path}, row {rowid}: column {column!r} is {show(value)}, "
            f"expected {expected} ({CHANGED_OUTSIDE})"
        )

    def copy(self, old: Any, new: Any) -> int:
        """Keep the events of conversation ``old`` under ``new`` too: a chat of two that
        became a group room, whose events so far continue under its pair's id (an online
        scorer's ``last_room_opened``), while an alert raised before names ``old``; return
        how many were copied."""
        self.flush()
        with self._read:
            return self._write(lambda con: con.execute(_COPY, (_key(new), _key(old))).rowcount)

    def prune(self, clock: int) -> int:
        """Delete rows older than ``clock - retention_s``; return how many."""
        horizon = clock - self.retention_s
        self.flush()
        with self._read:
            return self._write(
                lambda con: con.execute("DELETE FROM events WHERE ts < ?", (horizon,)).rowcount
            )

    def _write(self, fn: Callable[[sqlite3.Connection], int]) -> int:
        return sqlite.write(self._con, fn)

    def _raise_failure(self) -> None:
        if self._failed is not None:
            raise RuntimeError(
                f"writing the timeline to {self.path} failed: {self._failed}"
            ) from self._failed

    def _write_loop(self) -> None:
        """The writer thread: every ``write_every_s`` (or at once when a reader waits, or
        at close), one transaction for all the rows gathered."""
        con = sqlite.connect(self.path)
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._urgent or self._stop, self.write_every_s)
                    rows, self._buffer = self._buffer, []
                    self._urgent = False
                    stop = self._stop
                try:
                    if rows and self._failed is None:
                        sqlite.write(con, _inserting(rows))
                except Exception as exc:  # kept for the next add, flush or close to raise
                    self._failed = exc
                finally:
                    with self._cond:
                        self._written += len(rows)
                        self._cond.notify_all()
                if stop:
                    return
        finally:
            con.close()


def _inserting(rows: list[_Row]) -> Callable[[sqlite3.Connection], int]:
    return lambda con: con.executemany(_INSERT, rows).rowcount
