"""Moderator review 91: what a moderator reads in `riskscore score --top` and `riskscore
queue`, read as a child-safety moderator and a T&S lead would.

Each test failed on the code before its fix."""

from __future__ import annotations

import html
import json
import math
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import add_account, config, sign_in

import riskscore as rs
from riskscore._words import risk_text
from riskscore.cli import main, queue, score
from riskscore.model.scores import Reason
from riskscore.moderation import ReviewQueue, UserReport
from riskscore.policy import Alert, Tier
from riskscore.regulatory import cybertipline_drafts, decided_cases
from riskscore.serve import create_app

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def test_a_risk_of_0_9995_is_never_written_as_certainty() -> None:
    """Was: ``1.000`` (three decimals round 0.9995 up), a certainty no calibrated risk
    has, beside ``over 0.999`` for 0.9996."""
    assert risk_text(0.9995) == "over 0.999"
    assert risk_text(0.99949) == "0.999"


def test_queue_text_writes_a_risk_as_the_console_and_score_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``risk 1`` in `riskscore queue` (and 1.0 in its JSON) for an alert of risk
    0.99995 that `riskscore score` and the console show as ``over 0.999``: the case's
    dict rounded the risk to 4 decimals before it was worded."""
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as q:
        q.add_alert(Alert("c1", "a", "k", 14.0, "13-15", 0.99995, Tier.URGENT), at=T0)
    assert main(["queue", "--db", str(db), "--now", str(T0 + 60)]) == 0
    out = capsys.readouterr().out
    assert "conversation c1, risk over 0.999" in out
    assert "risk 1\n" not in out
    assert main(["queue", "--db", str(db), "--now", str(T0 + 60), "--json"]) == 0
    item = json.loads(capsys.readouterr().out)["top"][0]["items"][0]
    assert item["risk"] == 0.99995


def test_score_top_shows_both_ages_and_unknown_as_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Was: ``adult 7 -> child 9 (age 14, band 13-15)``: the adult's age, which with the
    child's makes the age gap a moderator weighs, was not shown, known or not."""
    base = {"conversation_id": 1, "adult_id": 7, "child_id": 9, "age_band": "13-15"}
    alerts = [
        {**base, "child_age": 14.0, "adult_age": 31.0, "risk": 0.97, "tier": "urgent"},
        {**base, "child_age": None, "adult_age": None, "risk": 0.6, "tier": "review"},
    ]
    result = {
        "conversations": 1, "events": 3, "quarantined": 0, "alerts": 2, "urgent": 1,
        "groups": [], "unread_columns": [], "account_features": "acc.parquet",
        "top": [{**a, "reasons": [], "facts": "adult age ..."} for a in alerts],
        "scores": "s", "alerts_file": "a",
        "shadow": None, "queue": None, "quarantine_file": None,
        "quarantine_counts": {},
    }  # fmt: skip
    score.render(result)
    out = capsys.readouterr().out
    # the adult's age in the facts below the header (review: each age once)
    assert "adult 7 -> child 9 (age 14, band 13-15)" in out
    # no age declared: the roles are the role rule's, said so (hostile review 66f)
    assert (
        "adult 7 -> child 9 (age unknown, band 13-15; who is older is assumed: the declared "
        "ages do not tell)"
    ) in out


def test_a_case_counts_its_childrens_reports_and_names_whose_reasons_it_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``user report from a child (age 15, age 9)`` for two reports by two children,
    and the model's reasons under the case with no word of which of its conversations
    (or which child) they describe."""
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        q.add_alert(Alert("c1", "a", "k1", 15.0, "13-15", 0.9, Tier.URGENT), at=T0)
        q.add_alert(Alert("c2", "a", "k2", math.nan, "unknown", 0.7, Tier.REVIEW), at=T0)
        for cid, child, age in (("c1", "k1", 15.0), ("c3", "k3", 9.0)):
            q.add_report(UserReport(cid, child, "a", age, timestamp=T0 + 10))
        case = q.case("a", now=T0 + 60)
    assert case is not None
    assert "2 user reports from 2 children (age 15, age 9)" in case.reasons
    assert (
        "urgent alert, risk 0.900 (band 13-15) in conversation c1 (child age 15): "
        "the case's model reasons are this alert's"
    ) in case.reasons
    queue.render({"decided": None, "open_cases": 1, "open_items": 4, "top": [case.to_dict()]})
    assert "child k2 (age unknown, band unknown)" in capsys.readouterr().out


def test_the_synapse_notice_gives_both_ages() -> None:
    """Was: ``Adult adult, child child, room ...``: the moderators' Matrix room notice gave
    the child's age band only, neither account's age (known or unknown)."""
    sinks = pytest.importorskip("riskscore.integrations._synapse_sinks", exc_type=ImportError)
    matrix = {"room_id": "!r:x", "channel": "direct", "event_room_id": "!r:x"}
    alert = Alert(
        7, "a", "k", 12.0, "under 13", 0.4, Tier.REVIEW, first_event_at=T0, last_event_at=T0
    )
    body = sinks.notice_body(alert, {"matrix": matrix})
    assert (  # one age declared: the roles are assumed, said so (hostile review 66f)
        "Adult a, child k (age 12; who is older is assumed: the declared ages do not tell), "
        "room !r:x (direct). Facts: adult age unknown"
    ) in body


def test_a_cybertipline_draft_counts_what_is_there_never_a_zero(tmp_path: Path) -> None:
    """Was: ``1 automated alert and 0 user reports about this account`` (and ``0 automated
    alerts and 1 user report``): an absence written as if it were a finding."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, 101, 201, 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.add_report(UserReport(2, 202, 102, 13.0, timestamp=T0))
        for adult in (101, 102):
            shown = q.case(adult, now=T0 + 60)
            assert shown is not None
            q.decide(adult, "escalated", moderator="m1", at=T0 + 60, token=shown.token)
        drafts = cybertipline_drafts(decided_cases(q.items()))
    texts = [d["report"]["personOrUserReported"]["additionalInfo"] for d in drafts]
    assert texts[0].startswith("1 automated alert about this account concerning 1 child")
    assert texts[1].startswith("1 user report about this account concerning 1 child")


def test_the_queue_page_shows_the_models_strongest_signal(tmp_path: Path) -> None:
    """Was: the console's queue page showed a case's first three reasons (the alert's tier,
    the youngest child, the wait), which repeat its columns, and never the signal that
    raised the alert, which the case lists after them."""
    cfg = config(tmp_path, rs.load_model())
    signal = Reason.of("secure_move_speed", math.exp(-0.5 / 24), 3.1)
    with ReviewQueue(cfg.db) as q:
        alert = Alert("c1", "a", "k", 12.0, "under 13", 0.9, Tier.URGENT, reasons=(signal,))
        q.add_alert(alert, at=int(time.time()) - 60)
    add_account(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        page = html.unescape(client.get("/console").text)
    assert str(signal) in page
    assert "urgent alert, risk 0.900 (band under 13) in conversation c1" in page
