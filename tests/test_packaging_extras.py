"""Review of the packaging: each extra installed alone, as a platform installs it.

A fresh ``pip install 'riskscore-metadata[EXTRA]'`` has the core, that extra and what they
require, nothing of the test environment: what a library of the extra needs at run time must
come with the extra. Checked against the installed libraries' own metadata (no download).
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _pulled_in(requirement: Requirement) -> set[str]:
    """The distributions (canonical names) ``requirement`` installs one level down: its
    own, and those its unconditional requirements and requested extras name."""
    names = {_canonical(requirement.name)}
    for spec in requires(requirement.name) or ():
        dependency = Requirement(spec)
        marker = dependency.marker
        if marker is None or any(marker.evaluate({"extra": e}) for e in requirement.extras):
            names.add(_canonical(dependency.name))
    return names


def _extra_of(distribution: str, extra: str) -> set[str]:
    """The distributions ``distribution``'s own ``extra`` adds."""
    found = set()
    for spec in requires(distribution) or ():
        dependency = Requirement(spec)
        if dependency.marker is not None and dependency.marker.evaluate({"extra": extra}):
            found.add(_canonical(dependency.name))
    return found


def test_the_spark_extra_installs_what_pysparks_map_in_arrow_needs() -> None:
    """Was: ``spark = ["pyspark>=4.0,<4.4"]``. ``score_events`` runs ``mapInArrow``, which
    pyspark refuses without pandas (pyspark's ``sql`` extra), though riskscore never converts
    to pandas: on a fresh install of the extra, the first ``score_events`` failed with
    ``PySparkImportError: [PACKAGE_NOT_INSTALLED] Pandas >= 2.2.0 must be installed``."""
    try:
        needed = _extra_of("pyspark", "sql")
    except PackageNotFoundError:
        pytest.skip("pyspark is not installed (the dev extra installs it)")
    assert needed, "pyspark's sql extra requires nothing any more: revisit the spark extra"
    installed = {_canonical(Requirement(s).name) for s in PROJECT["dependencies"]}
    for spec in PROJECT["optional-dependencies"]["spark"]:
        installed |= _pulled_in(Requirement(spec))
    assert sorted(needed - installed) == []
