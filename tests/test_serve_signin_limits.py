"""Sign-in limits of the console: an account name backs off (an outsider who knows it cannot
keep its moderator out), a client address is limited for the window, and a full table of
keys never resets a limited one. Was: five wrong passwords from anywhere locked the name out
for the whole window, again and again; a flood of new keys evicted the oldest key, a
limited one included (review serve63)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, PASSWORD, config, csrf_token, sign_in

import riskscore as rs
from riskscore.serve import create_app, security
from riskscore.serve.accounts import ModeratorStore
from riskscore.serve.security import RateLimiter


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The limiter's clock (only its) moved ``seconds`` on."""
    now = time.monotonic() + seconds
    monkeypatch.setattr(security, "time", SimpleNamespace(monotonic=lambda: now))


def test_an_outsider_cannot_keep_a_moderator_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config(tmp_path, rs.load_model())  # the defaults: 5 attempts, 900 s, 60 s backoff
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD)
    store.close()
    app = create_app(cfg)
    with TestClient(app, client=("203.0.113.9", 1)) as outsider:
        for n in range(5):
            assert sign_in(outsider, "mod-1", f"a wrong guess {n}") == 401
        assert sign_in(outsider, "mod-1", "a wrong guess 5") == 429  # the name backs off
        moderator = TestClient(app, client=("198.51.100.7", 1))
        moderator.portal = outsider.portal  # the same running app, another address
        refused = moderator.get("/console/signin")  # a page to read the wait from
        assert refused.status_code == 200
        _later(monkeypatch, 61)  # past the longest backoff, well within the window
        assert sign_in(moderator, "mod-1") == 303
        # the outsider's own address stays limited for the window
        assert sign_in(outsider, "mod-1", "a wrong guess 6") == 429


def test_a_browser_that_signed_in_before_is_not_delayed_by_an_outsider(
    tmp_path: Path,
) -> None:
    cfg = config(tmp_path, rs.load_model())
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD)
    store.close()
    app = create_app(cfg)
    with TestClient(app, client=("198.51.100.7", 1)) as moderator:
        assert sign_in(moderator, "mod-1") == 303  # this browser is now known for mod-1
        assert moderator.cookies.get("riskscore_device")
        moderator.cookies.delete("riskscore_session")
        outsider = TestClient(app, client=("203.0.113.9", 1))
        outsider.portal = moderator.portal
        for n in range(5):
            assert sign_in(outsider, "mod-1", f"a wrong guess {n}") == 401
        assert sign_in(outsider, "mod-1", "a wrong guess 5") == 429  # the name waits
        assert sign_in(moderator, "mod-1") == 303  # its moderator's browser does not
        # a forged device cookie, from a fresh address, counts under the name: it waits
        forger = TestClient(app, client=("192.0.2.5", 1), cookies={"riskscore_device": "x.y.z"})
        forger.portal = moderator.portal
        assert sign_in(forger, "mod-1", "a wrong guess 6") == 429


def test_a_name_backs_off_by_doubling_up_to_the_cap() -> None:
    names = RateLimiter(attempts=2, window_s=900, backoff_s=1, backoff_max_s=8)
    waits = []
    for t in range(0, 200, 20):  # a failure every 20 s, each after its wait
        names.fail("name:a", now=t)
        waits.append(names.wait_s("name:a", now=t))
    assert waits == [0, 1, 2, 4, 8, 8, 8, 8, 8, 8]


def test_the_wait_is_shown_in_words(tmp_path: Path) -> None:
    cfg = config(tmp_path, rs.load_model(), signin_attempts=1)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "nobody", "a wrong guess") == 401
        form = {"name": "nobody", "password": "another guess", "csrf_token": ""}
        page = client.get("/console/signin")
        form["csrf_token"] = csrf_token(page.text)
        r = client.post("/console/signin", data=form)
        assert r.status_code == 429
        assert "Wait 15 minutes and try again." in r.text  # the address's window


def test_a_full_table_does_not_reset_a_limited_key() -> None:
    limiter = RateLimiter(attempts=2, window_s=60)
    limiter.fail("ip:attacker", now=0)
    limiter.fail("ip:attacker", now=0)
    for n in range(100_001):  # a flood of new names, one failure each
        limiter.fail(f"name:{n}", now=1)
    assert not limiter.allowed("ip:attacker", now=2)
    assert limiter.allowed("ip:attacker", now=61)


def test_a_table_full_of_limited_keys_refuses_a_new_key() -> None:
    limiter = RateLimiter(attempts=1, window_s=60, max_keys=3)
    for key in ("a", "b", "c"):
        assert limiter.acquire([key], now=0) == 0
    assert limiter.acquire(["d"], now=1) is None  # nothing may be dropped: refused
    assert not limiter.allowed("a", now=1)
    assert limiter.acquire(["d"], now=60.5) == 60.5  # the others' failures expired


def test_a_table_full_of_limited_keys_is_not_swept_at_every_attempt() -> None:
    class Counted(RateLimiter):
        reads = 0

        def _recent(self, key: str, now: float) -> Any:
            Counted.reads += 1
            return super()._recent(key, now)

    limiter = Counted(attempts=1, window_s=60, max_keys=10_000)
    for n in range(10_000):
        limiter.fail(f"ip:{n}", now=0)
    Counted.reads = 0
    for n in range(200):  # a flood of new names while every key held is limited
        assert limiter.acquire([f"name:{n}"], now=1 + n / 1000) is None
    assert Counted.reads < 11_000  # one sweep of the 10,000 keys, not one per attempt
    assert limiter.acquire(["name:x"], now=61) == 61  # the failures expired: room again
