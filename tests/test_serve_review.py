"""`riskscore serve` under inputs a hostile review sent (December 2026): each test says
what it was."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import ThreadServer, config, csrf_token, sign_in
from test_serve_console import CASE_TOKEN, _case_url, _seed, seeded_client

import riskscore as rs
from riskscore.moderation import ReviewQueue
from riskscore.serve.security import CSRF_COOKIE


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture
def app_client(tmp_path: Path, model: rs.RiskModel) -> Iterator[TestClient]:
    yield from seeded_client(tmp_path, model)


def test_healthz_answers_while_a_batch_holds_the_scorer(app_client: TestClient) -> None:
    """Was: /healthz queued behind the scorer's one thread, so a batch of minutes (events
    of thousands of unknown field names) failed the liveness probe, and a supervisor
    restarted a process that was only busy. Now it answers at once with the counts it last
    read there."""
    idle = app_client.get("/healthz").json()
    assert (idle["scorer"], idle["events"]) == ("idle", 0)
    assert idle["as_of"] is not None
    release = threading.Event()
    app_client.app.state.serve.scoring.submit(release.wait, 30)  # type: ignore[attr-defined]
    try:
        started = time.monotonic()
        busy = app_client.get("/healthz").json()
        assert time.monotonic() - started < 10
    finally:
        release.set()
    assert busy == {**idle, "scorer": "busy", "busy_s": 0.0}  # not begun through the API
    assert app_client.get("/healthz").json()["scorer"] == "idle"


def test_healthz_says_a_scorer_held_for_minutes_is_stuck(app_client: TestClient) -> None:
    """Answering "ok" at once whatever the scorer does (above) would keep a deadlocked
    scorer up for ever: a call that has held it beyond SCORER_STUCK_S is a 503."""
    state = app_client.app.state.serve  # type: ignore[attr-defined]
    release = threading.Event()
    state.scoring.submit(release.wait, 30)
    try:
        state.busy_since = time.monotonic() - 301.0
        stuck = app_client.get("/healthz")
    finally:
        release.set()
        state.busy_since = None
    assert stuck.status_code == 503
    assert stuck.json()["status"] == "stuck"
    assert stuck.json()["busy_s"] > 300


def test_a_token_issued_to_another_session_is_refused(app_client: TestClient) -> None:
    """Was: a form token was bound to the CSRF cookie alone. An outsider's token, with its
    cookie planted in a moderator's browser (by a sibling site), decided a case in the
    moderator's session. Now a token is bound to the session it was issued in."""
    outsider = csrf_token(app_client.get("/console/signin").text)
    planted = app_client.cookies.get(CSRF_COOKIE)
    assert sign_in(app_client, "mod-1") == 303
    page = app_client.get(_case_url("adult-a")).text
    case_token = CASE_TOKEN.search(page)
    assert case_token is not None
    decision = {"outcome": "dismissed", "token": case_token.group(1), "note": ""}
    own = app_client.cookies.get(CSRF_COOKIE)
    app_client.cookies.set(CSRF_COOKIE, planted or "", path="/console")
    forged = app_client.post(
        _case_url("adult-a") + "/decide", data={**decision, "csrf_token": outsider}
    )
    assert forged.status_code == 403
    assert app_client.post("/console/signout", data={"csrf_token": outsider}).status_code == 403
    with ReviewQueue(app_client.app.state.config.db) as q:  # type: ignore[attr-defined]
        assert len(q) == 3  # nothing decided
    app_client.cookies.set(CSRF_COOKIE, own or "", path="/console")
    data = {**decision, "csrf_token": csrf_token(page)}
    r = app_client.post(_case_url("adult-a") + "/decide", data=data, follow_redirects=False)
    assert r.status_code == 303


def test_a_console_form_trickled_past_the_body_timeout_gets_408(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the console's forms were read without the deadline the API's bodies have, so a
    client declaring 1,000 bytes and sending 7 held its connection (and a worker) as long
    as it liked."""
    cfg = config(tmp_path, model, body_timeout_s=1.0)
    _seed(cfg.db)
    server = ThreadServer(cfg)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as conn:
            head = (
                "POST /console/signin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
            )
            conn.sendall(head.encode() + b"name=mo")
            started = time.monotonic()
            answer = conn.recv(4096).decode("latin-1")
            assert time.monotonic() - started < 15
        assert answer.startswith("HTTP/1.1 408")
    finally:
        server.stop()
