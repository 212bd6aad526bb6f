"""Review 86 of ``riskscore serve``: typed conversation ids in the API's URLs, the tier's
name in the queue's JSON, and what a hostile client sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from serve_helpers import T0, adult_child_event, config, logged_server

import riskscore as rs
from riskscore.cli import main
from riskscore.moderation import ReviewQueue
from riskscore.moderation.ranking import TIER_NAMES
from riskscore.moderation.user_reports import UserReport
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.service import MAX_REFUSALS_TRIED


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture
def client(tmp_path: Path, model: rs.RiskModel) -> Iterator[TestClient]:
    with TestClient(create_app(config(tmp_path, model))) as c:
        yield c


def test_the_integer_id_7_and_the_text_id_7_are_each_reachable(client: TestClient) -> None:
    """Was: ``GET /v1/conversations/7`` looked the text id "7" up first and answered for it,
    so the live conversation of the integer id 7 could not be reached at all."""
    assert client.post("/v1/events", json=adult_child_event(7, 0, "a", "b")).status_code == 200
    assert client.get("/v1/conversations/7").json()["conversation_id"] == 7  # only one live
    assert client.post("/v1/events", json=adult_child_event("7", 0, "x", "y")).status_code == 200
    r = client.get("/v1/conversations/7")
    assert r.status_code == 409
    assert "'7'" in r.json()["detail"]
    assert "id_type=int" in r.json()["detail"]
    as_int = client.get("/v1/conversations/7", params={"id_type": "int"}).json()
    as_text = client.get("/v1/conversations/7", params={"id_type": "text"}).json()
    assert (as_int["conversation_id"], as_int["adult_id"]) == (7, "a")
    assert (as_text["conversation_id"], as_text["adult_id"]) == ("7", "x")
    # "07" writes no integer id: text only, and refused as an integer
    assert client.get("/v1/conversations/07").status_code == 404
    r = client.get("/v1/conversations/07", params={"id_type": "int"})
    assert r.status_code == 422
    assert "'07' is not an integer id" in r.json()["detail"]
    assert client.get("/v1/conversations/7", params={"id_type": "float"}).status_code == 422
    spec = client.get("/openapi.json").json()["paths"]["/v1/conversations/{conversation_id}"]
    assert "id_type" in [p["name"] for p in spec["get"]["parameters"]]


@pytest.mark.parametrize(
    ("path", "reason"),
    [("a%00b", "control character"), ("%20", "empty"), ("9" * 1000, "longer than")],
)
def test_a_url_id_no_event_can_have_is_refused_by_the_id_rule(
    client: TestClient, path: str, reason: str
) -> None:
    """Was: 404 "not live", as if such a conversation could be: the URL's id is now held
    to the rule of the ids the review queue keeps (``queue_rows.id_problem``)."""
    r = client.get(f"/v1/conversations/{path}")
    assert r.status_code == 422
    assert reason in r.json()["detail"]
    assert len(r.json()["detail"]) < 400


def test_the_queues_json_names_each_items_tier_beside_its_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore queue --json`` (``Case.to_dict``) gave an item's tier as a number
    only (0, 1, 2), which a consumer had to map to words itself; ``tier_name`` now names it
    by :data:`~riskscore.moderation.ranking.TIER_NAMES`, and the number stays."""
    db = tmp_path / "queue.sqlite"
    with ReviewQueue(db) as queue:
        queue.add_alert(Alert("c1", "adult", "kid", 12.0, "under 13", 0.97, Tier.URGENT), at=T0)
        report = UserReport("c2", "kid-2", "adult", 11.0, T0, "direct", 0.2)
        queue.add_report(report)
    assert main(["queue", "--db", str(db), "--now", str(T0 + 60), "--json"]) == 0
    (case,) = json.loads(capsys.readouterr().out)["top"]
    tiers = sorted((i["tier"], i["tier_name"]) for i in case["items"])
    assert tiers == [(0, "user report"), (int(Tier.URGENT), "urgent")]
    assert tiers == [(t, TIER_NAMES[t]) for t, _ in tiers]


