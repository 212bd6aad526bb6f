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
    "if_not_exists",
]


def if_not_exists(sql: str) -> str:
    """A trigger's definition as made: ``CREATE TRIGGER IF NOT EXISTS``."""
    return sql.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1)


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
TRIGGERS_SQL = "".join(if_not_exists(sql) + ";\n" for sql in TRIGGERS.values())


#: The triggers ``riskscore serve`` keeps on its tables in the same file (its moderator
#: accounts, assignments and access log), defined here, where every open checks them as it
#: checks the queue's own (:mod:`riskscore.serve.accounts` and
#: :mod:`riskscore.serve.access_log` make them from these): a trigger of another name, or
#: of one of these names with another body, is refused.
SERVE_TRIGGERS: Final = {
    name: f"CREATE TRIGGER {name} BEFORE {when} ON {table} BEGIN SELECT RAISE(ABORT, '{why}'); END"
    for name, when, table, why in (
        ("account_log_append_only", "UPDATE", "account_log", "the account log is append-only"),
        ("account_log_no_delete", "DELETE", "account_log", "the account log is append-only"),
        ("moderators_no_delete", "DELETE", "moderators", "accounts are deactivated, never deleted"),
        ("assignments_append_only", "UPDATE", "assignments", "assignments are append-only"),
        ("assignments_no_delete", "DELETE", "assignments", "assignments are append-only"),
        ("access_log_append_only", "UPDATE", "access_log", "the access log is append-only"),
        ("access_log_no_delete", "DELETE", "access_log", "the access log is append-only"),
    )
}


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
    known = {**TRIGGERS, **SERVE_TRIGGERS}
    foreign = sorted(set(found) - set(known))
    if foreign:
        raise QueueError(
            f"{path}: trigger {foreign[0]!r} is not one of the review queue's (the file was "
            "changed outside riskscore); it is refused"
        )
    missing = sorted(set(TRIGGERS) - set(found))  # serve's exist once serve made its tables
    if missing:
        raise QueueError(
            f"{path}: audit trigger {missing[0]!r} is missing (the file was changed outside "
            "riskscore); reopen the queue to recreate it and check the audit log"
        )
    for name, have in found.items():
        plain = _norm(have).replace("CREATE TRIGGER IF NOT EXISTS", "CREATE TRIGGER", 1)
        if exact and plain != _norm(known[name]):
            raise QueueError(
                f"{path}: audit trigger {name!r} differs from its definition (the file was "
                "changed outside riskscore); it is refused"
            )


def _norm(sql: str) -> str:
    return " ".join(sql.replace(";", " ").split())
