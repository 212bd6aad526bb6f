"""Fourth hostile-input review: online checkpoints, vignette files, world drawing and the
CLI's numbers. A bad value is refused with an error naming the file or option, the field
and the value (exit status 2 in the CLI), never a traceback, never a silently different
state, never a refused file changed on disk."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs
import riskscore.cli.generate
import riskscore.online.checkpoint as checkpoint_file
from riskscore.cli import main
from riskscore.evaluation.robustness import unseen_worlds
from riskscore.exceptions import CheckpointError
from riskscore.features.slots import STATE_SLOTS
from riskscore.serve.body import parse_body
from riskscore.vignettes import VignetteFileError, read_vignette

T0 = 1_767_225_600


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ online checkpoints

Row = tuple[Any, ...]


def _checkpoint(model: rs.RiskModel, path: Path) -> None:
    """Three conversations (adult ``a`` in two of them) with ages, and one group room."""
    scorer = rs.OnlineScorer(model)
    for k, (a, b) in enumerate([("a", "b"), ("a", "c"), ("d", "e")]):
        scorer.update_one(
            {"conversation_id": k + 1, "timestamp": T0 + k, "sender_id": a, "recipient_id": b,
             "channel": "direct", "sender_age": 30, "recipient_age": 12}
        )  # fmt: skip
    scorer.checkpoint(path, extra={"lines": 3})


def _rewrite(
    path: Path,
    meta: Callable[[dict[str, Any]], dict[str, Any]] = lambda m: m,
    convs: Callable[[list[Row]], list[Row]] = lambda r: r,
    accounts: Callable[[list[Row]], list[Row]] = lambda r: r,
) -> None:
    """Write the checkpoint at ``path`` again with changed values and valid checksums, as
    someone who edits the file on purpose would."""
    with checkpoint_file.read(path) as snap:
        stored = {k: v for k, v in snap.meta.items() if k not in ("format", "schema_version")}
        conversations, held = list(snap.conversations()), list(snap.accounts())
    path.unlink()
    checkpoint_file.write(path, meta(stored), convs(conversations), accounts(held))


def _conv(change: Callable[[list[Any]], list[Any]]) -> Callable[[list[Row]], list[Row]]:
    return lambda rows: [(c, i, r, change(list(s))) for c, i, r, s in rows]


def _acc(change: Callable[[list[Any]], list[Any]]) -> Callable[[list[Row]], list[Row]]:
    return lambda rows: [(a, change(list(s))) for a, s in rows]


def _slot(name: str, value: Any) -> Callable[[list[Any]], list[Any]]:
    i = STATE_SLOTS.index(name)
    return lambda s: [[*s[0][:i], value, *s[0][i + 1 :]], *s[1:]]


def _config(**values: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda m: {**m, "config": {**m["config"], **values}}


HOSTILE_CHECKPOINTS: dict[str, tuple[dict[str, Any], str]] = {
    "conversation twice": ({"convs": lambda r: [*r, r[0]]}, "conversation 1 appears twice"),
    "account twice": ({"accounts": lambda r: [*r, r[0]]}, "appears twice"),
    "room twice": (
        {"meta": lambda m: {**m, "rooms": [["r", T0], ["r", T0]]}},
        "room 'r' appears twice",
    ),
    "tier 7": ({"convs": _conv(lambda s: [s[0], 7, *s[2:]])}, "alerted tier must be 0, 1 or 2"),
    "tier as text": (
        {"convs": _conv(lambda s: [s[0], "2", *s[2:]])},
        "alerted tier must be 0, 1 or 2, found '2'",
    ),
    "alert time text": (
        {"convs": _conv(lambda s: [s[0], 1, "x", s[3]])},
        "alert time must be an int of epoch seconds",
    ),
    "risk 5": ({"convs": _conv(lambda s: [*s[:3], 5.0])}, "risk must be in [0, 1]"),
    "risk text": ({"convs": _conv(lambda s: [*s[:3], "0.5"])}, "risk must be a finite number"),
    "negative count": ({"convs": _conv(_slot("n_events", -3))}, "slot 'n_events'"),
    "age 500": ({"convs": _conv(_slot("age", 500))}, "slot 'age' must be in [0.0, 120.0]"),
    "slot as text": ({"convs": _conv(_slot("n_events", "1"))}, "slot 'n_events'"),
    "slot as bool": ({"convs": _conv(_slot("comm", True))}, "slot 'comm'"),
    "t_last far future": ({"convs": _conv(_slot("t_last", 1e15))}, "slot 't_last'"),
    "t_first after t_last": (
        {"convs": _conv(_slot("t_first", T0 + 10**6))},
        "'t_first' (1768225600) is after 't_last'",
    ),
    "state too short": (
        {"convs": _conv(lambda s: [s[0][:3], *s[1:]])},
        "state must be a list of",
    ),
    "shadow alert time float": (
        {"convs": _conv(lambda s: [*s, 1, 1.5])},
        "shadow alert time must be an int",
    ),
    "last seen text": (
        {"accounts": _acc(lambda s: [*s[:4], "x", *s[5:]])},
        "account last seen must be an int",
    ),
    "last seen float": (
        {"accounts": _acc(lambda s: [*s[:4], 1.5, *s[5:]])},
        "account last seen must be an int",
    ),
    "contact id float": (
        {"accounts": _acc(lambda s: [[1.5], *s[1:]])},
        "contacts must be a list of ids",
    ),
    "negative tally": (
        {"accounts": _acc(lambda s: [*s[:3], [-1.0] * len(s[3]), *s[4:]])},
        "tallies must be numbers >= 0",
    ),
    "tally text": (
        {"accounts": _acc(lambda s: [*s[:3], ["1"] * len(s[3]), *s[4:]])},
        "tally must be a finite number",
    ),
    "account of 9 fields": ({"accounts": _acc(lambda s: [*s, 1, 2])}, "account state must be"),
    "room time float": (
        {"meta": lambda m: {**m, "rooms": [["r", 1.5]]}},
        "room 'r' is malformed: time must be an int",
    ),
    "room time text": (
        {"meta": lambda m: {**m, "rooms": [["r", "12"]]}},
        "room 'r' is malformed",
    ),
    "room entry of three": ({"meta": lambda m: {**m, "rooms": [["r", 1, 2]]}}, "is not [id, time]"),
    "clock far future": (
        {"meta": lambda m: {**m, "counters": {**m["counters"], "clock": 10**30}}},
        "counter 'clock'",
    ),
    "cooldown as text": ({"meta": _config(cooldown_s="5")}, "'cooldown_s' must be a finite"),
    "idle expiry true": ({"meta": _config(idle_expiry_s=True)}, "'idle_expiry_s' must be"),
    "cooldown too large for a float": (
        {"meta": _config(cooldown_s=10**400)},
        "'cooldown_s' must be a finite",
    ),
    "state slot too large for a float": (
        {"convs": _conv(_slot("n_events", 10**400))},
        "state slot 'n_events' must be a finite number or null",
    ),
    "time source misspelt": ({"meta": _config(time_source="evnts")}, "'time_source' must be"),
    "max_conversations below live": (
        {"meta": _config(max_conversations=2)},
        "than its limit of 4 (max_conversations 2)",
    ),
    # an id beyond int64 is held as that integer (events take it), up to 256 digits
    "integer id of 301 digits": (
        {"convs": lambda r: [(10**300, *row[1:]) for row in r[:1]]},
        "is not an integer id or a str of at most 770",
    ),
    "id longer than a pair id": (
        {"convs": lambda r: [("x" * 771, *row[1:]) for row in r[:1]]},
        "is not an integer id or a str of at most 770",
    ),
    "account id of 300 characters": (
        {"convs": lambda r: [(c, "x" * 300, *row) for c, _, *row in r[:1]]},
        "is not an integer id or a str of at most 256",
    ),
    # restored before, though an event from an account to itself is refused
    "one account on both sides": (
        {"convs": lambda r: [(c, i, i, s) for c, i, _, s in r]},
        "conversation 1 is malformed: its two accounts must differ, found 'a' on both sides",
    ),
}


@pytest.mark.parametrize("case", HOSTILE_CHECKPOINTS)
def test_a_checkpoint_value_out_of_range_or_of_another_type_is_refused_by_name(
    model: rs.RiskModel, tmp_path: Path, case: str
) -> None:
    # each of these was restored before (a tier of 7, text for numbers, an id twice
    # overwriting the first, more conversations than the limit, a clock in year 10^22)
    change, message = HOSTILE_CHECKPOINTS[case]
    path = tmp_path / "c.sqlite"
    _checkpoint(model, path)
    _rewrite(path, **change)
    before = digest(path)
    with pytest.raises(CheckpointError, match=r"c\.sqlite: ") as info:
        rs.OnlineScorer.restore(path, model)
    assert message in str(info.value)
    assert digest(path) == before
    # the lock file is the writer's (tests/test_checkpoint_lock.py); no -wal or -shm file
    assert sorted(os.listdir(tmp_path)) == ["c.sqlite", "c.sqlite.lock"]


def test_the_unchanged_rewrite_restores(model: rs.RiskModel, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    _checkpoint(model, path)
    _rewrite(path, meta=lambda m: {**m, "rooms": [["r", T0]]})
    scorer = rs.OnlineScorer.restore(path, model)
    assert (scorer.n_conversations, scorer.checkpoint_extra) == (3, {"lines": 3})


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_restore_leaves_the_file_unchanged_and_creates_no_side_file(
    model: rs.RiskModel, tmp_path: Path, journal: str
) -> None:
    # restore opened the file read-write: it switched a file's journal to WAL (changing
    # its header) and created -wal and -shm files beside it, also for a file it refused

    path = tmp_path / "c.sqlite"
    _checkpoint(model, path)
    if journal == "delete":
        con = sqlite3.connect(path)
        con.execute("PRAGMA journal_mode = DELETE")
        con.close()
    before, mtime = digest(path), path.stat().st_mtime_ns
    assert rs.OnlineScorer.restore(path, model).n_conversations == 3
    bad_path = tmp_path / "bad.sqlite"
    _checkpoint(model, bad_path)
    _rewrite(bad_path, meta=_config(max_conversations=1))
    bad = digest(bad_path)
    with pytest.raises(CheckpointError):
        rs.OnlineScorer.restore(bad_path, model)
    assert (digest(path), path.stat().st_mtime_ns, digest(bad_path)) == (before, mtime, bad)
    # the lock files are the writers' (tests/test_checkpoint_lock.py); no -wal or -shm file
    assert sorted(os.listdir(tmp_path)) == [
        "bad.sqlite",
        "bad.sqlite.lock",
        "c.sqlite",
        "c.sqlite.lock",
    ]


def test_restore_reads_commits_still_in_the_wal_of_a_stopped_writer(
    model: rs.RiskModel, tmp_path: Path
) -> None:
    # a writer that stopped after its commit, before SQLite copied it into the file

    live = tmp_path / "live"
    live.mkdir()
    path = live / "c.sqlite"
    scorer = rs.OnlineScorer(model)
    scorer.update_one(
        {"conversation_id": 1, "timestamp": T0, "sender_id": "a", "recipient_id": "b",
         "channel": "direct"}
    )  # fmt: skip
    scorer.checkpoint(path)
    reader = sqlite3.connect(path)  # an open read transaction keeps the WAL from the file
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM meta").fetchall()
    scorer.update_one(
        {"conversation_id": 2, "timestamp": T0 + 5, "sender_id": "c", "recipient_id": "d",
         "channel": "direct"}
    )  # fmt: skip
    scorer.checkpoint(path)
    copy = tmp_path / "copy"
    shutil.copytree(live, copy)
    reader.close()
    assert (copy / "c.sqlite-wal").stat().st_size > 0
    assert rs.OnlineScorer.restore(copy / "c.sqlite", model).n_conversations == 2


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
    "1970-01-01": ({"start": "1970-01-01"}, "conversations[0].start", "1970-01-02 to 2199"),
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
        _vignette(tmp_path, group="count = 1000", events=100, start="1970-01-02", tz=840)
    )
    events = vignette.events()
    assert len(events["timestamp"]) == 100_000
    assert events["timestamp"].min() >= 0
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
    assert items[1].error.startswith("line 1 is not JSON")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{json.dumps(EVENT)}\n{second}\n"))
    assert main(["stream"]) == 0
    assert "1 event, 1 rejected" in capsys.readouterr().err
