"""Hostile-input review of the online paths (``riskscore serve``, ``riskscore stream``,
``OnlineScorer``): each test failed before its fix."""

from __future__ import annotations

import html
import io
import json
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from queue_helpers import occupy
from serve_helpers import (
    add_account,
    adult_child_event,
    config,
    logged_server,
    sign_in,
)

import riskscore as rs
from riskscore.cli import main
from riskscore.io.shown_ids import shown_id
from riskscore.moderation import ReviewQueue
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def test_a_query_field_named_by_a_sentence_is_refused_and_not_logged(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: a query field whose *name* read as a sentence (``?see you at the park=1``, or
    ``?see you at the park`` with no value) passed the guard that refuses such values, was
    answered as usual, and uvicorn's access log line kept the query, the sentence with it.
    Now it is refused (422, by its length only) and left out of the log, as a value is."""
    secret = quote("synthetic words that stand in for what a child said")
    with logged_server(config(tmp_path, model)) as (server, records):
        for query in (f"{secret}=1", secret, f"id_type=int&{secret}="):
            status, body = server.request(f"/v1/conversations/c1?{query}")
            assert status == 422, body
            assert "synthetic" not in body["detail"]
            assert "sentence" in body["detail"]
        status, body = server.request("/console/queue?decided=1&see+you+tonight")
        assert status == 422
        assert "tonight" not in body["detail"]
    assert len(records) == 4, records
    assert not [r for r in records if "synthetic" in r or "tonight" in r], records


def _send_half_a_body(port: int, path: str, content_type: str) -> None:
    """A request whose client goes away after half of the body it announced."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode() + b"x" * 500)
        time.sleep(0.2)  # the application is reading the body


def test_a_client_that_goes_away_mid_body_leaves_no_traceback(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: a client that closed its connection before the body it announced was sent
    (a dropped connection, or anyone on purpose, at no cost) made the server write
    "Exception in ASGI application" and a traceback of some 60 lines (ClientDisconnect)
    to its error log, per request. Now the request ends there, with nothing logged but
    uvicorn's own lines, and the server goes on."""
    with logged_server(config(tmp_path, model), "uvicorn.error") as (server, records):
        _send_half_a_body(server.port, "/v1/events", "application/json")
        _send_half_a_body(server.port, "/console/signin", "application/x-www-form-urlencoded")
        time.sleep(0.5)
        status, body = server.request("/v1/events", adult_child_event("c1", 0))
        assert (status, body["accepted"]) == (200, 1)
    assert not [r for r in records if "Exception" in r], records


def test_ids_that_differ_only_in_unicode_form_are_shown_apart_in_the_console(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the adult accounts ``café`` (``é`` one character, NFC) and ``café`` (``e`` and
    a combining accent, NFD) are two accounts, kept apart in the queue, but the console
    showed both as ``café``: two rows, two case pages and two headings a moderator could
    not tell apart. Now an id not in NFC is shown as JSON with its characters beyond
    ASCII escaped (``"cafe\\u0301"``), as the console marks other ids that would read as
    another."""
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert shown_id(composed) == composed
    assert shown_id(decomposed) == '"cafe\\u0301"'
    cfg = config(tmp_path, model)
    with ReviewQueue(cfg.db) as q:
        for n, adult in enumerate((composed, decomposed)):
            q.add_alert(Alert(f"c{n}", adult, f"k{n}", 12.0, "under 13", 0.9, Tier.URGENT))
    add_account(cfg.db, "lead-1", "lead")
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "lead-1") == 303
        page = html.unescape(client.get("/console/queue").text)
    links = re.findall(r'class="case-link">([^<]*)</a>', page)
    assert sorted(links) == sorted([composed, '"cafe\\u0301"']), links


def test_a_url_that_is_not_utf8_once_decoded_names_no_id(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: a URL path whose percent escapes are not UTF-8 (``/v1/conversations/%ff``) was
    decoded with each bad byte replaced by U+FFFD, and answered for the conversation whose
    id is that character, another id than the client sent (so was the console's case of
    ``%22%ff%22``). Now such a path or query names nothing: 422, saying so, and the path
    is not logged (it is not text)."""
    with logged_server(config(tmp_path, model)) as (server, records):
        event = adult_child_event("\ufffd", 0, sender="\ufffd")
        assert server.request("/v1/events", event)[0] == 200
        assert server.request("/v1/conversations/%EF%BF%BD")[0] == 200  # that id, in UTF-8
        for path in (
            "/v1/conversations/%ff",
            "/console/cases/%22%ff%22",
            "/v1/conversations/%EF%BF%BD?id_type=%ff",
        ):
            status, body = server.request(path)
            assert status == 422, (path, body)
            assert "not UTF-8" in body["detail"]
    assert not [r for r in records if "%ff" in r], records


NOT_EVENTS = [  # a JSON line that is no event object, and how the readers name its kind
    ("[1, 2]", "array"),
    ('"see you"', "string"),
    ("3", "number"),
    ("1.0000000000000000001", "number"),  # parsed exactly, as a Decimal
    ("true", "boolean"),
    ("null", "null"),
]


@pytest.mark.parametrize(("line", "kind"), NOT_EVENTS)
def test_a_json_value_that_is_no_event_object_is_refused_alike_everywhere(
    tmp_path: Path, model: rs.RiskModel, line: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: one rule in three wordings: ``read_messages`` said ``is a JSON NoneType`` (or
    ``int``, ``Decimal``: Python's names), ``riskscore stream`` ``expected a JSON object
    (one event), got a JSON null`` and ``POST /v1/events`` ``... got NoneType``. Now all
    three give the one reason (:func:`riskscore.io.jsonl.not_an_object`), in JSON's words."""
    reason = f"is a JSON {kind}, not an object (one event)"
    event = json.dumps(adult_child_event("c1", 0))
    path = tmp_path / "events.jsonl"
    path.write_text(f"{event}\n{line}\n")
    table = rs.read_messages(path, errors="quarantine")
    assert [q["reason"] for q in table.quarantined.to_records()] == [reason]
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{line}\n"))
    monkeypatch.setattr(sys, "stderr", err := io.StringIO())
    assert main(["stream", "--time-source", "events"]) == 0
    assert err.getvalue().splitlines()[0] == f"line 1: the line {reason}"
    with TestClient(create_app(config(tmp_path / "serve", model))) as client:
        for body, ctype in ((f"[{event}, {line}]", "json"), (f"{event}\n{line}", "x-ndjson")):
            r = client.post(
                "/v1/events", content=body, headers={"Content-Type": f"application/{ctype}"}
            )
            assert r.json()["refused"] == [{"index": 1, "message": f"event 1 {reason}"}]


def test_update_many_keeps_the_alerts_raised_before_a_refused_event(
    model: rs.RiskModel,
) -> None:
    """Was: ``update_many`` applied the events before a refused one (as documented) and
    raised, and the alerts those events raised were dropped with its list: the
    conversations counted as alerted at their tier, so the alerts were never raised
    again, by any later call. Now the refusal carries them (``SchemaError.alerts``), and
    they are the alerts the same events give one at a time."""
    events = list(rs.synthetic.generate(200, prevalence=0.15, seed=8).messages.iter_events())
    one_by_one = rs.OnlineScorer(model)
    expected = [a for e in events for a in one_by_one.update_one_all(e)]
    assert expected
    scorer = rs.OnlineScorer(model)
    bad = {**events[-1], "channel": "pigeon"}
    with pytest.raises(rs.SchemaError) as info:
        scorer.update_many([*events, bad, events[-1]])
    assert info.value.row == len(events)
    assert [a.to_dict() for a in info.value.alerts] == [a.to_dict() for a in expected]
    assert scorer.n_events == len(events)
    with pytest.raises(rs.SchemaError) as info:
        rs.OnlineScorer(model).update_many([bad])
    assert info.value.alerts == ()


def test_an_array_element_the_event_parser_refuses_is_refused_alone_by_its_index(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: one element of a JSON array body with a field given twice (or an integer of
    thousands of digits) refused the whole body, ``index: null`` and nothing applied,
    without saying which of up to 10,000 events it was; the same event as a JSON lines
    line, or a line of ``riskscore stream``, is refused alone. Now the element is refused
    by its index, with the parser's reason, and the others are applied."""
    good = json.dumps(adult_child_event("c1", 0))
    twice = good.replace('"sender_id": "a"', '"sender_id": "a", "sender_id": "x"')
    huge = good.replace('"sender_id": "a"', f'"sender_id": {"7" * 5000}')
    with TestClient(create_app(config(tmp_path, model))) as client:
        for bad, reason in ((twice, "field 'sender_id' appears twice"), (huge, "5000 digits")):
            r = client.post(
                "/v1/events",
                content=f"[{good}, {bad}, {good}]",
                headers={"Content-Type": "application/json"},
            )
            body = r.json()
            assert (r.status_code, body["accepted"]) == (422, 2), body
            [refused] = body["refused"]
            assert refused["index"] == 1
            assert refused["message"].startswith("event 1 is not valid JSON (")
            assert reason in refused["message"]
        r = client.post(
            "/v1/events", content=f"[{good}, {{]", headers={"Content-Type": "application/json"}
        )
        assert r.json()["refused"][0]["index"] is None  # not JSON: nothing applied
        assert r.json()["accepted"] == 0


def test_stream_goes_on_past_an_alert_the_queue_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: with ``--queue``, the first alert the review queue refused (its conversation id
    holds an open alert between two other accounts: never merged) ended ``riskscore
    stream`` with ``error: ...`` and exit status 2, the rest of the input unread and its
    alerts never raised, where ``riskscore serve`` refuses that alert alone and goes on.
    Now the refusal is written on stderr with the line of the event that raised it and
    counted (``queue.refused``), and the stream goes on: every other alert is written and
    queued."""
    events = list(rs.synthetic.generate(200, prevalence=0.15, seed=8).messages.iter_events())
    text = "".join(json.dumps(e) + "\n" for e in events)
    options = ["stream", "--time-source", "events", "--max-future-s", "inf", "--json"]

    def stream(*extra: str) -> tuple[int, list[Any], str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        monkeypatch.setattr(sys, "stdout", out := io.StringIO())
        monkeypatch.setattr(sys, "stderr", err := io.StringIO())
        code = main([*options, *extra])
        return code, [json.loads(x) for x in out.getvalue().splitlines()], err.getvalue()

    code, expected, _ = stream()
    first = expected[0]
    queue = tmp_path / "queue.sqlite"
    with ReviewQueue(queue) as q:  # both ids of the first alert's conversation, other pairs
        occupy(q, first["conversation_id"], first["adult_id"], first["child_id"])
    code, written, err = stream("--queue", str(queue))
    assert code == 0, err
    assert written[:-1] == expected[:-1]  # every alert, the summary apart
    refused = [a for a in expected[:-1] if a["conversation_id"] == first["conversation_id"]]
    summary = written[-1]["summary"]
    assert summary["queue"]["refused"] == len(refused)
    assert summary["queue"]["alerts"] == len(expected) - 1
    lines = [x for x in err.splitlines() if "never merged" in x]
    assert [x.split(":")[0] for x in lines] == [f"line {a['line']}" for a in refused]


@pytest.mark.parametrize("value", ["12abc", "-1", "1.5", "9" * 19, "\u0661\u0662"])
def test_a_console_count_that_is_no_whole_number_is_refused(
    tmp_path: Path, model: rs.RiskModel, value: str
) -> None:
    """Was: ``/console/audit?before=12abc`` (or ``-1``, ``1.5``, 19 digits) was read as no
    ``before`` at all: the page showed the newest entries under a link that asked for older
    ones, and ``/console/queue?decided=...`` dropped its count the same way, where the
    report's ``from`` and ``to`` are refused. Now a count that is not a whole number is
    refused (400) with a message naming the parameter and its value; an empty one is not
    given."""
    cfg = config(tmp_path, model)
    add_account(cfg.db, "lead-1", "lead")
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "lead-1") == 303
        for page, name in (("audit", "before"), ("queue", "decided")):
            r = client.get(f"/console/{page}", params={name: value})
            assert r.status_code == 400, (page, r.status_code)
            assert f"query parameter {name!r} must be a whole number" in html.unescape(r.text)
            assert client.get(f"/console/{page}?{name}=").status_code == 200
            assert client.get(f"/console/{page}?{name}=7").status_code == 200
