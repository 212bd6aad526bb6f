"""One process at a time owns a checkpoint file: a second stream, service or API writer
fails at start instead of overwriting the first one's state (last save wins)."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs
from riskscore.cli import main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="advisory locks need fcntl")

_EVENT = {
    "conversation_id": 1,
    "timestamp": 1_700_000_000,
    "sender_id": "a",
    "recipient_id": "b",
    "channel": "direct",
}

#: A process that saves a checkpoint (or takes one over as ``riskscore stream`` does), says
#: so, then holds it until killed.
_HOLDER = f"""
import sys, time
import riskscore as rs
path, how = sys.argv[1], sys.argv[2]
model = rs.load_model()
if how == "api":
    scorer = rs.OnlineScorer(model)
    scorer.update_one({_EVENT!r})
    scorer.checkpoint(path)
else:
    scorer = rs.OnlineScorer.restore(path, model)
print("holding", flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _holder(path: Path, how: str = "api") -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), how],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "holding\n":
        _kill(proc)
        pytest.fail(f"the holder did not start: {line!r}")
    return proc


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A checkpoint written, and still held, by another process."""
    path = tmp_path / "state.sqlite"
    proc = _holder(path)
    yield path, proc
    _kill(proc)


def _kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL: the holder cannot release anything itself."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def test_a_second_process_cannot_save_to_a_held_checkpoint(
    model: rs.RiskModel, held: tuple[Path, subprocess.Popen[str]]
) -> None:
    path, _ = held
    before = path.read_bytes()
    scorer = rs.OnlineScorer(model)
    scorer.update_one({**_EVENT, "conversation_id": 2})
    with pytest.raises(rs.CheckpointError, match=f"{path}.*in use by another process"):
        scorer.checkpoint(path)
    assert path.read_bytes() == before  # the holder's state is not replaced
    with pytest.raises(rs.CheckpointError, match="in use by another process"):
        rs.OnlineScorer.restore(path, model)


def test_a_killed_holder_leaves_no_stale_lock(
    model: rs.RiskModel, held: tuple[Path, subprocess.Popen[str]]
) -> None:
    path, proc = held
    _kill(proc)
    restored = rs.OnlineScorer.restore(path, model)  # a restart after a crash or kill
    assert restored.conversation_ids == (1,)
    restored.update_one({**_EVENT, "conversation_id": 2})
    restored.checkpoint(path)
    assert rs.OnlineScorer.restore(path, model).conversation_ids == (1, 2)


def test_a_process_that_restored_a_checkpoint_holds_it(model: rs.RiskModel, tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    scorer = rs.OnlineScorer(model)
    scorer.update_one(_EVENT)
    scorer.checkpoint(path)
    scorer.release_checkpoints()
    proc = _holder(path, how="restore")
    try:
        with pytest.raises(rs.CheckpointError, match="in use by another process"):
            scorer.checkpoint(path)
    finally:
        _kill(proc)
    scorer.checkpoint(path)  # the holder is gone: this process takes the file over


def test_one_process_keeps_using_its_own_checkpoint(model: rs.RiskModel, tmp_path: Path) -> None:
    """Single-process behaviour is unchanged: several scorers of one process share a file,
    and the lock is a sidecar created 0600 (the checkpoint itself is untouched)."""
    path = tmp_path / "state.sqlite"
    first = rs.OnlineScorer(model)
    first.update_one(_EVENT)
    first.checkpoint(path)
    second = rs.OnlineScorer.restore(path, model)
    second.checkpoint(path)
    first.checkpoint(path)
    lock = Path(f"{path}.lock")
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    first.release_checkpoints()
    second.release_checkpoints()
    del first, second
    proc = _holder(path)  # released: another process can take it
    _kill(proc)


def _stdin_not_read() -> io.StringIO:
    class Unread(io.StringIO):
        def readline(self, *args: Any) -> str:
            raise AssertionError("stdin was read")

        def read(self, *args: Any) -> str:
            raise AssertionError("stdin was read")

    return Unread()


def test_stream_on_a_held_checkpoint_stops_before_reading_input(
    held: tuple[Path, subprocess.Popen[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _ = held
    before = path.read_bytes()
    monkeypatch.setattr(sys, "stdin", _stdin_not_read())
    assert main(["stream", "--checkpoint", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0]
    assert "in use by another process" in lines[0]
    assert path.read_bytes() == before


def test_stream_on_a_new_checkpoint_held_elsewhere_stops_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file need not exist yet: the first stream owns it from its start, not from its
    first save."""
    path = tmp_path / "state.sqlite"
    first = subprocess.Popen(
        [sys.executable, "-m", "riskscore", "stream", "--checkpoint", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        lock = Path(f"{path}.lock")
        for _ in range(600):  # the first stream claims the file before reading its input
            if lock.exists() and lock.stat().st_size:
                break
            first.poll()
            assert first.returncode is None
            time.sleep(0.05)
        monkeypatch.setattr(sys, "stdin", _stdin_not_read())
        assert main(["stream", "--checkpoint", str(path)]) == 2
        assert "in use by another process" in capsys.readouterr().err
        assert not path.exists()
        first.communicate(json.dumps(_EVENT) + "\n", timeout=120)  # the first one goes on
        assert first.returncode == 0
    finally:
        first.kill()
        first.communicate()
    assert rs.OnlineScorer.restore(path, rs.load_model()).n_events == 1


def test_serve_and_stream_share_the_claim(
    held: tuple[Path, subprocess.Popen[str]], model: rs.RiskModel
) -> None:
    """``riskscore serve`` and ``riskscore stream`` build their scorer with one helper,
    which claims the checkpoint before restoring it."""
    from riskscore.cli._scorer_options import scorer_from_args

    path, _ = held
    with pytest.raises(rs.CheckpointError, match="in use by another process"):
        scorer_from_args(None, model, rs.AlertPolicy.default(), path)  # type: ignore[arg-type]
