"""``riskscore stream --checkpoint`` restarted with options: a restored scorer keeps the
options its checkpoint was written with, and an option asked for on the command line that
differs from them is refused by name, never ignored in silence. All data is synthetic."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

import riskscore as rs
from riskscore.cli import main


@pytest.fixture(scope="module")
def text() -> str:
    data = rs.synthetic.generate(20, prevalence=0.2, seed=5)
    events = sorted(data.messages.iter_events(), key=lambda e: e["timestamp"])
    return "".join(json.dumps(e) + "\n" for e in events[:300])


def _stream(checkpoint: Path, text: str, monkeypatch: pytest.MonkeyPatch, *more: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    argv = ["stream", "--checkpoint", str(checkpoint), *more]
    return main(argv)


def test_an_option_that_differs_from_the_checkpoints_is_refused_by_name(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Was: the restarted stream went on with no cool-down and said nothing."""
    state = tmp_path / "state.sqlite"
    assert _stream(state, text, monkeypatch) == 0
    capsys.readouterr()
    asked = ("--cooldown-s", "3600", "--max-conversations", "9")
    assert _stream(state, text, monkeypatch, *asked) == 2
    err = capsys.readouterr().err
    assert "--cooldown-s 3600 (the checkpoint's: 0)" in err
    assert "--max-conversations 9 (the checkpoint's: 1000000)" in err
    assert str(state) in err
    assert "Traceback" not in err
    # the refused run left the checkpoint as it was, and released it
    assert _stream(state, text, monkeypatch) == 0
    assert "resuming from" in capsys.readouterr().err


def test_the_checkpoints_own_options_and_the_defaults_restart_it(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    state = tmp_path / "state.sqlite"
    assert _stream(state, text, monkeypatch, "--cooldown-s", "60") == 0
    # the same option again, or none (the default: the checkpoint's is kept)
    assert _stream(state, text, monkeypatch, "--cooldown-s", "60") == 0
    assert _stream(state, text, monkeypatch) == 0
    err = capsys.readouterr().err
    assert "error" not in err
    assert rs.OnlineScorer.restore(state, rs.load_model()).cooldown_s == 60.0


def test_an_option_asked_for_at_its_default_is_compared_with_the_checkpoints(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Was: ``--cooldown-s 0`` (the default) against a checkpoint stored with 60 counted as
    not given, and the stream went on with 60 in silence."""
    state = tmp_path / "state.sqlite"
    assert _stream(state, text, monkeypatch, "--cooldown-s", "60",
                   "--max-account-contacts", "2") == 0  # fmt: skip
    capsys.readouterr()
    asked = ("--cooldown-s", "0", "--max-account-contacts", "10000")
    assert _stream(state, text, monkeypatch, *asked) == 2
    err = capsys.readouterr().err
    assert "--cooldown-s 0 (the checkpoint's: 60)" in err
    assert "--max-account-contacts 10000 (the checkpoint's: 2)" in err
    # asked for at the checkpoint's own value, or left out: it restarts
    assert _stream(state, text, monkeypatch, "--cooldown-s", "60") == 0
    assert _stream(state, text, monkeypatch) == 0
    assert "error" not in capsys.readouterr().err
