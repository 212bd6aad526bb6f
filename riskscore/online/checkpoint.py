"""SQLite checkpoints of an online scorer's state (private).

One file (created 0600, WAL journal, busy timeout: :func:`riskscore.io.sqlite.connect`),
one transaction per checkpoint: a process killed while
writing leaves the previous checkpoint intact. Nothing is pickled; every row
holds JSON, so restoring runs no code from the file. Layout (``SCHEMA_VERSION``):

``meta(key TEXT PRIMARY KEY, value TEXT)``
    JSON values: ``format``, ``schema_version``, ``riskscore_version``,
    ``config``, ``counters``, ``model_sha256``, ``adult_index`` (the order of
    each adult's live conversations; absent before it existed, and then
    rebuilt) and ``extra`` (caller data, e.g. the input offset of
    ``riskscore stream``).
``conversations(pos INTEGER PRIMARY KEY, id TEXT, state TEXT)``
    ``state`` is ``[initiator, responder, [running aggregates...]]``.
``accounts(pos INTEGER PRIMARY KEY, id TEXT, state TEXT)``
    Ids are JSON (so ``1`` and ``"1"`` stay distinct); ``pos`` keeps the
    least-recently-active-first order that idle expiry relies on.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import riskscore.io.sqlite as sqlite
from riskscore.exceptions import RiskscoreError

FORMAT = "riskscore-online-checkpoint"
SCHEMA_VERSION = 1

_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS conversations (pos INTEGER PRIMARY KEY, id TEXT NOT NULL, "
    "state TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS accounts (pos INTEGER PRIMARY KEY, id TEXT NOT NULL, "
    "state TEXT NOT NULL)",
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a checkpoint holds, as plain JSON-ready data."""

    meta: dict[str, Any]
    conversations: list[tuple[Any, Any, Any, list[Any]]]  # id, initiator, responder, state
    accounts: list[tuple[Any, list[Any]]]  # id, state


_dumps = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
_loads = json.JSONDecoder().decode


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    try:
        return sqlite.connect(path, create=create, synchronous="FULL")
    except sqlite3.DatabaseError as exc:
        raise RiskscoreError(f"{path} is not a riskscore online checkpoint: {exc}") from exc


def write(
    path: str | os.PathLike[str],
    meta: Mapping[str, Any],
    conversations: Iterable[tuple[Any, Any, Any, list[Any]]],
    accounts: Iterable[tuple[Any, list[Any]]],
) -> None:
    """Replace the checkpoint at ``path`` with this state, in one transaction."""
    target = Path(path)
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
            full = {"format": FORMAT, "schema_version": SCHEMA_VERSION, **meta}
            con.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                ((key, _dumps(value)) for key, value in full.items()),
            )
            con.executemany(
                "INSERT INTO conversations (id, state) VALUES (?, ?)",
                (
                    (_dumps(cid), _dumps([ini, res, state]))
                    for cid, ini, res, state in conversations
                ),
            )
            con.executemany(
                "INSERT INTO accounts (id, state) VALUES (?, ?)",
                ((_dumps(aid), _dumps(state)) for aid, state in accounts),
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        con.close()


def _check_format(con: sqlite3.Connection, path: Path, *, allow_empty: bool) -> dict[str, Any]:
    try:
        rows = con.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.DatabaseError as exc:
        raise RiskscoreError(f"{path} is not a riskscore online checkpoint: {exc}") from exc
    meta = {key: _loads(value) for key, value in rows}
    if not meta and allow_empty:
        return meta
    if meta.get("format") != FORMAT:
        raise RiskscoreError(
            f"{path} is not a riskscore online checkpoint (format {meta.get('format')!r}); "
            "give a path written by OnlineScorer.checkpoint"
        )
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise RiskscoreError(
            f"{path} has checkpoint schema version {meta.get('schema_version')!r}; this "
            f"riskscore reads version {SCHEMA_VERSION}"
        )
    return meta


def read(path: str | os.PathLike[str]) -> Snapshot:
    """Read a checkpoint written by :func:`write`."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"no checkpoint at {source}")
    con = _connect(source, create=False)
    try:
        con.execute("BEGIN")
        meta = _check_format(con, source, allow_empty=False)
        conversations = [
            (_loads(cid), *_loads(state))
            for cid, state in con.execute("SELECT id, state FROM conversations ORDER BY pos")
        ]
        accounts = [
            (_loads(aid), _loads(state))
            for aid, state in con.execute("SELECT id, state FROM accounts ORDER BY pos")
        ]
        con.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise RiskscoreError(f"{source} is not a readable riskscore checkpoint: {exc}") from exc
    finally:
        con.close()
    return Snapshot(meta=meta, conversations=conversations, accounts=accounts)
