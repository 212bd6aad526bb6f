"""Durable per-room facts of the Synapse module (private, no Synapse import): whether a
room is a direct chat or encrypted, the rooms each user lists in ``m.direct``, pending
invites (expired and bounded), and module settings kept across restarts, in one SQLite
file (:class:`RoomStore`)."""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, Literal

import riskscore.io.sqlite as sqlite
from riskscore._checks import is_real
from riskscore.exceptions import one_line
from riskscore.integrations._synapse_log import EventWarnings
from riskscore.io.raw import show
from riskscore.io.schema import MAX_TIMESTAMP, MIN_TIMESTAMP

__all__ = ["RoomStore", "is_room_id", "is_user_id"]

# The module's logger: records keep the name operators filter on.
logger = logging.getLogger("riskscore.integrations.synapse")
#: Kind of warning (:class:`EventWarnings`) of a room fact the file could not take.
NOT_WRITTEN: Final = "room facts not written to the room state file"
#: Kind of warning (:class:`EventWarnings`) of a room fact the file could not give.
NOT_READ: Final = "room facts not read from the room state file"

#: The tables of the module's state file.
_TABLES = frozenset({"rooms", "invites", "meta", "direct_claims"})

_DDL = """
CREATE TABLE IF NOT EXISTS rooms (
    room_id TEXT PRIMARY KEY, is_direct INTEGER NOT NULL DEFAULT 0,
    is_encrypted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS invites (
    room_id TEXT NOT NULL, invitee TEXT NOT NULL, inviter TEXT NOT NULL,
    created REAL, PRIMARY KEY (room_id, invitee));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS direct_claims (
    user_id TEXT NOT NULL, room_id TEXT NOT NULL, PRIMARY KEY (user_id, room_id));
CREATE INDEX IF NOT EXISTS direct_claims_room ON direct_claims (room_id);
"""

#: The settings the module keeps in the ``meta`` table.
_META_KEYS = frozenset({"moderation_room_id"})


def is_user_id(value: object) -> bool:
    """Whether ``value`` is text of a Matrix user id's form (``@localpart:server``)."""
    return isinstance(value, str) and value.startswith("@") and ":" in value


def is_room_id(value: object) -> bool:
    """Whether ``value`` is text of a Matrix room id's form (``!opaque:server``; from room
    version 12, ``!opaque``)."""
    return isinstance(value, str) and value.startswith("!")


def _is_flag(value: object) -> bool:
    return type(value) is int and value in (0, 1)


def _is_receipt(value: object) -> bool:  # null: an invite kept by a file of before 'created'
    return value is None or (is_real(value) and bool(MIN_TIMESTAMP <= value < MAX_TIMESTAMP))


#: What each column of the state file holds, as the store writes it: a test of a value
#: read back, and its form for the message refusing another.
_COLUMNS: Final[dict[str, dict[str, tuple[Callable[[object], bool], str]]]] = {
    "rooms": {
        "room_id": (is_room_id, "a Matrix room id ('!abc:example.org')"),
        "is_direct": (_is_flag, "0 or 1"),
        "is_encrypted": (_is_flag, "0 or 1"),
    },
    "invites": {
        "room_id": (is_room_id, "a Matrix room id ('!abc:example.org')"),
        "invitee": (is_user_id, "a Matrix user id ('@name:example.org')"),
        "inviter": (is_user_id, "a Matrix user id ('@name:example.org')"),
        "created": (_is_receipt, f"null or epoch seconds from {MIN_TIMESTAMP} to {MAX_TIMESTAMP}"),
    },
    "meta": {
        "key": (lambda v: v in _META_KEYS, f"one of {', '.join(sorted(_META_KEYS))}"),
        "value": (is_room_id, "a Matrix room id ('!abc:example.org')"),
    },
    "direct_claims": {
        "user_id": (is_user_id, "a Matrix user id ('@name:example.org')"),
        # as a user's m.direct listed it: an earlier riskscore kept any text (no room's)
        "room_id": (lambda v: isinstance(v, str), "text"),
    },
}

#: What to do about a state file refused.
_FIX = (
    "the file was changed outside riskscore or written by another version; restore it from "
    "a backup, or remove it (the module starts a new one, forgetting which rooms invites "
    "marked direct and the invites not answered yet)"
)


