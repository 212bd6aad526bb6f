"""A name in a module's ``__all__`` is public API: something outside the module uses it
(another module, a test, the docs, a benchmark or an example), or it is a result that a
public function returns. Internal helpers stay importable but are not listed."""

from __future__ import annotations

import ast
import builtins
import doctest
import inspect
import re
from pathlib import Path

import riskscore as rs

ROOT = Path(__file__).resolve().parents[1]

#: Frozen results of public functions: users receive them without naming them.
RESULT_TYPES = frozenset(
    {
        "AccountChange",
        "Assignment",
        "BandCheck",
        "BatchResult",
        "Candidate",
        "LearningResult",
        "ModerationRoomConfig",
        "PolicyCheck",
        "ShadowRunAlerts",
        "Shift",
        "SweepRow",
        "TemplateTables",
        "TrainResult",
        "WarmUp",
    }
)

_READ = ("riskscore/**/*.py", "tests/**/*.py", "docs/**/*.md", "benchmarks/**/*.py")
_MORE = ("examples/**/*", "notebooks/**/*.ipynb", "README.md")


def _words() -> dict[Path, set[str]]:
    files = {p for pattern in _READ + _MORE for p in ROOT.glob(pattern) if p.is_file()}
    return {
        p: set(re.findall(r"\w+", p.read_text(encoding="utf-8", errors="replace"))) for p in files
    }


def _listed(path: Path) -> list[str]:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return []


def test_every_listed_name_is_used_outside_its_module() -> None:
    words = _words()
    unused = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "riskscore").rglob("*.py"))
        for name in _listed(path)
        if name not in RESULT_TYPES
        and not any(name in found for other, found in words.items() if other != path)
    ]
    assert not unused, "listed in __all__ but used nowhere else (drop them):\n" + "\n".join(unused)


def _unbound_names(test: doctest.DocTest) -> list[str]:
    """Names an example reads that neither an earlier line of it nor Python binds."""
    bound = set(dir(builtins))
    unbound = []
    for example in test.examples:
        tree = ast.parse(example.source)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                bound.add(node.id)
            elif isinstance(node, (ast.arg, ast.FunctionDef, ast.ClassDef)):
                bound.add(node.arg if isinstance(node, ast.arg) else node.name)
        loads = (
            n for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        )
        unbound += [f"line {example.lineno}: {n.id}" for n in loads if n.id not in bound]
    return unbound


def test_public_examples_import_what_they_use() -> None:
    """The Examples of every name in ``riskscore.__all__`` (and of its methods) import what
    they use: pytest runs them with their module's names, a user pastes them into a session
    that has none (``AlertPolicy.default()`` stopped with a NameError)."""
    finder = doctest.DocTestFinder(recurse=True, exclude_empty=True)
    unbound = [
        f"{test.name}, {problem}"
        for name in rs.__all__
        if inspect.isclass(obj := getattr(rs, name)) or inspect.isfunction(obj)
        for test in finder.find(obj, name, globs={})
        for problem in _unbound_names(test)
    ]
    assert not unbound, "\n".join(unbound)
