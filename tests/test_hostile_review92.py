"""Ninety-second hostile-input review: what a command writes never lands in a model bundle,
and no time option takes a time before the first event riskscore reads.

Was: only ``train --out`` refused the shipped bundle; ``evaluate --out``, ``generate --out``,
``score --queue``, ``serve --db`` and every other output wrote into it, or into the bundle
``$RISKSCORE_MODEL_DIR`` names (which ``train --out`` replaced too). And ``queue --now``,
``report --start``, ``export --from`` and ``compare --since`` took 1970 on, while every event
reader refuses events before 2000-01-01.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest
from cli_helpers import _one_line_error

import riskscore.model.bundle as bundle
from riskscore.cli import main
from riskscore.cli._paths import check_not_in_bundle, output_path
from riskscore.cli._time import parse_end, parse_epoch
from riskscore.cli.entrypoint import build_parser
from riskscore.io.schema import EARLIEST_EVENT_TIMESTAMP

#: Every option a command writes to, with the arguments that reach it (``OUT`` is the
#: output path; the inputs do not exist: the refusal comes first). One case per option:
#: :func:`test_every_output_option_has_a_case` fails on a new one without its case.
OUTPUTS = {
    ("generate", "--out"): ["generate", "--conversations", "50", "--out", "OUT"],
    ("train", "--out"): ["train", "--worlds", "1", "--conversations", "50", "--out", "OUT"],
    ("accounts", "--out"): ["accounts", "EVENTS", "--out", "OUT"],
    ("score", "--out"): ["score", "EVENTS", "--out", "OUT"],
    ("score", "--queue"): ["score", "EVENTS", "--out", "ELSEWHERE", "--queue", "OUT"],
    ("stream", "--shadow-out"): ["stream", "--shadow-model", "default", "--shadow-out", "OUT"],
    ("stream", "--queue"): ["stream", "--queue", "OUT"],
    ("stream", "--checkpoint"): ["stream", "--checkpoint", "OUT"],
    ("evaluate", "--out"): ["evaluate", "--data", "DATA", "--out", "OUT"],
    ("report", "--out"): ["report", "--db", "DB", "--out", "OUT"],
    ("export", "--out"): ["export", "--db", "DB", "--out", "OUT"],
    ("monitor", "--out"): ["monitor", "EVENTS", "--out", "OUT"],
    ("compare", "--out"): ["compare", "default", "default", "--events", "EVENTS", "--out", "OUT"],
    # an account change writes the queue's file and exits: no server is started
    ("serve", "--db"): ["serve", "--db", "OUT", "--add-moderator", "a", "--no-password"],
    ("serve", "--checkpoint"): [
        *("serve", "--db", "DB", "--checkpoint", "OUT", "--add-moderator", "a", "--no-password")
    ],
    ("serve", "--timeline"): [
        *("serve", "--db", "DB", "--timeline", "OUT", "--add-moderator", "a", "--no-password")
    ],
}


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the bundle shipped in the package (the real one is never written)."""
    stand_in = tmp_path / "package" / "default"
    shutil.copytree(Path(bundle.__file__).resolve().parent / "default", stand_in)
    monkeypatch.setattr(bundle, "shipped_model_dir", lambda: stand_in.resolve())
    monkeypatch.delenv(bundle.DIR_VARIABLE, raising=False)
    return stand_in


