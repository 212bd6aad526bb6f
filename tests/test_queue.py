"""The review queue: documented priority order, de-duplication, persistence, decisions, audit."""

from __future__ import annotations

import math
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from riskscore.moderation import (
    Outcome,
    PriorityWeights,
    QueueError,
    ReviewQueue,
    UserReport,
)
from riskscore.policy import Alert, Tier

T0 = 1_767_225_600


def alert(conv: object, adult: object, child: object, age: float, risk: float, tier: int) -> Alert:
    return Alert(conv, adult, child, age, "band", risk, Tier(tier))


@pytest.fixture
def queue(tmp_path: Path) -> ReviewQueue:
    q = ReviewQueue(tmp_path / "queue.sqlite")
    yield q  # type: ignore[misc]
    q.close()


def test_younger_child_with_report_outranks_older_child_at_same_score(queue: ReviewQueue) -> None:
    queue.add_alert(alert(1, "older-adult", "c16", 16.0, 0.5, 1), at=T0)
    queue.add_alert(alert(2, "younger-adult", "c11", 11.0, 0.5, 1), at=T0)
    queue.add_report(UserReport(1, "c16", "older-adult", 16.0, T0 + 10))
    queue.add_report(UserReport(2, "c11", "younger-adult", 11.0, T0 + 10))
    order = [c.adult_id for c in queue.top(now=T0 + 60)]
    assert order == ["younger-adult", "older-adult"]


def test_report_from_child_jumps_higher_risk_urgent_alert(queue: ReviewQueue) -> None:
    queue.add_alert(alert(1, "a", "c", 9.0, 0.99, 2), at=T0 - 4 * 86_400)
    queue.add_report(UserReport(2, "k", "b", 17.0, T0))
    assert [c.adult_id for c in queue.top(now=T0)] == ["b", "a"]
    # a report from an adult does not jump the queue
    queue.add_report(UserReport(3, "grown-up", "z", 30.0, T0))
    assert [c.adult_id for c in queue.top(now=T0)] == ["b", "a", "z"]


def test_priority_follows_documented_formula(queue: ReviewQueue) -> None:
    w = queue.weights
    queue.add_alert(alert(1, "a", "c", 13.0, 0.6, 2), at=T0)
    case = queue.top(now=T0 + 86_400)[0]
    youth = (18 - 13) / (18 - w.youth_full_age)
    expected = w.risk * 0.6 + w.tier * 2 + w.youth * youth + w.wait_per_day * 1.0
    assert case.priority == pytest.approx(expected)
    assert any("urgent alert, risk 0.60" in r for r in case.reasons)


def test_waiting_time_raises_priority_up_to_cap() -> None:
    w = PriorityWeights(wait_per_day=1.0, max_wait_days=2.0)
    base = {"risk": 0.5, "tier": 1, "child_age": 12.0, "concerns_child": False}
    p = [w.item_priority(**base, wait_s=d * 86_400) for d in (0, 1, 2, 5)]  # type: ignore[arg-type]
    assert p[0] < p[1] < p[2] == p[3]


def test_unknown_age_gets_configured_youth() -> None:
    w = PriorityWeights(unknown_age_youth=0.25)
    assert w.youth_of(math.nan) == 0.25
    assert w.youth_of(5.0) == 1.0
    assert w.youth_of(18.0) == 0.0


def test_weights_are_configurable(tmp_path: Path) -> None:
    # with youth weighted heavily and risk not at all, the younger child comes first
    w = PriorityWeights(risk=0.0, tier=0.0, youth=5.0)
    with ReviewQueue(tmp_path / "q.sqlite", weights=w) as q:
        q.add_alert(alert(1, "a", "c", 16.0, 0.9, 2), at=T0)
        q.add_alert(alert(2, "b", "d", 9.0, 0.2, 1), at=T0)
        assert [c.adult_id for c in q.top(now=T0)] == ["b", "a"]


def test_bad_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="'risk'"):
        PriorityWeights(risk=-1.0)


def test_alerts_deduplicated_per_conversation(queue: ReviewQueue) -> None:
    first = queue.add_alert(alert(7, "a", "c", 12.0, 0.3, 1), at=T0)
    second = queue.add_alert(alert(7, "a", "c", 12.0, 0.7, 2), at=T0 + 100)
    assert first == second
    (item,) = queue.items()
    assert (item.risk, item.tier, item.n_signals) == (0.7, 2, 2)
    # a later alert lowers nothing
    queue.add_alert(alert(7, "a", "c", 12.0, 0.4, 1), at=T0 + 200)
    (item,) = queue.items()
    assert (item.risk, item.tier, item.n_signals) == (0.7, 2, 3)


def test_new_alert_after_decision_is_a_new_item(queue: ReviewQueue) -> None:
    first = queue.add_alert(alert(7, "a", "c", 12.0, 0.3, 1), at=T0)
    queue.decide("a", "dismissed", moderator="m", at=T0 + 10)
    second = queue.add_alert(alert(7, "a", "c", 12.0, 0.8, 2), at=T0 + 20)
    assert second != first
    assert [i.status for i in queue.items()] == ["dismissed", "open"]


