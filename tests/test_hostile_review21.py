"""Hostile-input review 21: ``riskscore stream`` and ``riskscore serve`` as a hostile client
or a buggy upstream platform would feed them."""

from __future__ import annotations

import gzip
import io
import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import config

import riskscore as rs
from riskscore.cli import main
from riskscore.cli.stream import MAX_LINE_CHARS
from riskscore.io.schema import MAX_JSON_DEPTH, MAX_JSON_LINE_LENGTH
from riskscore.moderation import ReviewQueue
from riskscore.serve import create_app
from riskscore.serve.body import BatchSizeError, parse_body
from riskscore.serve.timeline import TimelineStore

T0 = 1_767_225_600


def _line(t: int, **fields: Any) -> str:
    event = {
        "conversation_id": "c1",
        "timestamp": T0 + t,
        "sender_id": "a",
        "recipient_id": "b",
        "sender_age": 30,
        "recipient_age": 12,
        "channel": "direct",
    }
    return json.dumps({**event, **fields}, ensure_ascii=False)


def _stream(
    monkeypatch: pytest.MonkeyPatch, data: bytes, encoding: str = "utf-8"
) -> tuple[int, dict[str, Any], str]:
    """``riskscore stream --json`` on ``data`` given as the interpreter gives stdin: a text
    wrapper over bytes, in the locale's encoding and with strict errors (a UTF-8 locale
    such as en_US.UTF-8; only the C locale gets ``surrogateescape``)."""
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="strict", newline="\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = main(["stream", "--time-source", "events", "--json"])
    summary = json.loads(out.getvalue().splitlines()[-1]) if code == 0 else {}
    return code, summary.get("summary", summary), err.getvalue()


def test_a_line_that_is_not_utf8_is_refused_and_the_stream_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The interpreter's stdin decoded strictly: the first byte that is not UTF-8 raised
    # out of the loop, and the stream stopped (exit 2) with no final checkpoint, where
    # the help says "whatever a line holds, the stream goes on".
    data = f"{_line(0)}\n".encode() + b'{"sender_id": "\xff\xfe"}\n' + f"{_line(1)}\n".encode()
    code, summary, err = _stream(monkeypatch, data)
    assert code == 0, err
    assert (summary["lines"], summary["events"], summary["rejected"]) == (3, 2, 1)
    assert "line 2: the line is not valid UTF-8 (byte 0xff" in err


def test_stdin_is_read_as_utf8_whatever_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    # Schema v1 is UTF-8 (read_messages and the API read it so); stdin was read in the
    # locale's encoding: an ASCII locale stopped the stream at the first accented id,
    # a Latin-1 one read "é" as "Ã©", another account than batch sees.
    data = f"{_line(0, sender_id='é')}\n{_line(1, sender_id='é')}\n".encode()
    for encoding in ("ascii", "latin-1"):
        code, summary, err = _stream(monkeypatch, data, encoding)
        assert code == 0, err
        assert (summary["events"], summary["rejected"]) == (2, 0)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_line_at_the_limit_is_read_with_or_without_its_line_break(
    monkeypatch: pytest.MonkeyPatch, newline: str
) -> None:
    # The limit counted the line break: a line of exactly MAX_LINE_CHARS characters was
    # refused as "more than" the limit, and the same line read when last without one.
    base = _line(0, pad="")
    line = _line(0, pad="x" * (MAX_LINE_CHARS - len(base)))
    assert len(line) == MAX_LINE_CHARS
    data = f"{line}{newline}{_line(1)}{newline}{line.replace(str(T0), str(T0 + 2))}"
    code, summary, err = _stream(monkeypatch, data.encode())
    assert code == 0, err
    assert (summary["events"], summary["rejected"]) == (3, 0), err
    # one character more is refused, with or without a line break
    longer = _line(0, pad="x" * (MAX_LINE_CHARS - len(base) + 1))
    data = f"{longer}{newline}{_line(1)}{newline}{longer.replace(str(T0), str(T0 + 2))}"
    code, summary, err = _stream(monkeypatch, data.encode())
    assert (code, summary["events"], summary["reasons"]) == (0, 1, {"line_too_long": 2}), err


def test_read_messages_reads_a_line_at_the_limit_with_or_without_its_line_break(
    tmp_path: Path,
) -> None:
    # The same count of the line break in batch: "is a line of 65537 characters".
    line = _line(0, pad="x" * (MAX_JSON_LINE_LENGTH - len(_line(0, pad=""))))
    assert len(line) == MAX_JSON_LINE_LENGTH
    path = tmp_path / "events.jsonl"
    for newline in ("\n", "\r\n"):
        path.write_bytes(f"{line}{newline}{_line(1)}{newline}{_line(2, pad='x')}".encode())
        table = rs.read_messages(path, errors="quarantine")
        assert (len(table), table.quarantined.to_records()) == (3, [])


def _nested(depth: int) -> Any:
    """A value that makes an event line ``depth`` levels deep (the event's object is one)."""
    value: Any = 1
    for _ in range(depth - 1):
        value = {"a": value}
    return value


_OVER_LIMITS = {
    "nested too deep": {"meta": _nested(MAX_JSON_DEPTH + 1)},
    "too long": {"pad": "x" * MAX_JSON_LINE_LENGTH},
}
_AT_LIMITS = {"meta": _nested(MAX_JSON_DEPTH)}


