"""What the command line writes to a terminal: no character that acts on the terminal."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["one_line", "shown_lines"]

#: C0 and C1 controls but the line break (the ESC that starts a terminal's escape sequence,
#: a carriage return that lets later text overwrite a line) and the bidirectional marks and
#: overrides, which reorder what a terminal shows after them.
_ACTING_BUT_LINE_BREAKS: Final = (
    r"\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
)
#: Those and the line break: what one line may not hold.
_ACTING: Final = re.compile(rf"[\n{_ACTING_BUT_LINE_BREAKS}]")
#: Those alone: what the lines of a command's result may not hold.
_ACTING_IN_LINES: Final = re.compile(rf"[{_ACTING_BUT_LINE_BREAKS}]")


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def one_line(text: str) -> str:
    """``text`` with every control character and bidirectional mark written as its Python
    escape: a path or value a user gave (``$'out\\e[2J'``, a name with a line break) is
    shown as written, and an error stays the one line the command line promises.

    Examples
    --------
    >>> one_line("no such events file: a\\x1b[2Jb.csv")
    'no such events file: a\\\\x1b[2Jb.csv'
    >>> one_line("a\\nb \\u202eexe.csv")
    'a\\\\nb \\\\u202eexe.csv'
    >>> one_line("événements: 2 000")
    'événements: 2 000'
    """
    return _ACTING.sub(_escaped, text)


def shown_lines(text: str) -> str:
    """:func:`one_line` for the lines of a command's printed result: line breaks kept.

    Examples
    --------
    >>> shown_lines("wrote o\\x1b[2J/alerts.parquet\\nwrote o\\r/x\\n")
    'wrote o\\\\x1b[2J/alerts.parquet\\nwrote o\\\\r/x\\n'
    """
    return _ACTING_IN_LINES.sub(_escaped, text)
