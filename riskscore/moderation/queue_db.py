"""SQLite storage of the review queue: schema, connection settings and write retries.

Private to the review queue (:mod:`riskscore.moderation.queue` and the modules it
delegates to). Several processes may write to one file at once:
the database runs in WAL mode with a busy timeout, every write is one
``BEGIN IMMEDIATE`` transaction (so a read-check-insert cannot interleave with
another writer), and a transaction that still meets a lock is retried with backoff.
Rows are never deleted: triggers refuse ``DELETE`` on items and any change to the
audit log. Every change of an item writes its audit entry first, in the same
transaction, and records that entry's id in ``items.audit_id``; a trigger refuses an
``UPDATE`` of an item that does not point at a new, latest audit entry of that item, so
a change without an audit entry cannot be written, even with plain SQL. On open the
triggers are created if missing and checked against their definitions (a changed one
is refused), and every write checks that they are all still there.

``alert_signals`` remembers every alert already queued (see
:meth:`~riskscore.moderation.ReviewQueue.add_alert`), so that queuing the same alert again
changes nothing. A file made before it gains the table when opened (alerts queued before
then are not in it).

Schema versions: 1 had no ``items.audit_id`` and no recorded simulation mode (a file of
version 1 is recorded as a queue of real decisions when opened, in either mode); 2 had no
``items.adult_age``, ``items.first_event_at`` and ``items.last_event_at`` (the adult's
declared age and the conversation's first and latest event time). A file of an earlier
version is upgraded when opened (:func:`_migrate`); its items keep these columns null
("not recorded"); 3 recorded no channel in the audit entries of alerts (the signal each
brought): a file of version 3 or earlier keeps, when upgraded, each alert's channel at the
upgrade in ``channel_baseline`` (:mod:`~riskscore.moderation.item_history`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import riskscore.io.sqlite as sqlite
from riskscore.io.files import real_path
from riskscore.io.json_lines import json_loads
from riskscore.io.raw import as_python_value
from riskscore.io.sqlite import retry
from riskscore.moderation.cases import QueueError
from riskscore.moderation.queue_guards import (
    EVERY_VERSION_TABLES,
    TRIGGERS_SQL,
    check_tables,
    check_triggers,
)
from riskscore.moderation.queue_rows import audit_detail, stored_text
from riskscore.policy import Alert

T = TypeVar("T")

SCHEMA_VERSION = 4
#: Versions a queue file may have and be upgraded from when opened.
OLDER_VERSIONS = ("1", "2", "3")

#: Each alert's channel when its file was upgraded to schema version 4, after its latest
#: ``enqueue`` or ``update`` entry then (:mod:`~riskscore.moderation.item_history`); empty
#: in a file made at version 4.
_BASELINE = """CREATE TABLE IF NOT EXISTS channel_baseline (
    item_id INTEGER PRIMARY KEY REFERENCES items (item_id),
    entry_id INTEGER NOT NULL,
    channel TEXT
)"""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('alert', 'user_report')),
    dedup_key TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    adult_id TEXT NOT NULL,
    child_id TEXT NOT NULL,
    child_age REAL,
    adult_age REAL,
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
    decided_by TEXT,
    audit_id INTEGER,
    first_event_at INTEGER,
    last_event_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS items_open_alert
    ON items (conversation_id) WHERE kind = 'alert' AND status = 'open';
CREATE UNIQUE INDEX IF NOT EXISTS items_report_key
    ON items (dedup_key) WHERE kind = 'user_report';
CREATE INDEX IF NOT EXISTS items_status_adult ON items (status, adult_id);
CREATE TABLE IF NOT EXISTS alert_signals (
    signal TEXT PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items (item_id)
);
CREATE TABLE IF NOT EXISTS audit (
    entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    recorded_at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES items (item_id),
    detail TEXT NOT NULL
);
{_BASELINE};
"""


def encode_id(value: Any) -> str:
    """An account or conversation id as stored: JSON, so ``7`` and ``"7"`` stay distinct."""
    value = as_python_value(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"ids must be int or str, got {value!r} ({type(value).__name__})")
    return json.dumps(value)


def decode_id(text: str) -> Any:
    """Inverse of :func:`encode_id` (:class:`ValueError` for a text it did not write)."""
    return json_loads(text)


