"""The layout of split modules: old import paths still work, modules stay small (issue 14)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import riskscore

#: Names each module exported before it was split, and still exports.
EXPORTED = {
    "riskscore.vignettes.loader": (
        "Account",
        "ConversationSpec",
        "PhaseSpec",
        "SingleEvent",
        "Vignette",
        "VignetteFileError",
        "data_directory",
        "load_vignettes",
        "read_vignette",
    ),
    "riskscore.synthetic.world": (
        "BENIGN_SCENARIOS",
        "GROOMING_SCENARIOS",
        "Platform",
        "ScenarioProfile",
        "World",
        "N_CHILD_AGES",
    ),
    "riskscore.synthetic.nuisance": (
        "NUISANCES",
        "Nuisance",
        "draw_world",
        "nuisance_table",
        "TZ_REGIONS",
    ),
    "riskscore.synthetic.generator": (
        "DEFAULT_START",
        "WORLD_KEYWORDS",
        "generate",
        "generate_parquet",
    ),
    "riskscore.io.validate": (
        "Errors",
        "RawColumns",
        "as_read",
        "check_column_names",
        "validate_columns",
        "validate_one",
    ),
    "riskscore.io.readers": ("read_chunk", "read_messages", "write_messages"),
    "riskscore.regulatory.dsa": (
        "Restriction",
        "StatementError",
        "StatementSettings",
        "decision_facts",
        "statements_of_reasons",
        "validate_statement",
        "validate_statements",
        "write_statements",
    ),
}

#: Subpackages whose modules were split to stay under the limit.
SPLIT_PACKAGES = ("io", "regulatory", "synthetic", "vignettes")
MAX_LINES = 500
ROOT = Path(riskscore.__file__).parent


@pytest.mark.parametrize("module", sorted(EXPORTED))
def test_a_split_module_still_exports_its_names(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [name for name in EXPORTED[module] if not hasattr(mod, name)]
    assert not missing, f"{module} no longer exports {missing}"
    listed = set(getattr(mod, "__all__", ()))
    assert listed <= set(dir(mod)), f"{module}.__all__ names {sorted(listed - set(dir(mod)))}"


@pytest.mark.parametrize(
    "path",
    sorted(p for package in SPLIT_PACKAGES for p in (ROOT / package).glob("*.py")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_modules_are_small_and_say_their_role(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES, f"{path.name} is over {MAX_LINES} lines"
    assert ast.get_docstring(ast.parse(text)), f"{path.name} has no module docstring"
