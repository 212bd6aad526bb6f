"""The options of every command: help with its default, ``default`` for the shipped
bundle, units and ranges checked while parsing, and a text id where a case is decided.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path

import pytest
from cli_helpers import _one_line_error

import riskscore as rs
from riskscore.cli import COMMANDS, main
from riskscore.cli import queue as queue_cli
from riskscore.cli.entrypoint import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    # argparse has no public walk of its subcommands; _actions is stable since Python 3.2.
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_option_of_every_command_has_help_with_its_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    commands = _subparsers(build_parser())
    assert set(commands) == {c.NAME for c in COMMANDS}
    for name, parser in commands.items():
        for action in parser._actions:
            assert action.help, f"riskscore {name} {action.option_strings or action.dest}"
        with pytest.raises(SystemExit):
            main([name, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        for action in parser._actions:
            default = action.default
            # 0 == False: a default of 0 (--first-world) was skipped by a `not in` test
            shows_none = default is None or default == "" or isinstance(default, bool)
            if action.option_strings and not shows_none and default is not argparse.SUPPRESS:
                shown = "2592000" if action.dest == "idle_expiry_s" else str(default)
                assert f"default: {shown}" in text, (name, action.dest, text)
                # in this option's own help, not another's (--seed's "default: 0")
                own = " ".join(parser._get_formatter()._expand_help(action).split())
                assert f"default: {shown}" in own, (name, action.dest, own)


@pytest.mark.parametrize("name", ["stream", "serve"])
def test_the_online_scorer_options_show_their_defaults(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: since these options parse to None when left out (a restart keeps its
    checkpoint's), ``riskscore stream --help`` read "--max-future-s ... (default: None s,
    one day)" and showed no default for --cooldown-s (0), --reorder-tolerance-s (300, which
    the README quotes), --time-source, --max-conversations and --max-account-contacts."""
    parser = _subparsers(build_parser())[name]
    defaults = parser.get_default("scorer_option_defaults")
    assert {"cooldown_s", "reorder_tolerance_s", "max_future_s", "time_source"} <= set(defaults)
    for action in parser._actions:
        if action.dest in defaults:
            own = " ".join(parser._get_formatter()._expand_help(action).split())
            shown = "2592000" if action.dest == "idle_expiry_s" else str(defaults[action.dest])
            assert f"default: {shown}" in own, (name, action.dest, own)
    with pytest.raises(SystemExit):
        main([name, "--help"])
    assert "None" not in capsys.readouterr().out


#: Every argument that names a model bundle to read (``train --out`` writes one).
BUNDLE_ARGUMENTS = {
    ("compare", "model_a"),
    ("compare", "model_b"),
    *((name, "model") for name in ("evaluate", "monitor", "policy", "report", "score")),
    *((name, "model") for name in ("serve", "stream", "train")),
    ("score", "shadow_model"),
    ("stream", "shadow_model"),
}


#: The word for the shipped bundle, and a folder so named.
_DEFAULTS = ("default", "./default")


def test_every_bundle_argument_takes_default_for_the_shipped_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`default` is the shipped bundle from any folder; `./default` is a folder so named."""
    monkeypatch.chdir(tmp_path)
    found = set()
    for name, parser in _subparsers(build_parser()).items():
        for action in parser._actions:
            if "bundle" in (action.help or "") and action.dest != "out":
                found.add((name, action.dest))
                assert callable(action.type), (name, action.dest)
                # compare keeps the name given beside the path (NamedBundle)
                default, local = (getattr(p, "path", p) for p in map(action.type, _DEFAULTS))
                assert default == rs.model.default_model_dir(), (name, action.dest)
                assert local == Path("default"), (name, action.dest)
                assert "`default`" in " ".join((action.help or "").split()), (name, action.dest)
    assert found == BUNDLE_ARGUMENTS
    monkeypatch.setenv("RISKSCORE_MODEL_DIR", str(tmp_path / "mine"))
    (model,) = (a for a in _subparsers(build_parser())["score"]._actions if a.dest == "model")
    assert model.type("default") == tmp_path / "mine"  # what every command uses unset


def test_decide_on_no_open_case_says_how_to_give_a_text_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--decide 7` is the number 7; the text id "7" is given quoted (`-0` is text as written)."""
    db = tmp_path / "queue.sqlite"
    with rs.ReviewQueue(db) as queue:
        items = queue.add_alerts(
            [
                rs.Alert("c1", "7", "k1", 12.0, "under 13", 0.9, rs.Tier(2)),
                rs.Alert("c2", "-0", "k2", 12.0, "under 13", 0.9, rs.Tier(2)),
            ]
        )
    decide = ["queue", "--db", str(db), "--outcome", "dismissed", "--moderator", "m1"]
    assert main([*decide, "--items", str(items[0]), "--decide", "7"]) == 2
    err = _one_line_error(capsys, "queue")
    assert "is not an open item of adult 7" in err
    assert (
        """--decide 7 was read as the number 7: give a text id quoted as JSON, --decide '"7"'"""
        in err
    )
    assert main([*decide, "--items", str(items[0]), "--decide", '"7"']) == 0
    assert 'recorded: case "7" dismissed (1 item)' in capsys.readouterr().out
    assert main([*decide, "--items", str(items[1]), "--decide", "-0"]) == 0
    assert 'recorded: case "-0" dismissed (1 item)' in capsys.readouterr().out


