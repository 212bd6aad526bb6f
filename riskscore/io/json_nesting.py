"""The nesting of JSON text, read without parsing it (private): how deep its arrays and
objects go, and where an array or object ends, by its brackets outside strings. One
compiled scan, without recursion whatever the depth: the depth check of a JSON line
(:func:`riskscore.io.jsonl.line_problem`) and the end of an element of a request's array
nested past the JSON parser's stack (:mod:`riskscore.serve.body`)."""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk

__all__ = ["json_depth", "nested_value_end"]

#: Characters of text scanned for nesting at a time (one byte each).
_NESTING_CHUNK = 1 << 20


def _nesting(text: str, start: int = 0, *, to_close: bool = False) -> tuple[int, int | None]:
    """The deepest nesting of arrays and objects in ``text[start:]`` (brackets inside
    strings are not counted), and, with ``to_close``, where the value that starts at
    ``text[start]`` ends (just after its closing bracket; None when it is not closed): the
    scan stops there. The one reading of nesting (:func:`json_depth`,
    :func:`nested_value_end`), without recursion whatever the depth, compiled
    (:func:`_scan_nesting`): in Python, a body of 16 MB of brackets held the scorer's
    thread for seconds. The text is scanned a chunk at a time, one byte a character (each
    character beyond Latin-1 a ``?``: only ASCII brackets, quotes and backslashes count)."""
    state = np.zeros(4, dtype=np.int64)  # depth, deepest, in a string, after a backslash
    for at in range(start, len(text), _NESTING_CHUNK):
        chunk = text[at : at + _NESTING_CHUNK].encode("latin-1", "replace")
        end = _scan_nesting(np.frombuffer(chunk, dtype=np.uint8), state, to_close)
        if end >= 0:
            return int(state[1]), at + end
    return int(state[1]), None


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _scan_nesting(buf: npt.NDArray[np.uint8], state: npt.NDArray[np.int64],
                  to_close: bool) -> int:  # fmt: skip
    """Scan ``buf`` on from ``state`` (depth, deepest, in a string, after a backslash;
    updated in place); with ``to_close``, stop where the depth comes back to 0 after a
    closing bracket and return the position after it, else -1."""
    depth, deepest, in_string, escaped = state[0], state[1], state[2], state[3]
    found = -1
    for i in range(buf.shape[0]):
        c = buf[i]
        if in_string:
            if escaped:
                escaped = 0
            elif c == 92:  # backslash
                escaped = 1
            elif c == 34:  # "
                in_string = 0
        elif c == 34:
            in_string = 1
        elif c == 91 or c == 123:  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif c == 93 or c == 125:  # ] }
            depth -= 1
            if to_close and depth == 0:
                found = i + 1
                break
    state[0], state[1], state[2], state[3] = depth, deepest, in_string, escaped
    return found


def json_depth(line: str) -> int:
    """Deepest nesting of arrays and objects in one JSON line (brackets inside strings
    are not counted): :func:`riskscore.io.jsonl.line_problem`'s depth check, called on
    lines with many brackets only.

    Examples
    --------
    >>> json_depth('[{"a": "[[["}]'), json_depth("")
    (2, 0)
    """
    return _nesting(line)[0]


def nested_value_end(text: str, start: int) -> int | None:
    """Where the JSON array or object that starts at ``text[start]`` ends (just after its
    closing bracket), by its brackets outside strings; None when they are not closed.

    For a value nested too deeply for the parser (which raises ``RecursionError``): its
    extent, found without recursion, so that it is refused alone by
    :func:`line_problem`, as a JSON line of it is.

    Examples
    --------
    >>> nested_value_end('[{"a": "]"}], 2', 0), nested_value_end("[[]", 0)
    (12, None)
    """
    return _nesting(text, start, to_close=True)[1]
