"""The review queue's errors name account and conversation ids as the console and
``riskscore queue`` show them (:func:`riskscore.io.shown_ids.shown_id`: ``adult-a`` as
written, the text ``"7"`` quoted beside the account ``7``), never by Python's ``repr``
(``'adult-a'``, ``np.str_('c1')``). All ids are synthetic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import riskscore as rs
from riskscore.exceptions import SchemaError
from riskscore.moderation import ReviewQueue
from riskscore.moderation.cases import QueueError
from riskscore.moderation.learning import learn_from_decisions
from riskscore.policy import Alert, Tier

T0 = 1_767_225_600  # 2026-01-01


def _alert(cid: object, adult: object, child: object, risk: float = 0.9) -> Alert:
    return Alert(cid, adult, child, 12.0, "under 13", risk, Tier.URGENT)  # type: ignore[arg-type]


def test_a_conversation_of_two_other_accounts_is_refused_naming_ids_as_shown(
    tmp_path: Path,
) -> None:
    """Was: "alert on conversation 'c1' between 'adult-b' and 'k2': item 1 is the open
    alert of conversation 'c1' between 'adult-a' and 'k1'; ..."."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        # both ids of the conversation taken (the room's other pair goes on under its pair id)
        queue.add_alert(_alert("c1", "adult-a", "k1"), at=T0)
        queue.add_alert(_alert("c1|7|adult-b", "adult-c", "k3"), at=T0)
        with pytest.raises(QueueError) as refused:
            queue.add_alert(_alert(np.str_("c1"), np.str_("adult-b"), "7"), at=T0 + 60)
    assert str(refused.value).startswith(
        'alert on conversation c1|7|adult-b between adult-b and "7": item 2 is the open alert '
        "of conversation c1|7|adult-b between adult-c and k3; two conversations under one id "
        "are never merged"
    )


def test_a_bad_alert_or_report_names_its_conversation_as_shown(tmp_path: Path) -> None:
    """Was: "alert on conversation 'c1': risk 1.5" (and ``np.str_('c1')`` for a numpy id
    before it was converted)."""
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        with pytest.raises(ValueError, match=r"^alert on") as alert:
            queue.add_alert(_alert(np.str_("c1"), "adult-a", "k1", risk=1.5), at=T0)
        with pytest.raises(ValueError, match=r"^user report on") as report:
            queue.add_report(rs.UserReport("7", "kid-1", "adult-a", 200.0, timestamp=T0))
    assert str(alert.value) == "alert on conversation c1: risk 1.5"
    assert str(report.value).startswith('user report on conversation "7": child (reporter) age')


def test_deciding_another_cases_item_names_the_adult_as_shown(tmp_path: Path) -> None:
    """Was: "item 1 is not an open item of adult 'adult-b': ..."."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        queue.add_alert(_alert("c1", "adult-a", "k1"), at=T0)
        queue.add_alert(_alert("c2", "adult-b", "k2"), at=T0)
        with pytest.raises(QueueError) as other:
            queue.decide(np.str_("adult-b"), "dismissed", moderator="m", item_ids=[1], at=T0 + 60)
        # an id no case can have: refused cut short, not looked up
        with pytest.raises(QueueError, match=r"^adult_id '9") as too_long:
            queue.decide("9" * 5000, "dismissed", moderator="m", item_ids=[1], at=T0 + 60)
    assert str(other.value).startswith(
        "item 1 is not an open item of adult adult-b: it is an item of another case"
    )
    assert "(5000 characters) is longer than 256 characters" in str(too_long.value)
    assert len(str(too_long.value)) < 200


def test_decided_conversations_missing_from_the_events_are_named_as_shown(
    tmp_path: Path,
) -> None:
    """Was: "(e.g. ['987654', '987654'])": the id ``987654`` and the text ``"987654"``
    read as one id, quoted by ``repr``."""
    path = tmp_path / "q.sqlite"
    with ReviewQueue(path, simulation=True) as queue:
        queue.add_alert(_alert(987654, "adult-a", "k1"), at=T0)
        queue.add_alert(_alert("987654", "adult-b", "k2"), at=T0)
        for item, adult in enumerate(("adult-a", "adult-b"), start=1):
            queue.decide(adult, "actioned", moderator="m", item_ids=[item], at=T0 + 60)
    events = rs.synthetic.generate(40, prevalence=0.1, seed=51)
    with pytest.raises(SchemaError, match=r'not in the events \(e\.g\. "987654", 987654\);'):
        learn_from_decisions(events.messages, path, rs.load_model())


@pytest.mark.parametrize("now", [float("nan"), "x", 1.5e9, True, -1])
def test_cases_take_now_by_the_rule_case_takes_it(tmp_path: Path, now: Any) -> None:
    """Was: ``cases(now=nan)`` and ``cases(now="x")`` raised ``int()``'s errors, and
    ``cases(now=1.5e9)`` read a float time cut to a whole second, where ``case(now=...)``
    refused each by one rule (``check_epoch``)."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        with pytest.raises(QueueError, match="now must be epoch seconds"):
            queue.cases(now=now)
        with pytest.raises(QueueError, match="now must be epoch seconds"):
            queue.top(now=now)


@pytest.mark.parametrize("n", [1.5, "3", True, -1])
def test_top_takes_a_whole_count(tmp_path: Path, n: Any) -> None:
    """Was: ``top(1.5)`` raised a slice's TypeError and ``top("3")`` a comparison's."""
    with (
        ReviewQueue(tmp_path / "q.sqlite") as queue,
        pytest.raises(ValueError, match=r"^n must be"),
    ):
        queue.top(n)
