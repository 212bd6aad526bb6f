"""The console script: :func:`riskscore.cli.entrypoint.console` runs :func:`main` and
leaves the interpreter's exit nothing to collect."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from riskscore.cli import entrypoint


@pytest.mark.parametrize("outcome", [0, 2, SystemExit(0)])
def test_console_returns_main_and_freezes_for_exit(
    monkeypatch: pytest.MonkeyPatch, outcome: int | SystemExit
) -> None:
    frozen: list[bool] = []

    def main() -> int:
        if isinstance(outcome, SystemExit):
            raise outcome  # argparse's --help and bad arguments
        return outcome

    monkeypatch.setattr(entrypoint, "main", main)
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    if isinstance(outcome, SystemExit):
        with pytest.raises(SystemExit):
            entrypoint.console()
    else:
        assert entrypoint.console() == outcome
    assert frozen == [True]


def test_python_m_riskscore_exits_with_the_command_status() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "riskscore", "policy", "default"], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "urgent" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "riskscore", "score", "no-such-file.parquet", "--out", "x"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("riskscore score: error:"), bad.stderr
