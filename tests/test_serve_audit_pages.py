"""The console's audit page reads one page of the audit log (keyset by entry id), never
the whole log; a removed moderator's cases are released, in the assignment log. Was: the
page loaded every entry ever written to keep the latest 500; the cases of a removed
moderator still read as assigned to them on the queue and case pages (review serve63)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, PASSWORD, config, csrf_token, sign_in

import riskscore as rs
from riskscore.moderation import ReviewQueue
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore

ENTRY = re.compile(r"<tr><td>(\d+)</td>")


@pytest.fixture
def lead(tmp_path: Path) -> Iterator[TestClient]:
    cfg = config(tmp_path, rs.load_model())
    with ReviewQueue(cfg.db) as q:
        for n in range(4):
            q.add_alert(
                Alert(f"c{n}", f"adult-{n}", f"kid-{n}", 12.0, "under 13", 0.9, Tier.URGENT)
            )
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("lead-1", "lead", PASSWORD)
    store.add("mod-1", "moderator", PASSWORD)
    store.close()
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "lead-1") == 303
        yield client


def test_the_audit_page_shows_entries_before_the_one_given(lead: TestClient) -> None:
    first = lead.get("/console/audit").text
    assert ENTRY.findall(first.split('id="assignments"')[0]) == ["4", "3", "2", "1"]
    assert "Older entries" not in first  # fewer than a page
    older = lead.get("/console/audit?before=3").text
    assert ENTRY.findall(older.split('id="assignments"')[0]) == ["2", "1"]
    # anything but an entry id is refused, naming it (was read from the newest)
    refused = lead.get("/console/audit?before=x")
    assert refused.status_code == 400
    assert "query parameter &#39;before&#39; must be a whole number" in refused.text


def test_audit_pages_are_keyset_pages(tmp_path: Path) -> None:
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        for n in range(5):
            q.add_alert(
                Alert(n, f"a{n}", "k", 12.0, "under 13", 0.9, Tier.URGENT), at=1_767_225_600 + n
            )
        pages, before = [], None
        while page := q.audit_page(before=before, limit=2):
            pages.append([e.entry_id for e in page])
            before = page[-1].entry_id
        assert pages == [[5, 4], [3, 2], [1]]
        assert [e.entry_id for e in q.audit_log()[::-1]] == [5, 4, 3, 2, 1]
        with pytest.raises(ValueError, match="limit must be"):
            q.audit_page(limit=0)


def test_a_removed_moderators_cases_are_released(lead: TestClient) -> None:
    case = "/console/cases/" + encode_id("adult-1")
    form = {"moderator": "mod-1", "csrf_token": csrf_token(lead.get(case).text)}
    assert lead.post(case + "/assign", data=form, follow_redirects=False).status_code == 303
    assert "Assigned to mod-1." in lead.get(case).text
    db = lead.app.state.config.db  # type: ignore[attr-defined]
    store = ModeratorStore(db, hasher=CHEAP_HASHER)
    store.remove("mod-1", by="lead-1")
    assert store.assignments() == {}
    released = store.assignment_log()[0]
    assert (released.adult_id, released.moderator, released.assigned_by) == (
        encode_id("adult-1"),
        "",
        "lead-1",
    )
    store.close()
    assert "Assigned to" not in lead.get(case).text
    assert "mod-1" not in lead.get("/console/queue").text
    audit = lead.get("/console/audit").text
    assert "(released: account removed)" in audit.split('id="accounts"')[0]
