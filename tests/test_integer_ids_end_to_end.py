"""An integer id beyond int64 (a uint64 platform's account) keeps its identity from the
online scorer through the review queue, the moderator's decision, the transparency report
and the regulatory exports, beside a text id made of the same digits. All data is
synthetic."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from _regulatory import KEY

from riskscore.cli import main
from riskscore.moderation import ReviewQueue

BIG = 2**64 + 5
T0 = 1_700_000_000


def _grooming(adult: object, child: object, cid: object, t0: int) -> list[dict[str, Any]]:
    """Sixty events: an adult of 35 moving a child of 11 from public messages to the
    encrypted channel within the hour, images among them."""
    events = []
    for i in range(60):
        sender, recipient = (adult, child) if i % 2 == 0 else (child, adult)
        events.append({
            "conversation_id": cid, "timestamp": t0 + 600 * i, "sender_id": sender,
            "recipient_id": recipient, "channel": "encrypted" if i > 3 else "public",
            "sender_age": 35 if sender == adult else 11,
            "recipient_age": 11 if sender == adult else 35,
            "event": "media" if i % 5 == 0 else "message", "recipient_tz_offset_min": 0,
        })  # fmt: skip
    return events


def test_an_integer_beyond_int64_and_its_digits_as_text_are_two_cases_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: the queue refused an alert whose ids were integers beyond int64 ("give it as
    text"), once the online scorer kept them as integers; before that the scorer held them
    as text, the text id of another account."""
    events = _grooming(BIG, 7, BIG, T0) + _grooming(str(BIG), "7", str(BIG), T0 + 50_000)
    db = tmp_path / "q.sqlite"
    stdin = io.StringIO("".join(json.dumps(e) + "\n" for e in events))
    monkeypatch.setattr(sys, "stdin", stdin)
    argv = ["stream", "--queue", str(db), "--time-source", "events"]
    assert main(argv) == 0
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert {(type(a["adult_id"]), a["adult_id"]) for a in alerts} == {(int, BIG), (str, str(BIG))}
    with ReviewQueue(db) as queue:
        cases = {case.adult_id: case for case in queue.cases(now=T0 + 100_000)}
        assert set(cases) == {BIG, str(BIG)}
        assert {type(i.conversation_id) for i in queue.items()} == {int, str}
        token = cases[BIG].token
    decide = ["queue", "--db", str(db), "--decide", str(BIG), "--token", token,
              "--outcome", "actioned", "--moderator", "m1", "--now", str(T0 + 100_000)]  # fmt: skip
    assert main(decide) == 0
    capsys.readouterr()
    with ReviewQueue(db) as queue:
        decided = {i.adult_id for i in queue.items() if i.status != "open"}
    assert decided == {BIG}
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode())
    assert main(["export", "--db", str(db), "--out", str(tmp_path / "e")]) == 0
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "r"), "--no-charts",
                 "--start", str(T0), "--end", str(T0 + 200_000)]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "Traceback" not in err
