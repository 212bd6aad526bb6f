"""Console forms are capped in bytes before anything parses them, and every refusal of a
form is a console page (review of the service and the queue, items 2 and 5).

Was: an unsigned client's ``POST /console/signin`` (or ``/signout``) of 20 MiB of ``&``
was parsed on the event loop (6.5 s: Starlette's field count skips empty fields), and a
form of too many fields or a field too large came back as Starlette's bare JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import add_account, config, csrf_token, sign_in

import riskscore as rs
from riskscore.moderation import ReviewQueue
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import MAX_PASSWORD_CHARS
from riskscore.serve.forms import MAX_FIELD_BYTES, MAX_FORM_BYTES

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CASE = "/console/cases/" + encode_id("adult-a")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    cfg = config(tmp_path, rs.load_model(), signin_attempts=3)
    with ReviewQueue(cfg.db) as q:
        q.add_alert(Alert("c1", "adult-a", "kid-1", 12.0, "under 13", 0.9, Tier.URGENT))
    add_account(cfg.db)
    with TestClient(create_app(cfg)) as c:
        yield c


def _page_text(response: object) -> str:
    text = response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("text/html"), text[:200]  # type: ignore[attr-defined]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


@pytest.mark.parametrize("path", ["/console/signin", "/console/signout"])
def test_an_oversized_form_is_refused_unread_with_a_page(client: TestClient, path: str) -> None:
    r = client.post(path, content=b"&" * (2 * 1024 * 1024), headers=FORM)
    assert r.status_code == 413
    assert f"The form is over {MAX_FORM_BYTES} bytes" in _page_text(r)


def test_an_oversized_form_without_a_length_is_refused_as_it_arrives(client: TestClient) -> None:
    chunks = iter([b"&" * 4096] * 64)  # sent chunked: no Content-Length to check first
    r = client.post("/console/signin", content=chunks, headers=FORM)
    assert r.status_code == 413
    assert "nothing of it was read" in _page_text(r)


def test_oversized_sign_ins_do_not_count_against_the_sign_in_limit(client: TestClient) -> None:
    for _ in range(10):  # the limit is 3 attempts
        r = client.post("/console/signin", content=b"&" * (MAX_FORM_BYTES + 1), headers=FORM)
        assert r.status_code == 413
    assert sign_in(client, "mod-1") == 303


def test_the_longest_sign_in_fits_under_the_cap(client: TestClient) -> None:
    """A name of 128 characters and a password of 1,024, each of 4 UTF-8 bytes
    percent-encoded: read and checked (wrong), not refused as too large."""
    form = {
        "name": "\U0001f600" * 128,
        "password": "\U0001f600" * MAX_PASSWORD_CHARS,
        "csrf_token": csrf_token(client.get("/console/signin").text),
    }
    assert client.post("/console/signin", data=form).status_code == 401


def test_too_many_fields_is_a_console_page(client: TestClient) -> None:
    body = "&".join(f"a{i}=1" for i in range(25)).encode()
    r = client.post("/console/signin", content=body, headers=FORM)
    assert r.status_code == 400
    assert "The form was not read: it has more than 20 fields." in _page_text(r)
    r = client.post("/console/signin", content=b"&" * 100, headers=FORM)  # empty ones count
    assert r.status_code == 400


def test_a_field_too_large_is_a_console_page(client: TestClient) -> None:
    assert sign_in(client, "mod-1") == 303
    page = client.get(CASE).text
    form = {"outcome": "dismissed", "token": "v1:" + "1" * MAX_FIELD_BYTES}
    r = client.post(CASE + "/decide", data={**form, "csrf_token": csrf_token(page)})
    assert r.status_code == 400
    assert f"a field is over {MAX_FIELD_BYTES} bytes" in _page_text(r)


def test_a_decision_form_may_carry_a_long_case_token(client: TestClient) -> None:
    """The case token names every item shown: one of a case of some 3,000 items passes
    the cap and is judged by the queue (stale here), not refused as too large."""
    assert sign_in(client, "mod-1") == 303
    page = client.get(CASE).text
    token = "v1:" + "-".join(f"{i}.1" for i in range(1, 3000))
    assert len(token) > MAX_FORM_BYTES
    form = {"outcome": "dismissed", "token": token, "csrf_token": csrf_token(page)}
    r = client.post(CASE + "/decide", data=form)
    assert r.status_code == 409