def alert_signal(alert: Alert) -> str:
    """What makes an alert the same alert: its ids, tier, risk (6 decimals) and the event
    that raised it (``event_index`` and ``timestamp``, None in batch scoring).

    Examples
    --------
    >>> from riskscore.policy import Tier
    >>> alert_signal(Alert(7, "a", "c", 12.0, "under 13", 0.8123456789, Tier.URGENT))
    '[7, "a", "c", 2, 0.812346, null, null]'
    """
    ids = [decode_id(encode_id(i)) for i in (alert.conversation_id, alert.adult_id, alert.child_id)]
    event = [None if v is None else int(v) for v in (alert.event_index, alert.timestamp)]
    return json.dumps([*ids, int(alert.tier), round(float(alert.risk), 6), *event])


#: The tables of a review queue file: the queue's own and those the moderator accounts
#: of ``riskscore serve`` (:mod:`riskscore.serve.accounts`) keep beside them.
QUEUE_TABLES = frozenset(
    {
        "meta",
        "items",
        "alert_signals",
        "audit",
        "channel_baseline",
        "moderators",
        "account_log",
        "assignments",
        "access_log",
    }
)

#: The tables a queue writes with its ``meta`` table (in one transaction).
QUEUE_OWN_TABLES = frozenset({"items", "alert_signals", "audit", "channel_baseline"})

#: The entries of a review queue's ``meta`` table.
META_KEYS = frozenset({"schema_version", "simulated"})


def check_is_queue(path: Path) -> None:
    """Refuse an existing, non-empty database that is not a review queue this riskscore
    reads, unchanged.

    A review queue holds only :data:`QUEUE_TABLES`, and its ``meta`` table (there is one
    when any of :data:`QUEUE_OWN_TABLES` is) only :data:`META_KEYS`, with
    ``schema_version`` one of :data:`OLDER_VERSIONS` (upgraded when opened) or
    :data:`SCHEMA_VERSION`. A missing or
    empty file is a new queue.

    Raises
    ------
    QueueError
        The file is another database (an online checkpoint, the Synapse module's state,
        anything else), named with the tables that give it away, a queue of another
        schema version (a newer riskscore's), or one whose ``simulated`` entry is neither
        ``'0'`` nor ``'1'``.
    """
    try:
        found = sqlite.peek(path)
    except sqlite3.DatabaseError as exc:
        raise QueueError(f"{path} is not a riskscore queue ({exc})") from None
    foreign = sqlite.foreign_in(found, QUEUE_TABLES, _queue_meta)
    missing = ""
    # A queue's own tables are written with its meta table, in one transaction: without
    # it they are another application's that share a queue's names ("items", "audit").
    # (The console's account tables alone are a queue's file before its queue is made.)
    tables: frozenset[str] = frozenset() if found is None else found.tables
    if not foreign and tables & QUEUE_OWN_TABLES and "meta" not in tables:
        foreign, missing = sorted(tables), " and no queue's meta table"
    if foreign:
        raise QueueError(
            f"{path} is not a riskscore queue (it has table(s) {', '.join(foreign)}{missing}); "
            "it was left unchanged: give a new file or an existing queue"
        )
    meta = {} if found is None or found.meta is None else found.meta
    simulated = meta.get("simulated")
    if simulated is not None and simulated not in ("0", "1"):  # read as real otherwise
        raise QueueError(
            f"{path}: review queue meta 'simulated' is {stored_text('simulated', simulated)}, "
            "not '0' (a queue of real decisions) or '1' (one made in simulation); it was left "
            "unchanged: the file was changed outside riskscore"
        )
    version = meta.get("schema_version")
    if version is not None and version not in (*OLDER_VERSIONS, str(SCHEMA_VERSION)):
        raise QueueError(
            f"{path}: review queue schema version {version!r}, this riskscore reads version "
            f"{SCHEMA_VERSION} (and upgrades versions {', '.join(OLDER_VERSIONS[:-1])} and "
            f"{OLDER_VERSIONS[-1]}); it was left unchanged: use the riskscore that wrote it"
        )


