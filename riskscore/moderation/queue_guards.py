"""The guards of a review queue file: the triggers that keep its log honest, and the
checks that the file was not changed outside riskscore (a trigger or a table missing, a
trigger changed, one added). Used by :mod:`riskscore.moderation.queue_db` on every open
and write."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Final

from riskscore.moderation.cases import QueueError

__all__ = [
    "EVERY_VERSION_TABLES",
    "SERVE_TRIGGERS",
    "TRIGGERS",
    "TRIGGERS_SQL",
    "check_tables",
    "check_triggers",
]

#: The triggers that keep the log honest, by name: refused deletes and audit changes,
#: and no item change without its audit entry.
TRIGGERS = {
    "items_no_delete": "CREATE TRIGGER items_no_delete BEFORE DELETE ON items "
    "BEGIN SELECT RAISE(ABORT, 'review queue items are never deleted'); END",
    "audit_no_delete": "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "audit_no_update": "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "items_audited": "CREATE TRIGGER items_audited BEFORE UPDATE ON items "
    "WHEN NEW.audit_id IS OLD.audit_id OR NEW.audit_id IS NOT "
    "(SELECT MAX(entry_id) FROM audit WHERE item_id = NEW.item_id) "
    "BEGIN SELECT RAISE(ABORT, 'every change of a review queue item needs its audit entry'); "
    "END",
}
TRIGGERS_SQL = "".join(
    sql.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1) + ";\n"
    for sql in TRIGGERS.values()
)


#: The triggers ``riskscore serve`` keeps on its tables in the same file (its moderator
#: accounts, assignments and access log: :mod:`riskscore.serve.accounts`,
#: :mod:`riskscore.serve.access_log`; a test holds the two lists equal): any other is refused.
SERVE_TRIGGERS: Final = frozenset(
    {
        "account_log_append_only",
        "account_log_no_delete",
        "moderators_no_delete",
        "assignments_append_only",
        "assignments_no_delete",
        "access_log_append_only",
        "access_log_no_delete",
    }
)
#: Tables of a queue at every schema version (those of the current one are
#: :data:`~riskscore.moderation.queue_db.QUEUE_OWN_TABLES`).
EVERY_VERSION_TABLES: Final = frozenset({"items", "audit"})


def check_tables(con: sqlite3.Connection, path: object, tables: Iterable[str]) -> None:
    """Refuse a queue made before without one of ``tables``: made again empty, a dropped
    ``audit`` table lost the simulation marks of every decision, and a dropped ``items``
    table gave an empty regulatory filing, in silence."""
    have = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for name in sorted(tables):
        if name not in have:
            raise QueueError(
                f"{path}: the review queue's table {name!r} is missing (the file was changed "
                "outside riskscore, or damaged); it is refused, not made again empty: "
                "restore the file from a backup"
            )


def check_triggers(con: sqlite3.Connection, path: object, *, exact: bool) -> None:
    """Refuse a queue whose audit triggers are missing (or, with ``exact``, changed), or
    that holds a trigger of neither the queue nor ``riskscore serve``: one added by hand
    could change items without their audit entries, or dismiss every urgent alert."""
    found = {
        str(r[0]): str(r[1])
        for r in con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    }
    foreign = sorted(set(found) - set(TRIGGERS) - SERVE_TRIGGERS)
    if foreign:
        raise QueueError(
            f"{path}: trigger {foreign[0]!r} is not one of the review queue's (the file was "
            "changed outside riskscore); it is refused"
        )
    for name, sql in TRIGGERS.items():
        have = found.get(name)
        if have is None:
            raise QueueError(
                f"{path}: audit trigger {name!r} is missing (the file was changed outside "
                "riskscore); reopen the queue to recreate it and check the audit log"
            )
        plain = _norm(have).replace("CREATE TRIGGER IF NOT EXISTS", "CREATE TRIGGER", 1)
        if exact and plain != _norm(sql):
            raise QueueError(
                f"{path}: audit trigger {name!r} differs from its definition (the file was "
                "changed outside riskscore); it is refused"
            )


def _norm(sql: str) -> str:
    return " ".join(sql.replace(";", " ").split())
