"""Moderator audit 77: the review queue and the console as a moderator and a lead use them.

Each test failed on the code before its fix."""

from __future__ import annotations

import io
import json
import math
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import _one_line_error
from fastapi.testclient import TestClient
from serve_helpers import add_account, config, sign_in

import riskscore as rs
from riskscore.cli import main
from riskscore.moderation import QueueError, ReviewQueue
from riskscore.moderation.queue_db import encode_id
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def _alert(cid: str, adult: object, child: str) -> Alert:
    return Alert(cid, adult, child, 12.0, "under 13", 0.9, Tier.URGENT)


def test_deciding_a_decided_item_says_who_decided_it_and_how(tmp_path: Path) -> None:
    """Was: "item 1 is not an open item of adult 'a' (decided already, or another case)":
    the second of two moderators shown one case could not tell whether a colleague had
    decided it, or what they decided, or whether the id was wrong."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        queue.add_alert(_alert("c1", "a", "k1"), at=T0)
        queue.add_alert(_alert("c2", "b", "k2"), at=T0)
        shown = queue.case("a", now=T0 + 60)
        assert shown is not None
        queue.decide("a", "escalated", moderator="mod-1", token=shown.token, at=T0 + 120)
        with pytest.raises(QueueError) as twice:
            queue.decide("a", "dismissed", moderator="mod-2", token=shown.token, at=T0 + 180)
        with pytest.raises(QueueError) as other:
            queue.decide("a", "dismissed", moderator="mod-2", item_ids=[2], at=T0 + 180)
        with pytest.raises(QueueError) as missing:
            queue.decide("a", "dismissed", moderator="mod-2", item_ids=[99], at=T0 + 180)
    assert (
        "it was decided already (escalated by mod-1 at 2026-01-01T00:02:00+00:00); "
        "nothing was recorded" in str(twice.value)
    )
    assert "it is an item of another case" in str(other.value)
    assert "there is no such item" in str(missing.value)


def test_a_second_decision_on_the_command_line_gets_no_text_id_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: deciding a numbered case a colleague had just decided added "--decide 1042 was
    read as the number 1042: give a text id quoted as JSON", sending the moderator after
    an id that was right. The hint stays for a text id that has a case."""
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as queue:
        queue.add_alert(_alert("c1", 1042, "k1"))
        token = queue.cases()[0].token
    decide = ["queue", "--db", str(db), "--top", "0", "--decide", "1042", "--token", token]
    assert main([*decide, "--outcome", "actioned", "--moderator", "mod-1"]) == 0
    capsys.readouterr()
    assert main([*decide, "--outcome", "dismissed", "--moderator", "mod-2"]) == 2
    err = _one_line_error(capsys, "queue")
    assert "decided already (actioned by mod-1 at " in err
    assert "read as the number" not in err