def check_exists(path: Path) -> None:
    """Refuse a path that holds no review queue yet: missing, a directory, or an empty
    (0 bytes) file, which SQLite would silently turn into a new, empty queue.

    Raises
    ------
    FileNotFoundError
        There is no file at ``path``.
    OSError
        ``path`` is a loop of symbolic links (``ELOOP``).
    QueueError
        ``path`` is a directory or an empty file.
    """
    if path.is_dir():
        raise QueueError(f"{path} is a directory, not a review queue")
    if not path.exists():  # a FIFO or a device is refused by connect, by what it is
        real_path(path)  # a loop of symbolic links is not "nothing there": ELOOP, named
        raise FileNotFoundError(f"no review queue at {path}")
    if path.is_file() and path.stat().st_size == 0:
        raise QueueError(
            f"{path} is an empty file (0 bytes), not a review queue; it was left unchanged: "
            "a queue is made by `riskscore score --queue` or `riskscore stream --queue`"
        )


def _queue_meta(meta: dict[str, str] | None) -> bool:
    """Whether ``meta`` entries are a queue's: its schema version, no key of another's."""
    return meta is not None and "schema_version" in meta and set(meta) <= META_KEYS


def connect(
    path: Path,
    timeout_s: float,
    *,
    simulation: bool = False,
    create: bool = True,
    check_same_thread: bool = True,
) -> sqlite3.Connection:
    """Open (and, with ``create``, create if needed, mode 0600) a queue database in WAL mode
    (``check_same_thread``: as :func:`riskscore.io.sqlite.connect`).

    Raises
    ------
    FileNotFoundError
        Without ``create``: there is no file at ``path``.
    QueueError
        The file is another database (:func:`check_is_queue`), an audit trigger differs
        from its definition, ``simulation`` is asked of a queue of real decisions, or,
        without ``create``, the file is empty (0 bytes) or a directory.
    """
    if not create:
        check_exists(path)
    check_is_queue(path)
    con = sqlite.connect(path, timeout_s=timeout_s, check_same_thread=check_same_thread)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys = ON")

    def make_tables() -> None:
        con.execute("BEGIN IMMEDIATE")
        try:
            # The mode is recorded when the queue is made. A queue of schema version 1 has
            # none (it was made before riskscore kept one; its decisions are the clock's or
            # any caller's): it is no queue made in simulation, whichever mode opens it
            # first, or opening it once in simulation would mark its decisions simulated.
            made = _has_meta(con)
            mode = "1" if simulation and not made else "0"
            if made:  # made before: a table gone is damage, never made again empty
                check_tables(con, path, _tables_of(con))
            _migrate(con)
            for statement in (_SCHEMA + TRIGGERS_SQL).split(";\n"):
                if statement.strip():
                    con.execute(statement)
            con.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('simulated', ?)", (mode,))
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    try:
        retry(make_tables, con=con)
        found = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if found is None or int(found[0]) != SCHEMA_VERSION:
            raise ValueError(
                f"{path}: review queue schema version {found[0] if found else None!r}, "
                f"this riskscore reads version {SCHEMA_VERSION}"
            )
        check_triggers(con, path, exact=True)
        if simulation and not is_simulated(con):
            raise QueueError(
                f"{path} holds real decisions; simulation mode (caller-given decision times) "
                "is only for a queue created in it"
            )
    except BaseException:
        con.close()
        raise
    return con


def _tables_of(con: sqlite3.Connection) -> frozenset[str]:
    """The tables a queue made before must hold: those of its schema version."""
    version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    current = version is not None and str(version[0]) == str(SCHEMA_VERSION)
    return QUEUE_OWN_TABLES if current else EVERY_VERSION_TABLES


def _has_meta(con: sqlite3.Connection) -> bool:
    """Whether the queue's ``meta`` table exists (the queue was made before)."""
    row = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    return row is not None


