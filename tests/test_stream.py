"""``riskscore stream``: JSON lines in, alerts out; bad lines reported; killed and resumed."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import riskscore as rs
from riskscore._words import plural
from riskscore.cli import main


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(700, prevalence=0.1, seed=8)


@pytest.fixture(scope="module")
def lines(data: rs.synthetic.SyntheticData) -> list[str]:
    return [json.dumps(e) + "\n" for e in data.messages.iter_events()]


def _run(argv: list[str], text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    return main(argv)


def _alerts(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_malformed_lines_are_reported_counted_and_skipped(
    lines: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = lines[:40]
    bad = ['{"conversation_id": 1}\n', "\n", '["meet me", "tonight"]\n']
    twice = '{"conversation_id": 1, "conversation_id": 2}\n'  # refused: a field twice
    text = "".join([*good[:10], "{not json\n", *good[10:20], *bad, *good[20:], twice])
    assert _run(["stream"], text, monkeypatch) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert err[0].startswith("line 11: ")
    assert err[1].startswith("line 22: ")
    assert "lacks required field" in err[1]
    assert err[2].startswith("line 24: ")
    assert err[2].endswith("the line is a JSON array, not an object (one event)")
    assert "tonight" not in captured.err  # a line refused whole is never quoted
    assert err[3] == "line 45: field 'conversation_id' appears twice in one object"
    assert err[4] == (
        "riskscore stream: 45 lines (0 skipped as already processed), 40 events, 4 rejected, "
        f"{plural(len(_alerts(captured.out)), 'alert')}"
    )


def test_a_line_that_is_not_json_is_named_in_a_sentence_with_its_column(
    lines: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``line 2: is not valid JSON (Expecting ',' delimiter: line 2 column 1 (char
    47))`` for a line cut short: no subject, the parser's own "line 2" (its line break)
    beside the input's line 2, and nothing to do. Now the line's refusal is a sentence as
    its others are ("the line is not valid UTF-8 ..."): the parser's reason, the column of
    the line where it stopped (from 1), and what an event is; a blank line is skipped."""
    cut = '{"conversation_id": "c1", "timestamp": 1767225\n'  # 46 characters
    trailing = '{"conversation_id": "c1",}\n'
    binary = "\x00\x01\x02\n"  # UTF-8, but no JSON
    control = '{"sender_id": "a\x01"}\n'
    text = "".join([lines[0], cut, trailing, binary, "\n", control, '{"a": 1} x\n'])
    assert _run(["stream"], text, monkeypatch) == 0
    err = capsys.readouterr().err.splitlines()
    end = ": each event is one complete JSON object"
    assert err[:5] == [
        f"line 2: the line is not valid JSON (expecting ',' delimiter at column 47, where "
        f"the line ends){end}",
        "line 3: the line is not valid JSON (expecting property name enclosed in double "
        f"quotes at column 26){end}",
        f"line 4: the line is not valid JSON (expecting value at column 1){end}",
        f"line 6: the line is not valid JSON (invalid control character at column 17){end}",
        f"line 7: the line is not valid JSON (extra data at column 10){end}",
    ]
    assert "7 lines (0 skipped as already processed), 1 event, 5 rejected" in err[5]


@pytest.mark.parametrize(
    ("start", "what"),
    [("PAR1\x15\x04", "a Parquet file"), ("\x1f\udc8b\x08", "a gzip-compressed file")],
)
def test_a_binary_file_piped_in_is_named_once(
    start: str, what: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # before, each of its thousands of lines got an error of its own and none said what the
    # input was
    assert _run(["stream"], start + "xx\n" + "\x00yy\n" * 3, monkeypatch) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"riskscore stream: the input looks like {what}, not JSON lines: `riskscore stream` "
        "reads one JSON event per line (`riskscore score FILE` reads Parquet, Arrow, CSV and "
        "JSON-lines files)"
    )
    assert [e.split(":")[0] for e in err[1:5]] == ["line 1", "line 2", "line 3", "line 4"]


