"""The wheel as a user installs it: built from this tree, installed into a fresh virtual
environment, ``riskscore score`` on a CSV with the model shipped inside the package.

Offline: the wheel is built without build isolation (setuptools from the dev extra) and
installed with ``--no-deps --no-index``; the fresh environment sees the dependencies of the
test environment through a ``.pth`` line (its site-packages directory only, not the
editable install of this tree, whose hook is a ``.pth`` file of that directory).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import venv
import zipfile
from email.parser import HeaderParser
from fnmatch import fnmatch
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

import riskscore as rs

ROOT = Path(__file__).resolve().parents[1]

#: Files the library reads at run time, as the wheel must hold them.
RUNTIME_FILES = (
    "riskscore/py.typed",
    "riskscore/model/default/manifest.json",
    "riskscore/model/default/params.json",
    "riskscore/model/default/MODEL_CARD.md",
    "riskscore/synthetic/default_world.toml",
    "riskscore/synthetic/stress_worlds.toml",
    "riskscore/serve/templates/case.html",
    "riskscore/vignettes/data/g01-cold-contact-12-encrypted-night.toml",
)

EVENTS = (
    "conversation_id,timestamp,sender_id,recipient_id,channel,sender_age,recipient_age,event\n"
    "c1,1700000000,adult,kid,public,41,12,contact_request\n"
    "c1,1700000060,kid,adult,public,12,41,contact_accept\n"
    "c1,1700000120,adult,kid,direct,41,12,message\n"
    "c1,1700003600,adult,kid,encrypted,41,12,message\n"
    "c2,1700000000,ann,bob,direct,30,31,message\n"
    "c2,1700000300,bob,ann,direct,31,30,message\n"
)


def _run(
    *cmd: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # without PYTHONPATH: the installed wheel, not a source tree on the path, is under test
    env = {k: v for k, v in (env or os.environ).items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


def _data_files() -> list[str]:
    """Every file of the package in the source tree that is not Python or a cache."""
    package = ROOT / "riskscore"
    return sorted(
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
    )


def readme_link_targets() -> list[str]:
    """The files README.md links to, as paths from the root of the tree (its links of
    ``dir/`` name the directory's README or report the link leads to)."""
    text = re.sub(
        r"^```.*?^```", "", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.M | re.S
    )
    targets = []
    for link in re.findall(r"\]\(([^)\s#]+)", text):
        if re.match(r"[a-z][a-z0-9+.-]*:", link):
            continue  # an absolute URL
        targets.append(link)
    return sorted(set(targets))


def test_readme_links_only_to_files() -> None:
    """README.md links to files that are there (a link to a folder could not be checked
    against the sdist's list of files, in the wheel test below). Was (that test): the README
    linked to files the sdist left out (benchmarks/, models/README.md, reports/), and the
    project has no URL to make them absolute, so they led nowhere outside a checkout."""
    targets = readme_link_targets()
    assert "docs/schema.md" in targets
    assert [t for t in targets if not (ROOT / t).is_file()] == []


#: The Markdown pages the sdist ships (MANIFEST.in): the README, the changelog, docs/, the
#: notes on benchmarks and bundles, the transparency report, and the package's own pages.
SHIPPED_PAGES = (
    "README.md",
    "CHANGELOG.md",
    "docs/*.md",
    "benchmarks/README.md",
    "models/README.md",
    "reports/transparency/*.md",
    "riskscore/**/*.md",
)


def linked_results() -> set[str]:
    """The files of benchmarks/results/ that a shipped page links to (Markdown links,
    relative to the page), and those that the linked results pages link to in turn."""
    pages = [p for pattern in SHIPPED_PAGES for p in ROOT.glob(pattern)]
    found: set[str] = set()
    while pages:
        for target in _file_links(pages.pop().relative_to(ROOT).as_posix()):
            if target.startswith("benchmarks/results/") and target not in found:
                found.add(target)
                if target.endswith(".md"):
                    pages.append(ROOT / target)
    return found


def _file_links(page: str) -> list[str]:
    """The files of the tree that the Markdown page ``page`` links to (links to folders,
    which a list of files cannot check, and to addresses left out)."""
    text = (ROOT / page).read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    targets = (
        os.path.normpath(Path(page).parent / link)
        for link in re.findall(r"\]\(([^)\s#]+)", text)
        if not re.match(r"[a-z][a-z0-9+.-]*:", link)
    )
    return [t for t in targets if (ROOT / t).is_file()]


def _manifest_lines() -> list[list[str]]:
    lines = (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
    return [line.split() for line in lines if line.strip() and not line.startswith("#")]


def test_the_sdist_ships_only_the_benchmark_results_a_shipped_page_links_to() -> None:
    """Was: ``recursive-include benchmarks/results *.md *.json`` shipped all 69 result
    files (552 kB of raw measurements), of which the shipped pages link to 16; nothing
    installed reads any. The sdist's list is checked here without building it; the slow
    test below checks the built sdist."""
    lines = _manifest_lines()
    assert not [w for w in lines if w[0] != "include" and "benchmarks/results" in " ".join(w)]
    included = {n for w in lines if w[0] == "include" for n in w[1:] if "results/" in n}
    assert included == linked_results()
    assert [n for n in included if not (ROOT / n).is_file()] == []


def test_folders_a_shipped_page_links_to_are_shipped() -> None:
    """Was: docs/transparency.md linked to ``../reports/regulatory/``, a folder MANIFEST.in
    leaves out (940 kB of generated exports): the link led nowhere in the sdist, and the
    slow test below checks only the links to files. A folder link leads into the package
    (its data files all ship, see below) or to a folder MANIFEST.in grafts."""
    grafted = [w[1] for w in _manifest_lines() if w[0] == "graft"]
    shipped = ["riskscore", *grafted]
    missing = []
    for page in (p for pattern in SHIPPED_PAGES for p in ROOT.glob(pattern)):
        text = re.sub(r"^```.*?^```", "", page.read_text("utf-8"), flags=re.M | re.S)
        for link in re.findall(r"\]\(([^)\s#]+)", text):
            target = ROOT / os.path.normpath(page.parent.relative_to(ROOT) / link)
            if not re.match(r"[a-z][a-z0-9+.-]*:", link) and target.is_dir():
                folder = target.relative_to(ROOT).as_posix()
                if not any(folder == s or folder.startswith(f"{s}/") for s in shipped):
                    missing.append((page.relative_to(ROOT).as_posix(), link))
    assert missing == []


def test_python_versions_claimed_are_the_tested_one() -> None:
    """The classifiers name the Python versions the test suite ran on (CI runs this suite on
    one, this interpreter), and ``requires-python`` starts at the oldest of them, with no
    upper bound (a cap makes installers pick old releases or fail to resolve)."""
    claimed = [
        c.rsplit(" :: ", 1)[1]
        for c in PROJECT["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert claimed == [f"{sys.version_info.major}.{sys.version_info.minor}"]
    assert PROJECT["requires-python"] == f">={claimed[0]}"


def test_package_data_covers_every_data_file_of_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["riskscore"]
    data = _data_files()
    assert {f.removeprefix("riskscore/") for f in RUNTIME_FILES} <= set(data)
    unshipped = [f for f in data if not any(fnmatch(f, pattern) for pattern in patterns)]
    assert unshipped == [], "add them to [tool.setuptools.package-data] in pyproject.toml"


def test_the_version_has_one_definition() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    dynamic = project["tool"]["setuptools"]["dynamic"]
    assert dynamic["version"] == {"attr": "riskscore._version.__version__"}


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _floors(requirements: list[str]) -> dict[str, str]:
    """Each requirement's distribution (canonical name) and the version it must reach."""
    floors = {}
    for spec in requirements:
        found = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)(?:\s*;.*)?", spec)
        assert found is not None, f"{spec}: a floor (>=), and an upper bound only with a reason"
        floors[_canonical(found[1])] = found[2]
    return floors


#: The oldest version of each dependency (of the core and of the extras a user installs) that
#: riskscore was seen to work with: a fresh virtual environment with exactly these versions and
#: the wheel ran ``riskscore generate``, ``score``, ``evaluate`` (with plots), ``train``,
#: ``stream``, ``warmup``, the package's doctests, and ``riskscore serve`` (the API and a
#: console sign-in through its form; again with NumPy 2.0 and the first releases of scipy,
#: pandas and matplotlib built for it). Raise one here only after such a run.
VERIFIED_FLOORS = {
    "numpy": "2.0",
    "scikit-learn": "1.5",
    "pyarrow": "18",
    "tqdm": "4.66",
    "numba": "0.60",
    "scipy": "1.13",
    # the column names' edit distance (rapidfuzz.distance.OSA with score_cutoff), checked on
    # 3.0.0: the same distances as the hand-written count it replaced
    "rapidfuzz": "3.0",
    "lightgbm": "4.3",
    "pandas": "2.2.2",
    "matplotlib": "3.8.4",
    "fastapi": "0.115.7",
    "starlette": "0.44",
    "uvicorn": "0.29",
    "jinja2": "3.1",
    "argon2-cffi": "23.1",
    "itsdangerous": "2.1",
    "python-multipart": "0.0.13",
    "prometheus-client": "0.20",
    "httptools": "0.6",
    "uvloop": "0.19",
    # imported directly by riskscore.serve. anyio 4.2: a packaging review ran the service
    # with every floor above and anyio 3.4 to 4.8; below 4.2 it failed at start-up (a
    # CapacityLimiter made in a worker thread). markupsafe at jinja2 3.1's floor
    "anyio": "4.2",
    "markupsafe": "2.0",
}


def test_dependency_floors_are_the_verified_ones() -> None:
    """Was: ``pyarrow>=15`` while ``import riskscore`` needs ``pyarrow.types.is_string_view``
    (pyarrow 16; string_view casts 18), an AttributeError on import with pyarrow 15; and
    ``fastapi>=0.110``, which allows starlette 0.36, whose ``Request.form`` has no
    ``max_part_size``: every console sign-in failed with status 500."""
    extras = PROJECT["optional-dependencies"]
    users = [s for extra in ("train", "pandas", "plots", "serve") for s in extras[extra]]
    assert _floors(PROJECT["dependencies"] + users) == VERIFIED_FLOORS


def test_every_core_dependency_is_imported_by_riskscore() -> None:
    """Was: joblib and threadpoolctl were core dependencies that no module of riskscore
    imports (scikit-learn brings both for itself)."""
    modules = {  # the first word after `import` or `from` starting a line (a prose line
        # that starts with "from" adds a word no distribution provides)
        name
        for path in (ROOT / "riskscore").rglob("*.py")
        for name in re.findall(r"^[ \t]*(?:import|from)[ \t]+(\w+)", path.read_text("utf-8"), re.M)
    }
    providers = packages_distributions()
    imported = {_canonical(d) for m in modules for d in providers.get(m, ())}
    assert [d for d in _floors(PROJECT["dependencies"]) if d not in imported] == []


#: The modules of each extra that serves a part of riskscore of its own (globs from the
#: package's root); every other module is the core's.
EXTRA_MODULES = {
    "serve": ("serve/*.py", "cli/serve.py"),
    "synapse": ("integrations/synapse.py", "integrations/_synapse_*.py"),
    "spark": ("integrations/spark.py", "integrations/_spark_*.py"),
}


def _names(requirements: list[str]) -> set[str]:
    """The distributions (canonical names) ``requirements`` name."""
    return {_canonical(re.match(r"[A-Za-z0-9_.-]+", spec)[0]) for spec in requirements}  # type: ignore[index]


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported_names(tree: ast.AST) -> set[str]:
    """The top-level names a module imports at run time, at any depth (in a function
    too), but not under ``if TYPE_CHECKING:``."""
    names: set[str] = set()
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking(node):
            continue
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        names |= _imported_names(node)
    return names


def _imported_distributions(paths: list[Path]) -> dict[str, list[str]]:
    """Each third-party distribution that ``paths`` import directly, and which import it."""
    providers = packages_distributions()
    found: dict[str, list[str]] = {}
    for path in paths:
        for name in _imported_names(ast.parse(path.read_text("utf-8"))):
            if name in sys.stdlib_module_names or name in ("riskscore", "__future__"):
                continue
            for dist in providers.get(name, [name]):
                found.setdefault(_canonical(dist), []).append(path.relative_to(ROOT).as_posix())
    return found


def test_every_direct_import_is_declared_by_the_core_or_the_modules_extra() -> None:
    """Was: the service imports ``anyio`` and ``markupsafe`` (FastAPI and Jinja2 bring
    them), and the Synapse module ``twisted`` and ``signedjson`` (Synapse brings them),
    none declared by its extra: a release of FastAPI or Jinja2 that drops one breaks
    ``riskscore serve`` on a fresh install, and no floor says which version riskscore
    needs. A module imports only what the core or its own extra declares."""
    package = ROOT / "riskscore"
    extras = PROJECT["optional-dependencies"]
    core = _names(PROJECT["dependencies"])
    owned: set[Path] = set()
    undeclared = {}
    for extra, globs in EXTRA_MODULES.items():
        paths = sorted({p for g in globs for p in package.glob(g)})
        assert paths, f"no module of the {extra} extra matches {globs}"
        owned.update(paths)
        declared = core | _names(extras[extra])
        for dist, where in _imported_distributions(paths).items():
            if dist not in declared:
                undeclared[(extra, dist)] = where
    rest = sorted(set(package.rglob("*.py")) - owned)
    for dist, where in _imported_distributions(rest).items():
        if dist not in core:
            undeclared[("core", dist)] = where
    assert undeclared == {}


@pytest.mark.slow
def test_wheel_installs_with_the_default_model_and_scores_a_csv(tmp_path: Path) -> None:
    # `make dist` on a copy of the tree (so the tree gets no build/ or egg-info) that has
    # what a used working tree has: numba caches in __pycache__, and in build/ the files of
    # a module since deleted, which a wheel built in the tree (`pip wheel .`) would ship.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "Makefile"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("riskscore", "docs", "policies", "benchmarks", "models", "reports"):
        shutil.copytree(ROOT / name, src / name)
    shutil.copy2(ROOT / "CHANGELOG.md", src / "CHANGELOG.md")
    (src / "tests").mkdir()
    (src / "tests" / "test_x.py").write_text("")
    (src / "riskscore" / "features" / "__pycache__").mkdir(exist_ok=True)
    (src / "riskscore" / "features" / "__pycache__" / "kernel.f-1.py311.nbi").write_bytes(b"")
    (src / "build" / "lib" / "riskscore").mkdir(parents=True)
    (src / "build" / "lib" / "riskscore" / "removed_module.py").write_text("")
    dist = tmp_path / "dist"
    offline = {**os.environ, "PIP_NO_INDEX": "1"}
    make: list[str | Path] = [
        "make", "--no-print-directory", "-C", src, "dist",
        f"BIN={Path(sys.executable).parent}", "STAMP=", f"DIST={dist}",
    ]  # fmt: skip
    _run(*make, cwd=tmp_path, env=offline)
    (sdist,) = dist.glob("riskscore_metadata-*.tar.gz")
    with tarfile.open(sdist) as archive:
        sources = [n.split("/", 1)[1] for n in archive.getnames() if "/" in n]
    assert {"CHANGELOG.md", "LICENSE", "README.md", "policies/default.toml"} <= set(sources)
    assert "docs/policy.md" in sources
    assert set(readme_link_targets()) <= set(sources)  # PyPI's page: README.md, no project URL
    assert {n for n in sources if n.startswith("benchmarks/results/")} == linked_results()
    assert [
        (page, target)
        for page in sources
        if page.endswith(".md")
        for target in _file_links(page)
        if target not in sources
    ] == []  # was: docs/learning.md's link to reports/shadow/compare.json led nowhere
    assert not [n for n in sources if n.startswith("benchmarks/") and n.endswith(".py")]
    assert not [n for n in sources if n.startswith("tests/")]  # never a part of the suite
    assert not [n for n in sources if n.endswith((".nbi", ".nbc", ".pyc"))]
    (wheel,) = dist.glob("riskscore_metadata-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = f"riskscore_metadata-{rs.__version__}.dist-info"
        metadata = HeaderParser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
    assert set(RUNTIME_FILES) <= set(names)
    assert {f"riskscore/{f}" for f in _data_files()} <= set(names)
    assert "riskscore/removed_module.py" not in names
    assert f"{dist_info}/licenses/LICENSE" in names
    assert not [n for n in names if n.endswith((".nbi", ".nbc", ".pyc"))]  # no numba cache
    assert not [n for n in names if "__pycache__" in n]
    assert {n.split("/")[0] for n in names} == {"riskscore", dist_info}  # no tests, benchmarks
    assert metadata["Name"] == "riskscore-metadata"
    assert metadata["Version"] == rs.__version__
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata["License-File"] == "LICENSE"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert str(metadata.get_payload()).startswith("# riskscore")
    classifiers = metadata.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers  # riskscore/py.typed is in
    assert "Programming Language :: Python :: 3.11" in classifiers
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert extras >= {"pandas", "plots", "train", "spark", "synapse", "serve"}

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
    version = _run(env_dir / "bin" / "riskscore", "--version", cwd=work).stdout
    assert version == f"riskscore {metadata['Version']}\n"
