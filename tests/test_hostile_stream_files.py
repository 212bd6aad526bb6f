"""Hostile review of ``riskscore stream`` and the files it writes: a lock file, queue,
checkpoint or shadow alerts file planted by another user (a symbolic link, another
user's file, one others may read) is refused, never written into or resumed from."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from riskscore.exceptions import CheckpointError
from riskscore.io.private import UnsafeFileError, check_private
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
