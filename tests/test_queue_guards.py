"""A review queue file changed outside riskscore is refused, never repaired in silence
(hostile review, December 2026)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from riskscore.moderation import ReviewQueue
from riskscore.moderation.cases import QueueError
from riskscore.moderation.queue_guards import SERVE_TRIGGERS, TRIGGERS
from riskscore.policy import Alert, Tier
from riskscore.serve.accounts import ModeratorStore

T0 = 1_767_225_600


def _queue(path: Path) -> Path:
    with ReviewQueue(path, simulation=True) as q:
        q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
    return path


def test_a_trigger_added_by_hand_is_refused(tmp_path: Path) -> None:
    """Was: only the queue's own triggers were checked; one added to dismiss every urgent
    alert with an audit entry in a moderator's name acted on every later alert."""
    path = _queue(tmp_path / "q.sqlite")
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TRIGGER quiet AFTER INSERT ON items WHEN NEW.tier = 2 BEGIN SELECT 1; END"
        )
    with pytest.raises(QueueError, match="trigger 'quiet' is not one of the review queue's"):
        ReviewQueue(path, create=False)


@pytest.mark.parametrize("table", ["audit", "items", "alert_signals"])
def test_a_table_dropped_by_hand_is_refused_not_made_again(tmp_path: Path, table: str) -> None:
    """Was: a queue without its audit table lost the simulation marks of its decisions
    (an export without its SIMULATED warning), one without items gave an empty regulatory
    filing, exit 0, and the tables were made again, empty, in the input file."""
    path = _queue(tmp_path / "q.sqlite")
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA foreign_keys = OFF")
        for name in TRIGGERS:
            con.execute(f"DROP TRIGGER {name}")
        con.execute(f"DROP TABLE {table}")
    with pytest.raises(QueueError, match=f"table {table!r} is missing"):
        ReviewQueue(path, create=False)
    with sqlite3.connect(path) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert table not in tables


def test_a_trigger_under_one_of_serves_names_is_refused(tmp_path: Path) -> None:
    """Was (a review of the fix above): serve's trigger names were allowed by name alone, so
    the same trigger named ``access_log_no_delete`` passed; every known trigger's body is
    compared with its definition now, serve's (made from the same definitions) too."""
    path = _queue(tmp_path / "q.sqlite")
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TRIGGER access_log_no_delete AFTER INSERT ON items WHEN NEW.tier = 2 "
            "BEGIN SELECT 1; END"
        )
    with pytest.raises(QueueError, match="'access_log_no_delete' differs from its definition"):
        ReviewQueue(path, create=False)


def test_serves_own_triggers_pass(tmp_path: Path) -> None:
    path = _queue(tmp_path / "q.sqlite")
    ModeratorStore(path).close()  # serve's tables and triggers beside the queue's
    with sqlite3.connect(path) as con:
        made = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert made == set(TRIGGERS) | set(SERVE_TRIGGERS)
    ReviewQueue(path, create=False).close()
