"""SQLite checkpoints of an online scorer's state (private).

One file (created 0600, WAL journal, busy timeout: :func:`riskscore.io.sqlite.connect`),
one transaction per checkpoint: a process killed while
writing leaves the previous checkpoint intact. Nothing is pickled; every row
holds JSON, so restoring runs no code from the file. Layout (``SCHEMA_VERSION``):

``meta(key TEXT PRIMARY KEY, value TEXT)``
    JSON values: ``format``, ``schema_version``, ``riskscore_version``,
    ``config``, ``counters``, ``model_sha256``, ``policy_sha256`` (the policy's
    identity: a restore under another policy is refused; absent from earlier files, which
    resume unchecked), ``adult_index`` (the order of
    each adult's live conversations; absent before it existed, and then
    rebuilt), ``rooms`` (the live group rooms and their latest event time) and
    ``extra`` (caller data, e.g. the input offset of ``riskscore stream``).
    Version 2 (riskscore 0.x with group rooms and unknown time zones) added
    conversation state slots, account pair facts and ``rooms``; version 3 adds an
    account's ``stale`` flag (its state came back after expiry), so an older riskscore
    refuses the file instead of misreading it. Version 4 adds the group room of each pair
    of a room (a pair id given as a conversation's own id is not one). Version 5 has the
    layout of 4, its tallies counting a message to a room of 3 or 4 accounts as contact
    between each pair, not group contact or a supervised setting
    (:data:`~riskscore.io.groups.GROUP_MIN_ROOM_SIZE`). Files of versions 1 to 4 are
    refused (restart without them: the state is rebuilt from new events), as their
    tallies, read on, would mix both rules.
``conversations(pos INTEGER PRIMARY KEY, id TEXT, state TEXT)``
    ``state`` is ``[initiator, responder, [running aggregates...]]``.
``accounts(pos INTEGER PRIMARY KEY, id TEXT, state TEXT)``
    Ids are JSON (so ``1`` and ``"1"`` stay distinct); ``pos`` keeps the
    least-recently-active-first order that idle expiry relies on.

Writing and reading stream: rows go in with ``executemany`` over generators and come
out through a cursor in batches (:class:`Snapshot` iterates them), so a checkpoint of a
million conversations never holds all of their JSON at once. Reading first runs
``PRAGMA integrity_check`` and then checks every row's shape; anything wrong raises
:class:`~riskscore.CheckpointError`, never a ``KeyError`` or ``TypeError``.

``PRAGMA integrity_check`` finds a damaged file structure, not a changed value inside a
row (a digit of a counter). So ``meta`` also holds ``checksums``: the SHA-256 of the other
meta entries and of each table's rows as stored, computed while writing and checked while
reading (each table once its rows have all been read). Every checkpoint of the schema
version read was written with them (they came before version 4): a file without them, or
without one of the three, was changed after it was written and is refused. They guard
against damage, not intent (anyone who can edit the file can write them again).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import riskscore.io.sqlite as sqlite
from riskscore._closing import ClosesOnExit
from riskscore.exceptions import CheckpointError
from riskscore.io.json_lines import json_loads
from riskscore.io.raw import show

FORMAT = "riskscore-online-checkpoint"
SCHEMA_VERSION = 5
#: Versions whose state counted messages to rooms of 3 or 4 accounts as group contact.
_GROUP_OF_THREE_VERSIONS = frozenset({2, 3, 4})
#: Rows fetched from SQLite at a time while restoring.
BATCH_ROWS = 10_000
#: The meta entry holding the checksums of the other entries and of each table.
_CHECKSUMS = "checksums"
#: What the checksums entry sums: the other meta entries and each table.
_SUMMED = frozenset({"meta", "conversations", "accounts"})

_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS conversations (pos INTEGER PRIMARY KEY, id TEXT NOT NULL, "
    "state TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS accounts (pos INTEGER PRIMARY KEY, id TEXT NOT NULL, "
    "state TEXT NOT NULL)",
)

_dumps = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open for writing (``create``), or to read once, unchanged (:func:`sqlite.open_snapshot`)."""
    try:
        if not create:
            return sqlite.open_snapshot(path)
        return sqlite.connect(path, create=True, synchronous="FULL")
    except sqlite3.DatabaseError as exc:
        raise CheckpointError(f"{path} is not a riskscore online checkpoint: {exc}") from exc


#: The tables of a checkpoint; a file with any other is not one.
_TABLES = frozenset({"meta", "conversations", "accounts"})


