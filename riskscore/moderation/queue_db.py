"""SQLite storage of the review queue: schema, connection settings and write retries.

Private to :mod:`riskscore.moderation.queue`. Several processes may write to one file at once:
the database runs in WAL mode with a busy timeout, every write is one
``BEGIN IMMEDIATE`` transaction (so a read-check-insert cannot interleave with
another writer), and a transaction that still meets a lock is retried with backoff.
Rows are never deleted: triggers refuse ``DELETE`` on items and any change to the
audit log.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

import riskscore.io.sqlite as sqlite
from riskscore.io.sqlite import retry
from riskscore.moderation.cases import QueueItem

T = TypeVar("T")

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('alert', 'user_report')),
    dedup_key TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    adult_id TEXT NOT NULL,
    child_id TEXT NOT NULL,
    child_age REAL,
    age_band TEXT NOT NULL,
    risk REAL NOT NULL,
    tier INTEGER NOT NULL,
    channel TEXT,
    concerns_child INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    n_signals INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'actioned', 'dismissed', 'escalated')),
    first_reviewed_at INTEGER,
    decided_at INTEGER,
    decided_by TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS items_open_alert
    ON items (conversation_id) WHERE kind = 'alert' AND status = 'open';
CREATE UNIQUE INDEX IF NOT EXISTS items_report_key
    ON items (dedup_key) WHERE kind = 'user_report';
CREATE INDEX IF NOT EXISTS items_status_adult ON items (status, adult_id);
CREATE TABLE IF NOT EXISTS audit (
    entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    recorded_at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES items (item_id),
    detail TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS items_no_delete BEFORE DELETE ON items
BEGIN SELECT RAISE(ABORT, 'review queue items are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def encode_id(value: Any) -> str:
    """An account or conversation id as stored: JSON, so ``7`` and ``"7"`` stay distinct."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"ids must be int or str, got {value!r} ({type(value).__name__})")
    return json.dumps(value)


def decode_id(text: str) -> Any:
    """Inverse of :func:`encode_id`."""
    return json.loads(text)


def connect(path: Path, timeout_s: float) -> sqlite3.Connection:
    """Open (and create if needed, mode 0600) a queue database in WAL mode."""
    con = sqlite.connect(path, timeout_s=timeout_s)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys = ON")

    script = (
        f"BEGIN IMMEDIATE;{_SCHEMA}"
        f"INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');"
        "COMMIT;"
    )

    def create() -> None:
        try:
            con.executescript(script)
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    retry(create)
    found = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if found is None or int(found[0]) != SCHEMA_VERSION:
        con.close()
        raise ValueError(
            f"{path}: review queue schema version {found[0] if found else None!r}, "
            f"this riskscore reads version {SCHEMA_VERSION}"
        )
    return con


def write(con: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn`` in one ``BEGIN IMMEDIATE`` transaction, retrying on lock contention."""

    def attempt() -> T:
        con.execute("BEGIN IMMEDIATE")
        try:
            result = fn(con)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        return result

    return retry(attempt)


def audit(
    con: sqlite3.Connection, *, at: int, actor: str, action: str, item_id: int, detail: Any
) -> None:
    """Append one audit entry (inside the caller's transaction)."""
    con.execute(
        "INSERT INTO audit (at, recorded_at, actor, action, item_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (at, time.time(), actor, action, item_id, json.dumps(detail, sort_keys=True)),
    )


def enqueue(
    con: sqlite3.Connection, row: dict[str, Any], actor: str, detail: dict[str, Any]
) -> int:
    """Insert a new item and log it as enqueued (inside the caller's transaction)."""
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    cur = con.execute(f"INSERT INTO items ({names}) VALUES ({marks})", tuple(row.values()))
    assert cur.lastrowid is not None
    item_id = int(cur.lastrowid)
    audit(con, at=row["created_at"], actor=actor, action="enqueue", item_id=item_id, detail=detail)
    return item_id


def item_from_row(r: sqlite3.Row) -> QueueItem:
    return QueueItem(
        item_id=int(r["item_id"]),
        kind=str(r["kind"]),
        conversation_id=decode_id(r["conversation_id"]),
        adult_id=decode_id(r["adult_id"]),
        child_id=decode_id(r["child_id"]),
        child_age=math.nan if r["child_age"] is None else float(r["child_age"]),
        age_band=str(r["age_band"]),
        risk=float(r["risk"]),
        tier=int(r["tier"]),
        channel=r["channel"],
        concerns_child=bool(r["concerns_child"]),
        reasons=tuple(json.loads(r["reasons"])),
        created_at=int(r["created_at"]),
        updated_at=int(r["updated_at"]),
        n_signals=int(r["n_signals"]),
        status=str(r["status"]),
        first_reviewed_at=None if r["first_reviewed_at"] is None else int(r["first_reviewed_at"]),
        decided_at=None if r["decided_at"] is None else int(r["decided_at"]),
        decided_by=r["decided_by"],
    )
