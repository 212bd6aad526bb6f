"""The console's access log: sign-ins (and refusals), sign-outs and case pages opened."""

from __future__ import annotations

import html
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import cast

import pytest
from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, PASSWORD, config, csrf_token, sign_in

import riskscore as rs
from riskscore.moderation import QueueError, ReviewQueue, UserReport
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve import ServeConfig, create_app, plot
from riskscore.serve.accounts import ModeratorStore
from riskscore.serve.config import Part
from riskscore.serve.plot import Timeline

NOW = 1_750_000_000
#: What a user might type into the name field: their password. Never stored.
TYPED = "Tr0ub4dor&3-typed-in-the-name-field"


def _config(tmp: Path, **changes: object) -> ServeConfig:
    """A console-only process (no scorer, so no model to load) on a seeded queue."""
    cfg = config(tmp, cast(rs.RiskModel, None), part=Part.CONSOLE, **changes)
    with ReviewQueue(cfg.db) as q:
        q.add_alert(Alert("c1", "adult-a", "kid-1", 15.0, "13-15", 0.9, Tier.URGENT), at=NOW)
        q.add_report(UserReport("c3", "kid-3", "adult-c", 14.0, timestamp=NOW))
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD)
    store.add("lead-1", "lead", PASSWORD)
    store.add("sso-1", "moderator", None)
    store.close()
    return cfg


