"""A review queue held locked by another process, for the tests of what waits on it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from riskscore.io.pair_ids import pair_conversation_id
from riskscore.moderation.queue import ReviewQueue
from riskscore.policy import Alert, Tier


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


def occupy(queue: ReviewQueue, conversation: object, adult: object, child: object) -> None:
    """Open alerts of two other pairs under both ids of the conversation of ``adult`` and
    ``child``: its own id and its pair id (:func:`riskscore.io.pair_ids.pair_conversation_id`).
    Under its own id alone, its next alert goes on under its pair id (a room's other pair);
    with both taken, the queue refuses it (two conversations under one id)."""
    taken = pair_conversation_id(conversation, adult, child)
    for cid, pair in ((conversation, ("someone", "else")), (taken, ("other", "one"))):
        queue.add_alert(Alert(cid, *pair, 12.0, "under 13", 0.9, Tier.URGENT), at=1_767_225_600)
