"""Optional extras (riskscore/_optional.py): without an extra, what needs it fails with one
line that names the extra to install, and the command line exits 2 with no traceback.

The missing module is simulated by a ``None`` entry in ``sys.modules`` (``import`` then
raises ImportError), so these tests run in the full development environment.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
import riskscore.cli.serve as serve_command
import riskscore.serve
from riskscore._optional import import_extra, missing_extra
from riskscore.cli import main
from riskscore.exceptions import MissingExtraError, RiskscoreError
from riskscore.model import WorldsRecipe
from riskscore.model.training import lightgbm_classifier
from riskscore.moderation.transparency_render import write_charts

ROOT = Path(__file__).resolve().parents[1]


def _hide(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """Make ``import package`` (and its submodules) fail as if it were not installed."""
    for package in packages:
        for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
            monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.setitem(sys.modules, package, None)


def _forget(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Drop riskscore modules already imported, so the next import runs them again."""
    for name in modules:
        monkeypatch.delitem(sys.modules, name, raising=False)


def _one_line_naming(err: str, extra: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert f"pip install 'riskscore-metadata[{extra}]'" in err


def test_missing_extra_is_an_import_error_and_a_riskscore_error() -> None:
    exc = missing_extra("plots", "plotting", ModuleNotFoundError("No module named 'matplotlib'"))
    assert isinstance(exc, MissingExtraError)
    assert isinstance(exc, ImportError)  # `except ImportError` around an import still works
    assert isinstance(exc, RiskscoreError)  # the command line's one-line errors
    assert exc.extra == "plots"
    assert str(exc) == (
        "plotting needs the plots extra: pip install 'riskscore-metadata[plots]' "
        "(No module named 'matplotlib')"
    )


def test_import_extra_returns_the_module_when_installed() -> None:
    assert import_extra("numpy", "pandas", needed_by="x") is np


def test_import_extra_names_the_extra_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "matplotlib")
    with pytest.raises(MissingExtraError, match=r"riskscore-metadata\[plots\]") as info:
        import_extra("matplotlib.figure", "plots", needed_by="plotting", hint="or skip it")
    assert ", or skip it (" in str(info.value)


def test_to_pandas_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    messages = rs.read_messages(
        {"conversation_id": [1, 1], "timestamp": [1_700_000_010, 1_700_000_020],
         "sender_id": [1, 2], "recipient_id": [2, 1], "channel": ["direct"] * 2,
         "sender_age": [40, 12], "recipient_age": [12, 40], "event": ["message"] * 2}
    )  # fmt: skip
    features = rs.extract_features(messages)
    _hide(monkeypatch, "pandas")
    for table in (messages, features):
        with pytest.raises(MissingExtraError, match=r"riskscore-metadata\[pandas\]"):
            table.to_pandas()


def test_evaluate_without_matplotlib_fails_before_any_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _hide(monkeypatch, "matplotlib")
    # no data at --data: the check comes first, before minutes of scoring
    code = main(["evaluate", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "e")])
    assert code == 2
    err = capsys.readouterr().err
    _one_line_naming(err, "plots")
    assert "--no-plots" in err


def test_report_without_matplotlib_fails_before_any_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _hide(monkeypatch, "matplotlib")
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", "k3y-" * 10)
    db = tmp_path / "q.sqlite"
    code = main(["report", "--db", str(db), "--out", str(tmp_path / "r"), "--synthetic-month"])
    assert code == 2
    err = capsys.readouterr().err
    _one_line_naming(err, "plots")
    assert "--no-charts" in err
    assert not db.exists()  # no month simulated first


def test_train_without_lightgbm_fails_before_any_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _hide(monkeypatch, "lightgbm")
    calls: list[object] = []
    monkeypatch.setattr(WorldsRecipe, "training_data", lambda *a: calls.append(a))
    code = main(["train", "--worlds", "1", "--out", str(tmp_path / "m")])
    assert code == 2
    _one_line_naming(capsys.readouterr().err, "train")
    assert calls == []  # no world generated first
    assert not (tmp_path / "m").exists()
    with pytest.raises(MissingExtraError, match=r"riskscore-metadata\[train\]"):
        lightgbm_classifier()


