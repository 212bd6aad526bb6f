"""The wheel as a user installs it: built from this tree, installed into a fresh virtual
environment, ``riskscore score`` on a CSV with the model shipped inside the package.

Offline: the wheel is built without build isolation (setuptools from the dev extra) and
installed with ``--no-deps --no-index``; the fresh environment sees the dependencies of the
test environment through a ``.pth`` line (its site-packages directory only, not the
editable install of this tree, whose hook is a ``.pth`` file of that directory).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EVENTS = (
    "conversation_id,timestamp,sender_id,recipient_id,channel,sender_age,recipient_age,event\n"
    "c1,1700000000,adult,kid,public,41,12,contact_request\n"
    "c1,1700000060,kid,adult,public,12,41,contact_accept\n"
    "c1,1700000120,adult,kid,direct,41,12,message\n"
    "c1,1700003600,adult,kid,encrypted,41,12,message\n"
    "c2,1700000000,ann,bob,direct,30,31,message\n"
    "c2,1700000300,bob,ann,direct,31,30,message\n"
)


def _run(*cmd: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_wheel_installs_with_the_default_model_and_scores_a_csv(tmp_path: Path) -> None:
    # Build from a copy of what the sdist holds, so the tree gets no build/ or egg-info.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "riskscore", src / "riskscore", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = tmp_path / "dist"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--wheel-dir",
        dist,
        src,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("riskscore_metadata-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False, symlinks=True)
    python = env_dir / "bin" / "python"
    purelib = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
        ).stdout.strip()
    )
    (purelib / "_riskscore_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=tmp_path,
    )

    work = tmp_path / "work"  # not the source tree: nothing importable from the cwd
    work.mkdir()
    (work / "events.csv").write_text(EVENTS)
    where = _run(
        python,
        "-c",
        "import riskscore as rs, riskscore.model as m; print(rs.__file__); "
        "print(m.default_model_dir()); print(len(rs.load_model().feature_names))",
        cwd=work,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(env_dir), where
    assert Path(where[1]).is_relative_to(env_dir), where
    assert (Path(where[1]) / "MODEL_CARD.md").is_file()
    # riskscore serve's console templates are package data too
    templates = _run(
        python,
        "-c",
        "from importlib.resources import files; "
        "print(sorted(p.name for p in (files('riskscore.serve') / 'templates').iterdir()))",
        cwd=work,
    ).stdout
    assert "case.html" in templates
    assert "signin.html" in templates

    done = _run(
        env_dir / "bin" / "riskscore", "score", "events.csv", "--out", "out", "--json", cwd=work
    )
    summary = json.loads(done.stdout)
    assert summary["conversations"] == 2
    assert (work / "out" / "scores.parquet").is_file()
