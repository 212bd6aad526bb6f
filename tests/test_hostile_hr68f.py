"""Hostile review hr68f: ``riskscore serve``'s ``POST /v1/events`` and ``riskscore stream``
fed bodies and lines a hostile or careless client sends (JSON nested past the parser's
stack, lines of Unicode blanks)."""

from __future__ import annotations

import io
import json
import logging
import math
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from io_helpers import NEW_YEAR_MESSAGE
from serve_helpers import config

import riskscore as rs
from riskscore.cli import main
from riskscore.cli.stream import stream_lines
from riskscore.serve import create_app
from riskscore.serve.body import parse_body

EVENT = json.dumps(NEW_YEAR_MESSAGE)
#: Nested deeper than the JSON parser's stack (it raises RecursionError near 1,000).
DEEP = '{"x": ' + "[" * 5000 + "]" * 5000 + "}"
TOO_DEEP = "nests arrays or objects deeper than 64 levels"


def _outcome(body: str, content_type: str) -> list[tuple[int, str | None]]:
    return [(i.index, i.error) for i in parse_body(body.encode(), content_type)]


def test_an_array_element_nested_past_the_parsers_stack_is_refused_alone() -> None:
    """Was: an element nested deeper than the parser's stack (some 1,000 levels) made the
    whole batch "not JSON (maximum recursion depth exceeded while decoding a JSON array
    from a unicode string)", its good events not applied, while the same element 100
    levels deep, or the same batch as JSON lines, was refused alone by its depth. Now it is
    refused alone, with the depth message of a JSON line, and the others are read."""
    as_array = _outcome(f"[{EVENT}, {DEEP}, {EVENT}]", "application/json")
    as_lines = _outcome(f"{EVENT}\n{DEEP}\n{EVENT}\n", "application/x-ndjson")
    assert as_array == [(0, None), (1, f"event 1 {TOO_DEEP}"), (2, None)]
    assert as_lines == [(0, None), (1, f"line 1 {TOO_DEEP}"), (2, None)]
    # one event alone, and one whose parse failed first on a number too long
    assert _outcome(DEEP, "application/json") == [(0, f"event 0 {TOO_DEEP}")]
    long_then_deep = '{"a": ' + "1" * 5000 + ', "b": ' + DEEP + "}"
    assert _outcome(f"[{long_then_deep}]", "application/json") == [(0, f"event 0 {TOO_DEEP}")]


def test_a_body_whose_deep_element_is_never_closed_is_not_json_in_words() -> None:
    """An element nested past the parser's stack whose brackets are not closed leaves no
    end to read the rest from: the body is refused as not JSON, by the element's index and
    depth, not by the parser's recursion limit."""
    with pytest.raises(ValueError, match="event 1 nests arrays or objects deeper than 64") as info:
        parse_body(f"[{EVENT}, {'[' * 5000}".encode(), "application/json")
    assert "recursion" not in str(info.value)


def test_a_line_of_unicode_blanks_is_refused_alike_by_batch_stream_and_serve(
    tmp_path: Path,
) -> None:
    """Was: a line holding only a no-break space, U+3000 or a separator such as U+001C
    (blank to :meth:`str.strip`, but no JSON) was skipped in silence by ``riskscore
    stream`` and a JSON lines ``POST /v1/events``, while :func:`riskscore.read_messages`
    refused it (the whole file, without ``errors="quarantine"``): the same input was 0
    rejected lines online and a failed batch. Now a blank line is one of ASCII whitespace
    everywhere (:func:`riskscore.io.jsonl.is_blank_line`); the others are refused by their
    number."""
    text = f"{EVENT}\n\u3000\n\x1c\n\xa0\n \x0c\t\r\n{EVENT}\n"
    path = tmp_path / "events.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(rs.SchemaError, match=r"row 1 \(line 2\)"):
        rs.read_messages(path)
    assert len(rs.read_messages(path, errors="quarantine")) == 2

    out, err = io.StringIO(), io.StringIO()
    result = stream_lines(rs.OnlineScorer(rs.load_model()), io.StringIO(text), out, err)
    assert (result.events, result.rejected) == (2, 3)
    assert [line.split(":")[0] for line in err.getvalue().splitlines()] == [
        "line 2",
        "line 3",
        "line 4",
    ]

    served = _outcome(text, "application/x-ndjson")
    assert [index for index, error in served if error is not None] == [1, 2, 3]
    assert [index for index, error in served if error is None] == [0, 5]


