"""Hostile review of ``riskscore stream`` and the files it writes: a lock file, queue,
checkpoint or shadow alerts file planted by another user (a symbolic link, another
user's file, one others may read) is refused, never written into or resumed from."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import sys
from pathlib import Path

import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.cli._stream_resume import SHADOW_BYTES_KEY, shadow_length, trim_shadow
from riskscore.cli._stream_stop import at_event_boundaries
from riskscore.exceptions import CheckpointError
from riskscore.io import sqlite
from riskscore.io.private import (
    UnsafeFileError,
    append_private_lines,
    check_private,
    open_private_append,
)
from riskscore.online import lock

ROOT = os.geteuid() == 0
OTHER_UID = 2000


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "elsewhere" / "precious.txt"
    victim.parent.mkdir()
    victim.write_text("precious\n")
    return victim


def test_a_planted_lock_link_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    """Was: the sidecar FILE.lock was opened following a symbolic link, truncated and
    given the pid: a link planted there wiped the file it named."""
    victim = _victim(tmp_path)
    checkpoint = tmp_path / "state.sqlite"
    Path(f"{checkpoint}.lock").symlink_to(victim)
    with pytest.raises(CheckpointError, match=r"state\.sqlite\.lock is a symbolic link"):
        lock.claim(checkpoint)
    assert victim.read_text() == "precious\n"


def test_a_lock_file_that_is_a_fifo_is_refused_and_no_descriptor_kept(tmp_path: Path) -> None:
    """Was (a review of this stop's diff): a FIFO of this user's was taken, locked, then
    failed to truncate with a bare OSError, its descriptor left open and locked."""
    checkpoint = tmp_path / "state.sqlite"
    os.mkfifo(f"{checkpoint}.lock", 0o600)
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(CheckpointError, match="not a regular file"):
        lock.claim(checkpoint)
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("mode", [0o644, 0o620, 0o606])
def test_a_lock_file_others_may_use_is_refused(tmp_path: Path, mode: int) -> None:
    checkpoint = tmp_path / "state.sqlite"
    sidecar = Path(f"{checkpoint}.lock")
    sidecar.write_text("other\n")
    sidecar.chmod(mode)
    with pytest.raises(CheckpointError, match=f"mode {mode:04o}.*chmod 600"):
        lock.claim(checkpoint)
    assert sidecar.read_text() == "other\n"
    sidecar.chmod(0o600)  # the user's own file, made private: taken over
    with lock.claim(checkpoint):
        assert sidecar.read_text() == f"{os.getpid()}\n"


@pytest.mark.skipif(not ROOT, reason="needs root to make another user's file")
def test_another_users_lock_file_is_refused(tmp_path: Path) -> None:
    checkpoint = tmp_path / "state.sqlite"
    sidecar = Path(f"{checkpoint}.lock")
    sidecar.write_text("other\n")
    sidecar.chmod(0o600)
    os.chown(sidecar, OTHER_UID, OTHER_UID)
    with pytest.raises(CheckpointError, match=f"owned by uid {OTHER_UID}"):
        lock.claim(checkpoint)
    assert sidecar.read_text() == "other\n"


def test_check_private_accepts_only_own_private_files(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.touch(mode=0o600)
    path.chmod(0o600)
    check_private(path, path.lstat())
    link = tmp_path / "link"
    link.symlink_to(path)
    with pytest.raises(UnsafeFileError, match=r"symbolic link.*give another file"):
        check_private(link, link.lstat())
    assert issubclass(UnsafeFileError, PermissionError)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    check_private(os.devnull, os.lstat(os.devnull))


def _planted(path: Path, how: str) -> Path:
    """A file at ``path`` as another user would leave it: a link to a victim file, a file
    everyone may read and write, or (as root) another user's ``0600`` file."""
    if how == "link":
        victim = path.parent / "victim"
        victim.write_text("")
        victim.chmod(0o600)
        path.symlink_to(victim)
        return victim
    path.write_bytes(b"")
    path.chmod(0o666 if how == "shared" else 0o600)
    if how == "other user":
        os.chown(path, OTHER_UID, OTHER_UID)
    return path


HOW = [
    "link",
    "shared",
    pytest.param("other user", marks=pytest.mark.skipif(not ROOT, reason="needs root")),
]


@pytest.mark.parametrize("how", HOW)
def test_a_planted_alerts_file_is_not_appended_to(tmp_path: Path, how: str) -> None:
    """Was: --shadow-out (and every private append) wrote into a link's target, or into a
    file another user made and everyone may read."""
    target = _planted(tmp_path / "shadow.jsonl", how)
    with pytest.raises(UnsafeFileError, match=r"shadow\.jsonl is .*remove it"):
        append_private_lines(tmp_path / "shadow.jsonl", ['{"a": 1}'])
    with pytest.raises(UnsafeFileError):
        open_private_append(tmp_path / "shadow.jsonl")
    assert target.read_bytes() == b""


@pytest.mark.parametrize("how", HOW)
def test_a_planted_database_is_not_written_or_resumed(tmp_path: Path, how: str) -> None:
    """Was: an existing queue or checkpoint file was used as it was (another user's, one
    everyone may read, through a link)."""
    path = tmp_path / "state.sqlite"
    target = _planted(path, how)
    with pytest.raises(UnsafeFileError, match=r"state\.sqlite is "):
        sqlite.connect(path)
    with pytest.raises(UnsafeFileError, match=r"state\.sqlite is "):
        sqlite.open_snapshot(path)
    assert target.read_bytes() == b""


@pytest.mark.parametrize("side", ["-wal", "-shm"])
def test_a_database_side_file_others_may_use_is_refused(tmp_path: Path, side: str) -> None:
    path = tmp_path / "state.sqlite"
    sqlite.connect(path).close()
    extra = Path(f"{path}{side}")
    extra.write_bytes(b"")
    extra.chmod(0o644)
    with pytest.raises(UnsafeFileError, match=f"state.sqlite{side} is a file .* mode 0644"):
        sqlite.connect(path)
    extra.chmod(0o600)
    sqlite.connect(path).close()


@pytest.mark.skipif(not ROOT, reason="needs root to make another user's file")
def test_stream_refuses_to_resume_another_users_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "state.sqlite"
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["stream", "--checkpoint", str(checkpoint)]) == 0
    os.chown(checkpoint, OTHER_UID, OTHER_UID)
    before = checkpoint.read_bytes()
    assert main(["stream", "--checkpoint", str(checkpoint)]) == 2
    assert f"owned by uid {OTHER_UID}" in capsys.readouterr().err
    assert checkpoint.read_bytes() == before


