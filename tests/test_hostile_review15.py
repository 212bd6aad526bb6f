"""Hostile review 15: how long a locked queue is waited for, case views from other sites,
sign-out, and a public report key at the start of ``riskscore serve``."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, PASSWORD, config, csrf_token, sign_in

import riskscore as rs
from riskscore.cli import main
from riskscore.io import sqlite as rs_sqlite
from riskscore.moderation import ReviewQueue
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore

NOW = 1_750_000_000
README_KEY = "readme-demo-key-NOT-A-SECRET-0123456789"


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


# ---------------------------------------------------------------------- a locked queue


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Path]:
    """A database file whose write lock another connection holds."""
    path = tmp_path / "q.sqlite"
    holder = rs_sqlite.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield path
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_write_on_a_locked_file_gives_up_after_the_busy_timeout(held: Path) -> None:
    # Each of 20 attempts waited the whole busy timeout: 30 s documented, 10 minutes taken.
    con = rs_sqlite.connect(held, timeout_s=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            rs_sqlite.write(con, lambda c: c.execute("CREATE TABLE t (x)"))
        assert 0.25 <= time.monotonic() - started < 1.5
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 300  # as it was
    finally:
        con.close()


def test_lock_errors_raised_at_once_are_retried_within_the_timeout() -> None:
    # SQLite answers some lock conflicts at once, without its busy handler: those are
    # retried with backoff, for as long as the busy timeout and no longer.
    calls = []

    def locked() -> None:
        calls.append(1)
        raise sqlite3.OperationalError("database is locked")

    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        rs_sqlite.retry(locked, timeout_s=0.3)
    assert 0.25 <= time.monotonic() - started < 1.0
    assert len(calls) > 2


# ---------------------------------------------------------------------- console


def _seed(db: Path) -> None:
    with ReviewQueue(db) as q:
        q.add_alert(Alert("c1", "adult-a", "kid-1", 15.0, "13-15", 0.9, Tier.URGENT), at=NOW)
    store = ModeratorStore(db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD)
    store.close()


def _reviews(db: Path) -> int:
    with ReviewQueue(db) as q:
        return sum(e.action == "review" for e in q.audit_log())


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_case_opened_from_another_site_records_no_review(
    tmp_path: Path, model: rs.RiskModel, site: str
) -> None:
    # With the trusted header, a link on any site opened by a moderator's browser
    # recorded a review of that case in the moderator's name.
    cfg = config(tmp_path, model, trusted_header="X-Remote-User")
    _seed(cfg.db)
    url = "/console/cases/" + encode_id("adult-a")
    with TestClient(create_app(cfg)) as client:
        user = {"X-Remote-User": "mod-1"}
        r = client.get(url, headers={**user, "Sec-Fetch-Site": site})
        assert r.status_code == 200
        assert _reviews(cfg.db) == 0
        r = client.get(url, headers={**user, "Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 200
        assert _reviews(cfg.db) == 1


def test_a_session_cookie_copied_before_sign_out_is_refused_after(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    # Sign-out deleted the cookie in that browser only; a copy stayed valid until it expired.
    cfg = config(tmp_path, model)
    _seed(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        copied = client.cookies.get("riskscore_session")
        assert copied
        form = {"csrf_token": csrf_token(client.get("/console/queue").text)}
        r = client.post("/console/signout", data=form, follow_redirects=False)
        assert r.status_code == 303
        client.cookies.set("riskscore_session", copied, path="/console")
        assert client.get("/console/queue", follow_redirects=False).status_code == 303
        assert sign_in(client, "mod-1") == 303  # signing in again gives a session that works
        assert client.get("/console/queue", follow_redirects=False).status_code == 200


# ---------------------------------------------------------------------- report key at start


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether ``riskscore serve`` got as far as serving (uvicorn's run is replaced)."""
    runs: list[bool] = []
    monkeypatch.setattr(
        "riskscore.cli.serve.uvicorn.Server.run", lambda self, sockets=None: runs.append(True)
    )
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", README_KEY)
    monkeypatch.setenv("RISKSCORE_SESSION_KEY", "test-session-key-0123456789abcdefghij")
    return runs


def _serve(db: Path) -> list[str]:
    return ["serve", "--db", str(db), "--checkpoint", str(db.with_name("state.sqlite")),
            "--host", "127.0.0.1", "--port", "0"]  # fmt: skip


@pytest.mark.parametrize("existing", [True, False])
def test_serve_refuses_a_documented_report_key_for_a_real_queue_at_start(
    tmp_path: Path, started: list[bool], capsys: pytest.CaptureFixture[str], existing: bool
) -> None:
    # It started, and only the report page said the key was public.
    db = tmp_path / "queue.sqlite"
    if existing:
        ReviewQueue(db).close()
    assert main(_serve(db)) == 2
    assert started == []
    [line] = capsys.readouterr().err.splitlines()
    assert "RISKSCORE_REPORT_KEY" in line
    assert "NOT-A-SECRET" in line
    assert db.exists() is existing


def test_serve_takes_a_documented_report_key_for_a_simulated_queue(
    tmp_path: Path, started: list[bool]
) -> None:
    db = tmp_path / "queue.sqlite"
    ReviewQueue(db, simulation=True).close()
    assert main(_serve(db)) == 0
    assert started == [True]