@pytest.fixture(scope="module")
def alerting_events() -> list[dict[str, Any]]:
    """Synthetic events (dated ahead of the clock: read with ``time_source="events"``)
    that raise alerts."""
    data = rs.synthetic.generate(200, prevalence=0.15, seed=8)
    return list(data.messages.iter_events())


def _client(tmp: Path) -> TestClient:
    model = rs.load_model()

    def scorer() -> rs.OnlineScorer:
        policy = rs.AlertPolicy.default()
        return rs.OnlineScorer(model, policy, time_source="events", max_future_s=math.inf)

    return TestClient(create_app(config(tmp, model, scorer=scorer)))


def test_a_batch_whose_alerts_the_queue_cannot_store_is_answered_and_not_applied_twice(
    tmp_path: Path, alerting_events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: when the review queue could not be written for another reason than a lock (a
    full disk), ``POST /v1/events`` answered a bare 500 after the batch's events were
    applied: its alerts were not queued, and the client's retry under the same
    ``Idempotency-Key`` applied every event a second time. Now the answer says the alerts
    were not queued (index null), and it is remembered: the retry is replayed, nothing
    applied twice."""
    with _client(tmp_path) as client:
        service = client.app.state.serve.service  # type: ignore[attr-defined]

        def full_disk(*args: object, **kwargs: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(service.queue, "add_alerts", full_disk)
        headers = {"Idempotency-Key": "batch-1"}
        first = client.post("/v1/events", json=alerting_events, headers=headers)
        assert first.status_code == 422
        body = first.json()
        assert body["accepted"] == len(alerting_events)
        assert body["alerts"]
        assert [r["index"] for r in body["refused"]] == [None]
        assert "what they raised was not queued" in body["refused"][0]["message"]
        events = service.scorer.n_events
        retry = client.post("/v1/events", json=alerting_events, headers=headers)
        assert retry.json() == {**body, "replayed": True}
        assert service.scorer.n_events == events


def test_a_batch_after_the_timeline_writer_failed_is_scored_queued_and_not_applied_twice(
    tmp_path: Path, alerting_events: list[dict[str, Any]]
) -> None:
    """Was: once the timeline's writer thread failed (a full disk), every later batch was
    applied to the scorer and then answered a bare 500: its alerts never reached the
    review queue and a retry under the same key applied it again. Now the alerts are
    queued first, the timeline not written is said (index None), and the answer is
    remembered under its key."""
    with _client(tmp_path) as client:
        state = client.app.state.serve  # type: ignore[attr-defined]
        state.timeline._failed = sqlite3.OperationalError("database or disk is full")
        headers = {"Idempotency-Key": "batch-2"}
        first = client.post("/v1/events", json=alerting_events, headers=headers)
        assert first.status_code == 422
        body = first.json()
        assert body["accepted"] == len(alerting_events)
        assert [r["index"] for r in body["refused"]] == [None]
        assert "the timeline was not written" in body["refused"][0]["message"]
        assert len(state.queue) > 0  # the alerts were queued
        events = state.service.scorer.n_events
        retry = client.post("/v1/events", json=alerting_events, headers=headers)
        assert retry.json() == {**body, "replayed": True}
        assert state.service.scorer.n_events == events
        state.timeline._failed = None  # the store closes as it would after the disk is freed


@pytest.mark.parametrize("closed", ["stdin", "stdout"])
def test_stream_with_a_closed_standard_stream_is_one_line_not_a_traceback(
    closed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore stream <&-`` or ``>&-`` (a service manager or script that closes
    the stream; Python then has ``sys.stdin`` or ``sys.stdout`` None) ended with a
    traceback (``'NoneType' object has no attribute 'fileno'``). Now it is one line naming
    the stream, exit status 2, before any work."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(EVENT + "\n"))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.setattr(sys, closed, None)
    assert main(["stream"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"riskscore stream: error: {closed} is closed: ")
    assert "Traceback" not in err


def test_adding_a_moderator_with_stdin_closed_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore serve --add-moderator NAME <&-`` (the password read from stdin,
    which is closed) ended with a traceback (``'NoneType' object has no attribute
    'readline'``). Now it is one line saying how to give the password, and no account."""
    monkeypatch.setattr(sys, "stdin", None)
    db = tmp_path / "queue.sqlite"
    assert main(["serve", "--db", str(db), "--add-moderator", "mod-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("riskscore serve: error: stdin is closed: ")
    assert "--password-env" in err


def test_an_id_beyond_int64_written_with_an_exponent_is_that_integer_online(
    tmp_path: Path,
) -> None:
    """Was: ``12345678901234567890`` and ``1.2345678901234567890e19`` (the same integer
    beyond int64, the second a JSON number with an exponent, parsed exactly as a decimal)
    were one conversation and one adult in :func:`riskscore.read_messages`, but two of
    each in ``riskscore stream`` and ``POST /v1/events``: online the decimal became the
    text id ``"12345678901234567890"``, another account than the integer. Now it is that
    integer online too."""
    big = "12345678901234567890"

    def line(cid: str, t: int, sender: str, recipient: str, ages: tuple[int, int]) -> str:
        return (
            f'{{"conversation_id": {cid}, "timestamp": {1_767_225_600 + t}, "sender_id": '
            f'{sender}, "recipient_id": {recipient}, "sender_age": {ages[0]}, '
            f'"recipient_age": {ages[1]}, "channel": "direct"}}\n'
        )

    text = line(big, 0, big, "77", (31, 12)) + line(
        "1.2345678901234567890e19", 60, "77", "1.2345678901234567890e19", (12, 31)
    )
    path = tmp_path / "events.jsonl"
    path.write_text(text)
    batch = rs.read_messages(path)
    assert len(set(batch.to_pandas()["conversation_id"].tolist())) == 1
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events", max_future_s=math.inf)
    stream_lines(scorer, io.StringIO(text), io.StringIO(), io.StringIO())
    assert scorer.n_conversations == 1
    assert scorer.conversation_of(int(big)).n_events == 2


def test_a_last_line_cut_short_is_read_again_by_the_resumed_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: with ``--checkpoint``, a last line with no line break that was not valid JSON
    (a file still being written: ``riskscore stream --checkpoint state.sqlite <
    events.jsonl`` run while the producer appends) was counted as processed and rejected;
    the stream resumed on the finished file skipped it, so its event was never applied.
    Now it is said and left out of the checkpoint's count: the resumed stream applies it."""
    events = [
        json.dumps({**json.loads(EVENT), "timestamp": 1_767_225_600 + 60 * i}) + "\n"
        for i in range(8)
    ]
    checkpoint = tmp_path / "state.sqlite"

    def stream(text: str) -> str:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        assert main(["stream", "--checkpoint", str(checkpoint)]) == 0
        return capsys.readouterr().err

    first = stream("".join(events[:5]) + events[5][:40])
    assert "line 6: the last line has no line break" in first
    assert "not applied nor counted as processed" in first
    assert "5 events, 0 rejected" in first
    second = stream("".join(events))
    assert "after input line 5" in second
    assert "3 events, 0 rejected" in second
    restored = rs.OnlineScorer.restore(checkpoint, rs.load_model())
    assert restored.n_events == 8


def test_a_failed_checkpoint_is_logged_and_the_next_ones_still_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: the first periodic checkpoint of ``riskscore serve`` that failed (a full disk,
    the file locked by another process) ended the checkpoint task in silence: the service
    went on without another checkpoint until it stopped, so a crash lost every event since
    (and the batch ids that keep a retry from being applied twice). Now the failure is
    logged on one line and the next checkpoint runs as planned."""
    cfg = config(tmp_path, rs.load_model(), checkpoint_every_s=0.02)
    calls: list[int] = []
    with (
        caplog.at_level(logging.ERROR, logger="riskscore.serve"),
        TestClient(create_app(cfg)) as client,
    ):
        service = client.app.state.serve.service  # type: ignore[attr-defined]
        checkpoint = service.checkpoint

        def full_disk_once() -> None:
            calls.append(1)
            if len(calls) == 1:
                raise OSError(28, "No space left on device")
            checkpoint()

        service.checkpoint = full_disk_once
        deadline = time.monotonic() + 30
        while len(calls) < 3 and time.monotonic() < deadline:  # polled, with a deadline
            time.sleep(0.01)
        service.checkpoint = checkpoint
    assert len(calls) >= 3
    assert service.last_checkpoint is not None
    failed = [r.getMessage() for r in caplog.records if "checkpoint to" in r.getMessage()]
    assert failed
    assert "No space left on device; tried again in 0.02 s" in failed[0]
