"""The ``--queue FILE`` option shared by ``score`` and ``stream``: alerts into a review queue."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from riskscore._words import number_text, plural
from riskscore.cli._paths import output_path
from riskscore.io.sqlite import unusable_text
from riskscore.moderation import QueueError, ReviewQueue, UserReport
from riskscore.policy import Alert, AlertPolicy

T = TypeVar("T")

HELP = (
    "review queue SQLite file to add the alerts to (created if missing; an alert already "
    "queued is not queued again, so re-running is safe; see `riskscore queue`)"
)


def add_queue_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--queue FILE`` to a subcommand."""
    parser.add_argument("--queue", type=output_path, metavar="FILE", help=HELP)


def open_queue(path: Path | None, policy: AlertPolicy) -> ReviewQueue | None:
    """The review queue at ``path`` (created if missing), or None without ``--queue``.

    Opened before any work, so that a file that is not a queue stops the command early.

    Raises
    ------
    QueueError
        ``path`` is not a riskscore queue, or cannot be used now (locked by another
        process for longer than the busy timeout, read-only): the CLI prints one line,
        exit status 2.
    """
    if path is None:
        return None
    try:
        return ReviewQueue(path, policy=policy)
    except sqlite3.OperationalError as exc:  # a queue it cannot use now (locked, read-only)
        raise QueueError(unusable_text(path, exc)) from None
    except sqlite3.DatabaseError as exc:
        raise QueueError(f"{path} is not a riskscore queue ({exc})") from None


def queue_summary(
    queue: ReviewQueue, n_alerts: int, open_before: int, n_reports: int = 0
) -> dict[str, Any]:
    """What was added: alerts and user reports given, new items, open items now
    (JSON-ready)."""
    open_now = len(queue)
    return {
        "path": str(queue.path),
        "alerts": n_alerts,
        "user_reports": n_reports,
        "new_items": open_now - open_before,
        "open_items": open_now,
    }


def add_to_queue(
    queue: ReviewQueue,
    alerts: Sequence[Alert],
    reports: Sequence[UserReport] = (),
    *,
    err: TextIO | None = None,
) -> dict[str, Any]:
    """Queue ``alerts`` in one transaction (:meth:`ReviewQueue.add_alerts`), then
    ``reports`` in another (:meth:`ReviewQueue.add_reports`); the summary.

    An alert or a report the queue refuses (an alert whose conversation id has an open
    alert of two other accounts, never merged; a report dated over a day after the clock's
    time, :data:`~riskscore.moderation.intake.MAX_AHEAD_S`) is said on ``err`` (default
    stderr) and counted (``refused``), the others queued, as ``riskscore stream`` and
    ``riskscore serve`` refuse it alone: one item never keeps the others out of the
    queue."""
    before = len(queue)
    out = err or sys.stderr
    try:
        refused = _each_refused(queue.add_alerts, queue.add_alert, alerts, out)
        if reports:
            refused += _each_refused(queue.add_reports, queue.add_report, reports, out)
    except sqlite3.OperationalError as exc:  # the queue's file, named (not "a database")
        raise QueueError(unusable_text(queue.path, exc)) from None
    return {**queue_summary(queue, len(alerts), before, len(reports)), "refused": refused}


def _each_refused(
    add_all: Callable[[Sequence[T]], object],
    add_one: Callable[[T], object],
    items: Sequence[T],
    err: TextIO,
) -> int:
    """``add_all(items)`` in one transaction; when the queue refuses one (nothing of the
    transaction queued), each on its own, those refused said on ``err``; how many were."""
    try:
        add_all(items)
        return 0
    except QueueError:
        pass
    refused = 0
    for item in items:
        try:
            add_one(item)
        except QueueError as exc:
            refused += 1
            print(f"not queued: {exc}", file=err)
    return refused


def render_queue(summary: dict[str, Any]) -> str:
    """One line about what a command added to the queue."""
    reports = summary.get("user_reports", 0)
    refused = summary.get("refused", 0)  # the queue refused them, each said on stderr
    merged = summary["alerts"] + reports - refused - summary["new_items"]
    given = plural(summary["alerts"], "alert")
    if reports:
        given += f" and {plural(reports, 'user report')}"
    not_queued = f", {number_text(refused)} refused (each said above)" if refused else ""
    return (
        f"review queue {summary['path']}: {plural(summary['new_items'], 'new item')} from "
        f"{given} ({number_text(merged)} already queued or merged "
        f"into an open item{not_queued}); {plural(summary['open_items'], 'open item')}; "
        f"see `riskscore queue --db {summary['path']}`"
    )
