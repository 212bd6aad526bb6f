"""``docs/features.md``'s tables, generated from the registry (a test fails on drift)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Final

from riskscore._docs import replace_generated
from riskscore.features.registry import FEATURES, FeatureSpec

__all__ = ["SECTION", "feature_tables", "update_features_doc"]

#: Name of the generated section of ``docs/features.md``.
SECTION: Final = "feature tables"

_FAMILIES: Final = (
    ("age", "Age"),
    ("contact", "Contact"),
    ("escalation", "Escalation"),
    ("night", "Night (risk assessment)"),
    ("exclusivity", "Exclusivity (channels)"),
    ("media and safety", "Media and safety"),
    ("account", "Account (per adult account, joined to its conversations)"),
    ("group", "Groups and where a pair met"),
)
_DIRECTION: Final = {1: "raises", -1: "lowers", 0: "either"}


def _reference(value: float) -> str:
    return "unknown" if math.isnan(value) else f"{value:g}"


def _direction(spec: FeatureSpec) -> str:
    if spec.direction and not spec.constrained:
        return f"{_DIRECTION[spec.direction]} (not constrained: depends on context)"
    return _DIRECTION[spec.direction]


def feature_tables() -> str:
    """One Markdown table per feature family, in registry order."""
    out: list[str] = []
    for family, title in _FAMILIES:
        specs = [s for s in FEATURES if s.family == family]
        out += [
            f"### {title}",
            "",
            "| feature | unit | definition | why it can signal risk | benign look-alikes "
            "| risk direction | no-signal reference |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in specs:
            out.append(
                f"| `{s.name}` | {s.unit} | {s.definition} | {s.why} | {s.look_alikes} | "
                f"{_direction(s)} | {_reference(s.reference)} |"
            )
        out.append("")
    return "\n".join(out)


def update_features_doc(path: str | Path) -> bool:
    """Rewrite the generated tables of ``docs/features.md``; True if they changed."""
    return replace_generated(path, SECTION, feature_tables())
