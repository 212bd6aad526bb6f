"""numba's cache index files are pickles: the cache directory riskscore hands numba is
resolved once and refused (the private temporary directory instead) when a symbolic link
on the way to it could be swapped by another user."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskscore._jit_cache import COMPILED_SUBPACKAGES, jit_cache_dir

OTHER_UID = 2000


def _read_only_package(tmp_path: Path) -> Path:
    package = tmp_path / "site-packages" / "riskscore"
    for name in COMPILED_SUBPACKAGES:
        (package / name).mkdir(parents=True)
        (package / name / "code.py").write_text("x = 1\n")
    (package / "features" / "__pycache__").write_text("")  # no __pycache__ can be made
    return package


def _shared_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o1777)  # a shared sticky HOME, as /tmp
    return home


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make another user's link")
def test_another_users_link_in_the_cache_path_is_refused(tmp_path: Path) -> None:
    """Was: only the resolved path was checked, and numba got the path with the link in
    it: the link's owner swapped it for its own directory of pickles."""
    package = _read_only_package(tmp_path)
    home = _shared_home(tmp_path)
    link = home / ".cache"
    link.symlink_to(home)
    os.lchown(link, OTHER_UID, OTHER_UID)
    temp = tmp_path / "tmp"
    temp.mkdir()
    chosen = jit_cache_dir(package, user_cache=link / "numba", temp=temp)
    assert chosen is not None
    assert chosen.is_relative_to(temp)


def test_a_link_below_the_home_is_refused_and_the_path_handed_on_is_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _read_only_package(tmp_path)
    home = tmp_path / "me"
    (home / "real").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    (home / ".cache").symlink_to(home / "real")  # the user's own link: still a link
    temp = tmp_path / "tmp"
    temp.mkdir()
    chosen = jit_cache_dir(package, user_cache=home / ".cache" / "numba", temp=temp)
    assert chosen is not None
    assert chosen.is_relative_to(temp)
    assert chosen == chosen.resolve()
    plain = jit_cache_dir(package, user_cache=home / "real" / "numba", temp=temp)
    assert plain is not None
    assert plain == home.resolve() / "real" / "numba" / plain.name
