"""User audit 37: a newcomer following README.md and docs/ on a fresh clone.

Each test failed on the code before its fix."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from riskscore import ReviewQueue, UserReport
from riskscore.cli import main

HEADER = "conversation_id,timestamp,sender_id,recipient_id,channel\n"
#: Two bad rows (a channel no platform has, a time that is none), then a good one.
BAD_ROWS = (
    HEADER + "1,1767225600,a,b,pigeon\n" + "1,notatime,a,b,direct\n" + "1,1767225660,b,a,direct\n"
)


@pytest.fixture
def bad_csv(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(BAD_ROWS, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["score", "{events}", "--out", "{tmp}/out"],
        ["accounts", "{events}", "--out", "{tmp}/accounts.parquet"],
        ["policy", "tune", "{events}"],
    ],
    ids=["score", "accounts", "policy-tune"],
)
def test_bad_rows_hint_names_the_option_of_the_command(
    command: list[str], bad_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: a command with ``--errors`` said "pass errors='quarantine'", the keyword of the
    Python API, instead of its own option ``--errors quarantine``."""
    argv = [a.format(events=bad_csv, tmp=tmp_path) for a in command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "column 'channel', row 0 (line 2): 'pigeon'" in err
    assert "errors='quarantine'" not in err
    assert "pass --errors quarantine to set them aside" in err


def test_bad_rows_hint_of_a_command_without_errors_option(
    bad_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore monitor`` (which has no ``--errors``) told the user to "pass
    errors='quarantine'", an option it does not take."""
    assert main(["monitor", str(bad_csv)]) == 2
    err = capsys.readouterr().err
    assert "errors='quarantine'" not in err
    assert "monitor takes no --errors" in err
    assert "`riskscore score EVENTS --out DIR --errors quarantine`" in err


@pytest.mark.parametrize("command", ["export", "report"])
@pytest.mark.parametrize(
    ("value", "said"),
    [
        (None, "the environment variable RISKSCORE_REPORT_KEY is not set"),
        ("", "the environment variable RISKSCORE_REPORT_KEY is set but empty"),
    ],
    ids=["unset", "empty"],
)
def test_a_missing_report_key_is_named_as_unset_or_empty(
    command: str,
    value: str | None,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Was: with RISKSCORE_REPORT_KEY unset, or set but empty, export and report said the
    key "has 0 bytes", as if it were set to a short value (the README says a secret set
    but empty is refused as such)."""
    if value is None:
        monkeypatch.delenv("RISKSCORE_REPORT_KEY", raising=False)
    else:
        monkeypatch.setenv("RISKSCORE_REPORT_KEY", value)
    with ReviewQueue(tmp_path / "q.sqlite"):
        pass
    argv = [command, "--db", str(tmp_path / "q.sqlite"), "--out", str(tmp_path / "out")]
    assert main([*argv, "--no-charts"] if command == "report" else argv) == 2
    err = capsys.readouterr().err
    assert "has 0 bytes" not in err
    assert said in err
    assert "secrets.token_urlsafe(32)" in err or value is not None


def test_youngest_child_reason_says_it_is_an_age(tmp_path: Path) -> None:
    """Was: a case's reason read "youngest child 2", which reads as a count or a child's
    number as much as an age (the reason beside it says "user report from a child (age
    14)")."""
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        queue.add_report(UserReport("c1", "kid", "adult", 14.0, timestamp=1_767_225_600))
        case = queue.case("adult", now=1_767_225_700)
    assert case is not None
    assert "youngest child: age 14" in case.reasons
    assert "youngest child 14" not in case.reasons


def test_a_bad_token_names_where_the_token_is_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore queue --decide ... --token bogus`` said the token should come
    "from ReviewQueue.case(...).token", a Python call, with no example of a token."""
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        queue.add_report(UserReport("c1", "kid", "adult", 14.0, timestamp=1_767_225_600))
    argv = ["queue", "--db", str(tmp_path / "q.sqlite"), "--decide", '"adult"']
    assert main([*argv, "--token", "bogus", "--outcome", "actioned", "--moderator", "m"]) == 2
    err = capsys.readouterr().err
    assert "'bogus' is not a case token" in err
    assert "`riskscore queue` prints it" in err
    assert "v1:12.1-15.3" in err


def test_stream_names_a_line_that_is_not_json_as_such(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore stream`` reported a line that is not JSON as "line 2: Expecting
    value: line 1 column 1 (char 0)", the parser's words, whose "line 1" is not the input's
    line; ``read_messages`` says "is not valid JSON (...)" of the same line."""
    event = '{"conversation_id": 1, "timestamp": 1767225600, "sender_id": "a", '
    event += '"recipient_id": "b", "channel": "direct"}'
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{event}\nnot json\n"))
    assert main(["stream"]) == 0
    err = capsys.readouterr().err
    assert "line 2: the line is not valid JSON (expecting value at column 1)" in err
