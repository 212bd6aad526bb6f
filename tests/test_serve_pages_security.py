"""The console's pages against a hostile browser or id: the CSRF cookie is renewed at
sign-in, and ids holding HTML are shown as text. Was: the CSRF cookie set before sign-in
(possibly by a sibling site) stayed the session's, with every token issued for it (review
serve63); the escaping test guards what autoescaping already did."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, PASSWORD, config, csrf_token, sign_in

import riskscore as rs
from riskscore.moderation import ReviewQueue, UserReport
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore
from riskscore.serve.security import CSRF_COOKIE

HOSTILE = "<script>alert(1)</script>\"'&"


def _client(tmp_path: Path) -> TestClient:
    cfg = config(tmp_path, rs.load_model())
    with ReviewQueue(cfg.db) as q:
        q.add_alert(
            Alert(HOSTILE + "c", HOSTILE, HOSTILE + "k", 12.0, "under 13", 0.9, Tier.URGENT)
        )
        q.add_report(UserReport(HOSTILE + "r", HOSTILE + "k2", HOSTILE, 12.0, timestamp=10**9))
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("lead-1", "lead", PASSWORD)
    store.close()
    return TestClient(create_app(cfg))


def test_sign_in_renews_the_csrf_cookie(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        before_page = client.get("/console/signin")
        planted = client.cookies.get(CSRF_COOKIE)
        old_token = csrf_token(before_page.text)
        assert sign_in(client, "lead-1") == 303
        assert client.cookies.get(CSRF_COOKIE) not in (None, planted)
        # a token issued for the cookie from before sign-in no longer passes
        form = {"csrf_token": old_token}
        assert client.post("/console/signout", data=form).status_code == 403
        fresh = csrf_token(client.get("/console/queue").text)
        out = client.post("/console/signout", data={"csrf_token": fresh}, follow_redirects=False)
        assert out.status_code == 303


def test_ids_holding_html_are_shown_as_text(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        assert sign_in(client, "lead-1") == 303
        for path in ("/console/queue", "/console/cases/" + encode_id(HOSTILE), "/console/audit"):
            page = client.get(path)
            assert page.status_code == 200
            assert "<script>" not in page.text
        case = client.get("/console/cases/" + encode_id(HOSTILE)).text
        assert html.escape(HOSTILE) in case.replace("&#34;", "&quot;").replace("&#39;", "&#x27;")


def test_every_console_page_forbids_framing_plugins_and_a_base_url(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        pages = [client.get("/console/signin")]
        assert sign_in(client, "lead-1") == 303
        pages += [client.get(p) for p in ("/console/queue", "/console/audit", "/console/cases/x")]
        for page in pages:
            policy = page.headers["content-security-policy"]
            for rule in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
                assert rule in policy
            assert page.headers["x-frame-options"] == "DENY"


def test_sign_out_clears_the_session_cookie_with_its_flags(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        assert sign_in(client, "lead-1") == 303
        form = {"csrf_token": csrf_token(client.get("/console/queue").text)}
        out = client.post("/console/signout", data=form, follow_redirects=False)
        cleared = out.headers["set-cookie"]
        assert cleared.startswith("riskscore_session=")
        for flag in ("HttpOnly", "SameSite=strict", "Path=/console"):  # Secure: as configured
            assert flag in cleared
