"""Third hostile-input review: group rooms, regulatory exports and the review queue's
read-only commands (``queue``, ``export``, ``report``). Every bad value is a one-line
error naming what is wrong (exit status 2 in the CLI), or quarantined and counted;
never a traceback, never a silently new or changed file, never two ids merged."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from _regulatory import KEY, T0, decided_queue

import riskscore as rs
from riskscore.cli import main
from riskscore.io.markdown import markdown_text
from riskscore.io.schema import MAX_PAIR_ID_LENGTH
from riskscore.moderation import QueueError, ReviewQueue, UserReport
from riskscore.policy import Alert, Tier
from riskscore.regulatory import export_all

# Ids of one or two words: three or more are a sentence, refused as an id everywhere.
HOSTILE_IDS = ["=cmd|'/C calc'!A0", "<script>alert(1)</script>", "|pipe|", "@SUM(1)", "x" * 256]


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------- a 0-byte or missing --db, read-only use


READ_ONLY = [
    ["queue", "--db", "{db}"],
    ["queue", "--db", "{db}", "--decide", "7", "--items", "1", "--outcome", "dismissed",
     "--moderator", "m1"],
    ["export", "--db", "{db}", "--out", "{tmp}/exports"],
    ["report", "--db", "{db}", "--out", "{tmp}/report", "--no-charts"],
    ["compare", "--shadow-run", "{tmp}/run", "--queue", "{db}"],
    ["serve", "--db", "{db}", "--remove-moderator", "mod:1", "--by", "lead:1"],
]  # fmt: skip


NOT_A_QUEUE = {
    "empty": "empty file (0 bytes), not a review queue",
    "missing": "no review queue at",
    "directory": "is a directory, not a review queue",
}


@pytest.mark.usefixtures("key_env")
@pytest.mark.parametrize("kind", NOT_A_QUEUE)
@pytest.mark.parametrize("argv", READ_ONLY, ids=lambda a: " ".join(a[:2]) + str(len(a)))
def test_read_only_use_refuses_what_holds_no_queue_and_leaves_it(
    tmp_path: Path, argv: list[str], kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "queue.sqlite"
    if kind == "empty":
        db.write_bytes(b"")
    elif kind == "directory":
        db.mkdir()
    assert main([a.format(db=db, tmp=tmp_path) for a in argv]) == 2
    assert NOT_A_QUEUE[kind] in one_error_line(capsys)
    assert db.exists() == (kind != "missing")
    assert not db.is_file() or db.stat().st_size == 0  # not turned into a new queue
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ([] if kind == "missing" else ["queue.sqlite"])  # no -wal, no output


def test_review_queue_create_false_refuses_what_holds_no_queue(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no review queue at"):
        ReviewQueue(tmp_path / "missing.sqlite", create=False)
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(QueueError, match="empty file"):
        ReviewQueue(empty, create=False)
    assert empty.stat().st_size == 0
    made = tmp_path / "made.sqlite"
    ReviewQueue(made).close()  # writers still create a queue
    with ReviewQueue(made, create=False) as queue:
        assert len(queue) == 0


def test_writers_still_create_a_queue_in_an_empty_file(tmp_path: Path) -> None:
    db = tmp_path / "queue.sqlite"
    db.write_bytes(b"")
    db.chmod(0o600)  # this user's, private: an empty file is an empty queue
    with ReviewQueue(db) as queue:  # score --queue / stream --queue: created if missing
        queue.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        assert len(queue) == 1


# ------------------------------------------------------ queue files of other kinds


def test_a_newer_queue_schema_is_refused_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = decided_queue(tmp_path / "queue.sqlite")
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    con.execute("DROP TABLE alert_signals")  # what a newer schema may have done
    con.commit()
    con.close()
    before = digest(db)
    assert main(["queue", "--db", str(db)]) == 2
    assert "schema version '5'" in one_error_line(capsys)
    assert digest(db) == before  # no table recreated in a newer riskscore's file


def test_a_database_of_another_kind_is_refused_by_export(
    tmp_path: Path, key_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "other.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE foo (x)")
    con.commit()
    con.close()
    before = digest(db)
    assert main(["export", "--db", str(db), "--out", str(tmp_path / "x")]) == 2
    assert "is not a riskscore queue (it has table(s) foo)" in one_error_line(capsys)
    assert digest(db) == before
    assert not (tmp_path / "x").exists()


def test_export_of_an_empty_queue_writes_empty_exports(
    tmp_path: Path, key_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "queue.sqlite"
    ReviewQueue(db).close()
    assert main(["export", "--db", str(db), "--out", str(tmp_path / "x")]) == 0
    assert "DSA statements of reasons: 0" in capsys.readouterr().out
    assert (tmp_path / "x" / "dsa-statements" / "statements_of_reasons.jsonl").read_text() == ""


# ------------------------------------------------------------- --out against the inputs


@pytest.mark.parametrize("name", ["report.json", "report.html", "volume.png"])
def test_report_refuses_an_out_that_would_overwrite_its_queue(
    tmp_path: Path, key_env: None, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    db = decided_queue(out / name)  # a queue named like one of the outputs
    before = digest(db)
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "." / "reports")]) == 2
    assert "would replace the input" in one_error_line(capsys)
    assert digest(db) == before


@pytest.mark.parametrize(
    ("name", "source"), [("report.md", ["--data", "DATA"]), ("robustness.md", ["--worlds", "1"])]
)
def test_evaluate_refuses_an_out_that_would_overwrite_its_policy(
    tmp_path: Path, name: str, source: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / name  # a policy file named like one of the outputs
    policy.write_text((Path(__file__).parents[1] / "policies" / "default.toml").read_text())
    before = digest(policy)
    argv = ["evaluate", *(str(tmp_path) if a == "DATA" else a for a in source)]
    assert main([*argv, "--policy", str(policy), "--out", str(tmp_path)]) == 2
    assert "would replace the input" in one_error_line(capsys)
    assert digest(policy) == before


def test_export_refuses_the_queue_itself_as_out(
    tmp_path: Path, key_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    db = decided_queue(tmp_path / "queue.sqlite")
    before = digest(db)
    assert main(["export", "--db", str(db), "--out", str(db)]) == 2
    assert "is not a directory" in one_error_line(capsys)
    assert digest(db) == before


# ----------------------------------------------------- ids and names in the exports


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("a\nb", "control character"),
        ("lone\ud800", "control character"),
        # an account id over 256 characters; a conversation id over the longest pair id
        ("x" * (MAX_PAIR_ID_LENGTH + 1), "longer than"),
        (" ", "empty"),
    ],
)
def test_the_queue_refuses_ids_that_events_could_not_carry(
    tmp_path: Path, bad: str, reason: str
) -> None:
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        for alert in (
            Alert(bad, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT),
            Alert(1, bad, "c", 12.0, "under 13", 0.9, Tier.URGENT),
            Alert(1, "a", bad, 12.0, "under 13", 0.9, Tier.URGENT),
        ):
            with pytest.raises(ValueError, match=reason):
                queue.add_alert(alert, at=T0)
        with pytest.raises(ValueError, match=reason):
            queue.add_alerts([Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT),
                              Alert(2, bad, "c", 12.0, "under 13", 0.9, Tier.URGENT)])  # fmt: skip
        for report in (
            UserReport(bad, "c", "a", 12.0, timestamp=T0),
            UserReport(1, bad, "a", 12.0, timestamp=T0),
            UserReport(1, "c", bad, 12.0, timestamp=T0),
        ):
            with pytest.raises(ValueError, match=reason):
                queue.add_report(report)
        assert len(queue) == 0  # nothing half-queued
        assert queue.items() == []


def hostile_queue(path: Path) -> Path:
    """Printable ids that CSV, HTML and Markdown treat as code: each adult decided."""
    with ReviewQueue(path, simulation=True) as queue:
        for n, adult in enumerate(HOSTILE_IDS):
            alert = Alert(f"c-{adult}"[:256], adult, f"k-{adult}"[:256], 12.0, "under 13", 0.9,
                          Tier.URGENT)  # fmt: skip
            queue.add_alert(alert, at=T0 + n)
        for n, adult in enumerate(HOSTILE_IDS):
            shown = queue.case(adult, now=T0 + 100)
            assert shown is not None
            outcome = "escalated" if n % 2 == 0 else "actioned"
            queue.decide(adult, outcome, moderator="m1", at=T0 + 100, token=shown.token)
    return path


def test_export_keeps_hostile_ids_as_data(
    tmp_path: Path, key_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    db = hostile_queue(tmp_path / "queue.sqlite")
    out = tmp_path / "x"
    platform = '=HYPERLINK("http://x")|<b>'
    assert main(["export", "--db", str(db), "--out", str(out), "--platform", platform]) == 0
    drafts = sorted((out / "ncmec-drafts").glob("*.json"))
    reported = [json.loads(p.read_text())["report"]["personOrUserReported"] for p in drafts]
    found = {person["espIdentifier"] for person in reported}
    assert found == set(HOSTILE_IDS[0::2])  # escalated adults, ids exactly as given
    for path in out.rglob("*.csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), (path, row)
    qualitative = (out / "eu-2024-2835" / "11_qualitative.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(qualitative)))
    assert rows[1][0] == "'" + platform  # shown as text by a spreadsheet, recoverable
    draft = (out / "eu-2024-2835" / "qualitative_draft.md").read_text()
    assert draft.splitlines()[0].endswith(markdown_text(platform))  # shown as written


@pytest.mark.parametrize(
    "platform", ["chat\n# Injected heading", "chat\r\n", "bad\udc80", "p" * 129]
)
@pytest.mark.parametrize("command", ["export", "report"])
def test_a_platform_name_that_is_not_one_printable_line_is_refused(
    tmp_path: Path,
    key_env: None,
    platform: str,
    command: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = decided_queue(tmp_path / "queue.sqlite")
    out = tmp_path / "out"
    argv = [command, "--db", str(db), "--out", str(out), "--platform", platform]
    assert main(argv + (["--no-charts"] if command == "report" else [])) == 2
    assert "platform" in one_error_line(capsys)
    assert not out.exists()  # refused before anything is written


def test_library_exports_check_the_platform_name(tmp_path: Path) -> None:
    db = decided_queue(tmp_path / "queue.sqlite")
    with ReviewQueue(db) as queue, pytest.raises(QueueError, match="platform"):
        export_all(queue, tmp_path / "x", key=KEY, platform="a\nb")
    with ReviewQueue(db) as queue, pytest.raises(QueueError, match="platform"):
        rs.transparency_report(queue, (0, T0 + 10**6), key=KEY, platform="a\u2028b")
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------- group rooms

EV0 = 1_714_521_600


def room_events(pairs: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "conversation_id": room,
            "timestamp": EV0 + 60 * i,
            "sender_id": sender,
            "recipient_id": recipient,
            "channel": "group",
            "sender_age": 35.0,
            "recipient_age": 13.0,
            "room_size": 3,
        }
        for i, (room, sender, recipient) in enumerate(pairs)
    ]


def as_columns(events: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {k: [e[k] for e in events] for k in events[0]}


MERGING = {
    # a pair conversation becomes a room whose first two pairs derive one id
    "when the room opens": [("g", "a|b", "c"), ("g", "a", "b|c")],
    # a known room: a later pair derives the id of an earlier pair
    "in a known room": [("g", "x", "y"), ("g", "x", "z"), ("g", "a|b", "c"), ("g", "a", "b|c")],
}


@pytest.mark.parametrize("case", MERGING)
def test_two_pairs_of_a_room_are_never_merged_online_as_in_batch(case: str) -> None:
    events = room_events(MERGING[case])
    with pytest.raises(rs.SchemaError, match=re.escape("derive the same pair id 'g|a|b|c'")):
        rs.read_messages(as_columns(events))
    scorer = rs.OnlineScorer(rs.load_model(), rs.AlertPolicy.default())
    for event in events[:-1]:
        scorer.update_one(event)
    with pytest.raises(rs.SchemaError, match=f"event {len(events) - 1}: two pairs") as info:
        scorer.update_one(events[-1])
    assert info.value.column == "conversation_id"
    scorer.update_one({**events[-1], "sender_id": "a", "recipient_id": "c"})  # still usable


def test_stream_rejects_and_counts_a_merging_pair(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events = room_events(MERGING["when the room opens"] + [("g", "a", "c")])
    lines = "".join(json.dumps(e) + "\n" for e in events)
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["stream"]) == 0
    err = capsys.readouterr().err
    assert "line 2: column 'conversation_id', event 2: two pairs" in err
    assert "1 rejected" in err


def test_a_separator_in_ids_that_merges_nothing_is_kept() -> None:
    events = room_events([("g", "x", "y"), ("g", "x", "z"), ("g", "a|b", "c")])
    table = rs.read_messages(as_columns(events))
    scorer = rs.OnlineScorer(rs.load_model(), rs.AlertPolicy.default())
    for event in events:
        scorer.update_one(event)
    expected = {"g|x|y", "g|x|z", "g|a|b|c"}
    assert set(map(str, table.conversation_id)) == expected
    assert set(map(str, scorer._conversations)) == expected


def test_a_pair_id_clash_names_the_id_as_text() -> None:
    events = room_events([("g", "a", "b"), ("g", "a", "c")])
    events.append({**events[0], "conversation_id": "g|a|b", "channel": "direct"})
    with pytest.raises(rs.SchemaError, match=r"^column 'conversation_id': 'g\|a\|b' is the id"):
        rs.read_messages(as_columns(events))
