"""``riskscore serve``'s scoring API: events in, alerts out, as ``riskscore stream`` does."""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from serve_helpers import config

import riskscore as rs
import riskscore.cli.serve as serve_command
from riskscore.cli import main
from riskscore.cli.entrypoint import build_parser
from riskscore.moderation import ReviewQueue
from riskscore.serve import Part, create_app
from riskscore.serve.body import JSON_LINES_TYPES


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return list(rs.synthetic.generate(200, prevalence=0.15, seed=8).messages.iter_events())


@pytest.fixture
def client(tmp_path: Path, model: rs.RiskModel) -> Iterator[TestClient]:
    with TestClient(create_app(config(tmp_path, model))) as c:
        yield c


def _queue(client: TestClient) -> ReviewQueue:
    """The service's queue, opened apart (SQLite connections stay in their thread)."""
    return ReviewQueue(client.app.state.config.db)  # type: ignore[attr-defined]


def _stream_alerts(events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    text = "".join(json.dumps(e) + "\n" for e in events)
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["stream"]) == 0
    alerts = [json.loads(line) for line in out.getvalue().splitlines()]
    for a in alerts:
        del a["line"]
    return alerts


def _post_batches(client: TestClient, events: list[dict[str, Any]], size: int) -> list[Any]:
    alerts = []
    for start in range(0, len(events), size):
        r = client.post("/v1/events", json=events[start : start + size])
        assert r.status_code == 200, r.text
        for a in r.json()["alerts"]:
            assert 0 <= a.pop("index") < size
            alerts.append(a)
    return alerts


