"""Review of the packaging (53): a checkout of the repository, as a platform makes one to
build the wheel (``pip install .``, ``make dist``) or to run the tests, on any system; the
warm-up an image's build step runs after the install; and plotting in a container whose home
cannot be written.

Git writes the files of a checkout as the platform asks: Git for Windows converts text
files to CRLF line endings (``core.autocrlf=true``, its installer's default) and cannot
write a file whose name Windows refuses. The checks read what git would write, without
a clone: ``git cat-file --filters`` applies the conversion the working tree's
``.gitattributes`` allow.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path, PurePosixPath

import pytest

import riskscore as rs

ROOT = Path(__file__).resolve().parents[1]

#: What Windows refuses in a file name (with the control characters): these characters, a
#: name ending in a dot or a space, and the names of its devices, with any extension.
WINDOWS_FORBIDDEN = re.compile(r'[<>:"\\|?*\x00-\x1f]|[. ]$')
WINDOWS_DEVICES = re.compile(r"(?i)(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")


def _git(*args: str) -> bytes:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")


def _tracked(under: str = ".") -> list[str]:
    return _git("ls-files", "-z", "--", under).decode("utf-8").split("\0")[:-1]


def test_every_tracked_file_can_be_checked_out_on_every_system() -> None:
    """Was: ``:memory:``, ``file:x?mode=ro`` and their ``.lock`` files (left in the root by
    a reproduction of a fixed bug) were committed: on Windows ``git clone`` stops at them
    ("invalid path") and leaves no working tree to build or test."""
    names = _tracked()
    refused = [
        name
        for name in names
        for part in PurePosixPath(name).parts
        if WINDOWS_FORBIDDEN.search(part) or WINDOWS_DEVICES.fullmatch(part)
    ]
    assert refused == []
    by_case: defaultdict[str, list[str]] = defaultdict(list)
    for name in names:  # one file on a case-insensitive system (Windows, macOS)
        by_case[name.casefold()].append(name)
    assert [same for same in by_case.values() if len(same) > 1] == []


def test_a_checkout_with_crlf_line_endings_keeps_the_default_model_loadable(
    tmp_path: Path,
) -> None:
    """Was: a checkout with ``core.autocrlf=true`` (Git for Windows) wrote the default
    bundle's ``MODEL_CARD.md``, ``params.json`` and ``manifest.json`` with CRLF endings,
    whose sha256 no longer matched the manifest: ``rs.load_model()`` raised
    ``ModelIntegrityError`` in that checkout, and a wheel built from it shipped a default
    model that refuses to load. ``.gitattributes`` now keeps those bytes as committed."""
    bundle = "riskscore/model/default"
    files = _tracked(bundle)
    assert {f"{bundle}/manifest.json", f"{bundle}/params.json"} <= set(files)
    checkout = tmp_path / "default"
    checkout.mkdir()
    crlf = ("-c", "core.autocrlf=true", "-c", "core.eol=crlf")  # Git for Windows' default
    written = {name: _git(*crlf, "cat-file", "--filters", f"HEAD:./{name}") for name in files}
    for name, data in written.items():
        (checkout / PurePosixPath(name).name).write_bytes(data)
    assert rs.load_model(checkout).feature_names == rs.load_model().feature_names
    committed = {name: _git("cat-file", "blob", f"HEAD:./{name}") for name in files}
    assert written == committed


def test_warm_up_runs_from_a_script_without_a_main_guard(tmp_path: Path) -> None:
    """Was: ``warm_up()`` compiled the online path in a process of multiprocessing's
    ``spawn``, which runs the caller's script again: a build step's script calling it at
    its top level (as docs/online.md suggests, with no ``if __name__ == "__main__":``)
    failed after the batch paths with ``BrokenProcessPool``, its child with
    ``RuntimeError: An attempt has been made to start a new process ...``."""
    script = tmp_path / "warm.py"
    script.write_text("import riskscore.warmup\n\nprint(riskscore.warmup.warm_up(2).events)\n")
    done = subprocess.run(
        [sys.executable, script], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout) > 0
    assert done.stderr == ""


#: Plotting as ``riskscore evaluate`` and ``report`` do (import_extra), and the console's
#: timeline (riskscore.serve); then where matplotlib keeps its font cache.
_PLOT = (
    "from riskscore._optional import import_extra\n"
    "figure = import_extra('matplotlib.figure', 'plots', needed_by='plotting')\n"
    "figure.Figure().subplots().plot([0, 1])\n"
    "import riskscore.serve.plot\n"
    "import matplotlib\n"
    "print(matplotlib.get_cachedir())\n"
)


def test_plotting_without_a_writable_home_logs_nothing_and_keeps_the_font_cache(
    tmp_path: Path,
) -> None:
    """Was: where the home cannot be written (a container with a read-only root file
    system) and ``MPLCONFIGDIR`` is unset, every process that plotted (``riskscore
    evaluate``, ``report``, ``serve``) logged matplotlib's two warnings ("mkdir -p failed
    for path ...", "Matplotlib created a temporary cache directory ...") and built its font
    cache again in a temporary directory of its own. riskscore now points ``MPLCONFIGDIR``
    at its private temporary directory first, as it does numba's cache."""
    home = tmp_path / "home"
    home.write_text("")  # a file: no folder can be made in it, not even by root
    temp = tmp_path / "tmp"
    temp.mkdir(mode=0o700)
    unset = {"MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "MPLBACKEND"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(HOME=str(home), TMPDIR=str(temp))
    runs = [
        subprocess.run(
            [sys.executable, "-c", _PLOT], env=env, capture_output=True, text=True, timeout=300
        )
        for _ in range(2)
    ]
    assert [(r.returncode, r.stderr) for r in runs] == [(0, ""), (0, "")]
    places = {r.stdout.strip() for r in runs}
    assert len(places) == 1  # the second run found the font cache of the first
    assert temp in Path(places.pop()).parents
