"""A hand-made review queue with every kind of decision, for the regulatory export tests."""

from __future__ import annotations

from pathlib import Path

from riskscore.moderation import ReviewQueue, UserReport
from riskscore.policy import Alert, Tier

KEY = b"test-key-not-secret"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
HOUR = 3600


def decided_queue(path: Path) -> Path:
    """Adult 101 escalated (urgent, two children), 102 actioned, 103 dismissed,
    104 actioned after a child's report, 105 still open, 106 escalated at review tier."""
    with ReviewQueue(path) as q:
        q.add_alert(Alert(1, 101, 201, 12.0, "under 13", 0.9, Tier.URGENT), at=T0 + HOUR)
        q.add_alert(Alert(2, 101, 202, 14.0, "13-15", 0.5, Tier.REVIEW), at=T0 + 2 * HOUR)
        q.add_alert(Alert(3, 102, 203, 15.0, "13-15", 0.45, Tier.REVIEW), at=T0 + 3 * HOUR)
        q.add_alert(Alert(4, 103, 204, 16.0, "16-17", 0.6, Tier.REVIEW), at=T0 + 4 * HOUR)
        q.add_report(UserReport(5, 205, 104, 14.0, timestamp=T0 + 5 * HOUR, channel="direct"))
        q.add_alert(Alert(6, 105, 206, 13.0, "13-15", 0.5, Tier.REVIEW), at=T0 + 6 * HOUR)
        q.add_alert(Alert(7, 106, 207, 11.0, "under 13", 0.3, Tier.REVIEW), at=T0 + 7 * HOUR)
        q.decide(101, "escalated", moderator="m1", at=T0 + 10 * HOUR)
        q.decide(102, "actioned", moderator="m1", at=T0 + 11 * HOUR)
        q.decide(103, "dismissed", moderator="m2", at=T0 + 12 * HOUR)
        q.decide(104, "actioned", moderator="m2", at=T0 + 13 * HOUR)
        q.decide(106, "escalated", moderator="m2", at=T0 + 50 * HOUR)
    return path
