"""Relative links between the Markdown files lead somewhere.

A user reading docs/spark.md followed a link to a performance.md that never existed, and
docs/online.md linked to a heading that had been renamed. Links outside code blocks are
checked: the file exists, and a ``#fragment`` into a Markdown file names one of its headings
(GitHub's anchors: lower case, punctuation dropped, spaces to hyphens).
"""

from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#+\s+(.+?)\s*$", re.MULTILINE)


def _markdown_files(root: Path) -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "*.md"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [root / name for name in listed]


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {
        re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        for heading in HEADING.findall(text)
    }


def broken_links(root: Path) -> list[str]:
    """``file: link`` for every relative link that leads nowhere."""
    broken = []
    for path in _markdown_files(root):
        text = FENCE.sub("", path.read_text(encoding="utf-8"))
        for link in LINK.findall(text):
            if re.match(r"[a-z][a-z0-9+.-]*:", link) or link.startswith("..."):
                continue  # a URL, or an elided example link
            target, _, fragment = link.partition("#")
            where = (path.parent / target) if target else path
            missing = not where.exists()
            if missing or (fragment and where.suffix == ".md" and fragment not in _anchors(where)):
                broken.append(f"{path.relative_to(root)}: {link}")
    return broken


def test_every_relative_link_between_markdown_files_resolves() -> None:
    assert broken_links(ROOT) == []


# Backticked dotted names in docstrings and docs, e.g. ``riskscore.policy.ALERT_FIELDS``.
# A docstring named a ``riskscore.baselines`` module that no longer exists, and the schema
# page a top-level ``riskscore.ALERT_FIELDS`` that lives in ``riskscore.policy``.
DOTTED_NAME = re.compile(r"`~?(riskscore(?:\.\w+)+)`")
NOT_PYTHON_NAMES = frozenset({"riskscore.account_features"})  # a Parquet metadata key


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def unresolved_names(root: Path) -> list[str]:
    """``file: name`` for every backticked ``riskscore.x.y`` that names nothing."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "riskscore/*.py", "docs/*.md"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return sorted(
        {
            f"{name}: {match}"
            for name in listed
            for match in DOTTED_NAME.findall((root / name).read_text(encoding="utf-8"))
            if match not in NOT_PYTHON_NAMES and not _resolves(match)
        }
    )


def test_every_dotted_riskscore_name_in_docstrings_and_docs_resolves() -> None:
    assert unresolved_names(ROOT) == []
