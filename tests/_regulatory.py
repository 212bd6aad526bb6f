"""A hand-made review queue with every kind of decision, for the regulatory export tests."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from riskscore.moderation import ReviewQueue, UserReport
from riskscore.policy import Alert, Tier

KEY = b"test-key-not-secret-0123456789-ABCDEF"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
HOUR = 3600


def decided_queue(path: Path) -> Path:
    """Adult 101 escalated (urgent, two children), 102 actioned, 103 dismissed,
    104 actioned after a child's report, 105 still open, 106 escalated at review tier."""
    with ReviewQueue(path, simulation=True) as q:
        q.add_alert(Alert(1, 101, 201, 12.0, "under 13", 0.9, Tier.URGENT), at=T0 + HOUR)
        q.add_alert(Alert(2, 101, 202, 14.0, "13-15", 0.5, Tier.REVIEW), at=T0 + 2 * HOUR)
        q.add_alert(Alert(3, 102, 203, 15.0, "13-15", 0.45, Tier.REVIEW), at=T0 + 3 * HOUR)
        q.add_alert(Alert(4, 103, 204, 16.0, "16-17", 0.6, Tier.REVIEW), at=T0 + 4 * HOUR)
        q.add_report(UserReport(5, 205, 104, 14.0, timestamp=T0 + 5 * HOUR, channel="direct"))
        q.add_alert(Alert(6, 105, 206, 13.0, "13-15", 0.5, Tier.REVIEW), at=T0 + 6 * HOUR)
        q.add_alert(Alert(7, 106, 207, 11.0, "under 13", 0.3, Tier.REVIEW), at=T0 + 7 * HOUR)
        for adult, outcome, moderator, hours in (
            (101, "escalated", "m1", 10),
            (102, "actioned", "m1", 11),
            (103, "dismissed", "m2", 12),
            (104, "actioned", "m2", 13),
            (106, "escalated", "m2", 50),
        ):
            at = T0 + hours * HOUR
            shown = q.case(adult, now=at)
            assert shown is not None
            q.decide(adult, outcome, moderator=moderator, at=at, token=shown.token)
    return path


def insert_item(db: Path, change: dict[str, Any]) -> None:
    """Add an alert item to the queue ``db`` with plain SQL, as a file edited outside
    riskscore: adult 999, created at ``T0 + 9``, with the columns in ``change`` replaced."""
    row: dict[str, Any] = {
        "kind": "alert", "dedup_key": "alert:x", "conversation_id": '"x"', "adult_id": "999",
        "child_id": "998", "child_age": 12.0, "age_band": "under 13", "risk": 0.7, "tier": 1,
        "channel": "direct", "concerns_child": 0, "reasons": '["r"]', "created_at": T0 + 9,
        "updated_at": T0 + 9, **change,
    }  # fmt: skip
    with closing(sqlite3.connect(db)) as con, con:
        con.execute(
            f"INSERT INTO items ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )
