"""Durable per-room facts of the Synapse module (private, no Synapse import): whether a
room is a direct chat or encrypted, pending invites, and module settings kept across
restarts, in one SQLite file (:class:`RoomStore`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import riskscore.io.sqlite as sqlite

__all__ = ["RoomStore"]

#: The tables of the module's state file.
_TABLES = frozenset({"rooms", "invites", "meta"})


class RoomStore:
    """Durable per-room facts that the current room state does not keep.

    ``is_direct`` lives only on the invite that created a direct chat (or in a
    user's ``m.direct`` account data); pending invites tell who a join answers.
    Writes happen only when such a fact changes, which is rare.

    Parameters
    ----------
    path : path-like
        SQLite file, created if missing.

    Raises
    ------
    ValueError
        ``path`` is another database (a review queue, an online checkpoint, anything
        else); it is left unchanged.
    """

    def __init__(self, path: str | Path) -> None:
        foreign = ", ".join(sqlite.foreign_tables(path, _TABLES))
        if foreign:
            raise ValueError(
                f"{path} is not the Synapse module's room state (it has table(s) {foreign}); "
                "it was left unchanged: point state_dir at the module's own directory"
            )
        # WAL with synchronous=NORMAL: a commit survives a crash of the server process
        # without an fsync per write (only a power loss can undo the last commits).
        self._conn = sqlite.connect(path, autocommit=False, check_same_thread=False)
        self._conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS rooms (
                room_id TEXT PRIMARY KEY, is_direct INTEGER NOT NULL DEFAULT 0,
                is_encrypted INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS invites (
                room_id TEXT NOT NULL, invitee TEXT NOT NULL, inviter TEXT NOT NULL,
                PRIMARY KEY (room_id, invitee));
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )
        self._conn.commit()
        self._cache: dict[str, tuple[bool, bool]] = {}

    def status(self, room_id: str) -> tuple[bool, bool]:
        """``(is_direct, is_encrypted)`` as remembered."""
        hit = self._cache.get(room_id)
        if hit is None:
            row = self._conn.execute(
                "SELECT is_direct, is_encrypted FROM rooms WHERE room_id = ?", (room_id,)
            ).fetchone()
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
        self._conn.executemany(
            f"INSERT INTO rooms (room_id, {column}) VALUES (?, 1) "
            f"ON CONFLICT(room_id) DO UPDATE SET {column} = 1",
            [(r,) for r in new],
        )
        self._conn.commit()
        for r in new:
            is_direct, is_encrypted = known[r]
            self._cache[r] = (is_direct or not encrypted, is_encrypted or encrypted)

    def mark_direct(self, room_id: str) -> None:
        """Remember that a room is a direct chat."""
        self._mark([room_id], "is_direct")

    def mark_direct_many(self, room_ids: list[str]) -> None:
        """Remember that these rooms are direct chats: one write for those not known yet."""
        self._mark(room_ids, "is_direct")

    def mark_encrypted(self, room_id: str) -> None:
        """Remember that a room has end-to-end encryption switched on (it cannot be undone)."""
        self._mark([room_id], "is_encrypted")

    def add_invite(self, room_id: str, invitee: str, inviter: str) -> None:
        """Remember who invited whom, so the join can be mapped to ``contact_accept``."""
        self._conn.execute(
            "INSERT OR REPLACE INTO invites VALUES (?, ?, ?)", (room_id, invitee, inviter)
        )
        self._conn.commit()

    def pop_invite(self, room_id: str, invitee: str) -> str | None:
        """The inviter of a pending invite, which is then forgotten."""
        row = self._conn.execute(
            "SELECT inviter FROM invites WHERE room_id = ? AND invitee = ?", (room_id, invitee)
        ).fetchone()
        if row is None:
            return None
        self._conn.execute(
            "DELETE FROM invites WHERE room_id = ? AND invitee = ?", (room_id, invitee)
        )
        self._conn.commit()
        return str(row[0])

    def get_meta(self, key: str) -> str | None:
        """A module setting remembered across restarts (e.g. the moderation room id)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Remember a module setting."""
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        self._conn.commit()

    def close(self) -> None:
        """Close the database."""
        self._conn.close()
