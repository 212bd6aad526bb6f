"""Hostile-input review 7: unknown event fields, slow request bodies, Parquet row groups
that decompress to many GB.

Each test of a fix fails on the code before it; the two that guard against refusing too
much (a near name beside the schema field itself, an ordinary Parquet file of several row
groups) pass on both.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from serve_helpers import ThreadServer, config

import riskscore as rs
from riskscore.batch.parquet_chunks import iter_conversation_chunks
from riskscore.cli.stream import stream_lines
from riskscore.model import load_model
from riskscore.serve import create_app

EVENT: dict[str, Any] = {
    "conversation_id": "c1",
    "timestamp": 1_767_276_000,
    "sender_id": "a",
    "recipient_id": "b",
    "sender_age": 30,
    "channel": "direct",
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(config(tmp_path, load_model()))) as c:
        yield c


# ---------------------------------------------------------------- unknown fields


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("recipent_age", "recipient_age"),  # the child's age read as unknown
        ("RecipientAge", "recipient_age"),
        ("recipient_tz_offset", "recipient_tz_offset_min"),
        ("evnt", "event"),  # a block or report read as a message
        ("room_sise", "room_size"),
    ],
)
def test_a_misspelt_schema_field_is_refused_in_batch_and_online_with_one_message(
    tmp_path: Path, client: TestClient, name: str, meant: str
) -> None:
    # The field was ignored everywhere: the event was scored as if it were not given.
    value = {"evnt": "report", "recipient_tz_offset": 60, "room_sise": 3}.get(name, 12)
    event = {**EVENT, name: value}
    message = f"column '{name}'.* looks like '{meant}' misspelt: rename it to '{meant}'"
    with pytest.raises(rs.SchemaError, match=message):
        rs.read_messages({k: [v] for k, v in event.items()})
    file = tmp_path / "events.jsonl"
    file.write_text(json.dumps(event) + "\n", encoding="utf-8")
    with pytest.raises(rs.SchemaError, match=message):
        rs.read_messages(file)
    with pytest.raises(rs.SchemaError, match=f"column '{name}', event 0 is not a schema v1"):
        rs.OnlineScorer(load_model()).update_one(event)
    err = io.StringIO()
    result = stream_lines(rs.OnlineScorer(load_model()), [json.dumps(event)], io.StringIO(), err)
    assert result.rejected == 1
    assert result.reasons == {"SchemaError": 1}
    assert f"line 1: column '{name}'" in err.getvalue()
    r = client.post("/v1/events", json=event)
    assert r.status_code == 422
    assert f"looks like '{meant}' misspelt" in r.json()["refused"][0]["message"]
    assert client.get("/healthz").json()["events"] == 0


def test_a_near_name_beside_the_schema_field_itself_is_ignored_not_refused() -> None:
    event = {**EVENT, "recipient_age": 12, "recipient_ages": [12]}
    rs.OnlineScorer(load_model()).update_one(event)
    assert len(rs.read_messages({k: [v] for k, v in event.items()})) == 1


def test_other_fields_are_ignored_and_counted_by_name_by_stream_and_serve(
    client: TestClient,
) -> None:
    # Fields that are not schema v1 were dropped without a trace.
    lines = [
        json.dumps({**EVENT, "colour": "red"}),
        json.dumps({**EVENT, "timestamp": EVENT["timestamp"] + 1, "colour": "blue", "x": 1}),
        json.dumps({**EVENT, "timestamp": EVENT["timestamp"] + 2}),
    ]
    result = stream_lines(rs.OnlineScorer(load_model()), lines, io.StringIO(), io.StringIO())
    assert result.events == 3
    assert result.ignored_fields == {"colour": 2, "x": 1}
    r = client.post("/v1/events", json=[json.loads(line) for line in lines])
    assert r.status_code == 200, r.text
    assert r.json()["ignored_fields"] == {"colour": 2, "x": 1}


def test_ignored_field_names_are_counted_within_a_bound() -> None:
    # a sender choosing a new field name per event must not grow the counts without end
    lines = [
        json.dumps({**EVENT, "timestamp": EVENT["timestamp"] + i, f"f{i}": 1}) for i in range(150)
    ]
    lines.append(json.dumps({**EVENT, "timestamp": EVENT["timestamp"] + 200, "k" * 500: 1}))
    result = stream_lines(rs.OnlineScorer(load_model()), lines, io.StringIO(), io.StringIO())
    assert len(result.ignored_fields) == 101
    assert result.ignored_fields["(other names)"] == 51


def test_ignored_field_counts_survive_a_checkpoint_restart(tmp_path: Path) -> None:
    checkpoint = tmp_path / "state.sqlite"
    model = load_model()
    lines = [  # as read from a file: with --checkpoint a last line without one is left
        json.dumps({**EVENT, "timestamp": EVENT["timestamp"] + i, "colour": i}) + "\n"
        for i in (0, 1)
    ]
    stream_lines(
        rs.OnlineScorer(model), lines[:1], io.StringIO(), io.StringIO(), checkpoint=checkpoint
    )
    scorer = rs.OnlineScorer.restore(checkpoint, model, rs.AlertPolicy.default())
    result = stream_lines(scorer, lines, io.StringIO(), io.StringIO(), skip=1)
    assert result.ignored_fields == {"colour": 2}


# ---------------------------------------------------------------- slow request bodies


def test_a_body_trickled_slower_than_the_timeout_is_answered_408(tmp_path: Path) -> None:
    # A client declaring a 1 MB body and sending a byte a second held its connection forever.
    server = ThreadServer(config(tmp_path, load_model(), body_timeout_s=0.3))
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
            conn.sendall(
                b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000000\r\n\r\n["
            )
            started = time.monotonic()
            reply = b""
            while b"\r\n\r\n" not in reply:
                with contextlib.suppress(OSError):  # the server may close once it answered
                    conn.sendall(b" ")
                time.sleep(0.05)
                conn.settimeout(0.05)
                with contextlib.suppress(TimeoutError):
                    reply += conn.recv(65536)
                assert time.monotonic() - started < 3, "no answer: the body read has no timeout"
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
        assert b"not received within 0.3 s" in reply
        status, health = server.request("/healthz")
        assert status == 200
        assert health["events"] == 0
    finally:
        server.stop()


def test_a_body_sent_in_time_is_applied(tmp_path: Path) -> None:
    server = ThreadServer(config(tmp_path, load_model(), body_timeout_s=5.0))
    try:
        status, body = server.request("/v1/events", EVENT)
        assert status == 200
        assert body["accepted"] == 1
    finally:
        server.stop()


def test_serve_refuses_a_body_timeout_that_is_not_positive(tmp_path: Path) -> None:
    code = rs.cli.main(
        ["serve", "--db", str(tmp_path / "q.sqlite"), "--body-timeout-s", "0", "--port", "1"]
    )
    assert code != 0


# ---------------------------------------------------------------- Parquet row groups


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _events(n: int) -> pa.Table:
    return pa.table(
        {
            "conversation_id": [f"c{i % 7}" for i in range(n)],
            "timestamp": [1_767_276_000 + i for i in range(n)],
            "sender_id": ["a"] * n,
            "recipient_id": ["b"] * n,
            "channel": ["direct"] * n,
        }
    )


def _claiming_rows(path: Path, rows: int, claimed: int) -> None:
    """A small Parquet file whose first row group's metadata claims ``claimed`` rows (a
    run-length encoded column of that many equal values takes a few bytes in the file)."""
    sink = io.BytesIO()
    pq.write_table(_events(rows + 500), sink, row_group_size=rows, compression="NONE")
    data = sink.getvalue()
    size = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - size : -8]
    # i64 fields (a row group's rows, a column chunk's values): header 0x16, zigzag varint
    new = footer.replace(b"\x16" + _varint(2 * rows), b"\x16" + _varint(2 * claimed))
    assert new != footer
    path.write_bytes(data[: -8 - size] + new + len(new).to_bytes(4, "little") + b"PAR1")


def test_a_row_group_that_decompresses_to_many_gb_is_refused_by_file_and_row_group(
    tmp_path: Path,
) -> None:
    # A file of a few KB whose row group decodes to tens of GB was read whole.
    path = tmp_path / "bomb.parquet"
    _claiming_rows(path, 1000, 400_000_000)
    assert path.stat().st_size < 100_000
    assert pq.ParquetFile(path).metadata.row_group(0).num_rows == 400_000_000
    match = r"bomb\.parquet: row group 0 would take .* GiB once decompressed .* limit of 2 GiB"
    with pytest.raises(rs.SchemaError, match=match):
        rs.read_messages(path)
    with pytest.raises(rs.SchemaError, match=match):
        next(iter_conversation_chunks(path))


def test_an_ordinary_parquet_file_of_several_row_groups_is_read(tmp_path: Path) -> None:
    path = tmp_path / "fine.parquet"
    pq.write_table(_events(2500), path, row_group_size=1000)
    assert len(rs.read_messages(path)) == 2500
    assert sum(t.num_rows for t in iter_conversation_chunks(path)) == 2500
