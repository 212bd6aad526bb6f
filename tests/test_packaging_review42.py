"""Review of the packaging (42): the built wheel installed as a platform runs it.

A container image runs ``riskscore warmup`` in its build step (as root, into the package's
``__pycache__``) and then runs riskscore as another user, with site-packages read-only:
numba cannot use a cache directory it cannot write, so riskscore caches elsewhere
(:mod:`riskscore._jit_cache`), and the kernels compiled at build time must go with it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from numba.core.caching import UserProvidedCacheLocator

import riskscore
from riskscore._jit_cache import (
    COMPILED_SUBPACKAGES,
    clear_stale_jit_caches,
    jit_cache_location,
    seed_jit_cache,
)
from riskscore.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _package(tmp_path: Path) -> Path:
    """A package whose kernels were compiled (as by ``riskscore warmup`` at build time)."""
    package = tmp_path / "site-packages" / "riskscore"
    for name in COMPILED_SUBPACKAGES:
        (package / name / "__pycache__").mkdir(parents=True)
        (package / name / "code.py").write_text("x = 1\n")
    clear_stale_jit_caches(package)  # records the sources the caches are compiled from
    cache = package / "features" / "__pycache__"
    (cache / "code.f-1.py311.nbi").write_bytes(b"index")
    (cache / "code.f-1.py311.1.nbc").write_bytes(b"code")
    (cache / "code.cpython-311.pyc").write_bytes(b"bytecode")
    return package


def _numbas_folder(chosen: Path, package: Path, name: str) -> Path:
    # numba's own name for a source folder's caches under NUMBA_CACHE_DIR
    source = str(package / name / "code.py")
    return chosen / UserProvidedCacheLocator.get_suitable_cache_subpath(source)


def test_a_read_only_packages_compiled_kernels_seed_the_cache_riskscore_chose(
    tmp_path: Path,
) -> None:
    """Was: on a read-only installation every process of a user other than the one who ran
    ``riskscore warmup`` compiled every kernel again (~20 CPU s; each start of a container
    whose temporary directory is new): numba only uses a cache directory it can write, and
    riskscore's directory elsewhere started empty."""
    package = _package(tmp_path)
    chosen = tmp_path / "home" / ".cache" / "numba" / "riskscore-abc"
    chosen.mkdir(parents=True)
    assert seed_jit_cache(chosen, package) == 2
    folder = _numbas_folder(chosen, package, "features")
    assert sorted(p.name for p in folder.iterdir()) == [
        "code.f-1.py311.1.nbc",
        "code.f-1.py311.nbi",
    ]
    assert (folder / "code.f-1.py311.nbi").read_bytes() == b"index"
    # Once there, they are the user's: never copied over (numba may have added to them).
    (folder / "code.f-1.py311.nbi").write_bytes(b"index, and a signature compiled since")
    assert seed_jit_cache(chosen, package) == 0
    assert (folder / "code.f-1.py311.nbi").read_bytes() == b"index, and a signature compiled since"


def test_the_seed_folder_is_the_one_numba_reads() -> None:
    """Was: (new) the copy goes where numba looks for a source folder's caches under
    ``NUMBA_CACHE_DIR``; a folder of another name would be copied and never read."""
    source = ROOT / "riskscore" / "features" / "kernel.py"
    digest = hashlib.sha1(str(source.parent).encode(), usedforsecurity=False).hexdigest()
    assert UserProvidedCacheLocator.get_suitable_cache_subpath(str(source)) == (
        f"features_{digest}"
    )


def test_caches_of_other_sources_are_not_copied(tmp_path: Path) -> None:
    """Was: (new) caches compiled from other sources (an upgrade over a package whose
    ``__pycache__`` kept the old ones) would be loaded with a caller compiled against an old
    callee (numba checks each function against its own file only)."""
    package = _package(tmp_path)
    (package / "model" / "code.py").write_text("x = 2  # upgraded\n")
    chosen = tmp_path / "cache"
    chosen.mkdir()
    assert seed_jit_cache(chosen, package) == 0
    assert list(chosen.iterdir()) == []


def test_warmup_says_where_it_caches(capsys: pytest.CaptureFixture[str]) -> None:
    """Was: ``riskscore warmup`` said how long it took, not where the kernels went, and on a
    read-only installation riskscore chooses the directory itself (``~/.cache/numba/...``,
    or a private temporary directory that an image does not keep)."""
    where = jit_cache_location()
    assert where == Path(riskscore.__file__).resolve().parent  # this tree is writable
    assert main(["warmup", "--json", "--processes", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["cache"] == str(where)
    assert main(["warmup", "--processes", "1"]) == 0
    line = capsys.readouterr().out
    assert re.search(rf"cached in {re.escape(str(where))}\b", line), line