def _refuse_foreign(path: Path) -> None:
    """Refuse, before anything is written, an existing database that is not a checkpoint
    (a review queue, another application's file): writing would add tables to it."""
    try:
        foreign = sqlite.foreign_tables(
            path, _TABLES, lambda meta: not meta or meta.get("format") == _dumps(FORMAT)
        )
    except sqlite3.DatabaseError as exc:
        raise CheckpointError(f"{path} is not a riskscore online checkpoint: {exc}") from exc
    if foreign:
        raise CheckpointError(
            f"{path} is not a riskscore online checkpoint (it has table(s) "
            f"{', '.join(foreign)} of another kind); give a new file or an existing "
            "checkpoint, the file was not changed"
        )


def write(
    path: str | os.PathLike[str],
    meta: Mapping[str, Any],
    conversations: Iterable[tuple[Any, Any, Any, list[Any]]],
    accounts: Iterable[tuple[Any, list[Any]]],
    *,
    before_open: Callable[[Path], object] | None = None,
) -> None:
    """Replace the checkpoint at ``path`` with this state, in one transaction.

    ``conversations`` and ``accounts`` are consumed lazily (``executemany`` over
    generators): one row's JSON at a time. ``before_open(path)`` runs once the meta is
    encoded and the file checked, just before it is opened (the caller claims it there:
    :mod:`riskscore.online.lock`).
    """
    target = Path(path)
    full = {"format": FORMAT, "schema_version": SCHEMA_VERSION, **meta}
    full.pop(_CHECKSUMS, None)
    # encoded before the file is opened: a value JSON cannot hold creates no empty file
    rows = {key: _dumps(value) for key, value in full.items()}
    _refuse_foreign(target)
    if before_open is not None:
        before_open(target)
    con = _connect(target, create=True)
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            for ddl in _DDL:
                con.execute(ddl)
            _check_format(con, target, allow_empty=True)
            con.execute("DELETE FROM meta")
            con.execute("DELETE FROM conversations")
            con.execute("DELETE FROM accounts")
            con.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows.items())
            sums = {"meta": _meta_checksum(rows)}
            digest = _Digest()
            con.executemany(
                "INSERT INTO conversations (id, state) VALUES (?, ?)",
                digest.rows(
                    (_dumps(cid), _dumps([ini, res, state]))
                    for cid, ini, res, state in conversations
                ),
            )
            sums["conversations"] = digest.restart()
            con.executemany(
                "INSERT INTO accounts (id, state) VALUES (?, ?)",
                digest.rows((_dumps(aid), _dumps(state)) for aid, state in accounts),
            )
            sums["accounts"] = digest.restart()
            con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (_CHECKSUMS, _dumps(sums)))
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        con.close()


