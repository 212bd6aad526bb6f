"""The metadata of recent events per conversation, for the case page's timeline plot.

The online scorer keeps running aggregates only, so the service also keeps each applied
event's metadata (time, sender, channel, event type, the recipient's UTC offset; never
content) in a SQLite file of its own, for ``retention_s`` of event time. One transaction
per request (``executemany``); old rows are pruned at each checkpoint.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

import riskscore.io.sqlite as sqlite
from riskscore.io.events import EventTuple
from riskscore.moderation.queue_db import decode_id, encode_id

__all__ = ["TimelineEvent", "TimelineStore"]

_DDL = (
    "CREATE TABLE IF NOT EXISTS events (conversation_id TEXT NOT NULL, ts INTEGER NOT NULL, "
    "sender_id TEXT NOT NULL, channel INTEGER NOT NULL, event INTEGER NOT NULL, "
    "tz_offset_min INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_conversation ON events (conversation_id, ts)",
    "CREATE INDEX IF NOT EXISTS events_ts ON events (ts)",
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
    tz_offset_min: int


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
    """

    def __init__(
        self, path: str | Path, *, retention_s: float = 30 * 86_400.0, max_events: int = 5_000
    ) -> None:
        self.path = Path(path)
        self.retention_s = float(retention_s)
        self.max_events = max_events
        self._con = sqlite.connect(self.path)
        for ddl in _DDL:
            self._con.execute(ddl)

    def close(self) -> None:
        """Close the file."""
        self._con.close()

    def add(self, events: Sequence[EventTuple]) -> None:
        """Append validated events (:func:`riskscore.io.events.parse_event_fast` tuples)."""
        if not events:
            return
        rows = [(_key(e[0]), e[1], _key(e[2]), e[6], e[7], e[8]) for e in events]

        self._write(
            lambda con: (
                con.executemany(
                    "INSERT INTO events (conversation_id, ts, sender_id, channel, event, "
                    "tz_offset_min) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                ).rowcount
            )
        )

    def events_of(self, conversation_id: Any) -> list[TimelineEvent]:
        """The latest ``max_events`` events of a conversation, oldest first."""
        rows = self._con.execute(
            "SELECT ts, sender_id, channel, event, tz_offset_min FROM events "
            "WHERE conversation_id = ? ORDER BY ts DESC, rowid DESC LIMIT ?",
            (encode_id(conversation_id), self.max_events),
        ).fetchall()
        return [
            TimelineEvent(int(ts), decode_id(sender), int(ch), int(ev), int(tz))
            for ts, sender, ch, ev, tz in reversed(rows)
        ]

    def prune(self, clock: int) -> int:
        """Delete rows older than ``clock - retention_s``; return how many."""
        horizon = clock - self.retention_s

        return self._write(
            lambda con: con.execute("DELETE FROM events WHERE ts < ?", (horizon,)).rowcount
        )

    def _write(self, fn: Callable[[sqlite3.Connection], int]) -> int:
        return sqlite.write(self._con, fn)
