"""Markdown as reports write it: one rule for a table row, so that a cell's own text (a
policy's band name, a world's name, a platform's label) can never split a row or start a
new one, and one rule for text that must be shown as written, never run as markup."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["markdown_line", "markdown_row", "markdown_text"]

#: Characters that start inline markup (code, emphasis, links, images, raw HTML, entities,
#: strikethrough, math) in CommonMark and GitHub Markdown.
_MARKUP = re.compile(r"([\\`*_\[\]<>&~$])")


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


def markdown_text(value: object) -> str:
    r"""``value``'s text with every character that would start inline markup
    backslash-escaped, so that a Markdown renderer shows it as written: for text from
    outside riskscore (a policy's band names) placed in a report. Line structure and
    ``|`` are :func:`markdown_row`'s concern.

    Examples
    --------
    >>> print(markdown_text("[x](javascript:alert(1)) <b> 13-15"))
    \[x\](javascript:alert(1)) \<b\> 13-15
    """
    return _MARKUP.sub(r"\\\1", str(value))


def markdown_line(value: object) -> str:
    r""":func:`markdown_text` of ``value`` with its line breaks written as spaces: text from
    outside riskscore placed within a paragraph (a bundle's model name), shown as written
    and unable to start a heading or a block of its own.

    Examples
    --------
    >>> print(markdown_line("trees\n# Approved <b>"))
    trees # Approved \<b\>
    """
    return markdown_text(" ".join(str(value).splitlines()))
