"""Hostile review hr68j: one reading of a timestamp and of a JSON line everywhere
(:func:`riskscore.read_messages`, the online scorer, ``riskscore stream`` and ``riskscore
serve``)."""

from __future__ import annotations

import http.client
import io
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from io_helpers import NEW_YEAR_MESSAGE
from serve_helpers import ThreadServer, config

import riskscore as rs
from riskscore.cli import main
from riskscore.cli.stream import stream_lines
from riskscore.io.events import parse_event
from riskscore.io.jsonl import loads_event
from riskscore.serve.body import parse_body

EVENT = NEW_YEAR_MESSAGE


def _line(timestamp: str) -> str:
    """An event line whose timestamp is the JSON number ``timestamp``, as written."""
    return json.dumps(EVENT).replace("1767225600", timestamp) + "\n"


def _batch(path: Path, text: str) -> list[int] | str:
    path.write_text(text)
    try:
        return rs.read_messages(path, max_future_s=math.inf).timestamp.tolist()
    except rs.SchemaError as exc:
        return "refused" if "out of range" in str(exc) else str(exc)


def _online(line: str) -> list[int] | str:
    try:
        return [parse_event(loads_event(line)).timestamp]
    except rs.SchemaError as exc:
        return "refused" if "out of range" in str(exc) else str(exc)


@pytest.mark.parametrize(
    ("number", "second"),
    [
        ("1767225600.9999999999", [1_767_225_600]),  # the float is 1767225601.0
        ("1.7672256009999999999e9", [1_767_225_600]),
        ("946684799.9999999999", "refused"),  # 1999, the float 946684800.0 (2000)
        ("1767225600." + "9" * 41, [1_767_225_600]),  # beyond Arrow's decimals
        ("1767225600.5", [1_767_225_600]),
        ("1767225601.0", [1_767_225_601]),
    ],
)
def test_a_json_number_time_is_the_second_written_in_batch_and_online(
    number: str, second: list[int] | str, tmp_path: Path
) -> None:
    """Was: Arrow read a JSON lines file's number times as 64-bit floats, so
    ``1767225600.9999999999`` was second 1767225601 in batch and 1767225600 online (whose
    parser keeps it exact), and ``946684799.9999999999`` (1999) was accepted as 2000 in
    batch and refused online. Now batch reads such a number as written, as online does,
    also beside other lines whose times are floats with a fraction."""
    line = _line(number)
    assert _online(line) == second
    assert _batch(tmp_path / "e.jsonl", line) == second
    if second != "refused":
        mixed = _line("1767225599.25") + line
        assert _batch(tmp_path / "m.jsonl", mixed) == [1_767_225_599, *second]


def test_a_json_number_time_is_read_alike_by_stream_and_serve() -> None:
    text = _line("946684799.9999999999") + _line("1767225600.9999999999")
    out, err = io.StringIO(), io.StringIO()
    result = stream_lines(rs.OnlineScorer(rs.load_model()), io.StringIO(text), out, err)
    assert (result.events, result.rejected) == (1, 1)
    assert "946684799 is out of range" in err.getvalue()
    items = parse_body(text.encode(), "application/x-ndjson")
    assert [parse_event(items[1].value).timestamp] == [1_767_225_600]  # type: ignore[arg-type]


def test_a_line_that_is_not_utf8_is_refused_alone_alike_by_batch_stream_and_serve(
    tmp_path: Path,
) -> None:
    """Was: a JSON lines ``POST /v1/events`` body with one byte that is not UTF-8 (a
    Latin-1 ``é``) was refused whole ("the request body is not UTF-8 text"), its good
    events not applied, while ``riskscore stream`` and :func:`riskscore.read_messages`
    refused that line alone, each in words of its own. Now the line alone, everywhere,
    in one wording (:func:`riskscore.io.utf8_lines.not_utf8`)."""
    good = json.dumps(EVENT).encode()
    bad = json.dumps({**EVENT, "channel": "dm"}).replace("dm", "d\xe9").encode("latin-1")
    body = good + b"\n" + bad + b"\n" + good + b"\n"
    why = "is not valid UTF-8 (byte 0xe9 at character 142): events are UTF-8 text"

    items = parse_body(body, "application/x-ndjson")
    assert [(i.index, i.error) for i in items] == [(0, None), (1, f"line 1 {why}"), (2, None)]

    path = tmp_path / "events.jsonl"
    path.write_bytes(body)
    with pytest.raises(rs.SchemaError, match=re.escape(f"row 1 (line 2): {why}")):
        rs.read_messages(path, max_future_s=math.inf)

    stdin = io.TextIOWrapper(io.BytesIO(body), encoding="utf-8", errors="surrogateescape")
    out, err = io.StringIO(), io.StringIO()
    result = stream_lines(rs.OnlineScorer(rs.load_model()), stdin, out, err)
    assert (result.events, result.rejected) == (2, 1)
    assert err.getvalue().startswith(f"line 2: the line {why}")


