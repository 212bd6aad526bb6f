"""Two accounts that swap roles between two alerts of one conversation: the item merged
takes the new alert's adult, child, ages and age band, never one account's age on the
other's (review of the service and the queue, item 1)."""

from __future__ import annotations

import math
from pathlib import Path

from riskscore.moderation.queue import ReviewQueue
from riskscore.policy import Alert, Tier

T0 = 1_767_225_600  # 2026-01-01


def _alert(adult: str, child: str, ages: tuple[float, float], band: str, at: int) -> Alert:
    adult_age, child_age = ages
    return Alert(
        "c1", adult, child, child_age=child_age, adult_age=adult_age, age_band=band,
        risk=0.9, tier=Tier.REVIEW, event_index=at - T0, timestamp=at,
        first_event_at=T0, last_event_at=at, max_channel="direct",
    )  # fmt: skip


def test_an_alert_of_swapped_roles_takes_its_adult_child_ages_and_band(tmp_path: Path) -> None:
    queue = ReviewQueue(tmp_path / "q.sqlite")
    # ages unknown at first: A taken as the adult; the ages declared since tell B is 40, A 12
    queue.add_alert(_alert("A", "B", (math.nan, math.nan), "unknown", T0 + 3600))
    queue.add_alert(_alert("B", "A", (40.0, 12.0), "under 13", T0 + 7200))
    (item,) = queue.items()
    assert (item.adult_id, item.adult_age) == ("B", 40.0)
    assert (item.child_id, item.child_age, item.age_band) == ("A", 12.0, "under 13")
    assert item.n_signals == 2
    assert [c.adult_id for c in queue.cases()] == ["B"]


def test_an_alert_of_the_same_roles_keeps_the_ages_it_does_not_know(tmp_path: Path) -> None:
    queue = ReviewQueue(tmp_path / "q.sqlite")
    queue.add_alert(_alert("B", "A", (40.0, 12.0), "under 13", T0 + 3600))
    queue.add_alert(_alert("B", "A", (math.nan, 12.0), "under 13", T0 + 7200))
    (item,) = queue.items()
    assert (item.adult_id, item.adult_age, item.child_id, item.child_age) == ("B", 40.0, "A", 12.0)
