"""A queue file changed by hand is refused without quoting text that may be message content.

Was (found by a hostile review): a sentence written into a queue's ``adult_id`` or
``channel`` by hand was quoted whole in the refusal of ``riskscore export`` and ``report``
(and so in the service's log), where every other error gives such text by its length only.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from riskscore.moderation import QueueError, ReviewQueue
from riskscore.moderation.queue_rows import stored_text
from riskscore.policy import Alert, Tier

NOW = 1_750_000_000
SENTENCE = "meet me at the park at 9 tonight"


def _tampered(tmp_path: Path, column: str) -> Path:
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as q:
        q.add_alert(Alert("c1", "adult-a", "kid-1", 15.0, "13-15", 0.9, Tier.URGENT), at=NOW)
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("DROP TRIGGER items_audited")  # around the audit trigger, as by hand
        con.execute(f"UPDATE items SET {column} = ?", (SENTENCE,))
    return db


@pytest.mark.parametrize("column", ["adult_id", "channel"])
def test_a_sentence_written_into_the_queue_is_not_quoted(tmp_path: Path, column: str) -> None:
    db = _tampered(tmp_path, column)
    with ReviewQueue(db) as q, pytest.raises(QueueError) as refused:
        q.items()
    message = str(refused.value)
    assert SENTENCE not in message
    assert "park" not in message
    assert f"column {column!r} is text of {len(SENTENCE)} characters (not shown" in message
    assert "changed outside riskscore" in message


def test_a_value_that_is_no_sentence_is_still_quoted() -> None:
    assert stored_text("tier", "x") == "'x'"
    assert SENTENCE not in stored_text("adult_id", SENTENCE)
