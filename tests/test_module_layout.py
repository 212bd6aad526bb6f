"""The layout of split modules: old import paths still work, modules stay small (issue 14)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import numba
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
    "riskscore.io.messages": ("GroupSummary", "MessageTable", "Quarantine", "build_table"),
    "riskscore.batch.out_of_core": (
        "DEFAULT_CHUNK_ROWS",
        "OutOfCoreResult",
        "iter_conversation_chunks",
        "score_parquet",
    ),
    "riskscore.features.account_file": (
        "ACCOUNT_FILE_COLUMNS",
        "ACCOUNT_FILE_FORMAT",
        "ACCOUNT_FILE_METADATA_KEY",
        "PAIR_COLUMNS",
        "account_file_path",
        "read_account_features",
        "write_account_features",
    ),
    "riskscore.features.registry": (
        "FEATURES",
        "FEATURE_NAMES",
        "NIGHT_END_MIN",
        "NIGHT_START_MIN",
        "RECENT_WEIGHT",
        "SHARE_PRIOR_EVENTS",
        "SUPERVISED_SHARE_STEPS",
        "TAU_LONG_S",
        "TAU_SECURE_MOVE_S",
        "TAU_SHORT_S",
        "FeatureSpec",
        "feature_index",
    ),
    "riskscore.features.kernel": (
        "ACCOUNT_SLOTS",
        "N_ACCOUNT_SLOTS",
        "N_STATE",
        "PAIR_KEY_CHANNELS",
        "STATE_SLOTS",
        "A_ACCEPTS",
        "A_CONTACTS",
        "A_FLAGGED",
        "A_MINOR_EVENTS",
        "A_MINORS",
        "A_PRIVATE_MINORS",
        "A_REQUESTS",
        "A_SUPERVISED_EVENTS",
        "N_EVENTS",
        "T_FIRST",
        "T_LAST",
        "adult_side",
        "apply_event",
        "conversation_features",
        "is_supervised",
        "new_state",
        "reset_state",
        "run_conversations",
        "supervised_share",
        "update_conversation",
    ),
    "riskscore.online.scorer": ("OnlineScorer",),
    "riskscore.online.memory": (
        "DEFAULT_MAX_CONVERSATIONS",
        "DEFAULT_MAX_FUTURE_S",
        "LiveConversation",
        "ScorerMemory",
        "TimeSource",
    ),
    "riskscore.integrations._spark_partition": (
        "ACCOUNT",
        "ACCOUNT_VALUES",
        "KIND",
        "PAIR_FIRST",
        "PAIR_PRIVATE",
        "PART_OTHER",
        "ROW",
        "ScoringSpec",
        "TallySpec",
        "arrow_schema",
        "key_blocks",
        "output_columns",
        "parts_partition",
        "parts_schema",
        "score_block",
        "score_partition",
        "tallies_partition",
        "tallies_schema",
    ),
    "riskscore.integrations.spark": (
        "SCORE_COLUMNS",
        "account_features",
        "alerts",
        "local_session",
        "read_events",
        "score_events",
        "shadow_alerts",
        "write_scores",
    ),
    "riskscore.integrations.synapse": ("ModuleConfig", "RiskscoreModule"),
    "riskscore.integrations._synapse_mapping": (
        "STATE_FIELDS_READ",
        "ConversationRooms",
        "EventTranslator",
        "RoomEvent",
        "RoomStore",
        "conversation_id",
    ),
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

#: Optional extras the integrations need (their tests skip without them).
NEEDS = {"riskscore.integrations.spark": "pyspark", "riskscore.integrations.synapse": "synapse"}

#: Subpackages whose modules were split to stay under the limit.
SPLIT_PACKAGES = (
    "batch",
    "cli",
    "evaluation",
    "features",
    "integrations",
    "io",
    "model",
    "moderation",
    "online",
    "policy",
    "regulatory",
    "serve",
    "synthetic",
    "vignettes",
)
MAX_LINES = 500
ROOT = Path(riskscore.__file__).parent


@pytest.mark.parametrize("module", sorted(EXPORTED))
def test_a_split_module_still_exports_its_names(module: str) -> None:
    if module in NEEDS:
        pytest.importorskip(NEEDS[module])
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


#: The event kernel's compiled functions, by the module that now defines them.
KERNEL_FUNCTIONS = {
    "riskscore.features.update": ("reset_state", "update_conversation"),
    "riskscore.features.kernel": (
        "adult_side",
        "apply_event",
        "conversation_features",
        "finish_states",
        "fold_events",
        "is_supervised",
        "run_conversations",
        "run_states",
        "supervised_share",
    ),
}


@pytest.mark.skipif(
    numba.config.DISABLE_JIT, reason="NUMBA_DISABLE_JIT=1: the kernel runs uncompiled"
)
@pytest.mark.parametrize("module", sorted(KERNEL_FUNCTIONS))
def test_the_split_kernel_stays_compiled_with_an_on_disk_cache(module: str) -> None:
    mod = importlib.import_module(module)
    for name in KERNEL_FUNCTIONS[module]:
        function = getattr(mod, name)
        assert function.py_func.__module__ == module, f"{name} is not defined in {module}"
        assert function.stats.cache_path is not None, f"{name} is compiled without cache=True"


#: Top-level packages a function may import on first use: optional extras, and libraries
#: whose import cost the command line's start-up should not pay (scikit-learn, SciPy).
LAZY_IMPORTS = {"sklearn", "scipy", "signedjson"}


def _imports_in_functions() -> list[tuple[Path, int, str]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if isinstance(node, ast.Import):
                        found += [(path, node.lineno, alias.name) for alias in node.names]
                    elif isinstance(node, ast.ImportFrom):
                        found.append((path, node.lineno, "." * node.level + (node.module or "")))
    return found


def test_a_function_imports_only_what_start_up_should_not_pay_for_and_says_why() -> None:
    # pyarrow (and every module of riskscore) is loaded by ``import riskscore`` anyway: an
    # import of it inside a function buys nothing and hides a dependency.
    for path, line, module in _imports_in_functions():
        where = f"{path.relative_to(ROOT.parent)}:{line} imports {module}"
        assert module.split(".")[0] in LAZY_IMPORTS, f"{where} inside a function"
        lines = path.read_text(encoding="utf-8").splitlines()
        above = lines[line - 3 : line - 1]
        assert any(text.strip().startswith("#") for text in above) or "#" in lines[line - 1], (
            f"{where} inside a function without a comment saying why"
        )


def test_importing_riskscore_loads_neither_pandas_nor_scikit_learn() -> None:
    """Every command pays what ``import riskscore`` loads (``--help`` and ``--version``
    too): pandas (0.4-0.6 CPU s, through a ``pa.array`` at import) and scikit-learn are
    loaded where they are used."""
    code = "import sys, riskscore; print(sorted({'pandas', 'sklearn'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _private_names_imported_across_subpackages() -> list[str]:
    """``module: name`` for each ``_name`` one subpackage imports from another."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        here = parts[0] if len(parts) > 1 else ""
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module):
                continue
            source = node.module.split(".")
            if source[0] != "riskscore" or source[1:2] == [here]:
                continue
            found += [
                f"{path.relative_to(ROOT)}: {node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_no_subpackage_imports_a_private_name_of_another() -> None:
    # A private helper used across subpackages is a concept of its module: a public name.
    assert _private_names_imported_across_subpackages() == []
