"""Moderator review 53: a user report's item says the reported account's declared age.

Was: the queue keeps the reported account's declared age for a user report (the report
event's ``recipient_age``, the queue's ``adult_age``), and the CyberTipline drafts state it,
but the console's case page read ``none (a user report)`` in its column "Reported account
age and contact" (an absence, where the age was known: a 13-year-old reporting a
14-year-old, or a 46-year-old reporting a 95-year-old, in the synthetic set of seed 5), and
``riskscore queue`` gave no age of the reported account at all. Each test failed before
the fix.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import add_account, config, sign_in

import riskscore as rs
from riskscore.cli import main
from riskscore.moderation import ReviewQueue, UserReport
from riskscore.moderation.item_facts import item_facts, report_facts
from riskscore.moderation.queue_db import encode_id
from riskscore.serve import create_app

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def _queue(db: Path) -> None:
    with ReviewQueue(db, simulation=True) as q:
        q.add_report(UserReport("c1", "kid-1", "peer", 13.0, T0, reported_age=14.0))
        q.add_report(UserReport("c2", "kid-2", "grown", 12.0, T0 + 60, reported_age=45.0))
        q.add_report(UserReport("c3", "kid-3", "nobody", 12.0, T0 + 120))


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (45.0, "reported account age 45"),
        (14.0, "reported account age 14 (a minor)"),
        (math.nan, "reported account age unknown"),
        (None, "reported account age unknown"),
    ],
)
def test_a_reports_facts_name_the_reported_accounts_age(age: float | None, text: str) -> None:
    assert report_facts(age) == text


def test_the_queue_item_of_a_report_has_its_facts(tmp_path: Path) -> None:
    _queue(tmp_path / "q.sqlite")
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        facts = {i.adult_id: item_facts(i) for i in q.items()}
    assert facts == {
        "peer": "reported account age 14 (a minor)",
        "grown": "reported account age 45",
        "nobody": "reported account age unknown",
    }


def test_riskscore_queue_prints_the_reported_accounts_age(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _queue(tmp_path / "q.sqlite")
    assert main(["queue", "--db", str(tmp_path / "q.sqlite"), "--now", str(T0 + 600)]) == 0
    out = capsys.readouterr().out
    for text in (
        "reported account age 14 (a minor)",
        "reported account age 45",
        "reported account age unknown",
    ):
        assert f"\n       {text}\n" in out, out


def test_the_console_case_page_gives_the_reported_accounts_age(tmp_path: Path) -> None:
    cfg = config(tmp_path, rs.load_model())
    _queue(cfg.db)
    add_account(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        page = client.get("/console/cases/" + encode_id("peer")).text
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    assert "none (a user report)" not in text
    assert "reported account age 14 (a minor)" in text


def test_a_reporter_of_unknown_age_is_not_called_a_child(tmp_path: Path) -> None:
    """Was: ``child age unknown`` as the reason of a case that only a report by an account
    of no declared age names (synthetic seed 5, reported account 1001475): the reporter is
    counted among the case's possible children, but nothing says it is one."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_report(UserReport("c1", "someone", "x", math.nan, T0))
        q.add_report(UserReport("c2", "someone-else", "y", math.nan, T0))
        q.add_report(UserReport("c3", "another", "y", math.nan, T0))
        x, y = q.case("x", now=T0 + 60), q.case("y", now=T0 + 60)
    assert x is not None
    assert y is not None
    assert "child age unknown" not in x.reasons
    assert "reporter's age unknown: counted as a possible child" in x.reasons
    assert "reporters' ages unknown: counted as possible children" in y.reasons
