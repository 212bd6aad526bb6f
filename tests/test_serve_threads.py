"""No route reads SQLite on the event loop: one slow query holds its own request, not
every moderator's. Was: every route ran its SQLite work (and the scorer) on the loop's
thread, so a lead's slow audit page stalled every other page and the API with it
(review serve63)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, PASSWORD, adult_child_event, config, sign_in

import riskscore as rs
from riskscore.moderation import ReviewQueue
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore


def test_a_slow_query_holds_its_own_request_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config(tmp_path, rs.load_model())
    with ReviewQueue(cfg.db) as q:
        q.add_alert(Alert("c1", "adult-a", "kid-1", 12.0, "under 13", 0.9, Tier.URGENT))
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("lead-1", "lead", PASSWORD)
    store.add("mod-1", "moderator", PASSWORD)
    store.close()
    entered, release = threading.Event(), threading.Event()
    audit_page = ReviewQueue.audit_page

    def slow(self: ReviewQueue, **kwargs: Any) -> Any:
        entered.set()
        release.wait(5)  # a query that takes its time
        return audit_page(self, **kwargs)

    monkeypatch.setattr(ReviewQueue, "audit_page", slow)
    app = create_app(cfg)
    with TestClient(app) as lead:
        moderator = TestClient(app)
        moderator.portal = lead.portal  # the same running app
        assert sign_in(lead, "lead-1") == 303
        assert sign_in(moderator, "mod-1") == 303
        answers: list[int] = []
        waiting = threading.Thread(
            target=lambda: answers.append(lead.get("/console/audit").status_code)
        )
        waiting.start()
        try:
            assert entered.wait(5)
            t0 = time.monotonic()
            assert moderator.get("/console/queue").status_code == 200
            events = moderator.post("/v1/events", json=[adult_child_event("c2", 0)])
            assert events.status_code == 200
            assert moderator.get("/healthz").json()["events"] == 1
            elapsed = time.monotonic() - t0
        finally:
            release.set()
            waiting.join()
        assert answers == [200]
        assert elapsed < 2.5  # not the 5 s the audit page held its thread


def test_passwords_are_checked_two_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config(tmp_path, rs.load_model())
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD)
    store.close()
    lock, at_once, most = threading.Lock(), [0], [0]
    matches = ModeratorStore.password_matches

    def counted(self: ModeratorStore, stored: str, password: str) -> bool:
        with lock:
            at_once[0] += 1
            most[0] = max(most[0], at_once[0])
        time.sleep(0.05)  # a hash's time
        with lock:
            at_once[0] -= 1
        return matches(self, stored, password)

    monkeypatch.setattr(ModeratorStore, "password_matches", counted)
    app = create_app(cfg)
    with TestClient(app) as first:
        clients = [first]
        for n in range(5):  # five more browsers, each from an address of its own
            other = TestClient(app, client=(f"192.0.2.{n + 1}", 1))
            other.portal = first.portal
            clients.append(other)
        codes: list[int] = []
        threads = [
            threading.Thread(target=lambda c=c: codes.append(sign_in(c, "mod-1", "a guess...")))
            for c in clients
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(codes)[:5] == [401] * 5
    assert most[0] == 2  # Argon2id's 64 MiB each: never all the worker threads at once
