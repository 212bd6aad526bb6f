"""Units of time have one definition, :mod:`riskscore._units`, that every module imports.

Was: ``DAY_S``/``HOUR_S`` (and ``SECONDS_PER_DAY``, ``_DAY_S``) were assigned in six modules
(the synthetic worlds, the moderation simulation, the review cases, the console's plot, the
vignettes, the Spark partitions), free to drift apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import riskscore._units as units

PACKAGE = Path(units.__file__).resolve().parent
SECONDS = {60, 3_600, 86_400, 604_800}  # a minute, an hour, a day, a week
#: Names of a unit, not of a setting that happens to last a day (``DEFAULT_MAX_FUTURE_S``).
UNIT_NAME = re.compile(r"_?((MINUTE|HOUR|DAY|WEEK)S?_S|(SECONDS|S)_PER_(MINUTE|HOUR|DAY|WEEK))")


def _unit_assignments(path: Path) -> list[str]:
    """``file:line name`` for each module-level name bound to a bare unit of time."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if not (isinstance(value, ast.Constant) and type(value.value) in (int, float)):
            continue
        if value.value not in SECONDS:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and UNIT_NAME.fullmatch(target.id):
                rel = path.relative_to(PACKAGE.parent).as_posix()
                found.append(f"{rel}:{node.lineno} {target.id}")
    return found


def test_each_unit_of_time_is_defined_once() -> None:
    """Was: six modules assigned their own ``DAY_S = 86_400`` or ``HOUR_S = 3_600``."""
    found = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "_units.py"
        for hit in _unit_assignments(path)
    ]
    assert found == [], "import them from riskscore._units"


def test_the_units_are_whole_seconds() -> None:
    assert (units.MINUTE_S, units.HOUR_S, units.DAY_S) == (60, 3_600, 86_400)
    assert all(type(v) is int for v in (units.MINUTE_S, units.HOUR_S, units.DAY_S))
