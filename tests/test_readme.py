"""The README's examples run as written, in order, in an empty folder.

Every ```python and ```bash block of README.md runs, in the order of the README, in one
temporary folder holding only a copy of ``policies/`` (what a clone has beside the code);
each block uses only what earlier blocks made. A block is skipped only when the line
before its fence says ``<!-- not run: why -->`` (the set-up commands, long runs).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"<!-- not run: [^>]+-->\s*$")


def readme_blocks() -> list[tuple[str, str, bool]]:
    """(language, code, runs) of every fenced block of README.md, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
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


@pytest.mark.slow
def test_readme_examples_run_as_written_in_order(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("RISKSCORE_MODEL_DIR", None)
    env.pop("RISKSCORE_REPORT_KEY", None)
    env["MPLBACKEND"] = "Agg"
    script = []
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
