"""No import circle among riskscore's modules, counting every import: at the top, under
``if TYPE_CHECKING:`` and inside functions alike (an import hidden in a function or a
type-checking block to dodge a circle still ties the modules together).

A name imported from a package (``from riskscore.policy import Alert``) is counted as an
import of the module that defines it (``riskscore.policy.alerts``), as the structure view
(``farm-studio look``) reads it, so a package's ``__init__`` that gathers its modules'
names draws no circle of its own.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import types
from pathlib import Path

import riskscore

ROOT = Path(riskscore.__file__).parent


def _modules() -> dict[str, Path]:
    found = {"riskscore": ROOT / "__init__.py"}
    for info in pkgutil.walk_packages([str(ROOT)], prefix="riskscore."):
        spec = importlib.util.find_spec(info.name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            found[info.name] = Path(spec.origin)
    return found


def _defining_module(package: str, name: str, modules: dict[str, Path]) -> str:
    """The module that ``from package import name`` takes ``name`` from."""
    if f"{package}.{name}" in modules:
        return f"{package}.{name}"
    try:
        value = getattr(importlib.import_module(package), name)
    except (ImportError, AttributeError):
        return package
    if isinstance(value, types.ModuleType):
        return value.__name__
    owner = (
        getattr(value, "__module__", None) if inspect.isclass(value) or callable(value) else None
    )
    if isinstance(owner, str) and owner in modules:
        return owner
    # a constant: the module whose top level assigns it, else the package
    for module, path in modules.items():
        if module.startswith(package) and _assigns(path, name):
            return module
    return package


def _assigns(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("riskscore"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if not source.startswith("riskscore"):
                continue
            for alias in node.names:
                out.add(_defining_module(source, alias.name, modules))
    out.discard(module)
    return {m for m in out if m in modules}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_not_even_a_hidden_one() -> None:
    """Was: ``riskscore.exceptions`` imported ``Alert`` under ``if TYPE_CHECKING:`` (for one
    attribute's type) while ``riskscore.policy.alerts`` imports the exceptions through
    ``riskscore.io``: a circle of nine modules."""
    modules = _modules()
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    # the package's own __init__ gathers the public API from everything: not an edge back
    for targets in graph.values():
        targets.discard("riskscore")
    assert _circles(graph) == []


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]
