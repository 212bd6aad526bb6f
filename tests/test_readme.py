"""The README's examples, and the Python examples of docs/, run as written.

Every ```python and ```bash block of README.md runs, in the order of the README, in one
empty temporary folder (README.md is the package's page on the index: its reader installed
the wheel and has no checkout); each block uses only what earlier blocks made. Every
```python block of a page of docs/ runs, in the page's order, in a folder of its own
holding a small synthetic data set (``events.parquet`` and ``labels.parquet``, the file
names the pages use). A block is
skipped only when the line before its fence says ``<!-- not run: why -->`` (the set-up
commands, long runs, sketches of a platform's own code).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shlex
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

import riskscore as rs
from riskscore.cli.entrypoint import build_parser

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"<!-- not run: [^>]+-->\s*$")


def readme_blocks(path: Path = ROOT / "README.md") -> list[tuple[str, str, bool]]:
    """(language, code, runs) of every fenced block of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        blocks.append((match.group(1), match.group(2), not NOT_RUN.search(before)))
    return blocks


def test_every_shell_or_python_block_runs_or_says_why_not() -> None:
    blocks = readme_blocks()
    assert any(lang == "python" and runs for lang, _, runs in blocks)
    assert sum(lang == "bash" and runs for lang, _, runs in blocks) >= 2
    for lang, code, runs in blocks:
        # A shell block in another fence would escape the test run.
        assert lang not in {"sh", "shell", "console"} or not runs, code


def test_readme_blocks_name_no_file_of_a_checkout() -> None:
    """Was: ``riskscore policy check policies/default.toml``, which after ``pip install``
    failed with "policy file 'policies/default.toml' does not exist"."""
    named = [
        word
        for lang, code, runs in readme_blocks()
        if runs and lang == "bash"
        for word in shlex.split(code, comments=True)
        if "/" in word and (ROOT / word).is_file()
    ]
    assert named == []


