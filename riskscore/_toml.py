"""Reading a TOML file a user gives (private): alert policies, vignettes and synthetic
worlds. One rule for all three: a regular file (a FIFO would block the read) of at most a
given size, UTF-8 (a leading byte order mark, which Windows editors write, is dropped),
parsed by the standard library's :mod:`tomllib`, with nesting too deep for its recursive
parser refused; every failure is the caller's error naming the file, never a
``RecursionError`` or ``UnicodeDecodeError``."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

__all__ = ["loads_toml", "read_toml"]

#: The byte order mark (U+FEFF) that some editors write first; dropped, not TOML.
BOM = "\ufeff"
#: Builds the caller's error from a reason (the caller's error names the file).
Refuse = Callable[[str], Exception]

#: Most parts of a dotted key or table name (``a.b.c`` has 3): tomllib's memory grows
#: with the square of their number, and one key of 20,000 parts in a 42 KB policy took
#: 2.5 GB (100,000 parts: the process was killed). Policies, worlds and vignettes use 3.
MAX_DOTTED_PARTS: Final = 32
_DOTTED: Final = re.compile(
    r"""(?:(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')[ \t]*\.[ \t]*)""" + f"{{{MAX_DOTTED_PARTS}}}"
)


def read_toml(entry: Traversable, *, max_bytes: int, what: str, refuse: Refuse) -> dict[str, Any]:
    """The mapping in the TOML file ``entry`` (a path or a packaged resource), a ``what``
    (``"policy"``) of at most ``max_bytes`` bytes; ``refuse(reason)`` is raised otherwise.

    Raises
    ------
    FileNotFoundError
        No file at ``entry``.
    Exception
        ``refuse(reason)``: not a regular file, too large, not UTF-8 or not TOML.
    """
    if not entry.is_file():  # a folder, or a FIFO that would block the read
        if isinstance(entry, Path) and not entry.exists():
            raise FileNotFoundError(f"{what} file {str(entry)!r} does not exist")
        raise refuse("not a regular file")
    with entry.open("rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise refuse(f"the file is larger than {max_bytes} bytes; a {what} is a few kilobytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(
            f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from None
    return loads_toml(text, what=what, refuse=refuse)


def loads_toml(text: str, *, what: str, refuse: Refuse) -> dict[str, Any]:
    """The mapping in TOML ``text`` (after a leading byte order mark); ``refuse(reason)`` is
    raised when it is not TOML.

    Examples
    --------
    >>> loads_toml("a = [1, 2]", what="policy", refuse=ValueError)
    {'a': [1, 2]}
    >>> loads_toml("\\ufeffa = 1", what="policy", refuse=ValueError)
    {'a': 1}
    >>> loads_toml("a = " + "[" * 5000 + "]" * 5000, what="policy", refuse=ValueError)
    Traceback (most recent call last):
    ValueError: not a policy: arrays or tables nested too deeply to read
    >>> loads_toml("a = " + "9" * 5000, what="policy", refuse=ValueError)
    Traceback (most recent call last):
    ValueError: not valid TOML (Exceeds the limit (4300 digits) for integer string \
conversion: value has 5000 digits)
    """
    if _DOTTED.search(text) is not None:
        raise refuse(
            f"not a {what}: a dotted key or table name of more than {MAX_DOTTED_PARTS} parts"
        )
    try:  # a leading byte order mark is what Windows editors write before UTF-8 text
        return tomllib.loads(text.removeprefix(BOM))
    except MemoryError:
        raise refuse(f"not a {what}: too large to read") from None
    except tomllib.TOMLDecodeError as exc:
        raise refuse(f"not valid TOML ({exc})") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise refuse(f"not a {what}: arrays or tables nested too deeply to read") from None
    except ValueError as exc:  # an integer of more digits than int() reads (4,300)
        reason = str(exc).split(";")[0]  # not Python's advice to raise its limit
        raise refuse(f"not valid TOML ({reason})") from None
