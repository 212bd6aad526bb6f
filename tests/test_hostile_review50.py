"""Hostile review 50: the strength words, ``max_channel`` and the older-account words."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from riskscore._jit_cache import COMPILED_SUBPACKAGES
from riskscore.model.scores import CLEAR_PUSH, STRONG_PUSH, Reason, is_reason_text, strength_text

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("contribution", "words", "shown"),
    [
        (1.996, "strongly raises risk", "+2.00"),
        (STRONG_PUSH - 1e-9, "strongly raises risk", "+2.00"),
        (0.9951, "raises risk", "+1.00"),
        (CLEAR_PUSH - 1e-12, "raises risk", "+1.00"),
        (1.994, "raises risk", "+1.99"),
        (0.994, "slightly raises risk", "+0.99"),
    ],
)
def test_the_strength_words_agree_with_the_push_shown(
    contribution: float, words: str, shown: str
) -> None:
    """Was: ``encrypted (raises risk, +2.00)`` and ``(slightly raises risk, +1.00)``: the
    words judged the unrounded push, so a moderator read a push the docs call strong ("from
    +2") named "raises risk" beside it. The words now follow the number the text shows."""
    text = str(Reason.of("max_channel", 4.0, contribution))
    assert f"encrypted ({words}, {shown})" in text
    assert strength_text(contribution) == words
    assert is_reason_text(text)


# ------------------------------------------------------------------ NUMBA_CACHE_DIR

_NOWHERE = """
import sys, tempfile
tempfile.tempdir = sys.argv[1]  # as a read-only /tmp, /var/tmp and working directory
import json, numpy as np, riskscore, riskscore._jit_cache as jit
from riskscore.io.passes import in_order
ordered = in_order(*(np.arange(3, dtype=np.int64) for _ in range(3)))
print(json.dumps([riskscore.__file__, jit.jit_cache_on_disk(), ordered]))
"""


def test_an_unwritable_numba_cache_dir_is_no_place_to_cache(tmp_path: Path) -> None:
    """Was: with ``NUMBA_CACHE_DIR`` set (an image's ``ENV``) to a directory that cannot be
    written (the volume meant for it not mounted on a read-only root file system), and no
    other writable place, ``import riskscore`` (even ``riskscore --help``) failed with numba's
    "cannot cache function 'in_order': no locator available": the setting was taken as the
    cache's place without a test that it can be written. Now, as with no setting, the
    kernels compile in each process."""
    site = tmp_path / "site-packages"
    shutil.copytree(
        ROOT / "riskscore", site / "riskscore", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in COMPILED_SUBPACKAGES:  # a file where numba's __pycache__ would go
        (site / "riskscore" / name / "__pycache__").write_text("")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    blocked = blocker / "cache"  # under a file: nothing can be made there
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(
        PYTHONPATH=str(site),
        HOME=str(blocked),
        XDG_CACHE_HOME=str(blocked),
        NUMBA_CACHE_DIR=str(blocked / "numba"),
    )
    done = subprocess.run(
        [sys.executable, "-c", _NOWHERE, str(blocked)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-800:]
    where, on_disk, ordered = json.loads(done.stdout)
    assert Path(where).is_relative_to(site)
    assert (on_disk, ordered) == (False, True)