def test_a_checkpoint_is_not_resumed_under_another_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: a checkpoint written under one --policy resumed under another in silence, and
    the alerts matched neither policy's uninterrupted run."""
    lower = tmp_path / "lower.toml"
    mapping = rs.AlertPolicy.default().to_mapping(name="lower")
    for band in mapping["bands"]:
        band["review"], band["urgent"] = 0.05, 0.3
    lower.write_text(rs.AlertPolicy.from_mapping(mapping).to_toml(name="lower"))
    checkpoint = tmp_path / "state.sqlite"
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["stream", "--checkpoint", str(checkpoint)]) == 0
    before = checkpoint.read_bytes()
    capsys.readouterr()
    assert main(["stream", "--checkpoint", str(checkpoint), "--policy", str(lower)]) == 2
    err = capsys.readouterr().err
    default, given = rs.AlertPolicy.default().sha256(), rs.AlertPolicy.from_toml(lower).sha256()
    assert f"another policy (sha256 {default}) than the one given (sha256 {given})" in err
    assert checkpoint.read_bytes() == before
    scorer = rs.OnlineScorer.restore(checkpoint, rs.load_model(), rs.AlertPolicy.default())
    scorer.release_checkpoints()
    with pytest.raises(CheckpointError, match="another policy"):
        rs.OnlineScorer.restore(checkpoint, rs.load_model(), rs.AlertPolicy.from_toml(lower))