def _migrate(con: sqlite3.Connection) -> None:
    """Upgrade a queue of an earlier schema version (inside the caller's transaction):
    1 -> 2 adds ``items.audit_id`` (the latest audit entry of each item); 2 -> 3 adds
    ``items.adult_age``, ``items.first_event_at`` and ``items.last_event_at``, null for the
    items already queued (not recorded then); 3 -> 4 keeps each alert's channel as it stands
    (``channel_baseline``, after its latest ``enqueue`` or ``update`` entry), which those
    entries did not record."""
    if not _has_meta(con):
        return
    version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if version is None or str(version[0]) not in OLDER_VERSIONS:
        return
    if str(version[0]) == "1":
        con.execute("ALTER TABLE items ADD COLUMN audit_id INTEGER")
        con.execute(
            "UPDATE items SET audit_id = "
            "(SELECT MAX(entry_id) FROM audit WHERE audit.item_id = items.item_id)"
        )
    if str(version[0]) in ("1", "2"):
        for column in ("adult_age REAL", "first_event_at INTEGER", "last_event_at INTEGER"):
            con.execute(f"ALTER TABLE items ADD COLUMN {column}")
    con.execute(_BASELINE)
    con.execute(
        "INSERT INTO channel_baseline (item_id, entry_id, channel) "
        "SELECT items.item_id, MAX(audit.entry_id), items.channel FROM items JOIN audit "
        "ON audit.item_id = items.item_id AND audit.action IN ('enqueue', 'update') "
        "WHERE items.kind = 'alert' GROUP BY items.item_id"
    )
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


def is_simulated(con: sqlite3.Connection) -> bool:
    """Whether the queue was created in simulation mode."""
    row = con.execute("SELECT value FROM meta WHERE key = 'simulated'").fetchone()
    return row is not None and str(row[0]) == "1"


def simulated_item_ids(
    con: sqlite3.Connection, *, simulated_queue: bool, before: int | None = None
) -> frozenset[int]:
    """Items with a ``review`` or ``decide`` audit entry (dated before ``before``, when
    given) whose time was caller-given (``detail["time"] == "simulated"``; an entry without
    a recorded source counts as simulated when ``simulated_queue``)."""
    found: set[int] = set()
    sql = "SELECT entry_id, item_id, detail FROM audit WHERE action IN ('review', 'decide')"
    args = () if before is None else (before,)
    for entry_id, item_id, detail in con.execute(sql + (" AND at < ?" if args else ""), args):
        source = audit_detail(entry_id, detail).get("time")
        if source == "simulated" or (source is None and simulated_queue):
            found.add(int(item_id))
    return frozenset(found)


def write(con: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn`` in one ``BEGIN IMMEDIATE`` transaction, retrying on lock contention.

    The audit triggers are checked inside the transaction first.
    """

    def checked(con: sqlite3.Connection) -> T:
        check_triggers(con, "review queue", exact=False)
        return fn(con)

    return sqlite.write(con, checked)


@contextmanager
def waiting(con: sqlite3.Connection, timeout_s: float) -> Iterator[None]:
    """Statements of ``con`` in this block (and :func:`write` with its retries, which
    waits for the busy timeout in all) wait at most ``timeout_s`` for another process's
    lock; ``con``'s own busy timeout is set back after it."""
    own_ms = int(con.execute("PRAGMA busy_timeout").fetchone()[0])
    con.execute(f"PRAGMA busy_timeout = {max(0, int(timeout_s * 1000))}")
    try:
        yield
    finally:
        con.execute(f"PRAGMA busy_timeout = {own_ms}")


def audit(
    con: sqlite3.Connection, *, at: int, actor: str, action: str, item_id: int, detail: Any
) -> int:
    """Append one audit entry (inside the caller's transaction); return its id."""
    cur = con.execute(
        "INSERT INTO audit (at, recorded_at, actor, action, item_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (at, time.time(), actor, action, item_id, json.dumps(detail, sort_keys=True)),
    )
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


def update(
    con: sqlite3.Connection,
    item_id: int,
    assignments: str,
    args: tuple[Any, ...],
    *,
    at: int,
    actor: str,
    action: str,
    detail: Any,
) -> None:
    """Change one item and write its audit entry, in the caller's transaction.

    The only way riskscore updates an item: the entry is written first and the item
    then points at it (``audit_id``), which the ``items_audited`` trigger requires.
    """
    entry = audit(con, at=at, actor=actor, action=action, item_id=item_id, detail=detail)
    con.execute(
        f"UPDATE items SET {assignments}, audit_id = ? WHERE item_id = ?",
        (*args, entry, item_id),
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
    entry = audit(
        con, at=row["created_at"], actor=actor, action="enqueue", item_id=item_id, detail=detail
    )
    con.execute("UPDATE items SET audit_id = ? WHERE item_id = ?", (entry, item_id))
    return item_id
