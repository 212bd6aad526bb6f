"""Moderator accounts of the console, and case assignments made by leads.

Accounts live in the review queue's SQLite file (created ``0600``), in two tables of their
own: ``moderators`` (name, role, Argon2id password hash from ``argon2-cffi``) and
``assignments`` (append-only: who assigned which case to whom, and when; the latest row of
a case is its assignment). Roles: ``moderator`` (works the queue) and ``lead`` (also
assigns cases to moderators and reads the audit log).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

import riskscore.io.sqlite as sqlite
from riskscore.moderation.cases import QueueError, check_name

__all__ = ["MIN_PASSWORD_CHARS", "Assignment", "Moderator", "ModeratorStore", "Role"]

#: Shortest password accepted for a moderator account (characters).
MIN_PASSWORD_CHARS = 12

_DDL = (
    "CREATE TABLE IF NOT EXISTS moderators (name TEXT PRIMARY KEY, role TEXT NOT NULL "
    "CHECK (role IN ('moderator', 'lead')), password_hash TEXT, created_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS assignments (entry_id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "adult_id TEXT NOT NULL, moderator TEXT NOT NULL, assigned_by TEXT NOT NULL, "
    "at INTEGER NOT NULL)",
    "CREATE TRIGGER IF NOT EXISTS assignments_append_only BEFORE UPDATE ON assignments "
    "BEGIN SELECT RAISE(ABORT, 'assignments are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS assignments_no_delete BEFORE DELETE ON assignments "
    "BEGIN SELECT RAISE(ABORT, 'assignments are append-only'); END",
)


class Role(StrEnum):
    """What a console account may do."""

    MODERATOR = "moderator"
    LEAD = "lead"


@dataclass(frozen=True, slots=True)
class Moderator:
    """A signed-in console user."""

    name: str
    role: Role

    @property
    def is_lead(self) -> bool:
        """Whether the account may assign cases and read the audit log."""
        return self.role is Role.LEAD


@dataclass(frozen=True, slots=True)
class Assignment:
    """One assignment of a case (an adult's open items) to a moderator."""

    adult_id: str
    moderator: str
    assigned_by: str
    at: int


class ModeratorStore:
    """Console accounts and assignments in the queue's SQLite file.

    Parameters
    ----------
    path : str or Path
        The review queue's file (created when missing).
    hasher : argon2.PasswordHasher, optional
        Hashes new passwords; argon2-cffi's default (RFC 9106 low-memory profile:
        Argon2id, 64 MiB, 3 passes) when omitted. A stored hash is checked with the
        parameters it was made with.

    Examples
    --------
    >>> import tempfile
    >>> from argon2 import PasswordHasher
    >>> cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # doctest speed
    >>> store = ModeratorStore(f"{tempfile.mkdtemp()}/queue.sqlite", hasher=cheap)
    >>> store.add("lead-1", "lead", "a long passphrase")
    >>> store.verify("lead-1", "a long passphrase")
    Moderator(name='lead-1', role=<Role.LEAD: 'lead'>)
    >>> store.verify("lead-1", "wrong passphrase") is None
    True
    >>> store.close()
    """

    def __init__(self, path: str | Path, *, hasher: PasswordHasher | None = None) -> None:
        self.path = Path(path)
        self._con = sqlite.connect(self.path)
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

        def create(con: sqlite3.Connection) -> None:
            for ddl in _DDL:
                con.execute(ddl)

        sqlite.write(self._con, create)

    def close(self) -> None:
        """Close the file."""
        self._con.close()

    def add(self, name: str, role: str | Role, password: str | None) -> None:
        """Create an account, or replace its role and password.

        Parameters
        ----------
        name : str
            The platform's stable id of the person (see ``docs/moderation.md``).
        role : {"moderator", "lead"}
        password : str or None
            At least ``MIN_PASSWORD_CHARS`` characters, stored as an Argon2id hash;
            None for an account that signs in only through the trusted header.

        Raises
        ------
        QueueError
            A bad name, role or password (the password is never shown).
        """
        name = check_name(name, "moderator")
        try:
            role = Role(role)
        except ValueError:
            raise QueueError(f"role {role!r} is not moderator or lead") from None
        hashed = None
        if password is not None:
            if len(password) < MIN_PASSWORD_CHARS:
                raise QueueError(
                    f"the password has {len(password)} characters; at least "
                    f"{MIN_PASSWORD_CHARS} are needed"
                )
            hashed = self._hasher.hash(password)
        sqlite.write(
            self._con,
            lambda con: con.execute(
                "INSERT INTO moderators (name, role, password_hash, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role, "
                "password_hash = excluded.password_hash",
                (name, role.value, hashed, int(time.time())),
            ),
        )

    def get(self, name: str) -> Moderator | None:
        """The account named ``name``, or None."""
        row = self._con.execute("SELECT role FROM moderators WHERE name = ?", (name,)).fetchone()
        return None if row is None else Moderator(name, Role(row[0]))

    def names(self) -> list[str]:
        """Every account name, sorted."""
        return [str(r[0]) for r in self._con.execute("SELECT name FROM moderators ORDER BY name")]

    def lookup(self, name: str) -> tuple[Moderator | None, str]:
        """The account of ``name`` (None if none, or if it has no password) and the hash
        to check a password against (a dummy one for no account, so that checking takes
        the same time)."""
        row = self._con.execute(
            "SELECT role, password_hash FROM moderators WHERE name = ?", (name,)
        ).fetchone()
        if row is None or row[1] is None:
            # Checked against when there is no account, so that the time taken does not
            # tell which names exist.
            if self._dummy is None:
                self._dummy = self._hasher.hash("riskscore: no such moderator")
            return None, self._dummy
        return Moderator(name, Role(row[0])), str(row[1])

    def password_matches(self, stored: str, password: str) -> bool:
        """Whether ``password`` matches the hash ``stored`` (thread-safe: no database)."""
        try:
            return bool(self._hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    def verify(self, name: str, password: str) -> Moderator | None:
        """The account when ``password`` is its password, else None (in similar time)."""
        account, stored = self.lookup(name)
        matches = self.password_matches(stored, password)
        return account if matches and account is not None else None

    def assign(self, adult_key: str, moderator: str, by: Moderator) -> None:
        """Assign the case of ``adult_key`` (an encoded adult id) to ``moderator``.

        Raises
        ------
        QueueError
            ``by`` is not a lead, or ``moderator`` has no account.
        """
        if not by.is_lead:
            raise QueueError("only a lead assigns cases")
        if self.get(moderator) is None:
            raise QueueError(f"no moderator account {moderator!r}")
        sqlite.write(
            self._con,
            lambda con: con.execute(
                "INSERT INTO assignments (adult_id, moderator, assigned_by, at) "
                "VALUES (?, ?, ?, ?)",
                (adult_key, moderator, by.name, int(time.time())),
            ),
        )

    def assignments(self) -> dict[str, str]:
        """The current assignment of each case: encoded adult id -> moderator."""
        rows = self._con.execute("SELECT adult_id, moderator FROM assignments ORDER BY entry_id")
        return {str(a): str(m) for a, m in rows}

    def assignment_log(self, limit: int = 500) -> list[Assignment]:
        """The latest ``limit`` assignments, newest first."""
        rows: Any = self._con.execute(
            "SELECT adult_id, moderator, assigned_by, at FROM assignments "
            "ORDER BY entry_id DESC LIMIT ?",
            (limit,),
        )
        return [Assignment(str(a), str(m), str(b), int(t)) for a, m, b, t in rows]