def test_stream_with_stderr_closed_reads_all_its_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore stream 2>&-`` (Python then holds ``sys.stderr`` None) stopped with
    exit status 1 and a traceback nobody saw, the input never read (every command did, on
    ``sys.stderr.isatty()``); a message printed to ``sys.stderr`` None goes to stdout,
    among the alerts. Now the diagnostics are discarded, as with ``2>/dev/null``, and the
    whole input is read."""
    text = '{"x": 1}\nnot json\n' + json.dumps(EVENT) + "\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    monkeypatch.setattr(sys, "stderr", None)
    assert main(["stream", "--json", "--max-future-s", "inf"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert (summary["lines"], summary["events"], summary["rejected"]) == (3, 1, 2)


def _post(port: int, key: bytes) -> tuple[int, dict[str, Any]]:
    """POST ``EVENT`` with the ``Idempotency-Key`` header's bytes as given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("POST", "/v1/events")
        body = json.dumps(EVENT).encode()
        for name, value in (
            ("Content-Type", b"application/json"),
            ("Content-Length", str(len(body)).encode()),
            ("Idempotency-Key", key),
        ):
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_an_idempotency_key_beyond_ascii_is_echoed_as_sent_or_refused(tmp_path: Path) -> None:
    """Was: a UTF-8 ``Idempotency-Key`` (``lot-é-7``) came back in ``batch_id`` as
    ``lot-Ã©-7`` (HTTP hands a header's bytes over as Latin-1), and bytes that are not
    UTF-8 were kept as a key. Now a key is read as UTF-8, as the sign-on header is
    (:func:`riskscore.serve.security.header_name`), and one that is not UTF-8 is refused
    (422), nothing applied."""
    server = ThreadServer(config(tmp_path, rs.load_model()))
    try:
        sent = "lot-é-7"
        status, first = _post(server.port, sent.encode())
        assert (status, first["batch_id"]) == (200, sent)
        status, again = _post(server.port, sent.encode())
        assert (status, again["replayed"]) == (200, True)
        status, bad = _post(server.port, b"lot-\xe9-8")
        assert status == 422
        assert bad["refused"][0]["message"].startswith("Idempotency-Key is not UTF-8")
        assert server.request("/healthz")[1]["events"] == 1
    finally:
        server.stop()


@pytest.mark.parametrize("value", ["[1767225600]", "[]", "[[1767225600], [2]]"])
def test_a_list_time_of_a_json_line_is_quoted_alike_in_batch_and_online(
    value: str, tmp_path: Path
) -> None:
    """Was: ``array([1767225600])`` and ``array([], dtype=object)`` in the message of a
    JSON lines file (Arrow's list cells are numpy arrays), ``[1767225600]`` and ``[]``
    online: numpy's notation quoted to the user, and two messages for one line. Now the
    list as written, everywhere (:func:`riskscore.io.raw.show`)."""
    line = json.dumps(EVENT).replace("1767225600", value) + "\n"
    refused = f"{value} is not a timestamp"
    path = tmp_path / "e.jsonl"
    path.write_text(line)
    with pytest.raises(rs.SchemaError, match=re.escape(f"(line 1): {refused}")):
        rs.read_messages(path, max_future_s=math.inf)
    with pytest.raises(rs.SchemaError, match=re.escape(f"'timestamp': {refused}")):
        parse_event(loads_event(line))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("channel", "2026-01-01"),
        ("recipient_age", "2026-01-01 00:00:00"),
        ("timestamp", {"$date": "2026-01-01T00:00:00Z"}),  # a MongoDB export's date
    ],
)
def test_text_that_looks_like_a_time_is_quoted_as_written_in_batch(
    field: str, value: object, tmp_path: Path
) -> None:
    """Was: Arrow's JSON reader turns text that looks like a time into one, in any field,
    so a file's message quoted ``datetime.datetime(2026, 1, 1, 0, 0) is not recognised``
    (the text given, ``2026-01-01``, nowhere) where the same line online quoted
    ``'2026-01-01'``. Now such a file is read line by line, and the text is quoted as
    written, as online."""
    line = json.dumps({**EVENT, field: value}) + "\n"
    path = tmp_path / "e.jsonl"
    path.write_text(line)
    with pytest.raises(rs.SchemaError) as online:
        parse_event(loads_event(line))
    quoted = str(online.value).split(": ", 1)[1]
    assert "datetime" not in quoted
    with pytest.raises(rs.SchemaError, match=re.escape(f"(line 1): {quoted}")):
        rs.read_messages(path, max_future_s=math.inf)
