"""Every command line the README and docs/ show names a command and options that exist.

The README's shell blocks run in ``tests/test_readme.py``; the command lines of docs/ (in
``sh`` blocks, transcripts and inline code such as ``riskscore stream --checkpoint FILE`` or
``serve --db``) are not run, so an option renamed or removed in the parser would live on
in them. Each is split into words and every ``--option`` looked up in the parser of the
command (and subcommand) it follows.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from riskscore.cli.entrypoint import build_parser

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```\w*\n(.*?)^```$", re.MULTILINE | re.DOTALL)
#: Words that end a command line: a pipe, a redirection, the next command.
_ENDS = re.compile(r"^(\||&&|;|&|\d?>>?|<|\)).*")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    # argparse has no public walk of its subcommands; _actions is stable since Python 3.2.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _words(line: str) -> list[str]:
    try:
        words = shlex.split(line, comments=True)
    except ValueError:  # an unclosed quote in prose
        words = line.split()
    for n, word in enumerate(words):
        if _ENDS.match(word):
            return words[:n]
    return words


def command_lines(path: Path) -> list[list[str]]:
    """The words of every ``riskscore COMMAND ...`` line of a page, from ``COMMAND`` on:
    in code blocks (continued lines joined), and in inline code that starts with
    ``riskscore COMMAND`` or with a command's name and an option (``serve --db``)."""
    text = path.read_text(encoding="utf-8")
    names = set(_commands(build_parser()))
    found = []
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            words = _words(line.strip().removeprefix("$ "))
            for n, word in enumerate(words):
                if word in {"riskscore", ".venv/bin/riskscore"} and words[n + 1 : n + 2] != ["as"]:
                    found.append(words[n + 1 :])
                    break
    for span in re.findall(r"`([^`\n]+)`", FENCE.sub("", text)):
        words = _words(span)
        if words[:1] == ["riskscore"] and words[1:2] and words[1] in names:
            found.append(words[1:])
        elif words[:1] and words[0] in names and words[1:2] and words[1].startswith("--"):
            found.append(words)
    return [words for words in found if words]


def unknown_options(path: Path) -> list[str]:
    """``page: command --option`` for every option no parser of the command has, and
    ``page: command`` for a command that does not exist."""
    wrong = []
    for words in command_lines(path):
        parser, command = build_parser(), []
        while words and words[0] in _commands(parser):
            parser = _commands(parser)[words[0]]
            command.append(words.pop(0))
        if not command:
            wrong.append(f"{path.name}: riskscore {words[0]}")
            continue
        options = {option for action in parser._actions for option in action.option_strings}
        for word in words:
            option = word.split("=", 1)[0]
            if re.fullmatch(r"--[a-z][a-z0-9-]*", option) and option not in options:
                wrong.append(f"{path.name}: {' '.join(command)} {option}")
    return wrong


def test_the_pages_show_command_lines() -> None:
    shown = {page.name: len(command_lines(page)) for page in _pages()}
    assert shown["README.md"] > 20
    assert shown["learning.md"] >= 5
    assert shown["serve.md"] >= 3


@pytest.mark.parametrize("page", _pages(), ids=lambda page: page.name)
def test_every_option_a_page_shows_exists(page: Path) -> None:
    assert unknown_options(page) == []


def test_an_option_that_does_not_exist_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Run `riskscore stream --checkpoint-every-s 5` or `serve --db q.sqlite --dbx`:\n\n"
        "```sh\nriskscore policy tune events.parquet \\\n    --review-per-milion 800 | head\n"
        "riskscore scores x\n```\n",
        encoding="utf-8",
    )
    assert unknown_options(page) == [
        "page.md: policy --review-per-milion",
        "page.md: riskscore scores",
        "page.md: stream --checkpoint-every-s",
        "page.md: serve --dbx",
    ]
