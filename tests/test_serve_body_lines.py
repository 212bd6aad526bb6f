"""A JSON lines body is counted in lines, blank ones included, before it is split (review
of the service and the queue, item 4).

Was: blank lines hold no event and did not count toward the 10,000 events of a batch, so
16 MiB of line breaks was split whole and skipped line by line on the scorer's thread
(3 to 5 s and some 150 MB a request), every other client waiting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from serve_helpers import adult_child_event, model_client

from riskscore.serve.body import MAX_BATCH_EVENTS, BatchSizeError, parse_body

NDJSON = "application/x-ndjson"


@pytest.mark.parametrize("line", [b"\n", b" \n", b"\r\n", b"\t \n"])
def test_blank_lines_count_toward_the_limit(line: bytes) -> None:
    with pytest.raises(BatchSizeError, match=f"more than {MAX_BATCH_EVENTS} lines"):
        parse_body(line * (MAX_BATCH_EVENTS + 1), NDJSON)


def test_a_full_batch_with_a_final_line_break_and_a_blank_line_is_read() -> None:
    event = json.dumps(adult_child_event("c1", 0)).encode()
    full = b"\n".join([event] * MAX_BATCH_EVENTS) + b"\n"
    assert len(parse_body(full, NDJSON)) == MAX_BATCH_EVENTS
    with_blank = b"\n".join([event] * (MAX_BATCH_EVENTS - 2) + [b""] + [event])
    assert [i.index for i in parse_body(with_blank, NDJSON)][-2:] == [
        MAX_BATCH_EVENTS - 3,
        MAX_BATCH_EVENTS - 1,
    ]


def test_a_body_of_blank_lines_is_refused_413_naming_the_limit(tmp_path: Path) -> None:
    with model_client(tmp_path) as client:
        r = client.post(
            "/v1/events", content=b"\n" * (4 * 1024 * 1024), headers={"Content-Type": NDJSON}
        )
    assert r.status_code == 413
    (refused,) = r.json()["refused"]
    assert f"more than {MAX_BATCH_EVENTS} lines (blank lines count" in refused["message"]