class _Digest:
    """A running SHA-256 over ``(id, state)`` rows as stored, passed through unchanged."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def rows(self, rows: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
        for key, state in rows:
            self.add(key, state)
            yield key, state

    def add(self, key: str, state: str) -> None:
        self._hash.update(f"{len(key)}:{key}{len(state)}:{state}".encode("utf-8", "surrogatepass"))

    def restart(self) -> str:
        """The digest so far, and a fresh one for the next table."""
        done = self._hash.hexdigest()
        self._hash = hashlib.sha256()
        return done


def _meta_checksum(rows: Mapping[str, str]) -> str:
    """SHA-256 of the meta entries (their stored JSON text), checksums left out."""
    digest = _Digest()
    for key in sorted(rows):
        if key != _CHECKSUMS:
            digest.add(key, rows[key])
    return digest.restart()


def _corrupted(path: Path, what: str) -> CheckpointError:
    return CheckpointError(
        f"{path}: {what} do not match the checksum written with them: the file was changed "
        "or damaged after it was written; restore from another copy or start without the "
        "checkpoint"
    )


def _decode(text: Any, path: Path, what: str) -> Any:
    if not isinstance(text, str):
        raise CheckpointError(f"{path}: {what} is not JSON text ({type(text).__name__})")
    try:
        return json_loads(text)  # a key given twice refused, as in every file read
    except ValueError as exc:
        raise CheckpointError(f"{path}: {what} is not valid JSON ({exc})") from None


def _check_format(con: sqlite3.Connection, path: Path, *, allow_empty: bool) -> dict[str, Any]:
    try:
        rows = con.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.DatabaseError as exc:
        raise CheckpointError(f"{path} is not a riskscore online checkpoint: {exc}") from exc
    meta = {str(key): _decode(value, path, f"meta {key!r}") for key, value in rows}
    if not meta and allow_empty:
        return meta
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a riskscore online checkpoint (format {meta.get('format')!r}); "
            "give a path written by OnlineScorer.checkpoint"
        )
    version = meta.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        why, then = "", ""
        if type(version) is int and version in _GROUP_OF_THREE_VERSIONS:
            why = (
                ", whose state counts messages to rooms of 3 or 4 accounts as group contact "
                "(now contact between each pair)"
            )
            then = ": restart without it, the state is rebuilt from new events"
        raise CheckpointError(
            f"{path} has checkpoint schema version {version!r:.80}{why}; this "
            f"riskscore reads version {SCHEMA_VERSION}{then}"
        )
    return meta


class Snapshot(ClosesOnExit):
    """An open checkpoint: its ``meta`` and its rows, read lazily in batches.

    Use as a context manager (it holds a read transaction); iterate
    :meth:`conversations` and :meth:`accounts` once each. Every row is checked for
    shape; a bad one raises :class:`~riskscore.CheckpointError`.
    """

    def __init__(self, path: Path, con: sqlite3.Connection, meta: dict[str, Any]) -> None:
        self.path = path
        self.meta = meta
        self._con = con
        self._sums: dict[str, str] = meta[_CHECKSUMS]  # checked by read

    def close(self) -> None:
        """End the read transaction and close the file."""
        try:
            if self._con.in_transaction:
                self._con.execute("COMMIT")
        finally:
            self._con.close()

    def _rows(self, table: str) -> Iterator[tuple[Any, Any]]:
        digest = _Digest()
        try:
            cur = self._con.execute(f"SELECT pos, id, state FROM {table} ORDER BY pos")
            while batch := cur.fetchmany(BATCH_ROWS):
                for pos, key, state in batch:
                    decoded = (
                        _decode(key, self.path, f"{table} row {pos} id"),
                        _decode(state, self.path, f"{table} row {pos} state"),
                    )
                    digest.add(key, state)
                    yield decoded
        except sqlite3.DatabaseError as exc:
            raise CheckpointError(f"{self.path}: cannot read {table}: {exc}") from exc
        if digest.restart() != self._sums[table]:
            raise _corrupted(self.path, f"the rows of {table}")

    def conversations(self) -> Iterator[tuple[Any, Any, Any, list[Any]]]:
        """``(id, initiator, responder, state)`` of each conversation, oldest activity first."""
        for cid, row in self._rows("conversations"):
            if not (isinstance(row, list) and len(row) == 3 and isinstance(row[2], list)):
                raise CheckpointError(
                    f"{self.path}: conversation {cid!r} state is not "
                    "[initiator, responder, [state...]]"
                )
            yield cid, row[0], row[1], row[2]

    def accounts(self) -> Iterator[tuple[Any, list[Any]]]:
        """``(id, state)`` of each account, oldest activity first."""
        for aid, row in self._rows("accounts"):
            if not isinstance(row, list):
                raise CheckpointError(f"{self.path}: account {aid!r} state is not a list")
            yield aid, row


def read(path: str | os.PathLike[str]) -> Snapshot:
    """Open a checkpoint written by :func:`write`, after ``PRAGMA integrity_check``.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    IsADirectoryError
        ``path`` is a directory.
    CheckpointError
        Not a checkpoint, another schema version, or a corrupted file.
    """
    source = Path(path)
    if not source.exists():  # a directory, a FIFO: connect's refusal, by what it is
        raise FileNotFoundError(f"no checkpoint at {source}")
    # Read-only: a refused file is left as it was, and no side file is created.
    con = _connect(source, create=False)
    try:
        try:
            found = [str(r[0]) for r in con.execute("PRAGMA integrity_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            raise CheckpointError(f"{source} is not a readable checkpoint: {exc}") from exc
        if found != ["ok"]:
            raise CheckpointError(
                f"{source} is corrupted (PRAGMA integrity_check: {'; '.join(found[:3])}); "
                "restore from another copy or start without the checkpoint"
            )
        con.execute("BEGIN")
        meta = _check_format(con, source, allow_empty=False)
        sums = meta.get(_CHECKSUMS)
        if not (
            isinstance(sums, dict)
            and set(sums) == _SUMMED
            and all(isinstance(v, str) for v in sums.values())
        ):
            held = "no checksums" if sums is None else f"checksums {show(sums)}"
            raise CheckpointError(
                f"{source} holds {held}, where every checkpoint of schema version "
                f"{SCHEMA_VERSION} holds the SHA-256 of its meta entries, conversations and "
                "accounts: the file was changed after it was written; restore from another "
                "copy or start without the checkpoint"
            )
        stored = {str(k): str(v) for k, v in con.execute("SELECT key, value FROM meta")}
        if sums["meta"] != _meta_checksum(stored):
            raise _corrupted(source, "the meta entries")
    except BaseException:
        con.close()
        raise
    return Snapshot(source, con, meta)