@pytest.mark.slow
def test_readme_examples_run_as_written_in_order(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("RISKSCORE_MODEL_DIR", None)
    env.pop("RISKSCORE_REPORT_KEY", None)
    env["MPLBACKEND"] = "Agg"
    script: list[str] = []
    for lang, code, runs in readme_blocks():
        if not runs:
            continue
        if lang == "python":
            (tmp_path / f"block{len(script)}.py").write_text(code, encoding="utf-8")
            script.append(f'"{sys.executable}" block{len(script)}.py')
        elif lang == "bash":
            script.append(code)
    # One shell, so that `export` and files carry over from block to block as in a terminal.
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # against a hang: the blocks take ~3 CPU-minutes, longer on a busy machine
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
    for made in (
        "data/events.parquet",
        "results/alerts.parquet",
        "models/mine/manifest.json",
        "evaluation/report.json",
        "alerts.jsonl",
        "queue.sqlite",
        "review.sqlite",
        "csv-data/accounts.parquet",
        "results-part/scores.parquet",
    ):
        assert (tmp_path / made).exists(), made


def docs_pages_with_python() -> list[str]:
    """The pages of docs/ with a Python block that runs."""
    return sorted(
        page.name
        for page in (ROOT / "docs").glob("*.md")
        if any(lang == "python" and runs for lang, _, runs in readme_blocks(page))
    )


def test_docs_pages_with_python_examples_are_run() -> None:
    # the pages a walkthrough found failing (undefined names, a period given as text)
    assert {"online.md", "regulatory.md", "schema.md", "transparency.md"} <= set(
        docs_pages_with_python()
    )


@pytest.mark.slow
@pytest.mark.parametrize("page", docs_pages_with_python())
def test_docs_python_examples_run_as_written(page: str, tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("RISKSCORE_MODEL_DIR", None)
    env["RISKSCORE_REPORT_KEY"] = secrets.token_urlsafe(32)  # as a platform sets its own
    rs.synthetic.generate(300, prevalence=0.05, seed=7).write(tmp_path)
    for number, (lang, code, runs) in enumerate(readme_blocks(ROOT / "docs" / page)):
        if lang != "python" or not runs:
            continue
        script = tmp_path / f"block{number}.py"
        script.write_text(code, encoding="utf-8")
        done = _python([script.name], tmp_path, env)
        assert done.returncode == 0, f"{page} block {number}:\n{code}\n{done.stderr[-3000:]}"


def transcripts() -> list[tuple[str, str, list[str]]]:
    """(page, command, lines shown) of every block of docs/ that starts ``$ riskscore``."""
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for lang, code, _ in readme_blocks(page):
            first, _, shown = code.partition("\n")
            if lang == "" and first.startswith("$ riskscore "):
                found.append((page.name, first[2:].split("#")[0].strip(), shown.splitlines()))
    return found


def test_docs_have_a_transcript() -> None:
    assert any(page == "policy.md" for page, _, _ in transcripts())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("page", "command", "shown"), [pytest.param(*t, id=t[0]) for t in transcripts()]
)
def test_docs_transcripts_show_what_the_command_prints(
    page: str, command: str, shown: list[str]
) -> None:
    """A transcript's lines are the first lines the command prints, in a checkout."""
    env = {k: v for k, v in os.environ.items() if k != "RISKSCORE_MODEL_DIR"}
    done = _python(["-m", *shlex.split(command)], ROOT, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[: len(shown)] == shown, f"{page}: {command}"


def test_the_serve_example_starts_from_a_checkpoint_of_its_own() -> None:
    """The README's `riskscore serve` posts stream-data/events.jsonl, which `riskscore stream`
    applied to its checkpoint above: resuming that checkpoint, the server refused most of the
    events as late (422) and applied those within the reorder tolerance a second time."""
    checkpoints: dict[str, set[str]] = {"stream": set(), "serve": set()}
    for lang, code, _ in readme_blocks():
        if lang != "bash":
            continue
        for line in code.splitlines():
            words = line.split()
            command = words[:2] in (["riskscore", "stream"], ["riskscore", "serve"])
            if command and "--checkpoint" in words:
                checkpoints[words[1]].add(words[words.index("--checkpoint") + 1])
    assert checkpoints["stream"]
    assert checkpoints["serve"]
    assert not checkpoints["stream"] & checkpoints["serve"]


def _python(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """This interpreter run with ``args`` in ``cwd``, its output captured, within 5 minutes."""
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


def test_the_readme_names_every_command_that_takes_a_policy() -> None:
    """The README said ``--policy FILE`` applies to score, stream and evaluate; serve and
    compare take it too."""
    commands = {
        name
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, parser in action.choices.items()
        if any("--policy" in option.option_strings for option in parser._actions)
    }
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    sentence = re.search(r"`--policy FILE` applies one to ([^.]*)\.", text)
    assert sentence is not None
    assert set(re.findall(r"`(\w+)`", sentence.group(1))) == commands


#: The extra a command of the README needs beyond ``pip install riskscore-metadata``, and
#: the options with which it does not.
_EXTRA_OF_COMMAND = {
    "train": ("train", ()),
    "evaluate": ("plots", ("--no-plots", "--worlds")),
    "report": ("plots", ("--no-charts",)),
}


def test_the_command_line_section_names_the_extras_its_commands_need() -> None:
    """Was: "after `pip install`" above ``riskscore train`` and ``riskscore evaluate``,
    which need the ``train`` and ``plots`` extras that a plain install lacks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    intro = " ".join(section.split("```", 1)[0].split())
    needed: dict[str, set[str]] = {}
    for match in FENCE.finditer(section):
        for line in match.group(2).replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["riskscore"] and words[1] in _EXTRA_OF_COMMAND:
                extra, without = _EXTRA_OF_COMMAND[words[1]]
                if not set(without) & set(words):
                    needed.setdefault(extra, set()).add(words[1])
    assert needed == {"train": {"train"}, "plots": {"evaluate", "report"}}
    install = re.search(r"`pip install '(?:riskscore-metadata|\.)\[([\w,]+)\]'`", intro)
    assert install is not None, intro
    assert set(install.group(1).split(",")) >= set(needed)
    for extra, commands in needed.items():
        said = re.search(rf"`{extra}` by ([^;(]*)", intro)
        assert said is not None, extra
        assert set(re.findall(r"`riskscore (\w+)`", said.group(1))) == commands


#: Options of the README's commands that name a file or folder the command writes.
_OUTPUT_OPTIONS = ("--out", "--queue", "--db", "--checkpoint")


def readme_outputs() -> set[str]:
    """What the README's shell blocks write in the folder they run in: each ``--out``
    (a folder, or a ``.parquet`` file), queue and checkpoint file (with SQLite's side
    files), and each file a ``>`` redirection writes; a folder as ``NAME/``."""
    written: set[str] = set()
    for lang, code, _ in readme_blocks():
        if lang != "bash":
            continue
        words = shlex.split(code.replace("\\\n", " "), comments=True)
        for option, value in pairwise(words):
            if option == "--out":
                written.add(value if value.endswith(".parquet") else value.rstrip("/") + "/")
            elif option in _OUTPUT_OPTIONS:
                written.update(value + side for side in ("", "-wal", "-shm", "-journal"))
            elif option == ">":
                written.add(value)
    return written


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
    except OSError:
        pytest.skip("git is not installed")
    if done.returncode > 1:  # 1: check-ignore found nothing ignored
        pytest.skip(f"not a git checkout: {done.stderr.strip()}")
    return done.stdout


def test_gitignore_covers_what_the_readme_commands_write() -> None:
    """Was: ``review.sqlite``, ``policy.toml``, ``tuned.toml``, ``reports/synthetic/`` and
    ``serve-state.sqlite``, which the README's commands write in the folder they run in
    (a checkout, for a developer trying them), were not ignored; stray files of the kind
    were committed once."""
    written = readme_outputs()
    assert {"review.sqlite", "policy.toml", "tuned.toml", "reports/synthetic/"} <= written
    # a folder's files: git ignores them with the folder
    paths = sorted(p + "example" if p.endswith("/") else p for p in written)
    ignored = set(_git("check-ignore", "--no-index", "--", *paths).splitlines())
    assert [p for p in paths if p not in ignored] == []
    # and no tracked file is ignored
    assert _git("ls-files", "-ci", "--exclude-standard") == ""
