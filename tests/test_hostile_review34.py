"""Hostile review 34: the moderation queue's decisions, the transparency report and the
regulatory exports against a hostile or careless platform (two decisions in one second,
a published case list that bounds a withheld count, ...).

Each test failed on the code before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskscore.moderation import ReviewQueue
from riskscore.policy import Alert, Tier
from riskscore.regulatory import (
    cybertipline_drafts,
    decided_cases,
    statements_of_reasons,
)

T0 = 1_767_225_600  # 2026-01-01
KEY = "hostile-review-34-synthetic-key-0123456789abcdef"


# ------------------------------------------- 1. two decisions in one second stay two


def _two_decisions_in_one_second(path: Path) -> ReviewQueue:
    q = ReviewQueue(path, simulation=True)
    first = q.add_alert(Alert(1, "adult", "c1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
    second = q.add_alert(Alert(2, "adult", "c2", 14.0, "13-15", 0.8, Tier.URGENT), at=T0 + 5)
    # two moderators (or one, twice) decide one item each, in the same second
    q.decide("adult", "escalated", moderator="m1", item_ids=[first], at=T0 + 60)
    q.decide("adult", "escalated", moderator="m2", item_ids=[second], at=T0 + 60)
    return q


def test_two_same_second_decisions_on_one_adult_are_never_merged(tmp_path: Path) -> None:
    """Was: ``decided_cases`` grouped items by (adult, decision second, outcome), so two
    decisions made in the same second with the same outcome on one adult became one
    decided case: one DSA statement and one CyberTipline draft where the moderators had
    made two decisions (and the second draft's child joined the first's)."""
    with _two_decisions_in_one_second(tmp_path / "q.sqlite") as q:
        cases = decided_cases(q.items())
        assert [[i.item_id for i in c.items] for c in cases] == [[1], [2]]
        assert [c.items[0].decided_by for c in cases] == ["m1", "m2"]
        assert len(statements_of_reasons(cases, key=KEY)) == 2
        drafts = cybertipline_drafts(cases)
        assert [len(d["report"]["victim"]) for d in drafts] == [1, 1]


def test_one_decision_of_two_items_stays_one_case(tmp_path: Path) -> None:
    """Guard (passed before): one decision that closes two items is one decided case."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, "adult", "c1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.add_alert(Alert(2, "adult", "c2", 14.0, "13-15", 0.8, Tier.URGENT), at=T0 + 5)
        token = q.case("adult", now=T0 + 60)
        assert token is not None
        q.decide("adult", "escalated", moderator="m", token=token.token, at=T0 + 60)
        assert [len(c.items) for c in decided_cases(q.items())] == [2]
