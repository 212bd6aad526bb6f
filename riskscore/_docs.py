"""Generated sections of the documentation: the text between two marker lines of a
Markdown file comes from code (registries), and a test fails when they drift (private)."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["generated_section", "replace_generated"]


def _markers(name: str) -> tuple[str, str]:
    return (
        f"<!-- {name}: generated from the code; do not edit -->",
        f"<!-- end of {name} -->",
    )


def generated_section(path: str | Path, name: str) -> str:
    """The current generated text of section ``name`` in a Markdown file."""
    begin, end = _markers(name)
    text = Path(path).read_text(encoding="utf-8")
    match = re.search(re.escape(begin) + r"\n\n(.*?)\n" + re.escape(end), text, re.DOTALL)
    if match is None:
        raise ValueError(f"{path} has no generated section {name!r} ({begin} ... {end})")
    return match.group(1)


def replace_generated(path: str | Path, name: str, content: str) -> bool:
    """Write ``content`` into section ``name`` of a Markdown file; True if it changed."""
    begin, end = _markers(name)
    doc = Path(path)
    text = doc.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{doc} has no generated section {name!r} ({begin} ... {end})")
    new = pattern.sub(lambda _: f"{begin}\n\n{content}\n{end}", text)
    if new != text:
        doc.write_text(new, encoding="utf-8")
    return new != text
