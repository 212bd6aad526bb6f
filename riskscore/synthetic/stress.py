"""Stress worlds: each benign look-alike at its extreme, each grooming variant at its
quietest (``stress_worlds.toml``)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Final

from riskscore.synthetic.world import World

__all__ = ["STRESS_WORLDS", "stress_table"]


def _load() -> Mapping[str, World]:
    text = resources.files("riskscore.synthetic").joinpath("stress_worlds.toml").read_text("utf-8")
    worlds = {}
    for name, changes in tomllib.loads(text).items():
        worlds[name] = World.default().replace(name=name, **changes)
    return MappingProxyType(worlds)


#: Named stress worlds, read-only: name -> :class:`World`.
STRESS_WORLDS: Final[Mapping[str, World]] = _load()


def stress_table() -> str:
    """The stress worlds as a Markdown table (``docs/synthetic.md`` includes it)."""
    rows = ["| stress world | what it pushes |", "|---|---|"]
    rows += [f"| `{name}` | {world.description} |" for name, world in STRESS_WORLDS.items()]
    return "\n".join(rows) + "\n"
