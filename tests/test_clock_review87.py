"""Hostile times and checkpoint files (review 87): an event before the earliest plausible
time, a checkpoint refused without a lock file left beside it, and far-future and far-past
values refused alike by every entry point."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

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