@pytest.mark.parametrize("case", _OVER_LIMITS)
def test_an_event_beyond_the_json_lines_limits_is_refused_online_as_in_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    # docs/schema.md: a line longer than 65,536 characters or nested deeper than 64 levels
    # is refused, "so is such an event in riskscore stream and in a request to riskscore
    # serve". read_messages refused both; the API applied both, and stream the deep one.
    lines = [_line(0, **_AT_LIMITS), _line(1, **_OVER_LIMITS[case]), _line(2)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    [refused] = rs.read_messages(path, errors="quarantine").quarantined.to_records()
    assert (refused["line"], refused["column"]) == (2, "line")
    # stream
    code, summary, err = _stream(monkeypatch, path.read_bytes())
    assert (code, summary["events"], summary["rejected"]) == (0, 2, 1), err
    # the API: as a JSON array and as JSON lines, the other events applied
    model = rs.load_model()
    bodies = {
        "application/json": "[" + ",".join(lines) + "]",
        "application/x-ndjson": path.read_text(),
    }
    for i, (content_type, body) in enumerate(bodies.items()):
        with TestClient(create_app(config(tmp_path / str(i), model))) as client:
            r = client.post("/v1/events", content=body, headers={"Content-Type": content_type})
            assert r.status_code == 422, r.text
            assert r.json()["accepted"] == 2
            [item] = r.json()["refused"]
            assert item["index"] == 1
            assert ("deeper than 64 levels" if "deep" in case else "the limit is 65536") in (
                item["message"]
            )
            scorer = client.app.state.serve.service.scorer  # type: ignore[attr-defined]
            assert scorer.n_events == 2


def test_a_batch_of_many_tiny_elements_is_refused_before_it_is_all_parsed() -> None:
    # The whole array was parsed before its length was checked: a 16 MiB body of "{}," made
    # 5.6 million dicts (some 400 MB, 25 times the body) before the 413.
    body = b"[" + b"{}," * 1_000_000 + b"{}]"
    tracemalloc.start()
    try:
        with pytest.raises(BatchSizeError):
            parse_body(body, "application/json")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(body), peak


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate, gzip"])
def test_a_compressed_body_is_refused_as_such_and_not_read_as_plain(
    tmp_path: Path, encoding: str
) -> None:
    # Content-Encoding was not looked at: a gzip body was "not UTF-8 text ('utf-8' codec
    # can't decode byte 0x8b ...)", and a plain body labelled gzip was applied.
    plain = _line(0).encode()
    with TestClient(create_app(config(tmp_path, rs.load_model()))) as client:
        for body in (gzip.compress(plain), plain):
            headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
            r = client.post("/v1/events", content=body, headers=headers)
            assert r.status_code == 415, r.text
            [item] = r.json()["refused"]
            assert f"Content-Encoding {encoding!r} is not read" in item["message"]
        assert client.app.state.serve.service.scorer.n_events == 0  # type: ignore[attr-defined]
        r = client.post(
            "/v1/events",
            content=plain,
            headers={"Content-Type": "application/json", "Content-Encoding": "identity"},
        )
        assert r.status_code == 200, r.text


def _room_events() -> list[dict[str, Any]]:
    """Room ``r``: an adult and a child, then a second child (a group room from then on:
    each pair its own conversation), who reports the adult."""
    return [
        json.loads(_line(0, conversation_id="r", sender_id="adult", recipient_id="kid-1",
                         sender_age=40, recipient_age=12)),
        json.loads(_line(1, conversation_id="r", sender_id="adult", recipient_id="kid-2",
                         sender_age=40, recipient_age=13)),
        json.loads(_line(2, conversation_id="r", sender_id="kid-2", recipient_id="adult",
                         sender_age=13, recipient_age=40, event="report")),
    ]  # fmt: skip


def test_a_report_in_a_group_room_is_queued_under_its_pair_not_a_500(tmp_path: Path) -> None:
    # The report was looked up under the room's id, which names no live conversation once
    # the room has three accounts: KeyError, a 500, with the batch's events applied to
    # the scorer but nothing queued, kept for the plots or remembered for a retry.
    model = rs.load_model()
    with TestClient(create_app(config(tmp_path, model)), raise_server_exceptions=False) as client:
        r = client.post("/v1/events", json=_room_events(), headers={"Idempotency-Key": "b1"})
        assert r.status_code == 200, r.text
        service = client.app.state.serve.service  # type: ignore[attr-defined]
        pair = "r|adult|kid-2"
        with ReviewQueue(tmp_path / "queue.sqlite") as queue:
            [report] = [i for i in queue.items() if i.kind == "user_report"]
        assert (report.conversation_id, report.child_id) == (pair, "kid-2")
        assert report.risk == service.scorer.score_of(pair)
        # the plots read the events of a queue item's conversation: the pair's, not the room's
        service.timeline.flush()
        timeline = TimelineStore(tmp_path / "timeline.sqlite")  # its connection, this thread's
        try:
            assert [e.timestamp for e in timeline.events_of(pair)] == [T0 + 1, T0 + 2]
        finally:
            timeline.close()
        # ... and a retry is answered from the first response, nothing applied twice
        again = client.post("/v1/events", json=_room_events(), headers={"Idempotency-Key": "b1"})
        assert again.json()["replayed"] is True
        assert service.scorer.n_events == 3


def test_the_api_reads_a_json_lines_line_at_the_limit_with_windows_line_breaks(
    tmp_path: Path,
) -> None:
    line = _line(0, pad="x" * (MAX_JSON_LINE_LENGTH - len(_line(0, pad=""))))
    body = f"{line}\r\n{_line(1)}\r\n".encode()
    with TestClient(create_app(config(tmp_path, rs.load_model()))) as client:
        r = client.post("/v1/events", content=body, headers={"Content-Type": "application/jsonl"})
        assert (r.status_code, r.json()["accepted"]) == (200, 2), r.text
