"""Markdown tables as reports write them: one rule for a row, so that a cell's own text (a
policy's band name, a world's name, a platform's label) can never split a row or start a
new one."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["markdown_row"]


def markdown_row(cells: Iterable[object]) -> str:
    r"""One row of a Markdown table: each cell's text with ``|`` escaped and line breaks
    written as spaces.

    Examples
    --------
    >>> markdown_row(["13|15", 0.5, "two\nlines"])
    '| 13\\|15 | 0.5 | two lines |'
    """
    texts = (" ".join(str(cell).replace("|", "\\|").splitlines()) for cell in cells)
    return "| " + " | ".join(texts) + " |"
