"""The console's access log: who signed in, was refused, signed out, opened which case, or
made which transparency report (an export of the queue's decisions).

A table ``access_log`` in the review queue's file, beside the accounts
(:mod:`riskscore.serve.accounts` creates it with theirs, so an existing queue file gains it
on open). SQLite triggers refuse changing or deleting its rows. It answers "who looked at
this case, and when": each case page shown is an ``"open case"`` entry naming the account
and the case's encoded adult id (as assignments store it).

It never holds a password, nor a name typed at a sign-in that is no account's name (a
user may type a password into the name field): such a refusal is counted with no name.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from riskscore.moderation.cases import QueueError
from riskscore.moderation.queue_guards import SERVE_TRIGGERS, if_not_exists
from riskscore.moderation.queue_rows import log_row

__all__ = [
    "AccessEntry",
    "append",
    "create",
    "latest",
]

#: What the access log records: a sign-in, a sign-in refused (wrong name or password,
#: not one refused by the rate limiter), a sign-out, a case page shown, and a
#: transparency report made.
ACCESS_ACTIONS = ("sign-in", "sign-in refused", "sign-out", "open case", "report")
#: The actions with a detail: the case's encoded adult id, the report's period.
DETAILED = ("open case", "report")

_TABLE = (
    "CREATE TABLE {name} (entry_id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "at INTEGER NOT NULL, moderator TEXT, action TEXT NOT NULL CHECK (action IN "
    f"({', '.join(repr(a) for a in ACCESS_ACTIONS)})), detail TEXT, "
    "CHECK (moderator IS NOT NULL OR action = 'sign-in refused'), "
    f"CHECK ((action IN ({', '.join(repr(a) for a in DETAILED)})) = (detail IS NOT NULL)))"
)
_TRIGGERS = tuple(
    if_not_exists(sql) for name, sql in SERVE_TRIGGERS.items() if name.startswith("access_log")
)


def create(con: sqlite3.Connection) -> None:
    """Create the table and its append-only triggers, in the caller's write transaction
    (:class:`~riskscore.serve.accounts.ModeratorStore` on open). A table of an earlier
    riskscore, whose rule admits fewer actions, is rebuilt with its rows (ids kept): a
    table's rule cannot be changed in place in SQLite."""
    row = con.execute("SELECT sql FROM sqlite_master WHERE name = 'access_log'").fetchone()
    if row is None:
        con.execute(_TABLE.format(name="access_log"))
    elif "'report'" not in str(row[0]):
        con.execute(_TABLE.format(name="access_log_rebuilt"))
        con.execute("INSERT INTO access_log_rebuilt SELECT * FROM access_log")
        con.execute("DROP TABLE access_log")  # its triggers with it; no DELETE is run
        con.execute("ALTER TABLE access_log_rebuilt RENAME TO access_log")
    for trigger in _TRIGGERS:
        con.execute(trigger)


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One entry of the access log.

    Attributes
    ----------
    entry_id : int
    at : int
        When, in seconds since the epoch (the clock).
    moderator : str or None
        The account; None for a refused sign-in whose name is no account's.
    action : {"sign-in", "sign-in refused", "sign-out", "open case", "report"}
    detail : str or None
        For ``"open case"``, the case's encoded adult id; for ``"report"``, the period
        (``YYYY-MM-DD..YYYY-MM-DD``, both days included); else None.
    """

    entry_id: int
    at: int
    moderator: str | None
    action: str
    detail: str | None


def append(con: sqlite3.Connection, moderator: str, action: str, detail: str | None) -> None:
    """Append an entry, timed by the clock, in the caller's transaction.

    Parameters
    ----------
    con : sqlite3.Connection
        The queue's file, in a write transaction.
    moderator : str
        The account. For ``"sign-in refused"``, the name typed: kept only when it is an
        account's name (removed accounts included), else stored as NULL.
    action : {"sign-in", "sign-in refused", "sign-out", "open case", "report"}
    detail : str or None
        For ``"open case"``, the case's encoded adult id; for ``"report"``, its period;
        None for the others.

    Raises
    ------
    QueueError
        Another action, a detail given or missing against the rule above, or a name that
        is no account's for an action other than a refused sign-in.

    Examples
    --------
    >>> import tempfile
    >>> from riskscore.serve.accounts import ModeratorStore
    >>> store = ModeratorStore(f"{tempfile.mkdtemp()}/queue.sqlite")
    >>> store.add("mod-1", "moderator", None)
    >>> store.log_access("mod-1", "open case", '"adult-a"')
    >>> store.log_access("my password", "sign-in refused")
    >>> [(e.moderator, e.action, e.detail) for e in store.access_log()]
    [(None, 'sign-in refused', None), ('mod-1', 'open case', '"adult-a"')]
    >>> store.close()
    """
    if action not in ACCESS_ACTIONS or (action in DETAILED) != (detail is not None):
        raise QueueError(
            f"access action {action!r} with detail {detail!r}: expected one of "
            f"{', '.join(ACCESS_ACTIONS)}, with a case's id for 'open case' and a period "
            "for 'report' only"
        )
    known = con.execute("SELECT name FROM moderators WHERE name = ?", (moderator,)).fetchone()
    if known is None and action != "sign-in refused":
        # The name is not shown: it might be anything a user typed.
        raise QueueError(f"an access log entry {action!r} needs an account's name")
    con.execute(
        "INSERT INTO access_log (at, moderator, action, detail) VALUES (?, ?, ?, ?)",
        (int(time.time()), None if known is None else str(known[0]), action, detail),
    )


def latest(con: sqlite3.Connection, limit: int) -> list[AccessEntry]:
    """The latest ``limit`` entries, newest first."""
    rows: Any = con.execute(
        "SELECT entry_id, at, moderator, action, detail FROM access_log "
        "ORDER BY entry_id DESC LIMIT ?",
        (limit,),
    )
    names = ("at", "moderator", "action", "detail")
    optional = ("moderator", "detail")  # a refused sign-in's name is no account's
    return [
        AccessEntry(e, *log_row("access log entry", e, names, r, optional=optional))
        for e, *r in rows
    ]