def test_case_page_says_how_long_the_case_waits_in_words(tmp_path: Path) -> None:
    """Was: the case page said "waiting 0.0 h" (or "waiting 3.0 h") above reasons that say
    "waiting 2 minutes" ("waiting 3 hours"), as `riskscore queue` does."""
    cfg = config(tmp_path, rs.load_model())
    with ReviewQueue(cfg.db) as queue:
        queue.add_alert(_alert("c1", "adult-a", "kid-1"), at=int(time.time()) - 3 * 3600)
    add_account(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        page = client.get("/console/cases/" + encode_id("adult-a")).text
    assert "1 child; waiting 3 hours." in page
    assert " h." not in page


def test_stream_into_a_queue_queues_a_childs_report_first_and_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore stream --queue` queued alerts only; a child's ``report`` event,
    which `riskscore serve` queues as a user report that jumps the queue, never reached a
    moderator working the queue a stream fills."""
    now = int(time.time()) - 3600
    events = [
        {"conversation_id": "c1", "timestamp": now + 60 * k, "sender_id": "adult-a",
         "recipient_id": "kid-1", "sender_age": 34.0, "recipient_age": 13.0,
         "channel": "direct"}
        for k in range(3)
    ]  # fmt: skip
    report = {**events[0], "timestamp": now + 600, "event": "report"}
    report.update(sender_id="kid-1", recipient_id="adult-a", sender_age=13.0, recipient_age=34.0)
    text = "".join(json.dumps(e) + "\n" for e in [*events, report])
    db = tmp_path / "q.sqlite"
    argv = ["stream", "--queue", str(db)]
    for _ in range(2):  # the same input again stores the report once
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        assert main(argv) == 0
    assert "and 1 user report" in capsys.readouterr().err
    with ReviewQueue(db, create=False) as queue:
        reports = queue.items()
        top = queue.top(1)
    assert [(i.kind, i.child_id, i.adult_id, i.concerns_child) for i in reports] == [
        ("user_report", "kid-1", "adult-a", True)
    ]
    assert reports[0].created_at == now + 600
    assert top[0].reasons[0] == "user report from a child (age 13)"


def test_accounts_reviewed_counts_only_accounts_a_moderator_reviewed(tmp_path: Path) -> None:
    """Was: the report's "accounts reviewed" counted every adult account with an item in
    the period, reviewed or not (27 on a queue where moderators had opened 4 cases)."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        for n in range(3):
            queue.add_alert(_alert(f"c{n}", f"adult-{n}", f"kid-{n}"), at=T0)
        queue.mark_reviewed("adult-0", moderator="mod-1", at=T0 + 60)
        queue.decide("adult-1", "dismissed", moderator="mod-1", item_ids=[2], at=T0 + 60)
        queue.mark_reviewed("adult-2", moderator="mod-1", at=T0 + 7200)  # after the end
        report = rs.transparency_report(queue, (T0, T0 + 3600), key=SYNTHETIC_DEMO_KEY, min_cell=0)
    assert report.data["cases"]["accounts_reviewed"] == 2
    assert "moderator had opened or decided by the end of the period" in report.to_markdown()


def test_an_unknown_console_address_is_a_console_page(tmp_path: Path) -> None:
    """Was: ``/console/case/1`` (a typo, an old bookmark) answered ``{"detail":"Not
    Found"}``, a bare JSON error without the console's headers or a way back."""
    cfg = config(tmp_path, rs.load_model())
    add_account(cfg.db)
    with TestClient(create_app(cfg)) as client:
        signed_out = client.get("/console/case/1", follow_redirects=False)
        assert signed_out.status_code == 303  # to the sign-in, as every page
        assert sign_in(client, "mod-1") == 303
        page = client.get("/console/case/1")
        assert client.get("/console/", follow_redirects=False).status_code in (303, 307)
    assert page.status_code == 404
    assert "No such page" in page.text
    assert 'href="/console/queue"' in page.text
    assert page.headers["x-frame-options"] == "DENY"


def test_queue_page_does_not_promise_urgent_before_review(tmp_path: Path) -> None:
    """Was: the queue page said "urgent before review, younger children first, then
    waiting time", but the queue adds them up: a review alert about a child of 5 ranks
    above an urgent alert about a 17-year-old, and a moderator reading the page would
    think the order wrong. The page now says how the score ranks them."""
    cfg = config(tmp_path, rs.load_model())
    now = int(time.time())
    with ReviewQueue(cfg.db) as queue:
        queue.add_alert(Alert("c1", "older", "k17", 17.0, "16-17", 0.93, Tier.URGENT), at=now)
        queue.add_alert(Alert("c2", "younger", "k5", 5.0, "under 13", 0.74, Tier.REVIEW), at=now)
        assert [c.adult_id for c in queue.cases()] == ["younger", "older"]
    add_account(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        page = " ".join(client.get("/console/queue").text.split())
    assert "urgent before review" not in page
    assert "a review alert about a young child, or one that has waited days, can rank" in page


def test_report_summary_says_how_user_reports_ended_and_times_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore report` printed "user reports received 2" with no outcome (the
    alerts' line has them) and "time to decision hours: median 1.5, 90th percentile
    2.7", numbers without units in a sentence."""
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db, simulation=True) as queue:
        queue.add_alert(_alert("c1", "a", "k1"), at=T0)
        queue.add_report(rs.UserReport("c2", "k2", "b", 13.0, timestamp=T0))
        queue.add_report(rs.UserReport("c3", "p3", "d", 41.0, timestamp=T0))
        queue.decide("a", "actioned", moderator="m", item_ids=[1], at=T0 + 3600)
        queue.decide("b", "escalated", moderator="m", item_ids=[2], at=T0 + 3 * 3600)
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    argv = ["report", "--db", str(db), "--out", str(tmp_path / "r"), "--no-charts"]
    assert main([*argv, "--start", "2026-01-01", "--end", "2026-01-01", "--min-cell=0"]) == 0
    out = capsys.readouterr().out
    assert (
        "user reports received 2 (1 from children): actioned 0, dismissed 0, escalated 1, open 1"
        in out
    )
    assert "time to decision: median 2 hours, 90th percentile 2.8 hours" in out


def test_queue_lists_which_item_is_which_child(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore queue` printed a case's item ids ("items [2, 1]") and the reasons of
    its strongest alert only: a moderator deciding some items with --items could not
    tell which item was which child, age band or tier; its JSON had no band or reasons."""
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as queue:
        queue.add_alert(_alert("c1", "a", "k1"))
        queue.add_alert(Alert("c2", "a", "k2", math.nan, "unknown", 0.5, Tier.REVIEW))
        queue.add_report(rs.UserReport("c3", "p3", "a", 41.0, timestamp=int(time.time())))
    assert main(["queue", "--db", str(db), "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "item 1: urgent alert, child k1 (age 12, band under 13), conversation c1" in out
    assert "item 2: review alert, child k2 (age unknown, band unknown), conversation c2" in out
    assert "item 3: user report by p3 (age 41, band 18+), conversation c3, risk 0" in out
    assert main(["queue", "--db", str(db), "--top", "1", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)["top"][0]["items"]
    assert {i["item_id"]: i["age_band"] for i in items} == {1: "under 13", 2: "unknown", 3: "18+"}
    assert [i["reasons"] for i in items if i["kind"] == "user_report"] == [["user report"]]
