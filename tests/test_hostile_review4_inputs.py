"""Fourth hostile-input review: vignette files, world drawing, the CLI's numbers and a byte
order mark (served as streamed). A bad value is refused with an error naming the file or
option, the field and the value (exit status 2 in the CLI), never a traceback.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs
import riskscore.cli.generate
from riskscore.cli import main
from riskscore.evaluation.robustness import unseen_worlds
from riskscore.serve.body import parse_body
from riskscore.vignettes import VignetteFileError, read_vignette

T0 = 1_767_225_600


# ------------------------------------------------------------------ vignette files

VIGNETTE = """title = "{title}"
kind = "benign"
expected = "no_alert"
summary = "What happens."
reason = "Why."

[accounts]
adult = {{ age = 38, tz = {tz} }}
kids = {{ {group}, tz = 60 }}

[[conversations]]
name = "{name}"
between = ["adult", "kids"]
clock = "adult"
start = {start}
focus = true

[[conversations.phases]]
day = {day}
days = 1
hours = [15.5, 19.5]
channel = "direct"
events = {events}
repeat = {repeat}
every = 1
shares = {{ adult = 0.6, kids = 0.4 }}
closing = [{closing}]
"""


def _vignette(tmp_path: Path, **values: Any) -> Path:
    fields = {"title": "A coach and two players", "tz": 60, "group": "count = 2",
              "name": "c", "start": "2025-01-06", "day": 0, "events": 10, "repeat": 1,
              "closing": ""}  # fmt: skip
    fields.update(values)
    path = tmp_path / "t01-test.toml"
    path.write_text(VIGNETTE.format(**fields), encoding="utf-8")
    return path


HOSTILE_VIGNETTES: dict[str, tuple[dict[str, Any], str, str]] = {
    # each was read (the group of a million accounts then took minutes to build; the events
    # of year 1 or 9999 were outside the schema's range; a control character or a line
    # break in a name went into the ids and the docs)
    "10^9 events": (
        {"events": 100_000, "repeat": 10_000},
        "conversations[0]",
        "builds 2000000000 events up to this conversation",
    ),
    "events times members": (
        {"group": "count = 1000", "events": 101},
        "conversations[0]",
        "more than 100000",
    ),
    "group of a million": (
        {"group": "count = 1000000"},
        "accounts.kids.count",
        "at most 1000, found 1000000",
    ),
    "group of 1001 ages": (
        {"group": f"ages = [{', '.join(['14'] * 1001)}]"},
        "accounts.kids.ages",
        "a group of 1001 accounts; at most 1000",
    ),
    "year 1": ({"start": "0001-01-01"}, "conversations[0].start", "0001-01-01"),
    "year 9999": ({"start": "9999-12-31"}, "conversations[0].start", "9999-12-31"),
    "1970-01-01": ({"start": "1970-01-01"}, "conversations[0].start", "2000-01-02 to 2199"),
    # review 87: events are dated from 2000 on, so vignettes too
    "1999-12-31": ({"start": "1999-12-31"}, "conversations[0].start", "2000-01-02 to 2199"),
    "last day past 2199": (
        {"start": "2199-12-01", "day": 3000},
        "conversations[0].phases[0]",
        "its last day, 3000 days after the start 2199-12-01, is after 2199-12-31",
    ),
    "title with NUL and ESC": (
        {"title": "a\\u0000b\\u001b[31m"},
        "title",
        "one line of printable text, found the character '\\x00' (U+0000)",
    ),
    "title of two lines": ({"title": "a\\nb"}, "title", "(U+000A)"),
    "title with bidi override": ({"title": "a\\u202eb"}, "title", "(U+202E)"),
    "name with final line break": (
        {"name": "c\\n"},
        "conversations[0].name",
        "lower-case letters, digits and dashes: 'c\\n'",
    ),
}


@pytest.mark.parametrize("case", HOSTILE_VIGNETTES)
def test_a_vignette_beyond_the_limits_is_refused_by_file_key_and_value(
    tmp_path: Path, case: str
) -> None:
    values, key, message = HOSTILE_VIGNETTES[case]
    with pytest.raises(VignetteFileError) as info:
        read_vignette(_vignette(tmp_path, **values))
    assert str(info.value).startswith(f"t01-test.toml: key {key!r}:")
    assert message in str(info.value)


def test_a_vignette_at_the_limits_is_read_and_built(tmp_path: Path) -> None:
    vignette = read_vignette(
        _vignette(tmp_path, group="count = 1000", events=100, start="2000-01-02", tz=840)
    )
    events = vignette.events()
    assert len(events["timestamp"]) == 100_000
    assert events["timestamp"].min() >= 946_684_800
    late = read_vignette(_vignette(tmp_path, start="2199-12-31"))
    assert late.events()["timestamp"].max() < 7_258_118_400
    # the adult's afternoon of 2199-12-31 at UTC-12 is 2200-01-01 UTC: refused when built
    with pytest.raises(VignetteFileError, match=r"key 'conversations\[0\]\.start'.*UTC"):
        read_vignette(_vignette(tmp_path, start="2199-12-31", tz=-720)).events()


def test_closing_events_past_2199_are_refused_when_built(tmp_path: Path) -> None:
    # every day of the phase is in range, its closing events a year after are not
    closing = ", ".join(['{ by = "kids", event = "block", after_min = 1000000 }'] * 3)
    vignette = read_vignette(_vignette(tmp_path, start="2198-06-01", closing=closing))
    with pytest.raises(VignetteFileError, match=r"key 'conversations\[0\]\.start'.*2199-12-31"):
        vignette.events()


def test_a_vignette_file_too_large_or_not_utf8_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "t02-big.toml"
    path.write_bytes(b"# " + b"x" * 1_000_000 + b"\n")
    with pytest.raises(VignetteFileError, match=r"^t02-big\.toml: the file is larger than 1000000"):
        read_vignette(path)
    path.write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(VignetteFileError, match=r"^t02-big\.toml: not UTF-8 text \(byte 0xe9"):
        read_vignette(path)


# ------------------------------------------------------------------ worlds and CLI numbers


@pytest.mark.parametrize(
    ("n", "first", "message"),
    [
        (1001, 0, "there are 1000 evaluation worlds; 1001 from world 0 on would need 1001"),
        (30, 990, "ask for at most 10"),  # before: 10 worlds, silently
        (5, 1000, "ask for at most 0 or start before 1000"),  # before: none, silently
        (0, 0, "n must be an integer >= 1, got 0"),
        (-5, 0, "n must be an integer >= 1, got -5"),
        (5, -5, "first must be an integer >= 0, got -5"),  # before: seeds 995.. (of training)
    ],
)
def test_unseen_worlds_refuses_more_worlds_than_there_are(n: int, first: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        unseen_worlds(n, first=first)


@pytest.mark.parametrize("name", ["two\nlines", "esc\x1b[31m", "bidi\u202e", "", "x" * 129])
def test_a_world_name_is_one_printable_line(name: str) -> None:
    with pytest.raises(ValueError, match="name: must be one line of printable text"):
        rs.synthetic.World.default().replace(name=name)
    with pytest.raises(ValueError, match="name: must be one line of printable text"):
        rs.synthetic.draw_world(3, name=name)  # "" too: None is the default name


def _argparse_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # ignored without --data before; with it, NaN went on into the split
        (["train", "--test-fraction", "nan"], "'nan' is not a number between 0 and 1"),
        (["train", "--test-fraction", "1"], "'1' is not a number between 0 and 1"),
        (["train", "--test-fraction", "0", "--data", "d"], "'0' is not a number between 0"),
        # numpy's "Seed must be between 0 and 2**32 - 1" after the data were drawn
        (["train", "--seed", "-1"], "'-1' is not a seed: expected a whole number from 0"),
        (["generate", "--seed", "-1"], "'-1' is not a seed"),
        (["evaluate", "--worlds", "2", "--seed", "x"], "'x' is not a seed"),
        (["policy", "check", "policies/default.toml", "--seed", "-3"], "'-3' is not a seed"),
        # ran for days (or filled the disk) before
        (["generate", "--conversations", "10000000000"], "from 1 to 10000000"),
        (["generate", "--chunk-conversations", "100000000"], "from 1 to 1000000"),
        (["train", "--conversations", "10000000000"], "from 1 to 10000000"),
        (["evaluate", "--worlds", "100000"], "'100000' is not a whole number from 1 to 1000"),
        (["evaluate", "--worlds", "2", "--first-world", "-1"], "from 0 to 999"),
        (["evaluate", "--worlds", "2", "--conversations", "0"], "'0' is not a whole number"),
    ],
)
def test_cli_numbers_out_of_range_are_argparse_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    line = _argparse_error(capsys, [*argv, "--out", str(tmp_path / "out")])
    assert line.startswith(f"riskscore {argv[0]}"), line
    assert message in line, line
    assert not (tmp_path / "out").exists()


def test_evaluate_names_worlds_beyond_the_last_evaluation_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", "--worlds", "30", "--first-world", "990", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "riskscore evaluate: error: --worlds 30 --first-world 990: there are 1000 evaluation "
        "worlds; ask for at most 10"
    )


def test_generate_has_no_import_inside_a_function() -> None:
    source = Path(riskscore.cli.generate.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^[ \t]+(import|from) \S", source, flags=re.MULTILINE)


# ------------------------------------------------------- a byte order mark: serve as stream

EVENT = {"conversation_id": 1, "timestamp": T0, "sender_id": "a", "recipient_id": "b",
         "channel": "direct"}  # fmt: skip


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_the_service_skips_a_leading_byte_order_mark_as_stream_does(content_type: str) -> None:
    # `riskscore stream` and read_messages skipped it; the service refused the body as
    # "Unexpected UTF-8 BOM"
    body = "\ufeff".encode() + json.dumps(EVENT).encode() + b"\n"
    items = parse_body(body, content_type)
    assert [(i.index, i.value, i.error) for i in items] == [(0, EVENT, None)]


def test_a_byte_order_mark_after_the_start_is_refused_by_both(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    second = "\ufeff" + json.dumps(EVENT)
    items = parse_body(f"{json.dumps(EVENT)}\n{second}\n".encode(), "application/x-ndjson")
    assert items[0].error is None
    assert items[1].error is not None
    assert items[1].error.startswith("line 1 is not valid JSON")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{json.dumps(EVENT)}\n{second}\n"))
    assert main(["stream"]) == 0
    assert "1 event, 1 rejected" in capsys.readouterr().err
