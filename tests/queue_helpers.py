"""A review queue held locked by another process, for the tests of what waits on it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from riskscore.moderation.queue import ReviewQueue


@contextmanager
def locked(db: Path) -> Iterator[None]:
    """The queue file ``db`` held locked by another process's write transaction (as a
    ``riskscore score --queue`` of a large batch holds it)."""
    with closing(sqlite3.connect(db, isolation_level=None, timeout=0.1)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


def wait_briefly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queues opened with a busy timeout of 0.2 s instead of 30 s (the test waits that)."""
    monkeypatch.setitem(ReviewQueue.__init__.__kwdefaults__, "timeout_s", 0.2)
