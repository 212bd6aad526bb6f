"""Hostile times and checkpoint files (review 87): an event before the earliest plausible
time, a checkpoint refused without a lock file left beside it, and far-future and far-past
values refused alike by every entry point."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

import riskscore as rs
from riskscore.cli import main

_EVENT = {
    "conversation_id": 1,
    "timestamp": 1_700_000_000,
    "sender_id": "a",
    "recipient_id": "b",
    "channel": "direct",
}


def _stream(argv: list[str], text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    return main(["stream", *argv])


@pytest.mark.parametrize(
    "content", [b"notes, not a checkpoint\n", b"\x00\x01binary", b"SQLite format 3\x00junk"]
)
def test_a_refused_checkpoint_leaves_no_lock_file(
    tmp_path: Path,
    content: bytes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # before: the refusal was clear, but notes.txt.lock stayed beside the file
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    status = _stream(["--checkpoint", str(path)], json.dumps(_EVENT) + "\n", monkeypatch)
    assert status != 0
    assert "notes.txt" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert path.read_bytes() == content


def _lines(*times: int) -> str:
    return "".join(json.dumps({**_EVENT, "timestamp": t}) + "\n" for t in times)


@pytest.mark.parametrize("first", [0, 5, 946_684_799])
def test_an_event_before_2000_does_not_set_the_events_clock(
    first: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: the first event (1970) set the clock, and every later one was refused as
    # more than max_future_s ahead of it
    text = _lines(first, *(1_700_000_000 + 60 * i for i in range(5)))
    status = _stream(["--json", "--time-source", "events"], text, monkeypatch)
    assert status == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.splitlines()[-1])["summary"]
    assert (summary["events"], summary["rejected"]) == (5, 1)
    assert f"{first} is out of range" in err
    assert "2000-01-01" in err


def test_an_event_before_2000_is_refused_online_as_in_batch() -> None:
    model = rs.load_model()
    scorer = rs.OnlineScorer(model, time_source="events")
    with pytest.raises(rs.SchemaError, match=r"5 is out of range.*2000-01-01") as info:
        scorer.update_one({**_EVENT, "timestamp": 5}, row=0)
    assert (info.value.column, info.value.row, info.value.value) == ("timestamp", 0, 5)
    assert scorer.n_events == 0
    assert scorer.clock == 0
    with pytest.raises(rs.SchemaError, match=r"row 1.*5 is out of range.*2000-01-01"):
        rs.read_messages(
            {**{k: [v, v] for k, v in _EVENT.items()}, "timestamp": [1_700_000_000, 5]}
        )