@pytest.fixture
def env_bundle(tmp_path: Path, shipped: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundle, made the default by ``$RISKSCORE_MODEL_DIR``."""
    directory = tmp_path / "deployed" / "model"
    shutil.copytree(shipped, directory)
    monkeypatch.setenv(bundle.DIR_VARIABLE, str(directory))
    return directory


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*")
            if p.is_file()}  # fmt: skip


@pytest.mark.parametrize("where", ["shipped", "shipped/x", "env", "env/x/y"])
@pytest.mark.parametrize("case", OUTPUTS, ids="{0[0]} {0[1]}".format)
def test_no_command_writes_into_a_model_bundle(
    case: tuple[str, str],
    where: str,
    tmp_path: Path,
    shipped: Path,
    env_bundle: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    command, option = case
    target = shipped if where.startswith("shipped") else env_bundle
    out = target.joinpath(*where.split("/")[1:])
    before = _files(target)
    fill = {"OUT": str(out), "ELSEWHERE": str(tmp_path / "elsewhere")}
    argv = [fill.get(a, str(tmp_path / a) if a.isupper() else a) for a in OUTPUTS[case]]
    assert _status(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    # argparse prints the usage first; train checks its --out itself (it has an escape)
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"riskscore {command}: error: "), err
    assert f"{option}: {out} is" in line or f"{option} {out} is" in line, err
    named = "shipped in the package" if where.startswith("shipped") else "$RISKSCORE_MODEL_DIR"
    assert f"the model bundle {named}" in line, err
    assert "write to a path outside it" in line, err
    assert _files(target) == before


def _status(argv: list[str]) -> int | str | None:
    """The exit status of ``riskscore ARGV``: argparse's errors exit, the commands' return."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


#: Each command's parser (argparse keeps no public list of them).
COMMANDS: dict[str, argparse.ArgumentParser] = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]


def _options_of_type(*types: object) -> set[tuple[str, str]]:
    """Every (command, option) whose argparse ``type`` is one of ``types``."""
    return {
        (name, max(action.option_strings, key=len))
        for name, parser in COMMANDS.items()
        for action in parser._actions
        if action.type in types
    }


def test_every_output_option_has_a_case() -> None:
    """A new option of type :func:`output_path` fails here until it has its case."""
    assert _options_of_type(output_path) | {("train", "--out")} == set(OUTPUTS)


def test_train_replaces_the_shipped_bundle_only_when_told(shipped: Path) -> None:
    assert check_not_in_bundle(shipped, replace_shipped=True) == shipped
    with pytest.raises(ValueError, match="pass --replace-shipped-model"):
        check_not_in_bundle(shipped, option="--out", escape="--replace-shipped-model")


def test_the_escape_never_opens_the_bundle_the_variable_names(
    env_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "--worlds", "1", "--conversations", "50", "--out", str(env_bundle)]
    assert main([*argv, "--replace-shipped-model"]) == 2
    err = _one_line_error(capsys, "train")
    assert f"--out {env_bundle} is the model bundle $RISKSCORE_MODEL_DIR names" in err
    assert "train into a new directory and point RISKSCORE_MODEL_DIR at it" in err