def test_same_user_report_stored_once(queue: ReviewQueue) -> None:
    report = UserReport(3, "kid", "adult", 12.0, T0)
    assert queue.add_report(report) == queue.add_report(report)
    assert len(queue) == 1


def test_one_adult_many_children_is_one_case(queue: ReviewQueue) -> None:
    for k in range(5):
        queue.add_alert(alert(k, "adult", f"child{k}", 12.0 + k % 3, 0.4, 1), at=T0)
    queue.add_alert(alert(99, "other", "x", 12.0, 0.4, 1), at=T0)
    cases = queue.top(now=T0)
    assert [c.adult_id for c in cases] == ["adult", "other"]
    assert sorted(cases[0].children) == [f"child{k}" for k in range(5)]
    assert cases[0].children[0] == "child0"  # youngest (age 12) first
    assert set(cases[0].conversations) == set(range(5))
    assert "5 children in open conversations" in cases[0].reasons


def test_items_from_the_future_are_not_visible(queue: ReviewQueue) -> None:
    queue.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0 + 100)
    assert queue.top(now=T0) == []
    assert queue.next_arrival(T0) == T0 + 100


def test_queue_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    with ReviewQueue(path) as q:
        q.add_alert(alert("conv-1", "a", "c", 12.0, 0.4, 1), at=T0)
        q.add_report(UserReport("conv-2", "kid", 42, 11.0, T0))
    with ReviewQueue(path) as q:
        assert len(q) == 2
        ids = {(i.conversation_id, i.adult_id) for i in q.items()}
        assert ids == {("conv-1", "a"), ("conv-2", 42)}  # id types survive


def test_decisions_and_audit_log(queue: ReviewQueue) -> None:
    queue.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
    queue.add_report(UserReport(1, "c", "a", 12.0, T0 + 5))
    assert queue.mark_reviewed("a", moderator="mod-1", at=T0 + 60) == 2
    assert queue.decide("a", "escalated to law enforcement", moderator="mod-2", at=T0 + 120) == 2
    items = queue.items()
    assert {i.status for i in items} == {"escalated"}
    assert {i.first_reviewed_at for i in items} == {T0 + 60}
    assert {i.decided_by for i in items} == {"mod-2"}
    log = queue.audit_log()
    assert [e.action for e in log] == ["enqueue", "enqueue", "review", "review", "decide", "decide"]
    assert log[-1].actor == "mod-2"
    assert log[-1].at == T0 + 120
    assert log[-1].detail["outcome"] == "escalated"
    with pytest.raises(QueueError, match="no open item"):
        queue.decide("a", "actioned", moderator="mod-3", at=T0 + 200)


def test_decide_subset_of_items(queue: ReviewQueue) -> None:
    a = queue.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
    queue.add_alert(alert(2, "a", "d", 14.0, 0.4, 1), at=T0)
    assert queue.decide("a", Outcome.ACTIONED, moderator="m", at=T0 + 1, item_ids=[a]) == 1
    assert len(queue) == 1
    with pytest.raises(QueueError, match=f"item {a} is not an open item"):
        queue.decide("a", "dismissed", moderator="m", at=T0 + 2, item_ids=[a])


def test_bad_outcome_and_input_named(queue: ReviewQueue) -> None:
    queue.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
    with pytest.raises(QueueError, match="'banned'"):
        queue.decide("a", "banned", moderator="m", at=T0)
    with pytest.raises(QueueError, match="moderator"):
        queue.decide("a", "actioned", moderator="", at=T0)
    with pytest.raises(ValueError, match="channel 'email'"):
        queue.add_alert(alert(2, "a", "c", 12.0, 0.4, 1), channel="email", at=T0)
    with pytest.raises(ValueError, match="ids must be int or str"):
        queue.add_alert(alert(1.5, "a", "c", 12.0, 0.4, 1), at=T0)


def test_nothing_is_deleted(queue: ReviewQueue) -> None:
    queue.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
    con = sqlite3.connect(queue.path)
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        con.execute("DELETE FROM items")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE audit SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM audit")
    con.close()


def _writer(path: str, worker: int, n: int) -> None:
    with ReviewQueue(path, timeout_s=60) as q:
        for k in range(n):
            if k % 2:
                q.add_report(
                    UserReport(f"w{worker}-{k}", f"kid{k}", f"adult{worker}", 12.0, T0 + k)
                )
            else:
                q.add_alert(alert(f"w{worker}-{k}", f"adult{worker}", "c", 12.0, 0.4, 1), at=T0)
            # every worker also raises the same shared alert: it must end up once
            q.add_alert(alert("shared", "adult-x", "c", 12.0, 0.3, 1), at=T0)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    ReviewQueue(path).close()
    n_workers, n_items = 4, 200
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, n_items)) for w in range(n_workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * n_workers
    with ReviewQueue(path) as q:
        items = q.items()
        convs = [i.conversation_id for i in items]
        expected = {f"w{w}-{k}" for w in range(n_workers) for k in range(n_items)} | {"shared"}
        assert len(convs) == len(set(convs)) == len(expected)
        assert set(convs) == expected
        (shared,) = [i for i in items if i.conversation_id == "shared"]
        assert shared.n_signals == n_workers * n_items
        assert sum(e.action == "enqueue" for e in q.audit_log()) == len(expected)
