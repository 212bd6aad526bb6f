"""The one way riskscore opens a SQLite file: WAL journal, a busy timeout, and new files
readable by their owner only.

The review queue (:mod:`riskscore.moderation.queue_db`), online checkpoints
(:mod:`riskscore.online.checkpoint`) and the Synapse module's state all open their files
here. A new database file is created with mode ``0600`` before SQLite opens it; SQLite
creates its ``-wal`` and ``-shm`` files with the database file's mode, so they are
``0600`` too. A database opened to write into that already exists, and its ``-wal`` and
``-shm``, must be this user's regular files (not symbolic links) with no permissions for
group or others (:func:`~riskscore.io.private.check_private`), else it is refused.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from riskscore.io.files import real_path
from riskscore.io.private import check_private, open_private

__all__ = [
    "connect",
    "foreign_in",
    "foreign_tables",
    "open_snapshot",
    "peek",
    "retry",
    "unusable_text",
    "write",
]

T = TypeVar("T")

#: Seconds a statement, or a :func:`write` with its retries, waits for another
#: connection's lock before it fails.
DEFAULT_TIMEOUT_S = 30.0


def _check_file(file: Path, *, must_exist: bool) -> None:
    """Refuse a directory (SQLite would say only "unable to open database file"), anything
    else that is not a regular file (a FIFO or a device: "disk I/O error", or "no SQLite
    database" read-only), a loop of symbolic links (:func:`~riskscore.io.files.real_path`:
    an ``ELOOP`` OSError naming it, where SQLite says "unable to open database file") and,
    when ``must_exist``, a missing file."""
    if file.is_dir():
        raise IsADirectoryError(
            f"{file} is a directory: a SQLite database is one file (e.g. {file / 'state.sqlite'})"
        )
    if file.exists() and not file.is_file():
        raise OSError(
            f"{file} is not a regular file (a FIFO, socket or device): a SQLite database is "
            "one regular file"
        )
    if not file.exists():
        real_path(file)  # a loop of symbolic links is not "nothing there": ELOOP, named
        if must_exist:
            raise FileNotFoundError(f"no SQLite database at {file}")


def connect(
    path: str | os.PathLike[str],
    *,
    create: bool = True,
    read_only: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    autocommit: bool = True,
    check_same_thread: bool = True,
) -> sqlite3.Connection:
    """Open a SQLite database in WAL mode with a busy timeout.

    Parameters
    ----------
    path : str or path-like
        The database file: a file of that name, whatever the name (``:memory:`` or one
        starting ``file:`` too, which SQLite alone would read as memory or a URI).
    create : bool, default True
        Create the file (mode ``0600``) when it does not exist; with False a missing
        file raises :class:`FileNotFoundError` instead of becoming an empty database.
    read_only : bool, default False
        Open read-only (``mode=ro``): never created, journal mode left as it is.
        A directory at ``path`` raises :class:`IsADirectoryError` in every mode.
    timeout_s : float, default 30
        Busy timeout: how long a statement, or a :func:`write` with its retries,
        waits for another connection's lock.
    synchronous : {"NORMAL", "FULL"}, default "NORMAL"
        ``NORMAL``: a commit survives a crash of the process (only a power loss can undo
        the last commits); ``FULL``: it also survives a power loss.
    autocommit : bool, default True
        True: no implicit transactions (``isolation_level=None``; the caller issues
        ``BEGIN``); False: implicit deferred transactions, committed with ``commit()``.
    check_same_thread : bool, default True
        As :func:`sqlite3.connect`; False to share the connection between threads.

    Returns
    -------
    sqlite3.Connection

    Examples
    --------
    >>> import os, stat, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "state.sqlite")
    >>> con = connect(path)
    >>> con.execute("PRAGMA journal_mode").fetchone()[0], stat.S_IMODE(os.stat(path).st_mode)
    ('wal', 384)
    >>> con.execute("PRAGMA busy_timeout").fetchone()[0]
    30000
    >>> con.close()
    """
    file = Path(path)
    _check_file(file, must_exist=read_only or not create)
    if not read_only:  # created if missing (create: else refused above), or checked
        _create_private(file)
    isolation: Literal["DEFERRED"] | None = None if autocommit else "DEFERRED"
    if read_only:
        con = sqlite3.connect(
            f"{file.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=timeout_s,
            isolation_level=isolation,
            check_same_thread=check_same_thread,
        )
    else:
        # By its absolute path, as the branch above and open_snapshot name it: SQLite reads a
        # name ':memory:' as a database in memory and one starting 'file:' as a URI.
        con = sqlite3.connect(
            file.absolute(),
            timeout=timeout_s,
            isolation_level=isolation,
            check_same_thread=check_same_thread,
        )
    try:
        con.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        if not read_only:
            retry(lambda: con.execute("PRAGMA journal_mode = WAL"), con=con)
            con.execute(f"PRAGMA synchronous = {synchronous}")
    except BaseException:
        con.close()
        raise
    return con


def open_snapshot(
    path: str | os.PathLike[str], *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> sqlite3.Connection:
    """Open a database file to read it once, leaving the file and its directory as they
    are: no journal mode switched, no ``-wal`` or ``-shm`` file created.

    The file is opened ``immutable`` when no ``-wal`` or ``-journal`` file beside it holds
    anything (all its commits are in the file itself); otherwise (a writer is running, or
    one stopped before its commits were copied into the file) ``mode=ro``, so that those
    commits are read too: SQLite then uses the side files already there (and adds the
    ``-shm`` index if it is missing). For a file that
    is read whole once, as an online checkpoint is restored; not for a store that others
    write while it is read (:func:`connect` with ``read_only=True``).

    Parameters
    ----------
    path : str or path-like
        The database file.
    timeout_s : float, default 30
        Busy timeout, as :func:`connect`.

    Returns
    -------
    sqlite3.Connection
        An autocommit connection.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    riskscore.io.private.UnsafeFileError
        The file (or a side file) is a symbolic link, another user's, or others may read
        or write it.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> con = connect(os.path.join(folder, "state.sqlite"))
    >>> _ = con.execute("CREATE TABLE t (x)")
    >>> con.close()
    >>> con = open_snapshot(os.path.join(folder, "state.sqlite"))
    >>> con.execute("SELECT count(*) FROM t").fetchone()[0], sorted(os.listdir(folder))
    (0, ['state.sqlite'])
    >>> con.close()
    """
    file = Path(path)
    _check_file(file, must_exist=True)
    _check_own(file)  # resumed from: never a file another user planted or may rewrite
    pending = any(
        side.is_file() and side.stat().st_size > 0
        for side in (file.with_name(f"{file.name}-wal"), file.with_name(f"{file.name}-journal"))
    )
    con = sqlite3.connect(
        f"{file.resolve().as_uri()}?{'mode=ro' if pending else 'immutable=1'}",
        uri=True,
        timeout=timeout_s,
        isolation_level=None,
    )
    try:
        con.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
    except BaseException:
        con.close()
        raise
    return con


@dataclass(frozen=True, slots=True)
class Contents:
    """What an existing database holds, as :func:`peek` reads it.

    Attributes
    ----------
    tables : frozenset of str
        Names of its tables (SQLite's own ``sqlite_*`` tables left out).
    meta : dict of str to str, or None
        The rows of its ``meta(key, value)`` table as text; None without such a table.
    """

    tables: frozenset[str]
    meta: dict[str, str] | None


def peek(path: str | os.PathLike[str]) -> Contents | None:
    """The tables and ``meta`` entries of an existing database, read without writing.

    A store checks these before it opens a file for writing (:func:`connect` switches
    the journal to WAL and the store then creates its tables), so that a file of another
    kind is refused unchanged.

    Parameters
    ----------
    path : str or path-like
        The database file.

    Returns
    -------
    Contents or None
        None when there is no file or it is empty (0 bytes: a new database).

    Raises
    ------
    sqlite3.DatabaseError
        The file is not a SQLite database.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "state.sqlite")
    >>> peek(path) is None
    True
    >>> con = connect(path)
    >>> _ = con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    >>> _ = con.execute("INSERT INTO meta VALUES ('format', 'x')")
    >>> con.close()
    >>> peek(path)
    Contents(tables=frozenset({'meta'}), meta={'format': 'x'})
    """
    file = Path(path)
    if not file.is_file() or file.stat().st_size == 0:
        return None
    con = connect(file, read_only=True)
    try:
        tables = frozenset(
            str(r[0])
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(r[0]).startswith("sqlite_")
        )
        meta: dict[str, str] | None = None
        columns = {str(r[1]) for r in con.execute("PRAGMA table_info(meta)")}
        if "meta" in tables and {"key", "value"} <= columns:
            meta = {str(k): str(v) for k, v in con.execute("SELECT key, value FROM meta")}
    finally:
        con.close()
    return Contents(tables, meta)


def foreign_tables(
    path: str | os.PathLike[str],
    tables: frozenset[str],
    meta_is_own: Callable[[dict[str, str] | None], bool] | None = None,
) -> list[str]:
    """What makes an existing database at ``path`` another store's than one of ``tables``:
    its other tables, else ``["meta"]`` when it has a ``meta`` table whose entries
    ``meta_is_own`` (given the entries, None without key/value columns) does not accept.
    Empty for a missing or empty file, or a store's own. Read without writing
    (:func:`peek`), so that a store refuses another's file unchanged.

    Raises
    ------
    sqlite3.DatabaseError
        The file is not a SQLite database.
    """
    return foreign_in(peek(path), tables, meta_is_own)


def foreign_in(
    found: Contents | None,
    tables: frozenset[str],
    meta_is_own: Callable[[dict[str, str] | None], bool] | None = None,
) -> list[str]:
    """:func:`foreign_tables` of contents already read with :func:`peek` (None: no file or
    an empty one), for a store that reads more of them than its tables."""
    if found is None:
        return []
    foreign = sorted(found.tables - tables)
    if not foreign and meta_is_own is not None and "meta" in found.tables:
        return [] if meta_is_own(found.meta) else ["meta"]
    return foreign


def _create_private(file: Path) -> None:
    """Create an empty file with mode 0600 if none exists (an empty file is an empty
    database to SQLite); an existing one must be safe (:func:`_check_own`), so that a
    database another user planted, or may rewrite, is never written into or resumed from."""
    # O_NOFOLLOW, and O_NONBLOCK: a FIFO swapped in is refused, not waited on
    os.close(open_private(file, os.O_RDONLY | os.O_NONBLOCK)[0])
    _check_own(file, sides_only=True)


def _check_own(file: Path, *, sides_only: bool = False) -> None:
    """Refuse the database ``file`` or its ``-wal``, ``-shm`` or ``-journal`` file where one
    exists and is not safe to use (:func:`~riskscore.io.private.check_private`: a symbolic
    link, another user's file, one group or others may read or write)."""
    sides = [Path(f"{file}{suffix}") for suffix in ("-wal", "-shm", "-journal")]
    for each in sides if sides_only else [file, *sides]:
        try:
            found = each.lstat()
        except FileNotFoundError:
            continue
        check_private(each, found)


def is_lock(exc: sqlite3.OperationalError) -> bool:
    """Whether an error is another connection's lock (worth retrying)."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def unusable_text(file: object, exc: sqlite3.OperationalError) -> str:
    """Why the database ``file`` could not be used now (locked, read-only, a full disk): the
    error, and for a lock what it means, so that a busy file is never taken for a broken
    or foreign one.

    Examples
    --------
    >>> unusable_text("q.sqlite", sqlite3.OperationalError("database is locked"))
    'cannot use q.sqlite: database is locked (another process held it for longer than the \
busy timeout; the change being written was not made: run the command again)'
    >>> unusable_text("q.sqlite", sqlite3.OperationalError("disk I/O error"))
    'cannot use q.sqlite: disk I/O error'
    """
    busy = (
        " (another process held it for longer than the busy timeout; the change being "
        "written was not made: run the command again)"
    )
    return f"cannot use {file}: {exc}{busy if is_lock(exc) else ''}"


def retry(
    fn: Callable[[], T],
    *,
    con: sqlite3.Connection | None = None,
    timeout_s: float | None = None,
) -> T:
    """Call ``fn``; on a lock error retry with backoff (10 ms up to 1 s) until the busy
    timeout has passed since the first call, then raise the last lock error.

    SQLite waits out most locks itself (the busy timeout) but answers some conflicts at
    once without waiting (a WAL file being recovered, a journal mode being switched):
    those are what the retries are for. With ``con``, each attempt's busy timeout is the
    time left, so that the whole call waits at most the busy timeout, not that long per
    attempt; ``con``'s own timeout is set back afterwards.

    Parameters
    ----------
    fn : callable
        The work (statements of ``con``, when given).
    con : sqlite3.Connection, optional
        The connection ``fn`` uses.
    timeout_s : float, optional
        Seconds to wait in all; default ``con``'s busy timeout, else
        :data:`DEFAULT_TIMEOUT_S`.
    """
    own_ms = None if con is None else int(con.execute("PRAGMA busy_timeout").fetchone()[0])
    if timeout_s is None:
        timeout_s = DEFAULT_TIMEOUT_S if own_ms is None else own_ms / 1000
    deadline = time.monotonic() + timeout_s
    try:
        for attempt in itertools.count():
            left = deadline - time.monotonic()
            if con is not None:
                con.execute(f"PRAGMA busy_timeout = {max(0, int(left * 1000))}")
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                left = deadline - time.monotonic()
                if not is_lock(exc) or left <= 0:
                    raise
                time.sleep(min(0.01 * 2**attempt, 1.0, left))
    finally:
        if con is not None:
            con.execute(f"PRAGMA busy_timeout = {own_ms}")
    raise AssertionError("unreachable")  # pragma: no cover


def write(con: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn(con)`` in one ``BEGIN IMMEDIATE`` transaction (rolled back if it raises),
    retried on lock contention as :func:`retry` does: for ``con``'s busy timeout in all.
    ``con`` is an autocommit connection (the default of :func:`connect`)."""

    def attempt() -> T:
        con.execute("BEGIN IMMEDIATE")
        try:
            result = fn(con)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        return result

    return retry(attempt, con=con)