def test_stream_idle_expiry_has_unit_and_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["stream", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--idle-expiry-s" in text
    assert "seconds of event time (default: 2592000 s, 30 days" in text


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("args", "option", "message"),
    [
        (["queue", "--db", "DB", "--now", HUGE], "--now", "is out of range"),
        (["queue", "--db", "DB", "--now=-1"], "--now", "is out of range"),
        (["queue", "--db", "DB", "--top=-1"], "--top", "is not a whole number from 0"),
        (
            ["queue", "--db", "DB", "--decide", "1", "--items", HUGE, "--outcome", "actioned"],
            "--items",
            "is not comma-separated item ids",
        ),
        (["queue", "--db", "DB", "--decide", "1", "--items", "0"], "--items", "item ids"),
        (["export", "--db", "DB", "--out", "OUT", "--from", HUGE], "--from", "out of range"),
        (["export", "--db", "DB", "--out", "OUT", "--from=-5"], "--from", "out of range"),
        (["export", "--db", "DB", "--out", "OUT", "--to=-" + HUGE], "--to", "out of range"),
        (["export", "--db", "DB", "--out", "OUT", "--to", "2026-13-01"], "--to", "calendar"),
        (["report", "--db", "DB", "--out", "OUT", "--start=-86400"], "--start", "out of range"),
        (["report", "--db", "DB", "--out", "OUT", "--end", HUGE], "--end", "out of range"),
        (["compare", "--queue", "DB", "--since", HUGE], "--since", "out of range"),
        (["score", "EVENTS", "--out", "OUT", "--chunk-rows", HUGE], "--chunk-rows", "whole"),
        (["score", "EVENTS", "--out", "OUT", "--chunk-rows", "0"], "--chunk-rows", "from 1 to"),
        (["score", "EVENTS", "--out", "OUT", "--chunk-rows=-1"], "--chunk-rows", "from 1 to"),
        (["stream", "--reorder-tolerance-s=-5"], "--reorder-tolerance-s", "seconds >= 0"),
        (["stream", "--cooldown-s", "nan"], "--cooldown-s", "seconds >= 0"),
        (["stream", "--idle-expiry-s", "0"], "--idle-expiry-s", "seconds > 0"),
        (["serve", "--db", "DB", "--cooldown-s=-1"], "--cooldown-s", "seconds >= 0"),
    ],
)
def test_numbers_out_of_range_are_refused_while_parsing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    option: str,
    message: str,
) -> None:
    db = tmp_path / "queue.sqlite"
    names = {"DB": str(db), "OUT": str(tmp_path / "out"), "EVENTS": str(tmp_path / "e.parquet")}
    with pytest.raises(SystemExit) as exit_info:
        main([names.get(a, a) for a in args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"riskscore {args[0]}: error: argument {option}: "), err
    assert message in last
    assert not db.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stream", "--max-conversations", "0"], "--max-conversations must be an integer from 1"),
        (["generate", "--conversations", "9", "--adults", "1", "--out", "OUT"], "--adults must"),
        (
            ["generate", "--conversations", "9", "--label-noise", "2", "--out", "OUT"],
            "--label-noise must be a number in [0, 0.5], got 2.0",
        ),
        (
            ["generate", "--conversations", "9", "--unknown-age-rate", "3", "--out", "OUT"],
            "--unknown-age-rate must be a number in [0, 1], got 3.0",
        ),
    ],
)
def test_a_value_the_library_refuses_is_named_by_its_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    # Checked by the library, not while parsing: its message names the command's option,
    # never the library's parameter (n_adults, label_noise, max_conversations).
    assert main([str(tmp_path / "out") if a == "OUT" else a for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"riskscore {args[0]}: error: {message}"), err


def test_time_options_accept_their_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "queue.sqlite"
    with rs.ReviewQueue(db):
        pass
    assert main(["queue", "--db", str(db), "--now", "2000-01-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["now"] == 946_684_800  # the first event time
    assert main(["queue", "--db", str(db), "--now", "2200-01-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["now"] == 7_258_118_400


def test_help_examples_and_the_text_after_them_are_apart() -> None:
    """Was: `riskscore train --help` ran its last example into "With --from-queue the labels
    are ..." with no line between (also evaluate, queue, report, export, monitor, compare)."""
    for command in COMMANDS:
        lines = command.EXAMPLE.split("\n")
        prose = next((i for i, line in enumerate(lines) if i and line[:1] not in ("", " ")), None)
        assert prose is None or lines[prose - 1] == "", (command.NAME, lines[prose])


def test_the_top_level_help_has_examples_that_parse(capsys: pytest.CaptureFixture[str]) -> None:
    """Was: `riskscore --help` listed the commands and no example, though the README says
    every command's help has one."""
    with pytest.raises(SystemExit):
        main(["--help"])
    examples = capsys.readouterr().out.split("examples:\n", 1)[1].splitlines()
    commands = [shlex.split(line.split("#")[0])[1:] for line in examples if line.strip()]
    assert commands
    for argv in commands:
        if "--help" not in argv:
            build_parser().parse_args(argv)


def test_the_docs_say_which_decide_ids_are_numbers() -> None:
    """Was: docs/transparency.md said `--decide -0` is the number 0 (ids were read as
    JSON once); `-0` is text, as `riskscore queue --help` says."""
    text = " ".join((ROOT / "docs" / "transparency.md").read_text(encoding="utf-8").split())
    said = re.search(r"whole number is a number \((.*?)\); anything else is text \((.*?)\)", text)
    assert said is not None
    numbers, texts = (re.findall(r"`([^`]+)`", part) for part in said.groups())
    assert numbers
    assert texts
    assert all(type(queue_cli._parse_id(n)) is int for n in numbers), numbers
    assert all(type(queue_cli._parse_id(t)) is str for t in texts), texts


def test_a_path_named_like_an_option_is_not_renamed_in_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore policy tune data` (a folder named data) said "--data is a directory":
    the path opened the message and was taken for the library name of --data."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert main(["policy", "tune", "data"]) == 2
    err = capsys.readouterr().err
    assert "error: data is a directory" in err
    assert "--data" not in err


def test_decide_with_both_token_and_items_says_they_are_exclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: "--decide needs the items shown: --token TOKEN ... or --items ID,ID", with both
    given (review of the service and the queue, item 6)."""
    db = tmp_path / "queue.sqlite"
    with rs.ReviewQueue(db) as queue:
        (item,) = queue.add_alerts([rs.Alert("c1", "a", "k1", 12.0, "under 13", 0.9, rs.Tier(2))])
        token = queue.case("a").token  # type: ignore[union-attr]
    decide = ["queue", "--db", str(db), "--decide", "a", "--outcome", "dismissed"]
    decide += ["--moderator", "m1"]
    assert main([*decide, "--token", token, "--items", str(item)]) != 0
    assert "--token and --items are exclusive" in _one_line_error(capsys, "queue")
    assert main(decide) != 0
    assert "--decide needs the items shown" in _one_line_error(capsys, "queue")
    with rs.ReviewQueue(db) as queue:
        assert [i.status for i in queue.items()] == ["open"]