def test_train_with_a_lightgbm_that_cannot_load_names_the_openmp_runtime(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: with the train extra installed where the OpenMP runtime is not (LightGBM's
    wheels load the system's ``libgomp.so.1``, which slim container images lack),
    ``riskscore train`` said only ``error: libgomp.so.1: cannot open shared object file:
    ...`` and ``lightgbm_classifier`` raised that OSError, naming neither LightGBM, the
    extra nor the fix."""
    site = tmp_path / "site"
    (site / "lightgbm").mkdir(parents=True)
    (site / "lightgbm" / "__init__.py").write_text(  # as lightgbm's dlopen fails
        'raise OSError("libgomp.so.1: cannot open shared object file: No such file or directory")\n'
    )
    for name in [n for n in sys.modules if n == "lightgbm" or n.startswith("lightgbm.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(MissingExtraError, match="libgomp1") as info:
        lightgbm_classifier()
    assert info.value.extra == "train"
    assert str(info.value).endswith(
        "(libgomp.so.1: cannot open shared object file: No such file or directory)"
    )
    monkeypatch.setattr(WorldsRecipe, "training_data", lambda *a: pytest.fail("no data first"))
    assert main(["train", "--worlds", "1", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert "LightGBM" in err
    assert "OpenMP" in err


def test_scoring_needs_no_lightgbm() -> None:
    # a fresh interpreter in which `import lightgbm` fails: loading the shipped model,
    # scoring and explaining use riskscore's own tree walk
    code = (
        "import sys; sys.modules['lightgbm'] = None\n"
        "import riskscore as rs\n"
        "from riskscore.synthetic import generate\n"
        "data = generate(300, prevalence=0.05, seed=3)\n"
        "scores = rs.load_model().score(data.messages)\n"
        "assert len(scores.risk) == 300 and scores.reasons(int(scores.risk.argmax()))\n"
        "assert 'lightgbm' not in {m.split('.')[0] for m in sys.modules if sys.modules[m]}\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_transparency_charts_without_matplotlib(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _hide(monkeypatch, "matplotlib")
    with pytest.raises(MissingExtraError, match=r"riskscore-metadata\[plots\]"):
        write_charts({}, tmp_path)


def test_serve_without_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(serve_command, "_MISSING", ModuleNotFoundError("No module named 'x'"))
    code = main(["serve", "--db", str(tmp_path / "q.sqlite")])
    assert code == 2
    _one_line_naming(capsys.readouterr().err, "serve")


def test_serve_package_without_fastapi(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "fastapi")
    _forget(monkeypatch, "riskscore.serve.app", "riskscore.serve.api", "riskscore.serve.console")
    with pytest.raises(MissingExtraError, match=r"riskscore-metadata\[serve\]"):
        _ = riskscore.serve.create_app


#: The modules of riskscore.serve, run again by an import after a library is hidden.
SERVE_MODULES = tuple(
    f"riskscore.serve.{p.stem}" for p in (ROOT / "riskscore" / "serve").glob("[!_]*.py")
)


@pytest.mark.parametrize(
    "hidden", ["anyio", "fastapi", "jinja2", "itsdangerous", "prometheus_client", "argon2"]
)
def test_serve_app_import_without_the_extra(monkeypatch: pytest.MonkeyPatch, hidden: str) -> None:
    # FastAPI alone may well be installed: any library of the extra the app needs is named
    _hide(monkeypatch, hidden)
    _forget(monkeypatch, *SERVE_MODULES)
    with pytest.raises(MissingExtraError, match=r"riskscore-metadata\[serve\]") as info:
        importlib.import_module("riskscore.serve.app")
    assert hidden in str(info.value)
    _forget(monkeypatch, *SERVE_MODULES)
    with pytest.raises(MissingExtraError) as lazy:
        _ = riskscore.serve.create_app
    assert str(lazy.value).count("pip install") == 1, lazy.value  # said once, not nested


@pytest.mark.parametrize("module", SERVE_MODULES)
def test_each_serve_module_without_the_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    """Was: on a core install, ``import riskscore.serve.config`` (and accounts, security,
    metrics, api, ...) raised a bare ``ModuleNotFoundError: No module named 'argon2'``."""
    _hide(monkeypatch, "argon2")
    _forget(monkeypatch, "riskscore.serve", *SERVE_MODULES)
    with pytest.raises(MissingExtraError, match=r"riskscore-metadata\[serve\]") as info:
        importlib.import_module(module)
    assert "argon2" in str(info.value)


def test_the_serve_package_looks_up_the_libraries_of_its_extra() -> None:
    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        canonical(re.split(r"[<>=!~;\s\[]", s, maxsplit=1)[0])
        for s in project["optional-dependencies"]["serve"]
    }
    providers = packages_distributions()
    looked_up = {canonical(d) for m in riskscore.serve._EXTRA_MODULES for d in providers[m]}
    assert looked_up == declared - {"httptools", "uvloop"}  # uvicorn's, when installed


@pytest.mark.parametrize(
    ("module", "hidden", "extra"),
    [
        ("riskscore.integrations.spark", "pyspark", "spark"),
        ("riskscore.integrations.synapse", "synapse", "synapse"),
    ],
)
def test_integration_import_without_its_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, hidden: str, extra: str
) -> None:
    _hide(monkeypatch, hidden)
    _forget(
        monkeypatch,
        module,
        "riskscore.integrations._spark_frames",
        "riskscore.integrations._synapse_sinks",
    )
    with pytest.raises(MissingExtraError, match=rf"riskscore-metadata\[{extra}\]"):
        __import__(module)


def test_python_m_riskscore_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "riskscore", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: riskscore ")


#: What in a notebook's code needs which extra.
NOTEBOOK_NEEDS = {
    "train": ("rs.train(",),
    "pandas": ("to_pandas(", "import pandas"),
    "plots": ("riskscore.evaluation.plots", "Image("),
}


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_notebooks_say_which_extras_they_need(notebook: str) -> None:
    """A notebook's first cell names the extras its code needs (01_quickstart trains and
    calls ``to_pandas``, which a `make demo` install, core and plots, cannot run)."""
    cells = json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    needed = sorted(
        extra for extra, marks in NOTEBOOK_NEEDS.items() if any(m in code for m in marks)
    )
    assert f"pip install -e '.[{','.join(needed)}]' jupyter" in "".join(cells[0]["source"])
