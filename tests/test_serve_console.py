"""``riskscore serve``'s moderator console, through an HTTP test client."""

from __future__ import annotations

import html
import io
import json
import re
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, PASSWORD, config, csrf_token, sign_in

import riskscore as rs
from riskscore.cli import main
from riskscore.moderation import QueueError, ReviewQueue, UserReport
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore
from riskscore.serve.security import CSRF_COOKIE

CASE_TOKEN = re.compile(r'name="token" value="([^"]+)"')
NOW = 1_750_000_000


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _seed(db: Path) -> None:
    """Three cases: an urgent alert (age 15), a review alert (age 11), a child's report."""
    with ReviewQueue(db) as q:
        q.add_alert(Alert("c1", "adult-a", "kid-1", 15.0, "13-15", 0.9, Tier.URGENT), at=NOW)
        q.add_alert(Alert("c2", "adult-b", "kid-2", 11.0, "under 13", 0.5, Tier.REVIEW), at=NOW)
        q.add_report(UserReport("c3", "kid-3", "adult-c", 14.0, timestamp=NOW))
    store = ModeratorStore(db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD)
    store.add("lead-1", "lead", PASSWORD)
    store.close()


def seeded_client(tmp_path: Path, model: rs.RiskModel) -> Iterator[TestClient]:
    """A client of the service of :func:`_seed`'s three cases and two accounts (sign-in
    limit 3)."""
    cfg = config(tmp_path, model, signin_attempts=3)
    _seed(cfg.db)
    with TestClient(create_app(cfg)) as client:
        yield client


@pytest.fixture
def app_client(tmp_path: Path, model: rs.RiskModel) -> Iterator[TestClient]:
    yield from seeded_client(tmp_path, model)


def _case_url(adult: object) -> str:
    return "/console/cases/" + encode_id(adult)


