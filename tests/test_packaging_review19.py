"""Review of the packaging (19): an installed riskscore as a platform runs it.

``riskscore --version``; a read-only installation (an image's site-packages, a
``readOnlyRootFilesystem`` container) whose user has no writable home: numba's caches go
to a directory riskscore chooses, named after its sources, instead of failing on import.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs
from riskscore._jit_cache import COMPILED_SUBPACKAGES, jit_cache_dir
from riskscore.cli import main
from riskscore.cli.warmup import NOT_CACHED, render

ROOT = Path(__file__).resolve().parents[1]


def test_version_option_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"riskscore {rs.__version__}\n"


def test_python_m_riskscore_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "riskscore", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, f"riskscore {rs.__version__}\n"), done.stderr


def _package(tmp_path: Path, *, writable: bool) -> Path:
    package = tmp_path / "site-packages" / "riskscore"
    for name in COMPILED_SUBPACKAGES:
        (package / name).mkdir(parents=True)
        (package / name / "code.py").write_text("x = 1\n")
    if not writable:
        # A file where numba's __pycache__ would go: unwritable even for root, as a
        # read-only mount is.
        (package / "features" / "__pycache__").write_text("")
    return package


def _unwritable(tmp_path: Path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return blocker / "cache"


def test_a_writable_package_keeps_numbas_cache_beside_the_sources(tmp_path: Path) -> None:
    package = _package(tmp_path, writable=True)
    assert jit_cache_dir(package, user_cache=tmp_path / "home", temp=tmp_path / "tmp") is None


def test_a_read_only_package_caches_in_the_users_cache_named_after_its_sources(
    tmp_path: Path,
) -> None:
    package = _package(tmp_path, writable=False)
    user_cache = tmp_path / "home" / ".cache" / "numba"
    chosen = jit_cache_dir(package, user_cache=user_cache, temp=tmp_path / "tmp")
    assert chosen is not None
    assert chosen.parent == user_cache
    assert chosen.name.startswith("riskscore-")
    assert chosen.is_dir()
    # An upgrade (any source rewritten) gets another directory: numba checks a cached
    # function against its own file only, so a caller's cache would keep an old callee.
    source = package / "model" / "code.py"
    info = source.stat()
    os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    after = jit_cache_dir(package, user_cache=user_cache, temp=tmp_path / "tmp")
    assert after is not None
    assert after != chosen
    assert after.parent == user_cache


def test_without_a_writable_home_the_cache_goes_to_a_private_temporary_directory(
    tmp_path: Path,
) -> None:
    package = _package(tmp_path, writable=False)
    temp = tmp_path / "tmp"
    temp.mkdir()
    chosen = jit_cache_dir(package, user_cache=_unwritable(tmp_path), temp=temp)
    assert chosen is not None
    assert chosen.is_relative_to(temp)
    assert chosen.is_dir()
    mine = chosen.parent
    assert mine.parent == temp
    assert stat.S_IMODE(mine.stat().st_mode) == 0o700  # numba's cache files are pickles
    assert jit_cache_dir(package, user_cache=_unwritable(tmp_path), temp=temp) == chosen


def test_a_temporary_directory_others_can_write_is_not_used(tmp_path: Path) -> None:
    package = _package(tmp_path, writable=False)
    temp = tmp_path / "tmp"
    temp.mkdir()
    planted = jit_cache_dir(package, user_cache=_unwritable(tmp_path), temp=temp)
    assert planted is not None
    planted.parent.chmod(0o777)  # as another user's planted directory would be
    chosen = jit_cache_dir(package, user_cache=_unwritable(tmp_path), temp=temp)
    assert chosen is not None
    assert not chosen.is_relative_to(planted.parent)
    assert stat.S_IMODE(chosen.parent.stat().st_mode) & 0o077 == 0


def test_nowhere_writable_leaves_numba_to_say_so(tmp_path: Path) -> None:
    package = _package(tmp_path, writable=False)
    chosen = jit_cache_dir(
        package, user_cache=_unwritable(tmp_path), temp=_unwritable(tmp_path).parent / "t"
    )
    assert chosen is None


NOWHERE_WRITABLE = """
import sys, tempfile
tempfile.tempdir = sys.argv[1]  # as a read-only /tmp, /var/tmp and working directory
import json, numpy as np, riskscore, riskscore._jit_cache as jit
from riskscore.io.passes import in_order
ordered = in_order(*(np.arange(3, dtype=np.int64) for _ in range(3)))
where = [riskscore.__file__, str(jit.jit_cache_location())]
print(json.dumps([*where, jit.jit_cache_on_disk(), ordered]))
"""


def _import_where_nothing_is_writable(
    tmp_path: Path, *, numba_cache_dir: bool = False
) -> tuple[Path, list[Any]]:
    """Import a copy of the package (its ``site``) where its ``__pycache__`` folders cannot
    be made, in a process with no writable home, cache or temporary directory (and, with
    ``numba_cache_dir``, a ``NUMBA_CACHE_DIR`` that cannot be written either); what
    :data:`NOWHERE_WRITABLE` prints."""
    site = tmp_path / "site-packages"
    shutil.copytree(
        ROOT / "riskscore", site / "riskscore", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in COMPILED_SUBPACKAGES:  # a file where numba's __pycache__ would go
        (site / "riskscore" / name / "__pycache__").write_text("")
    blocked = _unwritable(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(site), HOME=str(blocked), XDG_CACHE_HOME=str(blocked))
    if numba_cache_dir:
        env["NUMBA_CACHE_DIR"] = str(blocked / "numba")
    done = subprocess.run(
        [sys.executable, "-c", NOWHERE_WRITABLE, str(blocked)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-800:]
    return site, json.loads(done.stdout)


def test_nowhere_writable_imports_and_compiles_in_each_process(tmp_path: Path) -> None:
    """Was: a read-only package with no writable home, temporary directory or
    ``NUMBA_CACHE_DIR`` (a ``readOnlyRootFilesystem`` container without a writable volume):
    ``import riskscore``, so even ``riskscore --help``, failed with a traceback, "RuntimeError:
    cannot cache function 'in_order': no locator available". The kernels now compile in
    each process, and ``riskscore warmup`` says they are not cached."""
    site, (where, location, on_disk, ordered) = _import_where_nothing_is_writable(tmp_path)
    assert Path(where).is_relative_to(site)
    assert (location, on_disk, ordered) == ("None", False, True)


def test_an_unwritable_numba_cache_dir_is_no_place_to_cache(tmp_path: Path) -> None:
    """Was: with ``NUMBA_CACHE_DIR`` set (an image's ``ENV``) to a directory that cannot be
    written (the volume meant for it not mounted on a read-only root file system), and no
    other writable place, ``import riskscore`` (even ``riskscore --help``) failed with numba's
    "cannot cache function 'in_order': no locator available": the setting was taken as the
    cache's place without a test that it can be written. Now, as with no setting, the
    kernels compile in each process (moved here from ``tests/test_hostile_review50.py``)."""
    site, (where, _, on_disk, ordered) = _import_where_nothing_is_writable(
        tmp_path, numba_cache_dir=True
    )
    assert Path(where).is_relative_to(site)
    assert (on_disk, ordered) == (False, True)


def test_warmup_says_when_nothing_is_cached(capsys: pytest.CaptureFixture[str]) -> None:
    render({"seconds": 20.0, "events": 2459, "cache": None})
    line = capsys.readouterr().out
    assert line.rstrip("\n").endswith(NOT_CACHED)
    assert "NUMBA_CACHE_DIR" in line


def test_the_writable_check_makes_pycache_as_python_would(tmp_path: Path) -> None:
    # It made features/__pycache__ 0700: on a shared installation, the first user to import
    # riskscore kept the others from its bytecode and numba's caches.
    package = _package(tmp_path, writable=True)
    umask = os.umask(0o022)
    try:
        assert jit_cache_dir(package, user_cache=tmp_path / "home", temp=tmp_path / "t") is None
    finally:
        os.umask(umask)
    made = package / COMPILED_SUBPACKAGES[0] / "__pycache__"
    assert stat.S_IMODE(made.stat().st_mode) == 0o755


@pytest.mark.parametrize("open_to_others", ["home", "cache"])
def test_a_user_cache_others_can_write_is_not_used(tmp_path: Path, open_to_others: str) -> None:
    # HOME=/tmp (a service's, a container's): another user who made /tmp/.cache could plant
    # numba's cache files (pickles) there, or swap the folder riskscore checked.
    package = _package(tmp_path, writable=False)
    home = tmp_path / "home"
    user_cache = home / ".cache" / "numba"
    user_cache.mkdir(parents=True)
    (home if open_to_others == "home" else user_cache).chmod(0o777)
    temp = tmp_path / "tmp"
    temp.mkdir()
    chosen = jit_cache_dir(package, user_cache=user_cache, temp=temp)
    assert chosen is not None
    assert chosen.is_relative_to(temp)


def test_a_sticky_shared_folder_on_the_way_is_fine(tmp_path: Path) -> None:
    package = _package(tmp_path, writable=False)
    shared = tmp_path / "shared"  # as /tmp: anyone creates, none removes another's
    shared.mkdir()
    shared.chmod(0o1777)
    user_cache = shared / "me" / ".cache" / "numba"
    chosen = jit_cache_dir(package, user_cache=user_cache, temp=tmp_path / "tmp")
    assert chosen is not None
    assert chosen.parent == user_cache
