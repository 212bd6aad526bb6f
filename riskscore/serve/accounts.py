"""Moderator accounts of the console, and case assignments made by leads.

Accounts live in the review queue's SQLite file (created ``0600``), in tables of their
own: ``moderators`` (name, role, Argon2id password hash from ``argon2-cffi``, whether the
account is active, and its session generation), ``account_log`` (append-only: who added,
changed or removed which account, and when) and ``assignments`` (append-only: who assigned
which case to whom, and when; the latest row of a case is its assignment, or its release
when its moderator's account was removed) and
``access_log`` (append-only: who signed in, was refused, signed out, opened which case
page or made which transparency report, and when; a name typed at a refused sign-in is
kept only when it is an account's, since a user may type a password there). Roles:
``moderator`` (works the queue) and ``lead`` (also assigns cases to moderators and reads
the audit log).

An account is never deleted: removing it deactivates it (no sign-in, no session, no new
assignment) and keeps its name in the logs. Every change of an account (added, changed,
removed) and every sign-out starts a new session generation, so the sessions signed
before it end (a sign-out ends the account's sessions in every browser).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

import riskscore.io.sqlite as sqlite
from riskscore.io.raw import show
from riskscore.moderation.cases import QueueError, check_name
from riskscore.moderation.queue_guards import SERVE_TRIGGERS, if_not_exists
from riskscore.moderation.queue_rows import log_row
from riskscore.serve import access_log as _access
from riskscore.serve.access_log import AccessEntry
from riskscore.serve.moderator import Moderator, Role

__all__ = [
    "MAX_PASSWORD_CHARS",
    "AccountChange",
    "Assignment",
    "Moderator",
    "ModeratorStore",
    "Role",
]

T = TypeVar("T")

#: Shortest password accepted for a moderator account (characters).
MIN_PASSWORD_CHARS = 12
#: Longest password accepted (characters): the sign-in form hashes no more than this, so
#: that a posted megabyte costs one ordinary check.
MAX_PASSWORD_CHARS = 1024

_DDL = (
    "CREATE TABLE IF NOT EXISTS moderators (name TEXT PRIMARY KEY, role TEXT NOT NULL "
    "CHECK (role IN ('moderator', 'lead')), password_hash TEXT, created_at INTEGER NOT NULL, "
    "active INTEGER NOT NULL DEFAULT 1, session INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS account_log (entry_id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL "
    "CHECK (action IN ('add', 'change', 'remove')), moderator TEXT NOT NULL, role TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS assignments (entry_id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "adult_id TEXT NOT NULL, moderator TEXT NOT NULL, assigned_by TEXT NOT NULL, "
    "at INTEGER NOT NULL)",
    *(
        if_not_exists(SERVE_TRIGGERS[name])
        for name in SERVE_TRIGGERS
        if not name.startswith("access_log")  # made with the access log's own table
    ),
)


#: The latest row of each case in ``assignments``: its assignment, or its release (moderator
#: ``''``, no account's name) when the moderator was removed.
_LATEST = "entry_id IN (SELECT MAX(entry_id) FROM assignments GROUP BY adult_id)"


#: Columns added to ``moderators`` after its first release, with their definitions.
_ADDED_COLUMNS = {
    "active": "INTEGER NOT NULL DEFAULT 1",
    "session": "INTEGER NOT NULL DEFAULT 0",
}


@dataclass(frozen=True, slots=True)
class Assignment:
    """One assignment of a case (an adult's open items) to a moderator; ``moderator`` is
    ``''`` when the case was released by the removal of its moderator's account."""

    adult_id: str
    moderator: str
    assigned_by: str
    at: int


@dataclass(frozen=True, slots=True)
class AccountChange:
    """One entry of the account log: an account added, changed or removed, by whom."""

    entry_id: int
    at: int
    actor: str
    action: str
    moderator: str
    role: str


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
    check_same_thread : bool, default True
        False to use the store from a thread other than the one that opened it (one
        thread at a time).
    dummy_hash : str, optional
        The hash a name without an account is checked against (another store's
        :meth:`prepare_sign_in`), so that stores opened per thread make it once.

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

    def __init__(
        self,
        path: str | Path,
        *,
        hasher: PasswordHasher | None = None,
        check_same_thread: bool = True,
        dummy_hash: str | None = None,
    ) -> None:
        self.path = Path(path)
        self._con = sqlite.connect(self.path, check_same_thread=check_same_thread)
        # one transaction at a time on the one connection: two sign-ins checked at once in
        # worker threads each began one, and the second failed ("within a transaction")
        self._writing = threading.Lock()
        self._hasher = hasher or PasswordHasher()
        self._dummy = dummy_hash

        def create(con: sqlite3.Connection) -> None:
            for ddl in _DDL:
                con.execute(ddl)
            _access.create(con)
            have = {str(r[1]) for r in con.execute("PRAGMA table_info(moderators)")}
            for column, definition in _ADDED_COLUMNS.items():
                if column not in have:  # a file from before the column
                    con.execute(f"ALTER TABLE moderators ADD COLUMN {column} {definition}")

        self._write(create)

    def close(self) -> None:
        """Close the file."""
        self._con.close()

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """:func:`riskscore.io.sqlite.write` on the store's connection, one at a time."""
        with self._writing:
            return sqlite.write(self._con, fn)

    def add(
        self, name: str, role: str | Role, password: str | None, *, by: str = "riskscore"
    ) -> None:
        """Create an account, or replace its role and password (re-activating it).

        Parameters
        ----------
        name : str
            The platform's stable id of the person (see ``docs/moderation.md``).
        role : {"moderator", "lead"}
        password : str or None
            ``MIN_PASSWORD_CHARS`` to ``MAX_PASSWORD_CHARS`` characters, stored as an
            Argon2id hash;
            None for an account that signs in only through the trusted header.
        by : str, default "riskscore"
            Who made the change, kept in the account log.

        Raises
        ------
        QueueError
            A bad name, role, password (the password is never shown) or ``by``; or the
            last active lead made a moderator (add another lead first).
        """
        name = check_name(name, "moderator")
        by = check_name(by, "actor")
        try:
            role = Role(role)
        except ValueError:
            raise QueueError(f"role {role!r} is not moderator or lead") from None
        hashed = None
        if password is not None:
            n = len(password)
            if n < MIN_PASSWORD_CHARS:
                raise QueueError(
                    f"the password has {n} characters; at least {MIN_PASSWORD_CHARS} are needed"
                )
            if n > MAX_PASSWORD_CHARS:  # the sign-in form would never match it
                raise QueueError(
                    f"the password has {n} characters; at most {MAX_PASSWORD_CHARS} are "
                    "accepted (the longest the sign-in form checks)"
                )
            hashed = self._hasher.hash(password)

        def save(con: sqlite3.Connection) -> None:
            _refuse_another_form(con, name)
            was = _active_role(con, name)
            if was is Role.LEAD and role is not Role.LEAD:
                _refuse_last_lead(con, name, "made a moderator")
            con.execute(
                "INSERT INTO moderators (name, role, password_hash, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role, "
                "password_hash = excluded.password_hash, active = 1, session = session + 1",
                (name, role.value, hashed, int(time.time())),
            )
            _log(con, by, "add" if was is None else "change", name, role)

        self._write(save)

    def remove(self, name: str, *, by: str = "riskscore") -> Moderator:
        """Deactivate an account: it can no longer sign in, its sessions end, and it can
        no longer be assigned cases. Its name stays in the logs.

        Parameters
        ----------
        name : str
            An active account.
        by : str, default "riskscore"
            Who removed it, kept in the account log.

        Returns
        -------
        Moderator
            The account as it was.

        Raises
        ------
        QueueError
            No active account of that name, or it is the last active lead (someone must
            still be able to read the audit log and assign cases: add another lead
            first).

        Examples
        --------
        >>> import tempfile
        >>> store = ModeratorStore(f"{tempfile.mkdtemp()}/queue.sqlite")
        >>> store.add("lead-1", "lead", None); store.add("mod-1", "moderator", None)
        >>> store.remove("mod-1", by="lead-1")
        Moderator(name='mod-1', role=<Role.MODERATOR: 'moderator'>)
        >>> store.get("mod-1") is None, [c.action for c in store.account_log()]
        (True, ['remove', 'add', 'add'])
        >>> store.remove("lead-1")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        QueueError: 'lead-1' is the last active lead and cannot be removed; add another ...
        >>> store.close()
        """
        name = check_name(name, "moderator")
        by = check_name(by, "actor")

        def deactivate(con: sqlite3.Connection) -> Moderator:
            role = _active_role(con, name)
            if role is None:
                raise QueueError(f"no active moderator account {name!r} in {self.path}")
            if role is Role.LEAD:
                _refuse_last_lead(con, name, "removed")
            con.execute(
                "UPDATE moderators SET active = 0, password_hash = NULL, session = session + 1 "
                "WHERE name = ?",
                (name,),
            )
            _log(con, by, "remove", name, role)
            # Its cases are released (nobody works them now), in the log as by ``by``.
            con.execute(
                "INSERT INTO assignments (adult_id, moderator, assigned_by, at) "
                f"SELECT adult_id, '', ?, ? FROM assignments WHERE {_LATEST} AND moderator = ?",
                (by, int(time.time()), name),
            )
            return Moderator(name, role)

        return self._write(deactivate)

    def sign_out(self, name: str, session: int) -> bool:
        """End every session of ``name`` signed in its session generation ``session``
        (a cookie of an older generation, already void, changes nothing): the account's
        next generation starts, so a copy of the cookie is refused too. Returns whether
        sessions ended.

        Examples
        --------
        >>> import tempfile
        >>> store = ModeratorStore(f"{tempfile.mkdtemp()}/queue.sqlite")
        >>> store.add("mod-1", "moderator", None)
        >>> before = store.get("mod-1").session
        >>> store.sign_out("mod-1", before), store.sign_out("mod-1", before)
        (True, False)
        >>> store.get("mod-1").session == before + 1
        True
        >>> store.close()
        """
        cursor = self._write(
            lambda con: con.execute(
                "UPDATE moderators SET session = session + 1 "
                "WHERE name = ? AND active = 1 AND session = ?",
                (name, session),
            ),
        )
        return cursor.rowcount > 0

    def get(self, name: str) -> Moderator | None:
        """The active account named ``name``, or None."""
        row = self._con.execute(
            "SELECT role, session FROM moderators WHERE name = ? AND active = 1", (name,)
        ).fetchone()
        return None if row is None else Moderator.stored(name, *row)

    def names(self) -> list[str]:
        """Every active account's name, sorted."""
        rows = self._con.execute("SELECT name FROM moderators WHERE active = 1 ORDER BY name")
        return [str(r[0]) for r in rows]

    def lookup(self, name: str) -> tuple[Moderator | None, str]:
        """The account of ``name`` (None if none, if removed, or if it has no password)
        and the hash to check a password against (a dummy one for no account, so that
        checking takes the same time)."""
        row = self._con.execute(
            "SELECT role, password_hash, session FROM moderators WHERE name = ? AND active = 1",
            (name,),
        ).fetchone()
        if row is None or row[1] is None:
            return None, self.prepare_sign_in()
        return Moderator.stored(name, row[0], row[2]), str(row[1])

    def prepare_sign_in(self) -> str:
        """The hash a name without an account is checked against, so that the time taken
        does not tell which names exist; made once. A console makes it when it opens: made
        at the first such sign-in, that one took a second hash's time."""
        if self._dummy is None:
            self._dummy = self._hasher.hash("riskscore: no such moderator")
        return self._dummy

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

    def sign_in(self, name: str, password: str) -> Moderator | None:
        """:meth:`verify`, logged either way: the same write whether or not the name
        exists (no timing tell); the log keeps the name only when it is an account's (a
        user may type a password there)."""
        account = self.verify(name, password)
        self.log_access(
            name if account is None else account.name,
            "sign-in refused" if account is None else "sign-in",
        )
        return account

    def end_session(self, name: str, session: int) -> None:
        """:meth:`sign_out`, logged when it ended sessions (a cookie already void ends
        none and is no sign-out)."""
        if self.sign_out(name, session):
            self.log_access(name, "sign-out")

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
            raise QueueError(f"no moderator account {show(moderator)}")
        self._write(
            lambda con: con.execute(
                "INSERT INTO assignments (adult_id, moderator, assigned_by, at) "
                "VALUES (?, ?, ?, ?)",
                (adult_key, moderator, by.name, int(time.time())),
            ),
        )

    def assignments(self) -> dict[str, str]:
        """The current assignment of each case: encoded adult id -> moderator (an active
        account: a removed one's cases were released when it was removed)."""
        rows = self._con.execute(
            f"SELECT adult_id, moderator FROM assignments WHERE {_LATEST} AND moderator IN "
            "(SELECT name FROM moderators WHERE active = 1)"
        )
        return {str(a): str(m) for a, m in rows}

    def assignment_log(self, limit: int = 500) -> list[Assignment]:
        """The latest ``limit`` assignments, newest first."""
        rows: Any = self._con.execute(
            "SELECT entry_id, adult_id, moderator, assigned_by, at FROM assignments "
            "ORDER BY entry_id DESC LIMIT ?",
            (limit,),
        )
        names = ("adult_id", "moderator", "assigned_by", "at")  # moderator '': released
        return [
            Assignment(*log_row("assignment", e, names, r, blank_ok=names[1:2])) for e, *r in rows
        ]

    def account_log(self, limit: int = 500) -> list[AccountChange]:
        """The latest ``limit`` account changes, newest first."""
        rows: Any = self._con.execute(
            "SELECT entry_id, at, actor, action, moderator, role FROM account_log "
            "ORDER BY entry_id DESC LIMIT ?",
            (limit,),
        )
        names = ("at", "actor", "action", "moderator", "role")
        return [AccountChange(e, *log_row("account log entry", e, names, r)) for e, *r in rows]

    def log_access(self, moderator: str, action: str, detail: str | None = None) -> None:
        """Append an entry to the access log: see :func:`riskscore.serve.access_log.append`
        (a name typed at a refused sign-in is kept only when it is an account's)."""
        self._write(lambda con: _access.append(con, moderator, action, detail))

    def access_log(self, limit: int = 500) -> list[AccessEntry]:
        """The latest ``limit`` entries of the access log, newest first."""
        return _access.latest(self._con, limit)


def _active_role(con: sqlite3.Connection, name: str) -> Role | None:
    row = con.execute(
        "SELECT role, session FROM moderators WHERE name = ? AND active = 1", (name,)
    ).fetchone()
    return None if row is None else Moderator.stored(name, *row).role


def _refuse_another_form(con: sqlite3.Connection, name: str) -> None:
    """Refuse a new account whose name is another account's (removed ones included) in
    another Unicode form (``é`` as one character or as ``e`` and an accent): shown alike on
    every page and in every log, each entry would name two people."""
    form = unicodedata.normalize("NFC", name)
    for (other,) in con.execute("SELECT name FROM moderators WHERE name != ?", (name,)):
        if unicodedata.normalize("NFC", str(other)) == form:
            raise QueueError(
                f"moderator {name!r} is the account {str(other)!r} written in another Unicode "
                "form (shown alike in the logs): change that account, or give another name"
            )


def _refuse_last_lead(con: sqlite3.Connection, name: str, change: str) -> None:
    """Refuse a change that would leave no active lead (nobody to read the audit log)."""
    others = con.execute(
        "SELECT COUNT(*) FROM moderators WHERE role = 'lead' AND active = 1 AND name != ?", (name,)
    ).fetchone()[0]
    if not others:
        raise QueueError(
            f"{name!r} is the last active lead and cannot be {change}; add another lead first "
            "(riskscore serve --add-moderator NAME --role lead)"
        )


def _log(con: sqlite3.Connection, actor: str, action: str, name: str, role: Role) -> None:
    con.execute(
        "INSERT INTO account_log (at, actor, action, moderator, role) VALUES (?, ?, ?, ?, ?)",
        (int(time.time()), actor, action, name, role.value),
    )