def test_streamed_alerts_are_the_batch_policy_on_each_prefix_and_cover_batch_alerts(
    data: rs.synthetic.SyntheticData,
    lines: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The comparison with batch scoring stated in docs/online.md."""
    assert _run(["stream", "--idle-expiry-s", "inf"], "".join(lines), monkeypatch) == 0
    streamed = _alerts(capsys.readouterr().out)
    model, policy = rs.load_model(), rs.AlertPolicy.default()
    events = [json.loads(line) for line in lines]
    # The columns as given, built once; a prefix is a slice of each.
    columns = {k: np.asarray([e[k] for e in events]) for k in events[0]}
    # 1. Each streamed alert is what the batch policy says of the batch score of the events
    #    up to its line (the whole input for those raised by the end-of-input re-scoring),
    #    including those an event raised on its adult's other conversations.
    for alert in streamed:
        upto = len(events) if alert["line"] is None else alert["line"]
        prefix = rs.read_messages({k: v[:upto] for k, v in columns.items()})
        scores = model.score(prefix)
        pos = int(np.flatnonzero(scores.conversation_id == alert["conversation_id"])[0])
        assert alert["risk"] == pytest.approx(float(scores.risk[pos]), abs=1e-9)
        ages = float(scores.child_age[pos]), float(scores.adult_age[pos])
        tier = policy.tier_of(float(scores.risk[pos]), *ages)
        assert tier is not None
        assert tier.name.lower() == alert["tier"]
    # Some were raised on another conversation of the adult of their line's event.
    assert any(
        a["line"] is not None and a["conversation_id"] != events[a["line"] - 1]["conversation_id"]
        for a in streamed
    )
    # 2. One alert per tier escalation, never repeated.
    highest: dict[Any, int] = {}
    for alert in streamed:
        tier = 2 if alert["tier"] == "urgent" else 1
        assert tier > highest.get(alert["conversation_id"], 0)
        highest[alert["conversation_id"]] = tier
    # 3. Every conversation the batch alerts on was alerted at least at that tier.
    batch = policy.alerts(model.score(data.messages))
    assert batch
    for alert in batch:
        assert highest.get(alert.conversation_id, 0) >= int(alert.tier)


def test_stream_into_a_queue_adds_each_alert_once_even_when_rerun(
    lines: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "queue.sqlite"
    text = "".join(lines)
    assert _run(["stream", "--queue", str(db)], text, monkeypatch) == 0
    captured = capsys.readouterr()
    streamed = _alerts(captured.out)
    assert streamed
    with rs.ReviewQueue(db) as queue:
        items = queue.items()
        n_audit = len(queue.audit_log())
    # every alert written is in the queue: one item per conversation, one signal per alert
    alerted = [i for i in items if i.kind == "alert"]
    assert {i.conversation_id for i in alerted} == {a["conversation_id"] for a in streamed}
    assert sum(i.n_signals for i in alerted) == len(streamed)
    # and every report event, as a user report (as `riskscore serve` queues them)
    reports = [json.loads(line) for line in lines if '"report"' in line]
    assert reports
    assert len(items) - len(alerted) == len(
        {(r["conversation_id"], r["sender_id"], r["timestamp"]) for r in reports}
    )
    assert f"riskscore stream: review queue {db}: {len(items)} new items" in captured.err
    # the same input again queues nothing new and changes nothing
    assert _run(["stream", "--queue", str(db), "--json"], text, monkeypatch) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])["summary"]
    assert summary["queue"] == {
        "path": str(db),
        "alerts": len(streamed),
        "user_reports": len(reports),
        "new_items": 0,
        "open_items": len(items),
        "refused": 0,
    }
    with rs.ReviewQueue(db) as queue:
        assert queue.items() == items
        assert len(queue.audit_log()) == n_audit
    # a file that is not a queue stops the stream before any line is read
    not_db = tmp_path / "events.jsonl"
    not_db.write_text(text)
    assert _run(["stream", "--queue", str(not_db)], text, monkeypatch) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"riskscore stream: error: {not_db} is not a riskscore queue (file is not a database)\n"
    )


def _checkpointed_lines(path: Path) -> int:
    try:
        con = sqlite3.connect(path, timeout=0.1)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'extra'").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return 0
    return 0 if row is None else int(json.loads(row[0]).get("lines", 0))


def _stream_argv(checkpoint: Path) -> list[str]:
    return ["stream", "--checkpoint", str(checkpoint), "--checkpoint-every", "1000"]


def _stream_command(checkpoint: Path) -> list[str]:
    return [sys.executable, "-m", "riskscore.cli", *_stream_argv(checkpoint)]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_stream_resumed_from_its_checkpoint_loses_and_repeats_no_alert(
    lines: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Some bad lines, so that line numbers and event counts differ; 12,000 lines: the run is
    # killed after its 7th checkpoint (7,000 lines) with more input pending, and resumed.
    text = "".join([*lines[:2500], "oops\n", *lines[2500:12_000]])
    source = tmp_path / "events.jsonl"
    source.write_text(text)
    n_lines = len(text.splitlines())

    # The uninterrupted run, the reference: in this process (the runs killed and resumed
    # below are processes of their own; a third would only start Python again).
    assert _run(_stream_argv(tmp_path / "whole.sqlite"), text, monkeypatch) == 0
    expected = _alerts(capsys.readouterr().out)
    assert expected

    checkpoint = tmp_path / "state.sqlite"
    first_out = tmp_path / "first.jsonl"
    with first_out.open("w") as out:
        proc = subprocess.Popen(
            _stream_command(checkpoint),
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdin is not None
        body = text.splitlines(keepends=True)
        proc.stdin.write("".join(body[:7200]))
        proc.stdin.flush()
        deadline = time.monotonic() + 120
        while _checkpointed_lines(checkpoint) < 7000:
            assert time.monotonic() < deadline, "the stream never reached its 7th checkpoint"
            time.sleep(0.05)
        proc.stdin.write("".join(body[7200:9000]))  # more input while it works
        proc.stdin.flush()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
    assert proc.returncode == -signal.SIGKILL
    resumed_at = _checkpointed_lines(checkpoint)
    assert 7000 <= resumed_at < n_lines

    with source.open() as stdin:
        second = subprocess.run(
            _stream_command(checkpoint),
            stdin=stdin,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    assert f"after input line {resumed_at}" in second.stderr
    first = _alerts(first_out.read_text())
    after = _alerts(second.stdout)
    kept = [a for a in first if a["line"] <= resumed_at]
    replayed = [a for a in first if a["line"] > resumed_at]
    # None lost, none duplicated: what the killed run emitted up to its checkpoint, then
    # what the resumed run emits, is exactly the uninterrupted run's output.
    assert kept + after == expected
    # Alerts the killed run emitted after its checkpoint are replayed identically, so a
    # consumer can drop them by their line number.
    assert after[: len(replayed)] == replayed


def test_no_line_stops_the_stream_even_across_restarts(
    lines: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """Issue 15 item 4: overflowing numbers, deep nesting, huge and binary lines are counted
    by reason and skipped; a restart from the checkpoint does not die on them either."""
    event = json.loads(lines[0])
    hostile = [
        json.dumps({**event, "sender_age": 0}).replace(
            '"sender_age": 0', '"sender_age": ' + "9" * 401
        ),
        json.dumps({**event, "recipient_tz_offset_min": 0}).replace(
            '"recipient_tz_offset_min": 0', '"recipient_tz_offset_min": -' + "9" * 401
        ),
        "[" * 100_000,
        "[" * 5_000 + "]" * 5_000,
        '{"a": ' * 3_000,
        "\x00\xff garbage \ud800",
        json.dumps({**event, "timestamp": 7_200_000_000}),
        "x" * 200_000,
    ]
    text = "".join([*lines[:20], *(h + "\n" for h in hostile), *lines[20:60]])
    checkpoint = tmp_path / "state.sqlite"
    argv = ["stream", "--checkpoint", str(checkpoint), "--checkpoint-every", "22"]
    assert _run(argv, text, monkeypatch) == 0
    err = capsys.readouterr().err
    summary = [line for line in err.splitlines() if line.startswith("riskscore stream:")]
    assert "60 events, 8 rejected" in summary[0]
    reasons = summary[1]
    assert "future_timestamp 1" in reasons
    # a 401-digit age and tz offset: the validator's refusals; the two lines nested deeper
    # than read_messages reads; and the line holding a lone surrogate, which UTF-8 cannot
    # encode (as from bytes that are not UTF-8)
    assert "SchemaError 5" in reasons
    assert max(len(line) for line in err.splitlines()) < 1_000
    # killed after the first four hostile lines, then fed the whole input again
    checkpoint.unlink()
    part = "".join([*lines[:20], *(h + "\n" for h in hostile[:4])])
    assert _run(argv, part, monkeypatch) == 0
    capsys.readouterr()
    assert _run(argv, text, monkeypatch) == 0
    err = capsys.readouterr().err
    summary = [line for line in err.splitlines() if line.startswith("riskscore stream:")]
    assert summary[-1] == reasons  # counted across the restart, each line once