def test_a_content_field_in_a_query_or_a_form_is_refused_by_its_name(client: TestClient) -> None:
    """Was: "query field looks like message content" and, for a console form, "riskscore
    takes no message content": neither said which field, where every event refusal names
    it. Now both name it as the event validator does (a sentence by its length only)."""
    r = client.get("/healthz", params={"decided": "1", "msgBody": "hi"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("query field 'msgBody' looks like message content")
    sentence = "text see you at the park after school"
    r = client.get("/healthz", params={sentence: "1"})
    assert r.status_code == 422
    assert "park" not in r.json()["detail"]
    assert "text of 37 characters" in r.json()["detail"]
    form = {"name": "mod-1", "password": "x", "csrf_token": "x", "message": "hello"}
    r = client.post("/console/signin", data=form, headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 422
    assert "form field &#39;message&#39; looks like message content" in r.text


def test_an_idempotency_key_that_reads_as_a_sentence_is_refused(client: TestClient) -> None:
    """Was: any printable ``Idempotency-Key`` was kept in the checkpoint and sent back in
    every answer to the batch (``batch_id``), a sentence too, which may be message content;
    event ids that read as sentences are refused, and so is such a key now."""
    key = "see you at the park after school"
    r = client.post("/v1/events", json=adult_child_event("c1", 0), headers={"Idempotency-Key": key})
    assert r.status_code == 422
    assert "park" not in r.text
    assert "opaque key" in r.json()["refused"][0]["message"]
    assert client.get("/healthz").json()["events"] == 0
    ok = client.post(
        "/v1/events", json=adult_child_event("c1", 0), headers={"Idempotency-Key": "b-1"}
    )
    assert ok.json()["batch_id"] == "b-1"


def test_a_batch_stops_trying_events_after_max_refusals_tried(client: TestClient) -> None:
    """Was: every event of a batch was tried, and an event the validator refuses takes its
    thorough path (some 2 ms, against some 0.06 ms for one applied): 10,000 refused events
    (1.1 MB) held the scorer's one thread, and every other client's batch, for 20 s. Now
    the events after the 100th refused are not tried, each refused with its index."""
    bad = {**adult_child_event("c1", 0), "conversation_id": True}
    good = adult_child_event("c2", 0)
    batch = [good, *[bad] * (MAX_REFUSALS_TRIED + 5), good, 1]
    r = client.post("/v1/events", json=batch)
    assert r.status_code == 422
    body = r.json()
    assert body["accepted"] == 1  # the event before the refusals
    refused = body["refused"]
    assert [x["index"] for x in refused] == list(range(1, len(batch)))
    assert all("is a boolean" in x["message"] for x in refused[:MAX_REFUSALS_TRIED])
    rest = refused[MAX_REFUSALS_TRIED:]
    assert rest[0]["message"].startswith(f"event {MAX_REFUSALS_TRIED + 1} not tried")
    assert all("not tried" in x["message"] for x in rest)
    assert 'riskscore_events_refused_total{reason="not_tried"} 7.0' in client.get("/metrics").text


def test_a_path_that_reads_as_a_sentence_is_refused_and_not_logged(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: ``GET /v1/conversations/see you at the park after school`` was answered 404 and
    uvicorn's access log line held the path, the sentence with it: the text riskscore
    refuses as an event id was kept in the server's log. Now such a path is refused (422,
    by its length only) and left out of the log, as a content-like query field is."""
    with logged_server(config(tmp_path, model)) as (server, records):
        secret = quote("synthetic words standing in for a message")
        for path in (f"/v1/conversations/{secret}", f"/console/cases/%22{secret}%22"):
            status, body = server.request(path)
            assert status == 422
            assert "synthetic" not in body["detail"]
            assert "reads as a sentence" in body["detail"]
        pair_id = quote("room|ann lee|bo")  # a group room's pair id of two-word names
        assert server.request(f"/v1/conversations/{pair_id}")[0] == 404
        status, body = server.request(f"/console/report?from={secret}")  # a query's value
        assert status == 422
        assert "synthetic" not in body["detail"]
    assert len(records) == 4, records
    assert not [r for r in records if "synthetic" in r], records


@pytest.mark.parametrize("field", ["text", "body", "message", "content", "Content", "msgBody"])
def test_a_content_field_is_refused_by_name_and_no_value_is_kept(
    tmp_path: Path, model: rs.RiskModel, field: str
) -> None:
    """Pins what a hostile client found refused already: an event with a content-like
    field is refused (422, the field named), top level or nested; an unknown field of an
    applied event is not read; and neither value reaches the queue, the timeline, the
    checkpoint (remembered batch ids too) or an answer."""
    secret = "synthetic words standing in for a message"
    cfg = config(tmp_path, model)
    with TestClient(create_app(cfg)) as c:
        events = [{field: secret}, {"meta": [{field: secret}]}]
        for n, extra in enumerate(events):
            event = {**adult_child_event("c1", 0), **extra}
            r = c.post("/v1/events", json=event, headers={"Idempotency-Key": f"k-{n}"})
            assert r.status_code == 422
            assert f"{field}' looks like message content" in r.json()["refused"][0]["message"]
            assert "synthetic" not in r.text
        ok = {**adult_child_event("c1", 0), "extra": secret}
        r = c.post("/v1/events", json=ok, headers={"Idempotency-Key": "k-ok"})
        assert r.json()["accepted"] == 1
        assert "synthetic" not in r.text
    kept = [cfg.db, cfg.timeline, cfg.checkpoint]
    assert all(p is not None and p.exists() for p in kept)
    for path in tmp_path.iterdir():  # the files and their journals
        assert b"synthetic" not in path.read_bytes(), path


def test_a_query_value_that_reads_as_a_sentence_or_two_id_types_are_refused(
    client: TestClient,
) -> None:
    """Was: a query value of words (``?from=see you at the park``) was read (the console
    report's page showed it back, the access log kept it), and ``?id_type=int&id_type=text``
    was answered for the last one given. Both are refused now (422), a sentence unshown."""
    r = client.get("/v1/conversations/7", params={"id_type": "see you at the park"})
    assert r.status_code == 422
    assert "park" not in r.text
    assert "query field 'id_type' holds text of 19 characters" in r.json()["detail"]
    r = client.get("/v1/conversations/7?id_type=int&id_type=text")
    assert r.status_code == 422
    assert "id_type is given twice" in r.json()["detail"]
    assert client.get("/v1/conversations/7?id_type=int&id_type=int").status_code == 404
