"""Markdown as reports write it: one rule for a table row, so that a cell's own text (a
policy's band name, a world's name, a platform's label) can never split a row or start a
new one, one rule for text that must be shown as written, never run as markup, and one for
text shown as code (a path) whatever backticks it holds."""

from __future__ import annotations

import re
from collections.abc import Iterable

from riskscore.io.schema import has_hidden_character

__all__ = [
    "markdown_code",
    "markdown_line",
    "markdown_row",
    "markdown_text",
]

#: Characters that start inline markup (code, emphasis, links, images, raw HTML, entities,
#: strikethrough, math) in CommonMark and GitHub Markdown.
_MARKUP = re.compile(r"([\\`*_\[\]<>&~$])")
_BACKTICKS = re.compile(r"`+")


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
    r""":func:`markdown_text` of :func:`visible_line` of ``value``: text from outside
    riskscore placed within a paragraph (a bundle's model name), shown as written (hidden
    characters by code point) and unable to start a heading or a block of its own.

    Examples
    --------
    >>> print(markdown_line("trees\n# Approved <b>"))
    trees # Approved \<b\>
    """
    return markdown_text(visible_line(value))


def visible_line(value: object) -> str:
    r"""``value``'s text on one line (line breaks written as spaces) with every other
    control, format or invisible character (:func:`~riskscore.io.schema.has_hidden_character`:
    a bidi override, a zero-width space) written as its code point, so that text from
    outside riskscore that no check has read (a bundle's metadata) cannot read as other
    text.

    Examples
    --------
    >>> print(visible_line("trees\u202e by\nQA\u200b"))
    trees[U+202E] by QA[U+200B]
    """
    text = " ".join(str(value).splitlines())
    if not has_hidden_character(text):
        return text
    return "".join(f"[U+{ord(ch):04X}]" if has_hidden_character(ch) else ch for ch in text)


def markdown_code(value: object) -> str:
    r"""``value``'s text as one inline code span, on one line: fenced by one backtick more
    than its longest run of backticks (so none of them closes the span early), with a
    space inside each fence when the text starts or ends with a backtick or a space
    (CommonMark takes one away on each side), and the text as :func:`visible_line` writes
    it (one line, hidden characters by code point). For text
    from outside riskscore shown as code (a data directory's path in the model card).

    Examples
    --------
    >>> print(markdown_code("data"), markdown_code("a`b <i>"), markdown_code("`x\ny"))
    `data` ``a`b <i>`` `` `x y ``
    """
    text = visible_line(value)
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(text)), default=0))
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