def test_the_shipped_bundle_named_by_the_variable_is_the_shipped_one(
    shipped: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `make model` with RISKSCORE_MODEL_DIR left pointing at the shipped bundle
    monkeypatch.setenv(bundle.DIR_VARIABLE, str(shipped))
    assert check_not_in_bundle(shipped / "..", replace_shipped=True) == shipped / ".."
    assert check_not_in_bundle(shipped, replace_shipped=True) == shipped


def test_a_sibling_of_a_bundle_is_no_bundle(shipped: Path, env_bundle: Path) -> None:
    for path in (shipped.parent / "default-2", env_bundle.parent, env_bundle.with_name("m")):
        assert check_not_in_bundle(path) == path


def test_a_link_to_a_bundle_is_the_bundle(shipped: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(shipped, target_is_directory=True)
    with pytest.raises(argparse.ArgumentTypeError, match="inside the model bundle shipped"):
        output_path(str(link / "report"))


#: Every time option, with the arguments that reach it (``VALUE`` is the time).
TIMES = {
    ("queue", "--now"): ["queue", "--db", "DB", "--now", "VALUE"],
    ("report", "--start"): ["report", "--db", "DB", "--out", "OUT", "--start", "VALUE"],
    ("report", "--end"): ["report", "--db", "DB", "--out", "OUT", "--end", "VALUE"],
    ("export", "--from"): ["export", "--db", "DB", "--out", "OUT", "--from", "VALUE"],
    ("export", "--to"): ["export", "--db", "DB", "--out", "OUT", "--to", "VALUE"],
    ("compare", "--since"): ["compare", "--queue", "DB", "--since", "VALUE"],
}
BEFORE_2000 = ["0", str(EARLIEST_EVENT_TIMESTAMP - 1), "1999-12-31", "1999-12-31T23:59:59Z"]


@pytest.mark.parametrize("value", BEFORE_2000)
@pytest.mark.parametrize("case", TIMES, ids="{0[0]} {0[1]}".format)
def test_no_time_option_takes_a_time_before_the_first_event(
    case: tuple[str, str], value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command, option = case
    argv = [value if a == "VALUE" else str(tmp_path / a) if a.isupper() else a for a in TIMES[case]]
    assert _status(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"riskscore {command}: error: argument {option}: {value!r} is out of range: times are "
        f"from 2000-01-01 ({EARLIEST_EVENT_TIMESTAMP}, the earliest event time riskscore reads) "
        "to 2200-01-01 (7258118400)" + ("; a day given as the end is included, so the last day "
        "is 2199-12-31" if value == "1999-12-31" and option in {"--end", "--to"} else "")
    )  # fmt: skip


def test_every_time_option_has_a_case_and_states_its_range() -> None:
    assert _options_of_type(parse_epoch, parse_end) == set(TIMES)
    for name, parser in COMMANDS.items():
        assert "1970" not in parser.format_help(), name
    for name, option in TIMES:
        action = next(a for a in COMMANDS[name]._actions if option in a.option_strings)
        assert "2000 to 2200" in str(action.help), (name, option)


def test_the_first_day_is_a_time_and_a_day_before_it_no_end() -> None:
    assert parse_epoch("2000-01-01") == EARLIEST_EVENT_TIMESTAMP
    assert parse_end("2000-01-01") == EARLIEST_EVENT_TIMESTAMP + 86_400
    assert parse_end(str(EARLIEST_EVENT_TIMESTAMP)) == EARLIEST_EVENT_TIMESTAMP
    with pytest.raises(argparse.ArgumentTypeError, match="'1999-12-31' is out of range"):
        parse_end("1999-12-31")  # its end is 2000-01-01, but the day itself is before


def test_an_output_in_a_loop_of_links_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Resolving it raised RuntimeError (Python 3.11): argparse let the traceback through."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    out = tmp_path / "a" / "report"
    assert _status(["evaluate", "--data", str(tmp_path), "--out", str(out)]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == (
        f"riskscore evaluate: error: argument --out: {out} cannot be resolved (a loop of "
        "symbolic links?): give another path"
    )
    assert _status(["train", "--out", str(out)]) == 2
    assert f"--out {out} cannot be resolved" in _one_line_error(capsys, "train")


@pytest.mark.parametrize(
    ("command", "inside"),
    [
        (["evaluate", "--data", "{data}", "--model", "{model}", "--out"], "report"),
        (["score", "{data}/events.parquet", "--model", "{model}", "--out"], ""),
        (["score", "{data}/events.parquet", "--model", "{model}", "--out"], "scores"),
    ],
)
def test_no_output_into_the_bundle_the_same_command_line_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], inside: str
) -> None:
    """Was (stop 48): ``evaluate --model models/mine --out models/mine/report`` wrote its
    report beside the model it evaluated; only the shipped bundle and $RISKSCORE_MODEL_DIR's
    were refused."""
    model = tmp_path / "mine"
    shutil.copytree(bundle.shipped_model_dir(), model)
    data = tmp_path / "data"
    assert (
        main(["generate", "--conversations", "60", "--prevalence", "0.1", "--out", str(data)]) == 0
    )
    capsys.readouterr()
    out = model / inside if inside else model
    argv = [a.format(data=data, model=model) for a in command] + [str(out)]
    assert _status(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"--out {out} is" in err[0]
    assert "the model bundle --model names" in err[0]
    assert sorted(p.name for p in model.iterdir()) == [
        "MODEL_CARD.md",
        "manifest.json",
        "params.json",
    ]