def test_batches_return_the_alerts_riskscore_stream_writes(
    client: TestClient, events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _stream_alerts(events, monkeypatch)
    assert len(expected) >= 3
    assert _post_batches(client, events, 500) == expected
    # ... and they are in the console's queue: one open alert item per alerted conversation.
    alerted = {a["conversation_id"] for a in expected}
    with _queue(client) as queue:
        items = queue.items(status="open")
    open_alerts = {i.conversation_id for i in items if i.kind == "alert"}
    assert open_alerts == alerted


def test_single_events_and_json_lines_give_the_same_alerts(
    tmp_path: Path, model: rs.RiskModel, events: list[dict[str, Any]]
) -> None:
    part = events[:120]
    with TestClient(create_app(config(tmp_path / "a", model))) as one:
        singles = []
        for e in part:
            r = one.post("/v1/events", json=e)
            assert r.status_code == 200
            singles += [{**a, "index": None} for a in r.json()["alerts"]]
    with TestClient(create_app(config(tmp_path / "b", model))) as lines:
        body = "".join(json.dumps(e) + "\n" for e in part)
        r = lines.post("/v1/events", content=body, headers={"Content-Type": "application/x-ndjson"})
        assert r.status_code == 200
        assert r.json()["accepted"] == len(part)
        batch = [{**a, "index": None} for a in r.json()["alerts"]]
    assert singles == batch


def test_refused_events_come_back_with_index_and_the_validators_message(
    client: TestClient, events: list[dict[str, Any]]
) -> None:
    bad = {**events[1], "channel": "carrier pigeon"}
    content = {**events[2], "message_text": "hello"}
    batch = [events[0], bad, content, [1, 2], events[3]]
    r = client.post("/v1/events", json=batch)
    assert r.status_code == 422
    body = r.json()
    assert body["accepted"] == 2
    refused = {x["index"]: x["message"] for x in body["refused"]}
    assert set(refused) == {1, 2, 3}
    assert "column 'channel'" in refused[1]
    # free text in a category column is not echoed: it may be message content
    assert "text of 14 characters (not shown" in refused[1]
    assert "pigeon" not in refused[1]
    assert "riskscore reads no message content" in refused[2]
    assert refused[3] == "event 3 is a JSON array, not an object (one event)"
    # the same message as the shared validator gives
    with pytest.raises(rs.SchemaError) as info:
        rs.OnlineScorer(rs.load_model()).update_one(bad)
    assert refused[1].split(":", 1)[1] == str(info.value).split(":", 1)[1]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"", "application/json"),
        (b"[1, 2", "application/json; charset=utf-8"),  # no Content-Type: 415 (review 6)
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"a": 1}\n{broken\n', "application/x-ndjson"),
        (b"12", "application/json"),
        (b"null", "application/json"),
    ],
)
def test_bad_bodies_are_422_never_500(client: TestClient, body: bytes, content_type: Any) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    r = client.post("/v1/events", content=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["refused"][0]["message"]


def test_content_fields_are_refused_on_every_route(client: TestClient) -> None:
    for path in ("/v1/events?text=hi", "/healthz?message=x", "/console/signin?Body=1"):
        r = client.request("POST" if path.startswith("/v1") else "GET", path, content=b"{}")
        assert r.status_code == 422, path
        assert "no message content" in r.text


def test_body_limit(tmp_path: Path, model: rs.RiskModel) -> None:
    with TestClient(create_app(config(tmp_path, model, max_body_bytes=100))) as c:
        r = c.post("/v1/events", content=b"[" + b" " * 200 + b"]")
        assert r.status_code == 413


def test_a_retried_batch_id_is_applied_once(
    client: TestClient, events: list[dict[str, Any]]
) -> None:
    batch = events[:50]
    first = client.post("/v1/events", json=batch, headers={"Idempotency-Key": "b-1"})
    again = client.post("/v1/events", json=batch, headers={"Idempotency-Key": "b-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == {**first.json(), "replayed": True}
    assert client.get("/healthz").json()["events"] == 50
    other = client.post("/v1/events", json=events[50:60], headers={"Idempotency-Key": "b-2"})
    assert other.json()["accepted"] == 10
    assert client.get("/healthz").json()["events"] == 60
    bad = client.post("/v1/events", json=events[60:61], headers={"Idempotency-Key": "x" * 201})
    assert bad.status_code == 422


def test_get_conversation(client: TestClient, events: list[dict[str, Any]]) -> None:
    client.post("/v1/events", json=events)
    cid = events[-1]["conversation_id"]
    r = client.get(f"/v1/conversations/{cid}")
    assert r.status_code == 200
    body = r.json()
    scorer = rs.OnlineScorer(rs.load_model())
    scorer.update_many(events)
    assert body["risk"] == pytest.approx(scorer.score_of(cid))
    assert body["conversation_id"] == cid
    assert body["tier"] in ("none", "review", "urgent")
    assert all(isinstance(r, str) and r for r in body["reasons"])
    assert body["n_events"] == sum(e["conversation_id"] == cid for e in events)
    assert client.get("/v1/conversations/no-such-thing").status_code == 404


def test_healthz_metrics_and_openapi(client: TestClient, events: list[dict[str, Any]]) -> None:
    client.post("/v1/events", json=events[:200])
    client.post("/v1/events", json=events[200])
    client.post("/v1/events", json=[{"conversation_id": 1}])
    assert client.get("/healthz").json()["status"] == "ok"
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values()
               for s in f.samples}  # fmt: skip
    assert samples[("riskscore_events_total", ())] == 201
    assert samples[("riskscore_events_refused_total", (("reason", "SchemaError"),))] == 1
    assert samples[("riskscore_scoring_seconds_count", (("kind", "batch"),))] == 1
    assert samples[("riskscore_scoring_seconds_count", (("kind", "single"),))] == 2
    assert "riskscore_queue_open_items" in families
    assert "riskscore_queue_open_by_wait" in families
    assert "riskscore_alerts" in families
    spec = client.get("/openapi.json").json()
    assert "/v1/events" in spec["paths"]
    params = spec["paths"]["/v1/events"]["post"]["parameters"]
    assert [(p["name"], p["in"]) for p in params] == [("Idempotency-Key", "header")]
    assert "/v1/conversations/{conversation_id}" in spec["paths"]
    # no Swagger UI or ReDoc: their pages load scripts from a CDN, without sign-in
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_api_token(tmp_path: Path, model: rs.RiskModel, events: list[dict[str, Any]]) -> None:
    with TestClient(create_app(config(tmp_path, model, api_token="s3cret-token"))) as c:
        assert c.post("/v1/events", json=events[0]).status_code == 401
        ok = c.post("/v1/events", json=events[0], headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
        # metrics tell queue depth by child age band: the token guards them too
        assert c.get("/metrics").status_code == 401
        scrape = c.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert scrape.status_code == 200
        assert c.get("/healthz").status_code == 200  # liveness probes stay open
        # the scheme's name in any case (RFC 9110), the token exactly
        for scheme in ("bearer", "BEARER"):
            auth = {"Authorization": f"{scheme} s3cret-token"}
            assert c.get("/metrics", headers=auth).status_code == 200
        for wrong in ("Bearer S3CRET-TOKEN", "Basic s3cret-token", "Bearer", "s3cret-token"):
            assert c.get("/metrics", headers={"Authorization": wrong}).status_code == 401


def test_checkpoint_at_shutdown_and_restore(
    tmp_path: Path, model: rs.RiskModel, events: list[dict[str, Any]]
) -> None:
    cfg = config(tmp_path, model)
    with TestClient(create_app(cfg)) as c:
        c.post("/v1/events", json=events[:150], headers={"Idempotency-Key": "first"})
    assert (tmp_path / "state.sqlite").exists()
    with TestClient(create_app(cfg)) as c:
        assert c.get("/healthz").json()["events"] == 150
        replay = c.post("/v1/events", json=events[:150], headers={"Idempotency-Key": "first"})
        assert replay.json()["replayed"] is True
        assert c.get("/healthz").json()["events"] == 150


def test_user_reports_from_children_are_queued(client: TestClient) -> None:
    base = {"conversation_id": "c-9", "channel": "direct", "recipient_tz_offset_min": 0}
    hello = {**base, "timestamp": 1_700_000_000, "sender_id": "adult-9",
             "recipient_id": "kid-9", "sender_age": 40, "recipient_age": 12}  # fmt: skip
    report = {**base, "timestamp": 1_700_000_100, "sender_id": "kid-9",
              "recipient_id": "adult-9", "sender_age": 12, "recipient_age": 40,
              "event": "report"}  # fmt: skip
    assert client.post("/v1/events", json=[hello, report]).status_code == 200
    with _queue(client) as queue:
        reports = [i for i in queue.items() if i.kind == "user_report"]
    assert [(i.adult_id, i.child_id, i.concerns_child) for i in reports] == [
        ("adult-9", "kid-9", True)
    ]


def test_the_command_restores_the_checkpoint_once(
    tmp_path: Path,
    model: rs.RiskModel,
    events: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checkpoint = tmp_path / "state.sqlite"
    scorer = rs.OnlineScorer(model)
    scorer.update_many(events[:100])
    scorer.checkpoint(checkpoint)
    calls = []
    restore = rs.OnlineScorer.restore

    def counted(*args: Any, **kwargs: Any) -> rs.OnlineScorer:
        calls.append(args[0])
        return restore(*args, **kwargs)

    monkeypatch.setattr(rs.OnlineScorer, "restore", counted)
    argv = ["serve", "--db", str(tmp_path / "q.sqlite"), "--checkpoint", str(checkpoint)]
    cfg = serve_command._config(build_parser().parse_args(argv))
    assert len(calls) == 1  # a bad checkpoint fails before the server listens
    assert cfg.scorer().n_events == 100
    assert len(calls) == 1  # ... and the application takes that scorer
    assert cfg.scorer().n_events == 100
    assert len(calls) == 2  # a second application restores anew


def test_the_help_names_the_openapi_route_the_server_has(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # the help said /docs, which is 404 on purpose (no Swagger UI from a CDN)
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "OpenAPI description at /openapi.json" in text
    assert "/docs" not in text.replace("docs/serve.md", "")
    assert client.get("/openapi.json").status_code == 200


def test_a_batch_answers_each_alert_in_the_bytes_riskscore_stream_writes(
    client: TestClient, events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One text per alert: the service's alert is the stream's line, ``index`` (from 0) in
    place of ``line`` (from 1)."""
    text = "".join(json.dumps(e) + "\n" for e in events)
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["stream"]) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3
    expected = [
        re.sub(r',"line":(\d+)\}$', lambda m: f',"index":{int(m[1]) - 1}}}', line) for line in lines
    ]
    r = client.post("/v1/events", json=events)
    assert r.status_code == 200, r.text
    assert '"alerts":[' + ",".join(expected) + "]" in r.text


ROOT = Path(__file__).resolve().parents[1]


def test_the_serve_page_names_every_refusal_reason_and_json_lines_type() -> None:
    """docs/serve.md's metrics table named no ``not_tried`` reason, which the service counts
    once a batch has 100 refusals, and its route table two of the four JSON lines types."""
    page = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    source = (ROOT / "riskscore" / "serve" / "service.py").read_text(encoding="utf-8")
    reasons = set(re.findall(r'labels\(reason="(\w+)"\)', source)) | {"future_timestamp"}
    row = next(line for line in page.splitlines() if "`riskscore_events_refused_total`" in line)
    assert {r for r in reasons if f"`{r}`" not in row} == set()
    assert {t for t in JSON_LINES_TYPES if f"{t}`" not in page} == set()


def test_the_serve_page_lists_every_requirement_of_the_serve_extra() -> None:
    """The install line's comment named every requirement but starlette."""
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["serve"]
    names = {re.split(r"[^\w-]", requirement, maxsplit=1)[0] for requirement in extra}
    block = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8").split("```")[1]
    assert {name for name in names if name not in block} == set()


def test_the_serve_page_names_the_scorer_options_it_shares_with_stream() -> None:
    """The page's list of the options `serve` takes from `stream` left out
    ``--max-room-members``; the defaults are the same, as it says."""
    parsers = {
        action.dest: action.choices
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    }["command"]
    options = {
        name: {o: a.default for a in parsers[name]._actions for o in a.option_strings}
        for name in ("stream", "serve")
    }
    shared = options["stream"].keys() & options["serve"].keys()
    scorer = shared - {"-h", "--help", "--json", "--model", "--policy", "--checkpoint"}
    assert {o: options["serve"][o] for o in scorer} == {o: options["stream"][o] for o in scorer}
    page = " ".join((ROOT / "docs" / "serve.md").read_text(encoding="utf-8").split())
    listed = re.search(r"the scorer's options \(([^)]*)\) are those of `riskscore stream`", page)
    assert listed is not None
    assert set(re.findall(r"`(--[\w-]+)`", listed.group(1))) == scorer


def test_a_console_process_answers_healthz_with_what_the_page_says(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """docs/serve.md gave one answer of ``/healthz``; a ``--part console`` process, which
    holds no scorer, answers its status and open items only."""
    with TestClient(create_app(config(tmp_path, model, part=Part.CONSOLE))) as console:
        assert console.get("/healthz").json() == {"status": "ok", "open_items": 0}
    page = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| `GET /healthz`"))
    assert "`--part console`" in row
    assert "`status` and `open_items` only" in row
