"""One definition of each small concept that modules used to spell again: the guards here
fail when a second copy comes back."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

import riskscore.io.raw as raw

ROOT = Path(__file__).resolve().parents[1] / "riskscore"


def _spells_numpy_scalar_to_python(node: ast.AST) -> bool:
    """``x.item() if isinstance(x, np.generic) ...`` or ``if isinstance(x, np.generic):``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "isinstance"
        and len(node.args) == 2
        and ast.unparse(node.args[1]) == "np.generic"
    )


def test_a_numpy_scalar_becomes_its_python_value_in_one_function() -> None:
    """Was: ``as_python_value`` in riskscore.policy.alerts and eleven copies of its body
    (``show``, ``as_read``, label checks, pseudonyms, queue ids, Spark errors ...)."""
    copies = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted(ROOT.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _spells_numpy_scalar_to_python(node)
    ]
    assert len(copies) == 1, copies
    assert copies[0].startswith("io/raw.py:"), copies


def test_as_python_value_keeps_other_values() -> None:
    value = raw.as_python_value(np.int64(7))
    assert (value, type(value)) == (7, int)
    assert raw.as_python_value("7") == "7"
    assert raw.show(np.float32(0.5)) == "0.5"
