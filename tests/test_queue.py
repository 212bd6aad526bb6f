"""The review queue: documented priority order, de-duplication, persistence, decisions, audit."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskscore.moderation import (
    Outcome,
    PriorityWeights,
    QueueError,
    ReviewQueue,
    UserReport,
)
from riskscore.moderation.queue_rows import decode_reasons, encode_reasons
from riskscore.policy import Alert, Tier

T0 = 1_767_225_600


def alert(conv: object, adult: object, child: object, age: float, risk: float, tier: int) -> Alert:
    return Alert(conv, adult, child, age, "band", risk, Tier(tier))


@pytest.fixture
def queue(tmp_path: Path) -> ReviewQueue:
    q = ReviewQueue(tmp_path / "queue.sqlite", simulation=True)
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
    assert any("urgent alert, risk 0.600" in r for r in case.reasons)


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
    queue.decide("a", "dismissed", moderator="m", at=T0 + 10, item_ids=[first])
    second = queue.add_alert(alert(7, "a", "c", 12.0, 0.8, 2), at=T0 + 20)
    assert second != first
    assert [i.status for i in queue.items()] == ["dismissed", "open"]


def test_the_same_alert_queued_again_changes_nothing(queue: ReviewQueue) -> None:
    """Re-running a scoring job into a queue: an alert already queued is not a new signal,
    whether its item is still open or was decided; a different alert still is."""
    first = queue.add_alert(alert(7, "a", "c", 12.0, 0.3, 1), at=T0)
    shown = queue.case("a", now=T0 + 5)
    assert shown is not None
    n_audit = len(queue.audit_log())
    assert queue.add_alerts([alert(7, "a", "c", 12.0, 0.3, 1)] * 2, at=T0 + 10) == [first] * 2
    (item,) = queue.items()
    assert (item.n_signals, item.updated_at) == (1, T0)
    assert len(queue.audit_log()) == n_audit
    again = queue.case("a", now=T0 + 20)
    assert again is not None
    assert again.token == shown.token  # the moderator's view still holds
    queue.decide("a", "dismissed", moderator="m", at=T0 + 30, token=shown.token)
    assert queue.add_alert(alert(7, "a", "c", 12.0, 0.3, 1), at=T0 + 40) == first
    assert len(queue) == 0
    # another risk, or the same risk raised by another event, is a new signal
    assert queue.add_alert(alert(7, "a", "c", 12.0, 0.35, 1), at=T0 + 50) != first
    online = Alert(7, "a", "c", 12.0, "band", 0.35, Tier(1), event_index=4, timestamp=T0 + 45)
    queue.add_alert(online)
    queue.add_alert(online)
    (open_item,) = queue.items(status="open")
    assert open_item.n_signals == 2


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
    shown = queue.case("a", now=T0 + 120)
    assert shown is not None
    assert (
        queue.decide(
            "a", "escalated to law enforcement", moderator="mod-2", at=T0 + 120, token=shown.token
        )
        == 2
    )
    items = queue.items()
    assert {i.status for i in items} == {"escalated"}
    assert {i.first_reviewed_at for i in items} == {T0 + 60}
    assert {i.decided_by for i in items} == {"mod-2"}
    log = queue.audit_log()
    assert [e.action for e in log] == ["enqueue", "enqueue", "review", "review", "decide", "decide"]
    assert log[-1].actor == "mod-2"
    assert log[-1].at == T0 + 120
    assert log[-1].detail["outcome"] == "escalated"
    with pytest.raises(QueueError, match="not an open item"):
        queue.decide("a", "actioned", moderator="mod-3", at=T0 + 200, token=shown.token)


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
        queue.decide("a", "banned", moderator="m", at=T0, item_ids=[1])
    with pytest.raises(QueueError, match="moderator"):
        queue.decide("a", "actioned", moderator="", at=T0, item_ids=[1])
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
            # every worker also raises an alert on a shared conversation: one item, every
            # signal counted; and the very same alert, which is stored once
            index = worker * n + k
            shared = Alert("shared", "adult-x", "c", 12.0, "band", 0.3, Tier(1), event_index=index)
            q.add_alert(shared, at=T0)
            q.add_alert(alert("same", "adult-y", "c", 12.0, 0.3, 1), at=T0)


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
        expected = {f"w{w}-{k}" for w in range(n_workers) for k in range(n_items)}
        expected |= {"shared", "same"}
        assert len(convs) == len(set(convs)) == len(expected)
        assert set(convs) == expected
        (shared,) = [i for i in items if i.conversation_id == "shared"]
        assert shared.n_signals == n_workers * n_items
        (same,) = [i for i in items if i.conversation_id == "same"]
        assert same.n_signals == 1
        assert sum(e.action == "enqueue" for e in q.audit_log()) == len(expected)


# ----------------------------------------------------------------- issue 15 hardening


def test_decision_closes_only_the_items_shown_new_ones_stay_open(queue: ReviewQueue) -> None:
    """Issue 15 item 2: dismissing the review alert shown must not dismiss a later report
    from a 9-year-old or an urgent alert that arrived meanwhile."""
    queue.add_alert(alert(1, "a", "c", 15.0, 0.35, 1), at=T0)
    shown = queue.case("a", now=T0 + 60)
    assert shown is not None
    assert len(shown.items) == 1
    report = queue.add_report(UserReport(2, "kid9", "a", 9.0, T0 + 100, channel="direct"))
    urgent = queue.add_alert(alert(3, "a", "e", 12.0, 0.9, 2), at=T0 + 110)
    assert queue.decide("a", "dismissed", moderator="m", at=T0 + 200, token=shown.token) == 1
    still_open = {i.item_id for i in queue.items(status="open")}
    assert still_open == {report, urgent}
    with pytest.raises(QueueError, match="give item_ids or the token"):
        queue.decide("a", "dismissed", moderator="m", at=T0 + 300)


def test_stale_token_is_refused_and_duplicate_item_ids_decide_once(queue: ReviewQueue) -> None:
    first = queue.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
    shown = queue.case("a", now=T0)
    assert shown is not None
    queue.add_alert(alert(1, "a", "c", 12.0, 0.8, 2), at=T0 + 5)  # a new signal on the item
    with pytest.raises(QueueError, match="changed since the case was shown"):
        queue.decide("a", "dismissed", moderator="m", at=T0 + 10, token=shown.token)
    assert queue.decide("a", "actioned", moderator="m", at=T0 + 10, item_ids=[first, first]) == 1
    assert [e.action for e in queue.audit_log()].count("decide") == 1
    for bad in ("v1:", "x", "v1:1.1-", 7):
        with pytest.raises(QueueError, match="not a case token"):
            queue.decide("a", "actioned", moderator="m", at=T0, token=bad)  # type: ignore[arg-type]


def test_decision_time_comes_from_the_clock_outside_simulation(tmp_path: Path) -> None:
    with ReviewQueue(tmp_path / "real.sqlite") as q:
        item = q.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
        with pytest.raises(QueueError, match="simulation"):
            q.decide("a", "actioned", moderator="m", at=T0, item_ids=[item])
        with pytest.raises(QueueError, match="simulation"):
            q.mark_reviewed("a", moderator="m", at=T0)
        q.decide("a", "actioned", moderator="m", item_ids=[item])
        (decided,) = q.items()
        assert decided.decided_at is not None
        assert decided.decided_at > T0
        assert not q.simulated
    with pytest.raises(QueueError, match="real decisions"):
        ReviewQueue(tmp_path / "real.sqlite", simulation=True)
    with ReviewQueue(tmp_path / "sim.sqlite", simulation=True) as q:
        assert q.simulated


@pytest.mark.parametrize("at", [2**70, -1, 1.5, "100", True, 253_402_300_800])
def test_decision_time_out_of_range_is_a_clean_error(queue: ReviewQueue, at: object) -> None:
    item = queue.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
    with pytest.raises(QueueError, match="epoch seconds"):
        queue.decide("a", "actioned", moderator="m", at=at, item_ids=[item])  # type: ignore[arg-type]
    assert len(queue) == 1


def test_alert_with_unknown_child_age_none(queue: ReviewQueue) -> None:
    item = queue.add_alert(Alert(1, "a", "c", None, "unknown", 0.4, Tier.REVIEW), at=T0)  # type: ignore[arg-type]
    (stored,) = queue.items()
    assert stored.item_id == item
    assert math.isnan(stored.child_age)
    report = UserReport(2, "c", "a", None, T0 + 1)  # type: ignore[arg-type]
    queue.add_report(report)
    assert len(queue) == 2


@pytest.mark.parametrize("name", ["", "   ", "m\nforged line", "m\x00", "m\u202e", "x" * 129, 7])
def test_moderator_and_actor_are_validated(queue: ReviewQueue, name: object) -> None:
    item = queue.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
    with pytest.raises(QueueError):
        queue.decide("a", "actioned", moderator=name, at=T0, item_ids=[item])  # type: ignore[arg-type]
    with pytest.raises(QueueError):
        queue.add_alert(alert(2, "a", "c", 12.0, 0.4, 1), at=T0, actor=name)  # type: ignore[arg-type]
    assert len(queue.items()) == 1


def test_every_item_change_needs_its_audit_entry(queue: ReviewQueue) -> None:
    queue.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
    con = sqlite3.connect(queue.path)
    with pytest.raises(sqlite3.IntegrityError, match="needs its audit entry"):
        con.execute("UPDATE items SET status = 'dismissed'")
    con.close()
    queue.mark_reviewed("a", moderator="m", at=T0 + 1)
    queue.add_alert(alert(1, "a", "c", 12.0, 0.6, 2), at=T0 + 2)
    (item,) = queue.items()
    queue.decide("a", "actioned", moderator="m", at=T0 + 3, item_ids=[item.item_id])
    actions = [e.action for e in queue.audit_log()]
    assert actions == ["enqueue", "review", "update", "decide"]


def test_dropped_or_changed_audit_triggers_are_recreated_or_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    with ReviewQueue(path, simulation=True) as q:
        item = q.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
        con = sqlite3.connect(path)
        con.execute("DROP TRIGGER items_audited")
        con.commit()
        with pytest.raises(QueueError, match="missing"):  # a write sees it gone
            q.decide("a", "actioned", moderator="m", at=T0 + 1, item_ids=[item])
        con.close()
    with ReviewQueue(path) as q:  # reopening recreates it
        con = sqlite3.connect(path)
        with pytest.raises(sqlite3.IntegrityError, match="audit entry"):
            con.execute("UPDATE items SET status = 'dismissed'")
        con.execute("DROP TRIGGER audit_no_update")
        con.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT 1; END")
        con.commit()
        con.close()
    with pytest.raises(QueueError, match="differs from its definition"):
        ReviewQueue(path)


def test_queue_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    with ReviewQueue(path) as q:
        q.add_alert(alert(1, "a", "c", 12.0, 0.4, 1), at=T0)
        for f in (path, Path(f"{path}-wal")):
            assert stat.S_IMODE(os.stat(f).st_mode) == 0o600


@given(st.lists(st.text(max_size=40), max_size=6))
def test_reasons_are_read_back_as_written_or_refused_when_added(reasons: list[str]) -> None:
    # one codec for the writer and the reader: what is written reads back the same, and
    # what the reader would refuse is never written
    text = encode_reasons(reasons)
    if text is None:
        assert decode_reasons(json.dumps(reasons)) is None
    else:
        assert decode_reasons(text) == tuple(reasons)
