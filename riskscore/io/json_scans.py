"""Scans of a JSON lines file's bytes before Arrow reads it (private): compiled passes that
tell whether Arrow would read the file as the line by line reader does, and within bounded
memory and without crashing; when not, :func:`riskscore.io.jsonl.read_jsonl` reads it line
by line, which names each problem."""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk
from riskscore.io.schema import MAX_JSON_LINE_LENGTH

__all__ = ["has_long_exponent", "line_blocks", "more_names_than", "scan_lines"]

#: Bytes of a JSON lines file scanned at a time.
BLOCK_BYTES: Final = 1 << 24


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def scan_lines(buf: npt.NDArray[np.uint8], max_length: int, max_brackets: int,
               has_object: npt.NDArray[np.bool_]) -> int:  # fmt: skip
    """The lines of ``buf`` (ended by ``\\n``, the last one perhaps not): whether each holds
    a ``{`` (into ``has_object``), and their number; -1 when a line is longer than
    ``max_length`` bytes, holds more than ``max_brackets`` brackets, opens brackets it does
    not close (or the reverse: an object split over lines, which Arrow reads as one row
    where the line reader refuses both lines) or a ``\\r`` not before its ``\\n`` (Arrow ends
    a line there: two objects on one line). Brackets in strings count too: a line with
    unbalanced ones in a value goes to the line reader, which reads it right."""
    n = 0
    start = 0
    brackets = 0
    opens = 0
    balance = 0
    size = buf.shape[0]
    for i in range(size + 1):
        c = buf[i] if i < size else 10
        if c == 10:
            if i == size and start == size:
                break  # the block ended with a line break: no last line
            if i - start > max_length or brackets > max_brackets or balance != 0:
                return -1
            has_object[n] = opens > 0
            n += 1
            start = i + 1
            brackets = 0
            opens = 0
        elif c == 123:  # {
            brackets += 1
            opens += 1
            balance += 1
        elif c == 91:  # [
            brackets += 1
            balance += 1
        elif c == 125 or c == 93:  # } ]
            balance -= 1
        elif c == 13 and i + 1 < size and buf[i + 1] != 10:  # a lone CR ends a line for Arrow
            return -1
    return n


#: A JSON number with an exponent of five digits or more: Arrow's text-to-decimal parse
#: (pyarrow 26) crashes the process on a negative one of seven digits
#: (``1767256200e-9999999``); the line by line reader reads such a time exactly.
_LONG_EXPONENT: Final = re.compile(rb"[0-9.][eE][+-]?[0-9]{5,}")


def has_long_exponent(path: Path) -> bool:
    """Whether the file at ``path`` holds a number written with a long exponent (anything
    that looks like one, in any field: a false alarm only costs the faster reader)."""
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return _LONG_EXPONENT.search(data) is not None


#: Slots of the table of field name hashes :func:`_count_new_names` fills (a power of two,
#: over twice the names counted, so that probing stays short).
_NAME_SLOTS: Final = 1 << 15


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _count_new_names(buf: npt.NDArray[np.uint8], slots: npt.NDArray[np.uint64], seen: int,
                     most: int) -> int:  # fmt: skip
    """The distinct field names (object keys at any depth: a string followed by ``:``)
    met so far, ``seen`` before ``buf`` (whole lines) and those of ``buf`` added, each by
    the 64-bit FNV-1a hash of its bytes in the open-addressing table ``slots`` (0: empty);
    stops past ``most``. A hash shared by two names counts them once (a lower bound)."""
    mask = np.uint64(slots.shape[0] - 1)
    in_string = escaped = False
    opened = closed = -1  # the last string's quotes; closed: -1 once something follows it
    for i in range(buf.shape[0]):
        c = buf[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == 92:  # backslash
                escaped = True
            elif c == 34:  # the closing quote
                in_string = False
                closed = i
            elif c == 10:  # a line ends (never inside a JSON string): it starts afresh
                in_string = escaped = False
        elif c == 34:
            in_string = True
            opened, closed = i, -1
        elif c == 58:  # ':' right after a string: a name
            if closed >= 0:
                h = np.uint64(14695981039346656037)
                for at in range(opened + 1, closed):
                    h = (h ^ np.uint64(buf[at])) * np.uint64(1099511628211)
                k = h | np.uint64(1)  # never 0, the empty slot
                j = k & mask
                while slots[j] != 0 and slots[j] != k:
                    j = (j + np.uint64(1)) & mask
                if slots[j] == 0:
                    slots[j] = k
                    seen += 1
                    if seen > most:
                        return seen
            closed = -1
        elif c != 32 and c != 9 and c != 13:
            closed = -1
    return seen


def more_names_than(path: Path, most: int) -> bool:
    """Whether the JSON lines file at ``path`` gives more than ``most`` distinct field
    names (at any depth). Arrow makes a column (or struct field) of each name, null in
    every line without it: 5 names of their own a line made a 4.5 MB file take 12 GB."""
    slots = np.zeros(max(_NAME_SLOTS, 2 * most), dtype=np.uint64)
    seen = 0
    for chunk in line_blocks(path, MAX_JSON_LINE_LENGTH):
        if chunk is None:  # a line too long for Arrow too: the line reader names it
            return True
        seen = _count_new_names(np.frombuffer(chunk, dtype=np.uint8), slots, seen, most)
        if seen > most:
            return True
    return False


def line_blocks(path: Path, max_line: int | None = None) -> Iterator[bytes | None]:
    """The bytes of the file at ``path`` in blocks of about :data:`BLOCK_BYTES` that end
    at a line break (the last perhaps at the end of the file), none empty; None, and no
    more, at a line longer than ``max_line`` bytes (None: no limit)."""
    carry = b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(BLOCK_BYTES)
            data = carry + block
            cut = len(data) if not block else data.rfind(b"\n") + 1
            if block and cut == 0:  # no line ends in a block: one long line
                if max_line is not None and len(data) > max_line:
                    yield None
                    return
                carry = data
                continue
            chunk, carry = data[:cut], data[cut:]
            if chunk:
                yield chunk
            if not block:
                return