@pytest.fixture(autouse=True)
def _no_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Case pages without their matplotlib plots (a fifth of a second each), not tested here."""
    empty = Timeline(svg="<svg></svg>", summary="", n_events=0, channel_moves=0)
    monkeypatch.setattr(plot, "timeline_svg", lambda *_, **__: empty)


@pytest.fixture
def cfg(tmp_path: Path) -> ServeConfig:
    return _config(tmp_path)


@pytest.fixture
def client(cfg: ServeConfig) -> Iterator[TestClient]:
    with TestClient(create_app(cfg)) as client:
        yield client


def _sign_out(client: TestClient) -> int:
    form = {"csrf_token": csrf_token(client.get("/console/queue").text)}
    return client.post("/console/signout", data=form, follow_redirects=False).status_code


def _log(cfg: ServeConfig) -> list[tuple[str | None, str, str | None]]:
    """(moderator, action, detail) of every access entry, oldest first."""
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    try:
        return [(e.moderator, e.action, e.detail) for e in store.access_log()][::-1]
    finally:
        store.close()


def test_sign_in_case_opened_and_sign_out_each_leave_one_entry(
    cfg: ServeConfig, client: TestClient
) -> None:
    before = int(time.time())
    assert sign_in(client, "mod-1") == 303
    assert client.get("/console/queue").status_code == 200  # not an access entry
    assert client.get("/console/cases/" + encode_id("adult-a")).status_code == 200
    assert _sign_out(client) == 303
    after = int(time.time())
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    entries = store.access_log()[::-1]
    store.close()
    assert [(e.moderator, e.action, e.detail) for e in entries] == [
        ("mod-1", "sign-in", None),
        ("mod-1", "open case", encode_id("adult-a")),
        ("mod-1", "sign-out", None),
    ]
    assert all(before <= e.at <= after for e in entries)
    assert [e.entry_id for e in entries] == sorted(e.entry_id for e in entries)
    # signing out again with the void cookie, or with none, ends no session: no entry
    client.cookies.delete("riskscore_session")
    assert sign_in(client, "mod-1") == 303
    stale = client.cookies.get("riskscore_session")
    assert _sign_out(client) == 303
    client.cookies.set("riskscore_session", stale or "", path="/console")
    form = {"csrf_token": csrf_token(client.get("/console/signin").text)}
    assert client.post("/console/signout", data=form, follow_redirects=False).status_code == 303
    assert [a for _, a, _ in _log(cfg)][3:] == ["sign-in", "sign-out"]


def test_a_sign_in_refused_by_the_rate_limiter_leaves_no_entry(tmp_path: Path) -> None:
    cfg = _config(tmp_path, signin_attempts=1)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1", "wrong password 1") == 401
        assert sign_in(client, "mod-1") == 429  # refused before any check: not logged
    assert _log(cfg) == [("mod-1", "sign-in refused", None)]


def test_refused_sign_in_is_logged_by_name_only_for_an_existing_account(
    cfg: ServeConfig,
) -> None:
    with TestClient(create_app(cfg)) as client:  # closed: the WAL is folded into the file
        assert sign_in(client, "mod-1", "wrong password 1") == 401
        assert sign_in(client, TYPED, PASSWORD) == 401
        assert sign_in(client, "sso-1", PASSWORD) == 401  # an account without a password
    assert _log(cfg) == [
        ("mod-1", "sign-in refused", None),
        (None, "sign-in refused", None),
        ("sso-1", "sign-in refused", None),
    ]
    files = [p for p in cfg.db.parent.iterdir() if p.name.startswith(cfg.db.name)]
    assert cfg.db in files
    for path in files:  # the queue, and any -wal or -shm beside it
        data = path.read_bytes()
        assert TYPED.encode() not in data, path
        assert PASSWORD.encode() not in data, path
        assert b"wrong password" not in data, path


def test_access_log_is_append_only_and_added_to_an_existing_file(cfg: ServeConfig) -> None:
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.log_access("mod-1", "open case", encode_id("adult-a"))
    store.close()
    con = sqlite3.connect(cfg.db)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("UPDATE access_log SET moderator = 'lead-1'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("DELETE FROM access_log")
        with pytest.raises(sqlite3.IntegrityError):
            con.execute("INSERT INTO access_log (at, moderator, action) VALUES (1, 'mod-1', 'x')")
        # a file from before the access log (table and triggers gone) gains it on open
        con.execute("DROP TABLE access_log")
        con.commit()
    finally:
        con.close()
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    assert store.access_log() == []
    store.log_access("lead-1", "sign-in")
    store.close()
    with ReviewQueue(cfg.db) as q:  # still a queue's file
        assert len(q) == 2
    con = sqlite3.connect(cfg.db)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("DELETE FROM access_log")
    finally:
        con.close()


def test_only_account_names_are_stored(cfg: ServeConfig) -> None:
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    try:
        store.log_access(TYPED, "sign-in refused")
        with pytest.raises(QueueError):
            store.log_access(TYPED, "sign-in")  # a sign-in needs an account
        with pytest.raises(QueueError):
            store.log_access("mod-1", "looked around")
        assert [(e.moderator, e.action) for e in store.access_log()] == [(None, "sign-in refused")]
    finally:
        store.close()


def test_audit_page_lists_access_for_leads_only(cfg: ServeConfig, client: TestClient) -> None:
    assert sign_in(client, TYPED) == 401
    assert sign_in(client, "mod-1") == 303
    assert client.get("/console/cases/" + encode_id("adult-a")).status_code == 200
    assert client.get("/console/audit").status_code == 403
    assert _sign_out(client) == 303
    assert sign_in(client, "lead-1") == 303
    page = client.get("/console/audit")
    assert page.status_code == 200
    table = page.text[page.text.index('id="access"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr><td>[^<]+</td><td>([^<]*)</td><td>([^<]*)</td>", table)
    assert rows == [
        ("lead-1", "sign-in"),
        ("mod-1", "sign-out"),
        ("mod-1", "open case"),
        ("mod-1", "sign-in"),
        ("(unknown name)", "sign-in refused"),
    ]
    assert encode_id("adult-a") in html.unescape(table)
    assert TYPED not in page.text


def test_a_case_shown_again_by_a_refused_decision_is_logged(
    cfg: ServeConfig, client: TestClient
) -> None:
    assert sign_in(client, "mod-1") == 303
    case = client.get("/console/cases/" + encode_id("adult-a"))
    shown = re.search(r'name="token" value="([^"]+)"', case.text)
    assert shown is not None
    with ReviewQueue(cfg.db) as q:  # a new signal: the case changed since it was shown
        q.add_alert(Alert("c1", "adult-a", "kid-1", 15.0, "13-15", 0.95, Tier.URGENT))
    decision = {
        "outcome": "dismissed",
        "token": shown.group(1),
        "csrf_token": csrf_token(case.text),
    }
    r = client.post("/console/cases/" + encode_id("adult-a") + "/decide", data=decision)
    assert r.status_code == 409  # refused, and the case shown again as it is now
    assert 'name="token"' in r.text
    key = encode_id("adult-a")
    assert _log(cfg)[1:] == [("mod-1", "open case", key), ("mod-1", "open case", key)]


def test_trusted_header_case_views_are_logged(tmp_path: Path) -> None:
    cfg = _config(tmp_path, trusted_header="X-Remote-User")
    url = "/console/cases/" + encode_id("adult-c")
    with TestClient(create_app(cfg)) as client:
        assert client.get(url, headers={"X-Remote-User": "sso-1"}).status_code == 200
        # opened from another site: no review in the moderator's name, but the case was
        # shown to this account, and a client could send any Sec-Fetch-Site to hide a view
        cross = {"X-Remote-User": "lead-1", "Sec-Fetch-Site": "cross-site"}
        assert client.get(url, headers=cross).status_code == 200
        assert client.get(url, headers={"X-Remote-User": "nobody"}).status_code == 403
        missing = "/console/cases/" + encode_id("adult-z")
        assert client.get(missing, headers={"X-Remote-User": "sso-1"}).status_code == 404
    key = encode_id("adult-c")
    assert _log(cfg) == [("sso-1", "open case", key), ("lead-1", "open case", key)]


def test_a_transparency_report_made_is_logged_with_its_period(tmp_path: Path) -> None:
    key = b"0f3c9a7e-platform-secret-b81d44e2-6a15c0de"  # the demo key: simulated queues only
    cfg = _config(tmp_path, report_key=key)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        period = {"from": "2025-06-01", "to": "2025-06-30"}
        assert 'id="report"' in client.get("/console/report", params=period).text
        assert client.get("/console/report", params={"from": "junk"}).status_code == 400
    # the export, by whom and for which days; the refused query made no report
    assert _log(cfg)[1:] == [("mod-1", "report", "2025-06-01..2025-06-30")]


def test_an_access_log_of_an_earlier_riskscore_is_rebuilt_with_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "queue.sqlite"
    ModeratorStore(db, hasher=CHEAP_HASHER).close()
    with sqlite3.connect(db) as con:  # the table as riskscore made it before 'report'
        con.execute("DROP TABLE access_log")
        con.execute(
            "CREATE TABLE access_log (entry_id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER "
            "NOT NULL, moderator TEXT, action TEXT NOT NULL CHECK (action IN ('sign-in', "
            "'sign-in refused', 'sign-out', 'open case')), detail TEXT, CHECK (moderator IS "
            "NOT NULL OR action = 'sign-in refused'), CHECK ((action = 'open case') = "
            "(detail IS NOT NULL)))"
        )
        con.execute("INSERT INTO access_log VALUES (7, 100, NULL, 'sign-in refused', NULL)")
    con.close()
    store = ModeratorStore(db, hasher=CHEAP_HASHER)
    store.add("lead-1", "lead", None)
    store.log_access("lead-1", "report", "2025-06-01..2025-06-30")
    assert [(e.entry_id, e.action) for e in store.access_log()] == [
        (8, "report"),
        (7, "sign-in refused"),
    ]
    store.close()
    with closing(sqlite3.connect(db)) as con, pytest.raises(sqlite3.IntegrityError):
        con.execute("DELETE FROM access_log")  # still append-only