def _shapes(con: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Each table's columns as ``PRAGMA table_info`` gives them (name, type, not null,
    default, primary key position), in order."""
    return {
        table: [tuple(row[1:]) for row in con.execute(f"PRAGMA table_info({table})")]
        for table in _COLUMNS
    }


def _expected_shapes() -> dict[str, list[tuple[object, ...]]]:
    """The shapes :data:`_DDL` makes (built in memory: the one definition)."""
    con = sqlite3.connect(":memory:")
    try:
        con.executescript(_DDL)
        return _shapes(con)
    finally:
        con.close()


_SHAPES: Final = _expected_shapes()


def _check_file(con: sqlite3.Connection, path: object) -> None:
    """Refuse a state file whose tables are not of the store's shape (another version's
    file, or one changed: a ``rooms`` table without its primary key holds a room twice) or
    that holds a value the store never writes (``is_direct`` 'no', read as true; an
    ``inviter`` that is no Matrix user id, which a join would have answered), naming the
    table, the row, the column and the value."""
    for table, shape in _shapes(con).items():
        # a file of before the invites' receipt time: the column is added, null for its rows
        legacy = table == "invites" and shape == _SHAPES[table][:-1]
        if shape and shape != _SHAPES[table] and not legacy:
            names = ", ".join(str(column[0]) for column in shape)
            raise ValueError(
                f"{path}: table {table!r} of the Synapse module's room state has the columns "
                f"({names}) or keys of another layout; {_FIX}"
            )
        if not shape:  # a new file, or one of before the table
            continue
        columns = [(str(name), *_COLUMNS[table][str(name)]) for name, *_ in shape]
        try:
            rows = con.execute(f"SELECT rowid, {', '.join(n for n, *_ in columns)} FROM {table}")
        except sqlite3.OperationalError:  # a table WITHOUT ROWID: never the store's
            raise ValueError(
                f"{path}: table {table!r} of the Synapse module's room state holds no row "
                f"ids; {_FIX}"
            ) from None
        # a column of a batch of rows at a time (about 1.5 s a million rows, at start);
        # the row of a value refused is then looked for
        while batch := rows.fetchmany(10_000):
            for j, (name, good, form) in enumerate(columns, start=1):
                if all(map(good, [row[j] for row in batch])):
                    continue
                rowid, value = next((row[0], row[j]) for row in batch if not good(row[j]))
                raise ValueError(
                    f"{path}: table {table!r}, row {rowid}, column {name!r}: expected "
                    f"{form}, found {show(value)}; {_FIX}"
                )


#: At most this many invites wait for an answer; beyond it the oldest are forgotten.
MAX_PENDING_INVITES: Final = 1_000_000


class RoomStore:
    """Durable per-room facts that the current room state does not keep.

    ``is_direct`` lives only on the invite that created a direct chat (or in a
    user's ``m.direct`` account data); pending invites tell who a join answers.
    Writes happen only when such a fact changes, which is rare.

    Parameters
    ----------
    path : path-like
        SQLite file, created if missing.
    invite_expiry_s : float
        An invite not answered within this many seconds (of this server's clock, from its
        receipt) is forgotten: a later join answers no contact request. The module passes
        ``idle_expiry_s``, after which the conversation the request opened is gone too.
    max_invites : int
        At most this many pending invites; a new one beyond it forgets the oldest.
    warnings : EventWarnings, optional
        Where a write the file could not take (a full disk, a read-only file, another
        process's lock) is warned about, rate-limited (the module's; default: a new one).
        Such a write is counted (``n_not_written``) and never raised: the event that made
        it is still scored, and the fact is kept in memory until a restart (but a pending
        invite, whose join then answers nothing). A read it cannot give (a disk error, a
        file damaged since start-up) is counted (``n_not_read``) and warned about too: the
        event is scored as if the file knew nothing of the room.

    Raises
    ------
    ValueError
        ``path`` is another database (a review queue, an online checkpoint, anything
        else), or a state file of another layout or holding a value the store never writes
        (naming the table, row, column and value); it is left unchanged.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        invite_expiry_s: float = math.inf,
        max_invites: int = MAX_PENDING_INVITES,
        warnings: EventWarnings | None = None,
    ) -> None:
        self.path = path
        self.warnings = EventWarnings(logger) if warnings is None else warnings
        #: Writes the file could not take (each a line in the log, rate-limited).
        self.n_not_written = 0
        #: Reads the file could not give (each a line in the log, rate-limited).
        self.n_not_read = 0
        try:
            found = sqlite.peek(path)
        except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
            raise ValueError(
                f"{path} is not a readable SQLite database ({exc}); it was left unchanged: "
                "restore it from a backup, or remove it to start the room facts afresh "
                "(direct and encrypted flags and unanswered invites are then forgotten)"
            ) from None
        foreign = ", ".join(sqlite.foreign_in(found, _TABLES))
        if foreign:
            raise ValueError(
                f"{path} is not the Synapse module's room state (it has table(s) {foreign}); "
                "it was left unchanged: point state_dir at the module's own directory"
            )
        if found is not None:  # read without writing: a refused file is unchanged
            check = sqlite.connect(path, read_only=True)
            try:
                _check_file(check, path)
            finally:
                check.close()
        # WAL with synchronous=NORMAL: a commit survives a crash of the server process
        # without an fsync per write (only a power loss can undo the last commits).
        self._conn = sqlite.connect(path, autocommit=False, check_same_thread=False)
        self._conn.executescript(_DDL)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(invites)")}
        if "created" not in columns:  # a file of an earlier version: its invites start now
            self._conn.execute("ALTER TABLE invites ADD COLUMN created REAL")
            self._conn.execute("UPDATE invites SET created = ?", (time.time(),))
        self._conn.execute("CREATE INDEX IF NOT EXISTS invites_created ON invites (created)")
        self._conn.commit()
        self._cache: dict[str, tuple[bool, bool]] = {}
        self._claims: dict[str, frozenset[str]] = {}
        self.invite_expiry_s = invite_expiry_s
        self.max_invites = max_invites
        self._n_invites = int(self._conn.execute("SELECT COUNT(*) FROM invites").fetchone()[0])
        #: Invites forgotten unanswered: expired, or the oldest beyond ``max_invites``.
        self.n_invites_expired = 0

    def status(self, room_id: str) -> tuple[bool, bool]:
        """``(is_direct, is_encrypted)`` as remembered."""
        hit = self._cache.get(room_id)
        if hit is None:
            try:
                row = self._conn.execute(
                    "SELECT is_direct, is_encrypted FROM rooms WHERE room_id = ?", (room_id,)
                ).fetchone()
            except sqlite3.Error as exc:  # asked again for the next event
                self._not_read(
                    exc,
                    f"whether room {room_id} is a direct chat or encrypted (taken as neither "
                    "for this event)",
                )
                return False, False
            hit = (bool(row[0]), bool(row[1])) if row else (False, False)
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[room_id] = hit
        return hit

    def _mark(self, room_ids: list[str], column: Literal["is_direct", "is_encrypted"]) -> None:
        """Set ``column`` for these rooms: one write for those where it is not set yet."""
        encrypted = column == "is_encrypted"
        known = {r: self.status(r) for r in set(room_ids)}
        new = sorted(r for r, status in known.items() if not status[encrypted])
        if not new:
            return
        try:
            self._conn.executemany(
                f"INSERT INTO rooms (room_id, {column}) VALUES (?, 1) "
                f"ON CONFLICT(room_id) DO UPDATE SET {column} = 1",
                [(r,) for r in new],
            )
            self._conn.commit()
        except sqlite3.Error as exc:  # known in memory until a restart
            self._not_written(
                exc, f"that room {', '.join(new)} is {column[3:]} (known until a restart)"
            )
        for r in new:
            is_direct, is_encrypted = known[r]
            self._cache[r] = (is_direct or not encrypted, is_encrypted or encrypted)

    def mark_direct(self, room_id: str) -> None:
        """Remember that a room is a direct chat (an invite said so)."""
        self._mark([room_id], "is_direct")

    def direct_claimants(self, room_id: str) -> frozenset[str]:
        """The users whose ``m.direct`` lists the room."""
        hit = self._claims.get(room_id)
        if hit is None:
            try:
                hit = frozenset(
                    str(row[0])
                    for row in self._conn.execute(
                        "SELECT user_id FROM direct_claims WHERE room_id = ?", (room_id,)
                    )
                )
            except sqlite3.Error as exc:  # asked again for the next event
                self._not_read(
                    exc,
                    f"which users list room {room_id} in m.direct (taken as none for this event)",
                )
                return frozenset()
            if len(self._claims) > 100_000:
                self._claims.clear()
            self._claims[room_id] = hit
        return hit

    def set_direct_claims(self, user_id: str, room_ids: Sequence[str]) -> None:
        """The rooms ``user_id``'s ``m.direct`` lists now (replacing the earlier list): one
        write, none when unchanged."""
        new = set(room_ids)
        try:
            old = {
                str(row[0])
                for row in self._conn.execute(
                    "SELECT room_id FROM direct_claims WHERE user_id = ?", (user_id,)
                )
            }
            if new == old:
                return
            self._conn.executemany(
                "DELETE FROM direct_claims WHERE user_id = ? AND room_id = ?",
                [(user_id, r) for r in sorted(old - new)],
            )
            self._conn.executemany(
                "INSERT INTO direct_claims VALUES (?, ?)",
                [(user_id, r) for r in sorted(new - old)],
            )
            self._conn.commit()
        except sqlite3.Error as exc:  # the earlier list stays in force
            self._not_written(
                exc, f"the direct chats {user_id} lists in m.direct (the earlier list stays)"
            )
            return
        for room_id in old ^ new:
            self._claims.pop(room_id, None)

    def mark_encrypted(self, room_id: str) -> None:
        """Remember that a room has end-to-end encryption switched on (it cannot be undone)."""
        self._mark([room_id], "is_encrypted")

    def add_invite(self, room_id: str, invitee: str, inviter: str, received: float) -> None:
        """Remember who invited whom, so the join can be mapped to ``contact_accept``;
        forget expired invites, and the oldest beyond ``max_invites`` (same transaction).

        ``received`` is when this server received the invite (epoch seconds, its clock).
        """
        conn = self._conn
        try:
            known = conn.execute(
                "SELECT 1 FROM invites WHERE room_id = ? AND invitee = ?", (room_id, invitee)
            ).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO invites (room_id, invitee, inviter, created) "
                "VALUES (?, ?, ?, ?)",
                (room_id, invitee, inviter, received),
            )
            forgotten = conn.execute(
                "DELETE FROM invites WHERE created < ?", (received - self.invite_expiry_s,)
            ).rowcount
            excess = self._n_invites + (known is None) - forgotten - self.max_invites
            if excess > 0:
                forgotten += conn.execute(
                    "DELETE FROM invites WHERE rowid IN "
                    "(SELECT rowid FROM invites ORDER BY created, rowid LIMIT ?)",
                    (excess,),
                ).rowcount
            conn.commit()
        except sqlite3.Error as exc:
            self._not_written(
                exc,
                f"the invite of {invitee} to room {room_id} (the event is scored; its join will "
                "answer none)",
            )
            return
        self._n_invites += (known is None) - forgotten
        self.n_invites_expired += forgotten

    def pop_invite(self, room_id: str, invitee: str, now: float) -> str | None:
        """The inviter of a pending invite, which is then forgotten; None if there is none
        or it expired before ``now`` (epoch seconds)."""
        try:
            row = self._conn.execute(
                "SELECT inviter, created FROM invites WHERE room_id = ? AND invitee = ?",
                (room_id, invitee),
            ).fetchone()
        except sqlite3.Error as exc:
            self._not_read(exc, f"the invite of {invitee} to room {room_id} (taken as none)")
            return None
        if row is None:
            return None
        try:
            self._conn.execute(
                "DELETE FROM invites WHERE room_id = ? AND invitee = ?", (room_id, invitee)
            )
            self._conn.commit()
            self._n_invites -= 1
        except sqlite3.Error as exc:  # answered all the same
            self._not_written(
                exc, f"that {invitee} answered the invite to room {room_id} (the join is scored)"
            )
        if row[1] is None or row[1] < now - self.invite_expiry_s:
            self.n_invites_expired += 1
            return None
        return str(row[0])

    def n_pending_invites(self) -> int:
        """Invites waiting for an answer."""
        return self._n_invites

    def get_meta(self, key: str) -> str | None:
        """A module setting remembered across restarts (e.g. the moderation room id); a
        read the file cannot give is counted and warned about, then raised (taken as none,
        a second moderation room would be created)."""
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._not_read(exc, f"the {key} kept")
            raise
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Remember a module setting; a write the file cannot take is counted and warned
        about (the setting is kept in memory until a restart)."""
        try:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            self._conn.commit()
        except sqlite3.Error as exc:
            self._not_written(exc, f"the {key} {value} (known until a restart)")

    def _not_written(self, exc: sqlite3.Error, fact: str) -> None:
        """Undo a write the file could not take; count it and warn in one line naming the
        file, the fact and the error (rate-limited)."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.rollback()
        self.n_not_written += 1
        self.warnings.warn(
            NOT_WRITTEN,
            logging.ERROR,
            "riskscore: %s could not remember %s: %s",
            self.path,
            fact,
            one_line(str(exc)),
        )

    def _not_read(self, exc: sqlite3.Error, fact: str) -> None:
        """Count a read the file could not give and warn in one line naming the file, the
        fact and the error (rate-limited)."""
        self.n_not_read += 1
        self.warnings.warn(
            NOT_READ,
            logging.ERROR,
            "riskscore: %s could not read %s: %s",
            self.path,
            fact,
            one_line(str(exc)),
        )

    def close(self) -> None:
        """Close the database."""
        self._conn.close()