def test_a_whole_last_line_without_its_line_break_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: a last line that was complete JSON but had no line break yet (a file still
    being written) was applied and counted; once its writer added the line break, every
    resume was refused (the lines no longer matched the checkpoint's fingerprint)."""
    events = _events(6)
    checkpoint = tmp_path / "state.sqlite"

    def stream(text: str, *options: str) -> str:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        assert main(["stream", "--time-source", "events", *options]) == 0
        return capsys.readouterr().err

    first = stream("".join(events[:3]) + events[3].rstrip("\n"), "--checkpoint", str(checkpoint))
    assert "line 4: the last line has no line break" in first
    assert "3 lines (0 skipped as already processed), 3 events" in first
    second = stream("".join(events), "--checkpoint", str(checkpoint))
    assert "after input line 3" in second
    assert "3 events, 0 rejected" in second
    restored = rs.OnlineScorer.restore(checkpoint, rs.load_model())
    assert restored.n_events == 6
    # with no checkpoint, this run's input is all there is: its last line is applied
    assert "4 lines (0 skipped as already processed), 4 events" in stream(
        "".join(events[:3]) + events[3].rstrip("\n")
    )


def _events(n: int) -> list[str]:
    event = {
        "conversation_id": 7,
        "sender_id": "a",
        "recipient_id": "b",
        "channel": "direct",
        "event": "message",
    }
    return [json.dumps({**event, "timestamp": 1_767_225_600 + 60 * i}) + "\n" for i in range(n)]


class _SignalOnRead(io.StringIO):
    """stdin that sends this process SIGTERM as the stream asks for line ``at``."""

    def __init__(self, text: str, at: int) -> None:
        super().__init__(text)
        self.calls, self.at = 0, at

    def readline(self, size: int | None = -1) -> str:
        self.calls += 1
        if self.calls == self.at:
            os.kill(os.getpid(), signal.SIGTERM)
        return super().readline(size)


def test_sigterm_saves_the_checkpoint_at_an_event_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: SIGTERM (exit 143) saved no checkpoint: a resume redid every line since the
    last periodic save."""
    checkpoint = tmp_path / "state.sqlite"
    monkeypatch.setattr(sys, "stdin", _SignalOnRead("".join(_events(6)), at=4))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert main(["stream", "--time-source", "events", "--checkpoint", str(checkpoint)]) == 143
    err = capsys.readouterr().err
    assert f"stopped; saved {checkpoint} after line 3" in err
    restored = rs.OnlineScorer.restore(checkpoint, rs.load_model())
    assert (restored.n_events, restored.checkpoint_extra["lines"]) == (3, 3)


def test_a_signal_while_a_line_is_handled_waits_for_its_end() -> None:
    stops: list[int] = []
    handled: list[str] = []

    class Stop(BaseException):
        pass

    def raise_stop(signum: int, frame: object) -> None:
        raise Stop

    def consume() -> None:
        for item in at_event_boundaries(["a", "b", "c"], lambda: stops.append(len(handled))):
            os.kill(os.getpid(), signal.SIGTERM)  # mid-item: held back
            handled.append(item)

    previous = signal.signal(signal.SIGTERM, raise_stop)
    try:
        with pytest.raises(Stop):
            consume()
        assert (handled, stops) == (["a"], [1])
        assert signal.getsignal(signal.SIGTERM) is raise_stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_resumed_stream_cuts_the_shadow_file_back_to_its_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: the shadow alerts of the lines after the last checkpoint (a killed stream's)
    were appended again by the resumed stream: the file held them twice."""
    checkpoint, shadow = tmp_path / "state.sqlite", tmp_path / "shadow.jsonl"
    options = ["--checkpoint", str(checkpoint), "--shadow-model", "default"]
    options += ["--shadow-out", str(shadow), "--time-source", "events"]

    def stream(text: str) -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        return main(["stream", *options])

    assert stream("".join(_events(3))) == 0
    saved = shadow.read_bytes()
    with shadow.open("ab") as fh:  # written after the checkpoint by a stream then killed
        fh.write(b'{"shadow": true, "line": 4}\n')
    assert stream("".join(_events(5))) == 0
    assert shadow.read_bytes().startswith(saved)
    assert b'"line": 4}' not in shadow.read_bytes()
    another = tmp_path / "other.jsonl"  # not the shadow file the checkpoint counted
    options[options.index(str(shadow))] = str(another)
    with open_private_append(another) as fh:
        fh.write("x" * (shadow.stat().st_size - 1) if shadow.stat().st_size else "")
    if shadow.stat().st_size:  # refused only when shorter than the counted length
        assert stream("".join(_events(6))) == 2
        assert "fewer than the" in capsys.readouterr().err


def test_trim_shadow_refuses_a_shorter_file(tmp_path: Path) -> None:
    path = tmp_path / "shadow.jsonl"
    with open_private_append(path) as fh:
        fh.write("0123456789\n")
        trim_shadow(fh, {SHADOW_BYTES_KEY: 4}, path, "state.sqlite")
        assert shadow_length(fh) == 4
        trim_shadow(fh, {}, path, "state.sqlite")  # saved without one: left as it is
        with pytest.raises(CheckpointError, match="holds 4 bytes, fewer than the 5"):
            trim_shadow(fh, {SHADOW_BYTES_KEY: 5}, path, "state.sqlite")


def test_a_bad_checkpoint_every_is_refused_before_the_checkpoint_is_claimed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: refused after the checkpoint's lock was taken, leaving a new FILE.lock."""
    checkpoint = tmp_path / "state.sqlite"
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(_events(2))))
    argv = ["stream", "--checkpoint-every", "0", "--checkpoint", str(checkpoint)]
    assert main(argv) == 2
    assert "--checkpoint-every must be at least 1, got 0" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
