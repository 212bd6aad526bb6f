"""One conversation, one review case: events that alert on every conversation, scored by
``riskscore score --queue`` and then ``riskscore stream --queue`` into one queue (hr68k,
hr69a). All data is synthetic."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Final

import pytest
from online_helpers import adult_child_messages

from riskscore.cli import main
from riskscore.moderation import ReviewQueue

T0: Final = 1_714_521_600  # 2024-05-01T00:00:00Z
#: A policy that alerts on any risk: every conversation is a case.
POLICY: Final = """format_version = 2
name = "every conversation"
[[bands]]
name = "all"
min_age = 0.0
max_age = inf
review = 0.000000001
urgent = 0.000001
[unknown]
name = "unknown"
min_age = 0.0
max_age = inf
review = 0.000000001
urgent = 0.000001
"""
Event = dict[str, Any]
#: A queue's item as the tests compare it: kind, conversation, and the adult and child ids
#: (of a user report, the reported and the reporter).
Item = tuple[str, Any, Any, Any]


def conversation(conversation_id: object, adult: object, child: object) -> list[Event]:
    """Ten messages between ``adult`` (35) and ``child`` (12), then the child reports the
    adult."""
    messages = adult_child_messages(conversation_id, adult, child, T0)
    events = [{**e, "event": "message"} for e in messages]
    report = {**events[1], "timestamp": T0 + 600, "event": "report"}
    return [*events, report]


def events_of(conversations: list[tuple[object, object, object]]) -> list[Event]:
    """:func:`conversation` of each ``(conversation, adult, child)``, in time order."""
    events = [e for c in conversations for e in conversation(*c)]
    return sorted(events, key=lambda e: e["timestamp"])


def write_jsonl(path: Path, events: list[Event]) -> Path:
    """``events`` as a JSON lines file ``path``."""
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def score_then_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, events: list[Event], source: Path
) -> list[Item]:
    """``riskscore score SOURCE --queue Q`` (out of core for a Parquet ``source``) then
    ``riskscore stream --queue Q`` of ``events`` (the same, as JSON lines); the queue's
    items, sorted."""
    policy, queue = tmp_path / "policy.toml", tmp_path / "queue.sqlite"
    policy.write_text(POLICY, encoding="utf-8")
    chunked = ["--chunk-rows", "7"] if source.suffix == ".parquet" else []
    score = ["score", str(source), "--out", str(tmp_path / "out"), "--queue", str(queue)]
    assert main([*score, "--policy", str(policy), "--format", "jsonl", *chunked]) == 0
    lines = "".join(json.dumps(e) + "\n" for e in events)
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    stream = ["stream", "--policy", str(policy), "--queue", str(queue)]
    assert main([*stream, "--time-source", "events"]) == 0
    with ReviewQueue(queue, create=False) as q:
        return sorted(
            ((i.kind, i.conversation_id, i.adult_id, i.child_id) for i in q.items()), key=repr
        )


def assert_compare_matches_both_decisions(
    capsys: pytest.CaptureFixture[str], out: Path, queue: Path, source: Path, policy: Path
) -> None:
    """``compare --shadow-run OUT --queue`` and ``compare --events SOURCE --queue`` each
    match the queue's two decisions (2 actioned, none about other conversations)."""
    capsys.readouterr()
    assert main(["compare", "--shadow-run", str(out), "--queue", str(queue)]) == 0
    matched = "2 actioned or escalated, 0 dismissed (0 about other conversations)"
    assert matched in capsys.readouterr().out
    events_option = ["--events", str(source), "--policy", str(policy)]
    assert main(["compare", "default", "default", *events_option, "--queue", str(queue)]) == 0
    assert matched in capsys.readouterr().out


def room_of_three(room: object, adult: object, child: object, other: object) -> list[Event]:
    """Room ``room`` of three accounts from its second event: two adults (``adult``, 35, and
    ``other``, 41) write each other (no case: no child), then ``adult`` writes ``child``
    (12), who answers: a group room, its pair of ``adult`` and ``child`` a case."""
    ages = {adult: 35.0, child: 12.0, other: 41.0}
    turns = [(other, adult), (adult, child), (child, adult)]
    return [
        {
            "conversation_id": room,
            "timestamp": T0 + 30 + 60 * i,
            "sender_id": s,
            "recipient_id": r,
            "sender_age": ages[s],
            "recipient_age": ages[r],
            "channel": "direct",
            "event": "message",
        }
        for i, (s, r) in enumerate(turns * 2)
    ]