def test_pages_need_a_signed_in_moderator(app_client: TestClient) -> None:
    for path in ("/console/queue", _case_url("adult-a"), "/console/audit", "/console/report"):
        r = app_client.get(path, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/console/signin"


def test_sign_in_sets_an_httponly_samesite_session(app_client: TestClient) -> None:
    page = app_client.get("/console/signin")
    form = {"name": "mod-1", "password": PASSWORD, "csrf_token": csrf_token(page.text)}
    r = app_client.post("/console/signin", data=form, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "riskscore_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert app_client.get("/console/queue").status_code == 200


def test_secure_cookies_by_default(tmp_path: Path, model: rs.RiskModel) -> None:
    cfg = config(tmp_path, model, secure_cookies=True)
    with TestClient(create_app(cfg)) as client:
        assert "Secure" in client.get("/console/signin").headers["set-cookie"]


def test_wrong_password_and_rate_limit(app_client: TestClient) -> None:
    assert sign_in(app_client, "mod-1", "wrong password 1") == 401
    assert sign_in(app_client, "mod-1", "wrong password 2") == 401
    assert sign_in(app_client, "nobody", "wrong password 3") == 401
    # three failures from this address: even the right password waits now
    assert sign_in(app_client, "lead-1") == 429
    assert app_client.get("/console/queue", follow_redirects=False).status_code == 303


def test_a_form_without_or_with_a_forged_csrf_token_is_refused(app_client: TestClient) -> None:
    app_client.get("/console/signin")
    form = {"name": "mod-1", "password": PASSWORD}
    assert app_client.post("/console/signin", data=form).status_code == 403
    forged = {**form, "csrf_token": "forged"}
    assert app_client.post("/console/signin", data=forged).status_code == 403
    assert sign_in(app_client, "mod-1") == 303
    case = app_client.get(_case_url("adult-a"))
    token = CASE_TOKEN.search(case.text)
    assert token is not None
    decision = {"outcome": "dismissed", "token": token.group(1), "note": ""}
    r = app_client.post(_case_url("adult-a") + "/decide", data=decision)
    assert r.status_code == 403
    # a token from another browser (another CSRF cookie) is refused too
    other = csrf_token(case.text)
    session = app_client.cookies.get("riskscore_session")
    app_client.cookies.clear()
    app_client.cookies.set("riskscore_session", session or "")
    app_client.cookies.set(CSRF_COOKIE, "another-browser")
    r = app_client.post(_case_url("adult-a") + "/decide", data={**decision, "csrf_token": other})
    assert r.status_code == 403
    with ReviewQueue(app_client.app.state.config.db) as q:  # type: ignore[attr-defined]
        assert len(q) == 3


def test_queue_page_ranks_as_the_queue_does(app_client: TestClient) -> None:
    assert sign_in(app_client, "mod-1") == 303
    html = app_client.get("/console/queue").text
    shown = re.findall(r'class="case-link">([^<]+)<', html)
    with ReviewQueue(app_client.app.state.config.db) as q:  # type: ignore[attr-defined]
        ranked = [c.adult_id for c in q.cases()]
    assert shown == ranked
    # the child's report first; at lower tier, the younger child's alert is still listed
    assert shown[0] == "adult-c"


def test_queue_and_case_pages_write_counts_by_the_one_rule(app_client: TestClient) -> None:
    """Was: the queue's Items column showed ``<built-in method items of dict object at
    0x...>`` (Jinja read ``row.items`` as the dict's method), and the pages wrote ``3 open
    case(s)``, ``1 open item(s) about 1 child(ren)`` where the command line writes
    ``1 open item``."""
    assert sign_in(app_client, "mod-1") == 303
    html = app_client.get("/console/queue").text
    assert "built-in method" not in html
    assert "<caption>3 open cases</caption>" in html
    cells = re.findall(r"<td>(\d+)</td>\s*<td>(\d+)</td>\s*<td>(\d+)</td>", html)
    assert [(children, items) for _, children, items in cells] == [("1", "1")] * 3
    case = app_client.get(_case_url("adult-a")).text
    assert "1 open item about\n1 child;" in case
    assert "Outcome for the 1 item shown above" in case
    assert "(s)" not in case
    assert "(ren)" not in case


def test_reasons_stored_in_the_earlier_wording_are_shown_marked(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the exports re-worded and marked a reason a queue stored in riskscore's
    earlier wording (hostile review 48), but the case page showed it as stored, unmarked,
    beside reasons in the current wording. Now it reads as the exports quote it."""
    earlier = (
        "contact at night in the child's local time: 62 % (+1.40); risk assessment: contact "
        "when the child is less likely to be supervised"
    )
    own = "a note the platform's own queue stored"
    cfg = config(tmp_path, model)
    _seed(cfg.db)
    with closing(sqlite3.connect(cfg.db)) as con, con:
        con.execute("DROP TRIGGER items_audited")  # an earlier riskscore wrote the row
        con.execute(
            "UPDATE items SET reasons = ? WHERE kind = 'alert'", (json.dumps([earlier, own]),)
        )
    with ReviewQueue(cfg.db):  # recreates the trigger, as a riskscore of today opens it
        pass
    marked = (
        "share of contact at night in the child's local time: 62 % (+1.40), as recorded in "
        "riskscore's earlier wording. Why it can matter: risk assessment"
    )
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        text = html.unescape(client.get(_case_url("adult-a")).text)
    assert text.count(marked) == 2  # among the case's reasons and its item's
    assert own in text  # a platform's own text is its moderators' to read
    assert "contact at night in the child's local time: 62 % (+1.40);" not in text


def test_case_page_decide_only_the_items_shown_and_the_audit_entry(
    app_client: TestClient,
) -> None:
    assert sign_in(app_client, "mod-1") == 303
    case = app_client.get(_case_url("adult-a"))
    assert case.status_code == 200
    assert "<svg" in case.text
    assert "kid-1" in case.text
    shown = CASE_TOKEN.search(case.text)
    assert shown is not None
    db = app_client.app.state.config.db  # type: ignore[attr-defined]
    with ReviewQueue(db) as q:  # a new conversation of the same adult arrives meanwhile
        q.add_alert(Alert("c9", "adult-a", "kid-9", 12.0, "under 13", 0.6, Tier.REVIEW))
    decision = {
        "outcome": "actioned",
        "token": shown.group(1),
        "note": "account restricted",
        "csrf_token": csrf_token(case.text),
    }
    r = app_client.post(_case_url("adult-a") + "/decide", data=decision, follow_redirects=False)
    assert r.status_code == 303
    assert "Decision recorded on 1 item" in app_client.get(r.headers["location"]).text
    with ReviewQueue(db) as q:
        still_open = [i.conversation_id for i in q.items(status="open") if i.adult_id == "adult-a"]
        decided = [e for e in q.audit_log() if e.action == "decide"]
    assert still_open == ["c9"]
    assert [(e.actor, e.detail["outcome"], e.detail["note"]) for e in decided] == [
        ("mod-1", "actioned", "account restricted")
    ]
    # the same token again: its items are closed, the page says so (not a 500)
    again = app_client.post(_case_url("adult-a") + "/decide", data=decision)
    assert again.status_code == 409
    assert "reload the case" in again.text


def test_a_stale_case_is_refused(app_client: TestClient) -> None:
    assert sign_in(app_client, "mod-1") == 303
    case = app_client.get(_case_url("adult-b"))
    shown = CASE_TOKEN.search(case.text)
    assert shown is not None
    with ReviewQueue(app_client.app.state.config.db) as q:  # type: ignore[attr-defined]
        q.add_alert(Alert("c2", "adult-b", "kid-2", 11.0, "under 13", 0.55, Tier.REVIEW))
    decision = {
        "outcome": "dismissed",
        "token": shown.group(1),
        "csrf_token": csrf_token(case.text),
    }
    r = app_client.post(_case_url("adult-b") + "/decide", data=decision)
    assert r.status_code == 409
    assert "changed since the case was shown" in r.text


def test_moderators_cannot_reach_lead_pages_leads_can(app_client: TestClient) -> None:
    assert sign_in(app_client, "mod-1") == 303
    assert app_client.get("/console/audit").status_code == 403
    case = app_client.get(_case_url("adult-a"))
    form = {"moderator": "mod-1", "csrf_token": csrf_token(case.text)}
    assert app_client.post(_case_url("adult-a") + "/assign", data=form).status_code == 403
    app_client.cookies.clear()
    assert sign_in(app_client, "lead-1") == 303
    case = app_client.get(_case_url("adult-a"))
    form = {"moderator": "mod-1", "csrf_token": csrf_token(case.text)}
    r = app_client.post(_case_url("adult-a") + "/assign", data=form)
    assert r.status_code == 200
    assert "Assigned to mod-1" in r.text
    audit = app_client.get("/console/audit")
    assert audit.status_code == 200
    assert "review" in audit.text  # opening a case is audited as its first review
    assert "lead-1" in audit.text


def test_report_page_pseudonymises(tmp_path: Path, model: rs.RiskModel) -> None:
    key = b"0f3c9a7e-platform-secret-b81d44e2-6a15c0de"  # the demo key: simulated queues only
    cfg = config(tmp_path, model, report_key=key)
    _seed(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        r = client.get("/console/report", params={"from": "2025-06-01", "to": "2025-06-30"})
        assert r.status_code == 200
        assert 'id="report"' in r.text
        assert "adult-a" not in r.text
        assert client.get("/console/report", params={"from": "junk"}).status_code == 400


def test_trusted_header_mode(tmp_path: Path, model: rs.RiskModel) -> None:
    cfg = config(tmp_path, model, trusted_header="X-Remote-User")
    _seed(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert client.get("/console/queue", headers={"X-Remote-User": "lead-1"}).status_code == 200
        assert client.get("/console/queue", headers={"X-Remote-User": "nobody"}).status_code == 403
        r = client.get("/console/audit", headers={"X-Remote-User": "mod-1"})
        assert r.status_code == 403
        # the proxy is the one way in: no password form, no password checked
        page = client.get("/console/signin")
        assert page.status_code == 403
        assert "single sign-on (the X-Remote-User header)" in page.text
        form = {"name": "mod-1", "password": PASSWORD}
        posted = client.post("/console/signin", data=form, follow_redirects=False)
        assert posted.status_code == 403
        assert "takes no passwords" in posted.text
        assert "riskscore_session" not in client.cookies


def test_add_moderator_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "queue.sqlite"
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["serve", "--db", str(db), "--add-moderator", "mod:4711", "--role", "lead"]) == 0
    store = ModeratorStore(db)
    found = store.verify("mod:4711", PASSWORD)
    store.close()
    assert found is not None
    assert found.is_lead
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["serve", "--db", str(db), "--add-moderator", "mod:2"]) == 2


def test_remove_moderator_command_ends_sessions_and_is_audited(
    app_client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    db = app_client.app.state.config.db  # type: ignore[attr-defined]
    assert sign_in(app_client, "mod-1") == 303
    assert app_client.get("/console/queue").status_code == 200
    old_session = app_client.cookies.get("riskscore_session")
    remove = ["serve", "--db", str(db), "--remove-moderator"]
    assert main([*remove, "mod-1", "--by", "lead-1"]) == 0
    assert capsys.readouterr().out == f"moderator mod-1 (moderator) removed from {db}\n"
    # the session signed before the removal ends at once; signing in again is refused
    assert app_client.get("/console/queue", follow_redirects=False).status_code == 303
    assert sign_in(app_client, "mod-1") == 401
    # unknown, already removed, and the last lead: one line each, exit code 2
    for name, message in (
        ("nobody", f"no active moderator account 'nobody' in {db}"),
        ("mod-1", f"no active moderator account 'mod-1' in {db}"),
        ("lead-1", "'lead-1' is the last active lead and cannot be removed; add another lead "
         "first (riskscore serve --add-moderator NAME --role lead)"),
    ):  # fmt: skip
        assert main([*remove, name]) == 2
        assert capsys.readouterr().err == f"riskscore serve: error: {message}\n"
    # the lead's audit page lists the removal, and who made it; mod-1 is no longer assignable
    app_client.cookies.clear()
    assert sign_in(app_client, "lead-1") == 303
    audit = app_client.get("/console/audit").text
    table = audit[audit.index('id="accounts"') :]
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>"
                      r"<td>([^<]*)</td></tr>", table)  # fmt: skip
    assert rows[0] == ("mod-1", "remove", "moderator", "lead-1")
    case = app_client.get(_case_url("adult-a"))
    assert 'value="mod-1"' not in case.text
    form = {"moderator": "mod-1", "csrf_token": csrf_token(case.text)}
    assert app_client.post(_case_url("adult-a") + "/assign", data=form).status_code == 422
    # added back, the account signs in anew; the session from before the removal stays void
    store = ModeratorStore(db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD, by="lead-1")
    assert [(c.action, c.moderator) for c in store.account_log()][:2] == [
        ("add", "mod-1"),
        ("remove", "mod-1"),
    ]
    store.close()
    app_client.cookies.clear()
    app_client.cookies.set("riskscore_session", old_session or "")
    assert app_client.get("/console/queue", follow_redirects=False).status_code == 303
    assert sign_in(app_client, "mod-1") == 303


def test_the_last_lead_cannot_be_demoted_and_a_removed_sso_user_is_refused(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    cfg = config(tmp_path, model, trusted_header="X-Remote-User")
    _seed(cfg.db)
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    with pytest.raises(QueueError, match="'lead-1' is the last active lead and cannot be made"):
        store.add("lead-1", "moderator", PASSWORD)
    store.add("lead-2", "lead", None)
    store.add("lead-1", "moderator", None)  # another lead remains: allowed
    with TestClient(create_app(cfg)) as client:
        assert client.get("/console/queue", headers={"X-Remote-User": "mod-1"}).status_code == 200
        store.remove("mod-1")
        assert client.get("/console/queue", headers={"X-Remote-User": "mod-1"}).status_code == 403
    assert store.names() == ["lead-1", "lead-2"]
    store.close()


def test_add_and_remove_moderator_together_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--db", str(tmp_path / "q.sqlite"), "--add-moderator", "a",
            "--remove-moderator", "b"]  # fmt: skip
    assert main(argv) == 2
    assert "not both" in capsys.readouterr().err
    missing = tmp_path / "none.sqlite"
    assert main(["serve", "--db", str(missing), "--remove-moderator", "b"]) == 2
    assert not missing.exists()


def test_queue_page_youngest_child_is_the_queues_own(tmp_path: Path, model: rs.RiskModel) -> None:
    """Was: the Youngest child column took the lowest age of any item, so a case reported by
    adults only showed the reporter's age (26) where the command line says "reported by adults
    only: no child account", and an adult reporter's age stood in for a child of unknown age.
    The case page listed that reporter under "Child account" with nothing to say otherwise."""
    cfg = config(tmp_path, model)
    with ReviewQueue(cfg.db) as q:
        q.add_report(UserReport("c4", "parent-1", "adult-d", 26.0, timestamp=NOW))
        q.add_alert(Alert("c5", "adult-e", "kid-5", float("nan"), "unknown", 0.9, Tier.URGENT))
        q.add_report(UserReport("c6", "parent-2", "adult-e", 30.0, timestamp=NOW))
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD)
    store.close()
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        html = client.get("/console/queue").text
        case = client.get(_case_url("adult-d")).text
    # the case page's Child account column names the adult reporter as such
    assert "<td>parent-1 (the reporter, an adult)</td>" in case
    # adult account, then (after the tier) the youngest child
    row = r'class="case-link">([^<]+)</a>(?: \([^)]*\))?</td>\s*<td[^>]*>[^<]*</td>\s*<td>([^<]*)<'
    rows = re.findall(row, html)
    assert dict(rows) == {"adult-d": "none", "adult-e": "unknown"}
