"""Hostile review 60: ``riskscore serve`` as an outside web-security reviewer sees it.

Each test whose docstring begins "Was:" failed before its fix."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, PASSWORD, adult_child_event, config, csrf_token, sign_in

import riskscore as rs
from riskscore.moderation import ReviewQueue
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore

CASE = "/console/cases/" + encode_id("adult-a")


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _seed(db: Path) -> None:
    with ReviewQueue(db) as q:
        alert = Alert("c1", "adult-a", "kid-1", 12.0, "10-12", 0.9, Tier.URGENT)
        q.add_alert(alert, at=int(time.time()) - 60)
    store = ModeratorStore(db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD)
    store.close()


def _open_items(db: Path) -> int:
    with ReviewQueue(db) as q:
        return len(q)


@pytest.mark.parametrize("site", ["same-site", "cross-site"])
def test_a_form_posted_from_another_site_is_refused(
    tmp_path: Path, model: rs.RiskModel, site: str
) -> None:
    """Was: a decision posted from a sibling site with a CSRF cookie it had set (a
    subdomain may set cookies for the parent's hosts, and the console signs any cookie's
    value into its forms) closed the case: SameSite=Strict sends the session cookie on a
    same-site request."""
    cfg = config(tmp_path, model)
    _seed(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        page = client.get(CASE).text
        # The other site's chosen cookie value, and the form token the console signs for it.
        client.cookies.set("riskscore_csrf", "chosen-by-another-site", path="/console")
        form = {
            "outcome": "dismissed",
            "token": page.split('name="token" value="')[1].split('"')[0],
            "csrf_token": csrf_token(client.get("/console/signin").text),
        }
        r = client.post(
            CASE + "/decide", data=form, headers={"Sec-Fetch-Site": site}, follow_redirects=False
        )
        assert r.status_code == 403
        assert "another site" in r.text
        assert _open_items(cfg.db) == 1
        # The console's own form (or a client that is no browser) is taken.
        r = client.post(
            CASE + "/decide",
            data=form,
            headers={"Sec-Fetch-Site": "same-origin"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert _open_items(cfg.db) == 0


def _from_address(app: Any) -> Any:
    """``app`` seen from the client address in the test's ``x-test-peer`` header."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            peer = dict(scope["headers"]).get(b"x-test-peer")
            if peer is not None:
                scope["client"] = (peer.decode(), 50000)
        await app(scope, receive, send)

    return wrapped


def test_sign_ins_from_one_ipv6_network_share_one_limit(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the limit per client counted each IPv6 address apart, and a client holds a
    whole /64 network (2^64 addresses): one password tried against every account name
    from a new address each time was never limited."""
    cfg = config(tmp_path, model, signin_attempts=3)
    _seed(cfg.db)
    with TestClient(_from_address(create_app(cfg))) as client:
        codes = []
        for n in range(1, 6):
            client.headers["x-test-peer"] = f"2001:db8::{n}"
            codes.append(sign_in(client, f"name-{n}", "one guessed password"))
        assert codes == [401, 401, 401, 429, 429]
        # Another network, and an IPv4 client, have their own tries.
        client.headers["x-test-peer"] = "2001:db8:0:1::1"
        assert sign_in(client, "mod-1") == 303
        client.headers["x-test-peer"] = "192.0.2.7"
        assert sign_in(client, "name-9", "one guessed password") == 401


def test_api_answers_about_accounts_are_not_stored_by_caches(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: ``GET /v1/conversations/{id}`` (the adult's and the child's account ids, the
    child's age band, the risk) and ``/metrics`` (queue depth by child age band) came
    without ``Cache-Control``: a shared cache between the platform's backend and the
    service (Varnish keeps such a GET answer for 120 s by default) served them to any
    client it serves, and a stale risk."""
    cfg = config(tmp_path, model)
    with TestClient(create_app(cfg)) as client:
        assert client.post("/v1/events", json=[adult_child_event("c1", 0)]).status_code == 200
        for path in ["/v1/conversations/c1", "/v1/conversations/other", "/metrics"]:
            answer = client.get(path)
            assert answer.headers.get("cache-control") == "no-store", path
            # and never sniffed as a page by a browser (it may quote an id as sent)
            assert answer.headers.get("x-content-type-options") == "nosniff", path
        # The console's pages keep their own headers (one of each, not two).
        r = client.get("/console/signin")
        assert r.headers.get_list("cache-control") == ["no-store"]
        assert r.headers.get_list("x-content-type-options") == ["nosniff"]


class _CountingHasher(PasswordHasher):
    """The tests' cheap hasher, counting the hashes it makes."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.made = 0

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.made += 1
        return super().hash(password, salt=salt)


def test_the_first_refused_unknown_name_takes_no_longer_than_a_known_one(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the hash that a name without an account is checked against was made at the
    first such sign-in, which took two Argon2 hashes' time (about 0.2 s against 0.1 s with
    the default parameters): after each start, the first name tried told whether it is an
    account's. It is made when the console opens."""
    hasher = _CountingHasher()
    cfg = config(tmp_path, model, password_hasher=hasher)
    _seed(cfg.db)
    with TestClient(create_app(cfg)) as client:
        made = hasher.made
        assert sign_in(client, "no-such-account", "a wrong passphrase") == 401
        assert hasher.made == made  # checked only, as a known name's password is


def test_a_lead_cannot_assign_a_case_that_is_not_open(tmp_path: Path, model: rs.RiskModel) -> None:
    """Was: any id in the URL was assigned (303) and kept in the append-only assignments
    the audit page lists, an id of no case at all, with a right-to-left override too
    (the log then read another order of characters than was stored)."""
    cfg = config(tmp_path, model)
    _seed(cfg.db)
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("lead-1", "lead", PASSWORD)
    store.close()
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "lead-1") == 303
        form = {"moderator": "mod-1", "csrf_token": csrf_token(client.get(CASE).text)}
        for adult in ["no-case", "adult-a\u202e"]:
            url = "/console/cases/" + encode_id(adult) + "/assign"
            r = client.post(url, data=form, follow_redirects=False)
            assert r.status_code == 404, adult
        r = client.post(CASE + "/assign", data={**form, "moderator": "y" * 5000})
        assert r.status_code == 422
        assert "y" * 50 not in r.text  # quoted cut short, as errors quote a value
        assert client.post(CASE + "/assign", data=form, follow_redirects=False).status_code == 303
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    assert store.assignments() == {encode_id("adult-a"): "mod-1"}
    store.close()


def test_a_refused_decision_quotes_what_was_sent_cut_short(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the page of a refused decision copied the posted outcome (up to 64 KiB) and the
    URL's adult id whole into its message, a sentence where an outcome or an id belongs;
    they are quoted as errors quote a value (about 40 characters)."""
    cfg = config(tmp_path, model)
    _seed(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        page = client.get(CASE).text
        form = {
            "outcome": "dismissed",
            "token": page.split('name="token" value="')[1].split('"')[0],
            "csrf_token": csrf_token(page),
        }
        long = "x" * 5000
        sent = [
            (CASE, {**form, "outcome": long}),
            ("/console/cases/" + encode_id(long), form),
        ]
        for url, data in sent:
            r = client.post(url + "/decide", data=data, follow_redirects=False)
            assert r.status_code == 409
            assert "x" * 50 not in r.text
            assert "(5000 characters)" in r.text
        assert _open_items(cfg.db) == 1
