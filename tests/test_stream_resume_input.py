"""A resumed ``riskscore stream`` checks that it was fed the input its checkpoint processed.

It skips as many lines as its checkpoint processed; fed other lines (``tail -f`` of the
file, which replays only its last lines, or another day's file), that skip would drop
events never applied, in silence. The checkpoint keeps the SHA-256 of the lines it
processed, and a resumed stream stops, applying nothing, when the lines it skips differ.
Also: conversations the scorer's clock expired in a run are counted in its summary, and
`policy tune` on input of which every row was quarantined says so.
"""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.cli._stream_resume import FINGERPRINT_KEY, LineFingerprint, stored_fingerprint
from riskscore.exceptions import CheckpointError

DAY = 86_400
T0 = 1_767_225_600  # 2026-01-01


def _event(cid: str, k: int, adult: str, child: str, t0: int, step: int = 60) -> str:
    sender, recipient = (adult, child) if k % 2 == 0 else (child, adult)
    ages = (30, 12) if k % 2 == 0 else (12, 30)
    return (
        json.dumps(
            {
                "conversation_id": cid,
                "timestamp": t0 + step * k,
                "sender_id": sender,
                "recipient_id": recipient,
                "channel": "direct",
                "sender_age": ages[0],
                "recipient_age": ages[1],
            }
        )
        + "\n"
    )


DAY1 = [_event("x1", k, "a", "b", T0) for k in range(40)]
DAY2 = [_event("y2", k, "c", "d", T0 + DAY) for k in range(60)]


def _stream(argv: list[str], text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    return main(["stream", *argv])


def _summary(out: str) -> dict[str, Any]:
    """The summary of a ``--json`` run: its last line on stdout."""
    return dict(json.loads(out.splitlines()[-1])["summary"])


def _resumed(
    checkpoint: Path, text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """The summary of a run resumed from ``checkpoint`` on ``text``, which succeeded."""
    assert _stream(["--checkpoint", str(checkpoint), "--json"], text, monkeypatch) == 0
    return _summary(capsys.readouterr().out)


def _extra(checkpoint: Path) -> dict[str, Any]:
    with sqlite3.connect(checkpoint) as db:
        (text,) = db.execute("SELECT value FROM meta WHERE key = 'extra'").fetchone()
    return dict(json.loads(text))


def test_the_checkpoint_keeps_the_fingerprint_of_the_lines_it_processed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = tmp_path / "cp.sqlite"
    assert _stream(["--checkpoint", str(cp)], "".join(DAY1), monkeypatch) == 0
    capsys.readouterr()
    expected = LineFingerprint()
    for line in DAY1:
        expected.add(line)
    extra = _extra(cp)
    assert extra["lines"] == 40
    assert extra[FINGERPRINT_KEY] == expected.hexdigest()


def test_a_resume_fed_other_lines_stops_before_applying_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = tmp_path / "cp.sqlite"
    assert _stream(["--checkpoint", str(cp)], "".join(DAY1), monkeypatch) == 0
    capsys.readouterr()
    before = _extra(cp)
    # what `tail -f` gives on a restart: the file's last 10 lines, then the new ones
    tailed = "".join([*DAY1[-10:], *DAY2])
    assert _stream(["--checkpoint", str(cp), "--json"], tailed, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "the input's first 40 lines are not the 40 lines this checkpoint processed" in err
    assert "tail -n +1 -f FILE" in err
    assert "Traceback" not in err
    assert _extra(cp) == before  # the checkpoint is unchanged
    # fed the same input from its start, with the new lines after it, it goes on
    summary = _resumed(cp, "".join(DAY1 + DAY2), monkeypatch, capsys)
    assert (summary["lines"], summary["skipped"], summary["events"]) == (100, 40, 60)


def test_a_byte_order_mark_and_a_held_back_last_line_keep_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = tmp_path / "cp.sqlite"
    lines = ["\ufeff" + DAY1[0], *DAY1[1:]]
    cut = lines[20][:30]  # the last line so far, cut short: held back for the resumed run
    assert _stream(["--checkpoint", str(cp)], "".join([*lines[:20], cut]), monkeypatch) == 0
    capsys.readouterr()
    assert _extra(cp)["lines"] == 20
    summary = _resumed(cp, "".join(lines), monkeypatch, capsys)
    assert (summary["skipped"], summary["events"], summary["rejected"]) == (20, 20, 0)


def test_a_checkpoint_written_before_fingerprints_still_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # what riskscore stream wrote before it kept a fingerprint: the count of lines only
    cp = tmp_path / "cp.sqlite"
    scorer = rs.OnlineScorer(rs.load_model(), rs.AlertPolicy.default())
    for line in DAY1[:20]:
        scorer.update_one_all(json.loads(line))
    extra = {"lines": 20, "rejected": 0, "reasons": {}, "ignored_fields": {}}
    scorer.checkpoint(cp, extra=extra)
    summary = _resumed(cp, "".join(DAY1), monkeypatch, capsys)
    assert (summary["skipped"], summary["events"]) == (20, 20)
    assert FINGERPRINT_KEY in _extra(cp)  # and from now on it has one


@pytest.mark.parametrize("value", ["abc", 7, "A" * 64, "g" * 64])
def test_a_fingerprint_that_is_not_a_sha256_is_refused(value: object) -> None:
    with pytest.raises(CheckpointError, match="must be 64 lowercase hexadecimal digits"):
        stored_fingerprint({FINGERPRINT_KEY: value}, "cp.sqlite")


def test_conversations_expired_by_the_events_clock_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each event of "rogue" is less than a day after the last, so none is refused as far
    # ahead, but together they move the events' clock 40 days on: x1 is forgotten, and
    # the summary says so.
    rogue = [_event("rogue", k, "r1", "r2", T0 + 2400, step=86_000) for k in range(1, 41)]
    text = "".join([*DAY1, *rogue])
    assert _stream(["--time-source", "events", "--json"], text, monkeypatch) == 0
    captured = capsys.readouterr()
    summary = _summary(captured.out)
    assert summary["rejected"] == 0
    assert summary["expired"] == 1
    assert _stream(["--time-source", "events"], text, monkeypatch) == 0
    assert "idle for longer than --idle-expiry-s" in capsys.readouterr().err


@pytest.mark.parametrize("online", [False, True])
def test_policy_tune_on_input_of_which_every_row_was_quarantined_says_so(
    online: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # as `riskscore score` says it, not "the message table is empty" nor "too small"
    events = tmp_path / "allbad.csv"
    events.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel\n"
        "c,1767225600,a,k,direct_x\nc,1767225660,k,a,whatsapp\n"
    )
    argv = ["policy", "tune", str(events), "--errors", "quarantine"]
    argv += ["--review-per-million", "800", "--urgent-per-million", "100"]
    assert main([*argv, "--online"] if online else argv) == 2
    err = capsys.readouterr().err
    assert "every row was quarantined (2 rows: 2 channel: is not recognised" in err
    assert "--errors quarantine` writes each with its row and reason" in err
    assert "empty" not in err
    assert "50,000" not in err
