"""Headers of a scoring batch, and the report page's period, that must come once (found by a
hostile review).

Was: a request with two ``Idempotency-Key`` headers was applied under the first and the
second ignored, so a retry under the second key was applied again, although a retry is
never applied twice (docs/serve.md); with two ``Content-Type`` headers the first decided
how the body was read. Now such a request is refused whole, nothing applied. And the
console's report took the last of two ``from`` (or ``to``) parameters without a word.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import add_account, adult_child_event, config, sign_in

import riskscore as rs
from riskscore.serve import create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(config(tmp_path, rs.load_model()))) as c:
        yield c


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("Idempotency-Key", ("dupkey", "other")),
        ("Content-Type", ("application/json", "text/plain")),
        ("Content-Encoding", ("identity", "gzip")),
    ],
)
def test_a_header_that_must_come_once_is_refused_when_doubled(
    client: TestClient, name: str, values: tuple[str, str]
) -> None:
    body = json.dumps(adult_child_event("c1", 0)).encode()
    headers = [(name, value) for value in values]
    if name != "Content-Type":
        headers.append(("Content-Type", "application/json"))
    r = client.post("/v1/events", content=body, headers=headers)
    assert r.status_code == 422
    assert r.json()["refused"][0]["message"] == (
        f"the {name} header came more than once; nothing was applied: send it once"
    )
    assert client.get("/healthz").json()["events"] == 0


def test_a_retry_under_one_key_is_still_replayed(client: TestClient) -> None:
    event = adult_child_event("c1", 0)
    first = client.post("/v1/events", json=event, headers={"Idempotency-Key": "b-1"})
    again = client.post("/v1/events", json=event, headers={"Idempotency-Key": "b-1"})
    assert first.json()["accepted"] == 1
    assert again.json().get("replayed") is True
    assert client.get("/healthz").json()["events"] == 1


def test_a_report_period_given_twice_is_refused(tmp_path: Path) -> None:
    cfg = config(tmp_path, rs.load_model(), report_key=b"0f3c9a7e-platform-secret-b81d44e2")
    add_account(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        query = [("from", "2026-01-01"), ("from", "2025-01-01"), ("to", "2026-01-31")]
        r = client.get("/console/report", params=query)
        assert r.status_code == 400
        assert "query parameter 'from' is given more than once" in html.unescape(r.text)
        assert 'id="report"' not in r.text
