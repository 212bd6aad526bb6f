"""The input side of ``riskscore stream``: lines read from stdin with a bound on their
length, decoded as UTF-8 whatever the locale, each parsed into one event or refused.

A refusal is a :class:`~riskscore.exceptions.SchemaError` naming what is wrong with the
line (never quoting it: a line may be message content); ``riskscore stream`` counts it
and goes on.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, TextIO

from riskscore.exceptions import SchemaError
from riskscore.io.jsonl import line_problem, loads_event, not_an_object
from riskscore.io.schema import MAX_JSON_LINE_LENGTH
from riskscore.io.utf8_lines import not_utf8

__all__ = [
    "MAX_LINE_CHARS",
    "bounded_lines",
    "check_not_standard_streams",
    "cut_short_text",
    "file_format_hint",
    "marked_unfinished",
    "parse_line",
    "utf8_stdin",
]

#: Longest input line parsed (characters); a longer line is counted and skipped unparsed.
#: A schema v1 event takes a few hundred characters.
MAX_LINE_CHARS = MAX_JSON_LINE_LENGTH
#: Characters read for one line at most: the limit and a ``\r\n`` line break.
_READ_CHARS = MAX_LINE_CHARS + 2


#: How a binary file's first bytes read as text (stdin keeps bytes that are not UTF-8 as
#: lone surrogates, :func:`utf8_stdin`), and what the file is.
_BINARY_STARTS: Final = (
    ("PAR1", "a Parquet file"),
    ("ARROW1", "an Arrow file"),
    ("PK\x03\x04", "a zip archive"),
    ("\x1f\udc8b", "a gzip-compressed file"),
)


def file_format_hint(first_line: str) -> str | None:
    """What the input is, when its first line shows it is a binary file rather than JSON
    lines (every line of it would be refused, each with an error of its own)."""
    for start, what in _BINARY_STARTS:
        if first_line.startswith(start):
            return (
                f"the input looks like {what}, not JSON lines: `riskscore stream` reads one "
                "JSON event per line (`riskscore score FILE` reads Parquet, Arrow, CSV and "
                "JSON-lines files)"
            )
    return None


def parse_line(line: str) -> dict[str, Any]:
    """The event of one input line (a JSON object), or a :class:`SchemaError` saying why
    the line is not one: bytes that are not UTF-8, nesting too deep (as
    :func:`riskscore.read_messages` refuses it), not JSON, or JSON of another kind."""
    problem = not_utf8(line) or line_problem(line)
    if problem is not None:
        raise SchemaError(f"the line {problem}")
    event = loads_event(line)
    if not isinstance(event, dict):  # the line is not quoted: it may be message content
        raise SchemaError(f"the line {not_an_object(event)}")
    return event


def cut_short_text(checkpoint: Path) -> str:
    """What is said of the input's last line when it has no line break (:func:`_unfinished`),
    with a checkpoint: perhaps a file still being written, whose writer may finish the line
    (valid JSON already, or not) and go on. Applied and counted as processed, the finished
    line no longer matched the checkpoint's fingerprint and every resume was refused (or,
    cut short, its event was never applied); it is neither applied nor counted instead."""
    return (
        "the last line has no line break, so it may be unfinished (still being written): not "
        f"applied nor counted as processed; a stream resumed from {checkpoint} reads it, whole"
    )


def _unfinished(line: str) -> bool:
    """Whether ``line`` (of :func:`bounded_lines`) has no line break (a line cut for its
    length has none either, but is longer than :data:`MAX_LINE_CHARS`: refused for that,
    whole or not)."""
    return not line.endswith("\n") and len(line) < _READ_CHARS


def marked_unfinished(lines: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Each line, and whether it is the input's last and has no line break, as the last
    line of a file still being written (read from a file or stdin, a line without one is
    the last: the next is looked for only then, and found at once at the end of input).

    Examples
    --------
    >>> list(marked_unfinished(["a\\n", "b", "c"]))
    [('a\\n', False), ('b', False), ('c', True)]
    """
    items = iter(lines)
    for line in items:
        while _unfinished(line):
            after = next(items, None)
            if after is None:
                yield line, True
                return
            yield line, False
            line = after
        yield line, False


def bounded_lines(stream: TextIO) -> Iterator[str]:
    """The lines of a text stream, each cut after ``MAX_LINE_CHARS + 2`` characters (room
    for a ``\\r\\n`` line break; the rest of a longer line is read in parts and dropped,
    never held whole), so that a line without a line break cannot grow the process without
    bound; a cut line has no line break and is longer than :data:`MAX_LINE_CHARS`, and so
    is refused."""
    while line := stream.readline(_READ_CHARS):
        if len(line) == _READ_CHARS and not line.endswith("\n"):
            while rest := stream.readline(_READ_CHARS):
                if rest.endswith("\n"):
                    break
        yield line


def utf8_stdin(stream: TextIO) -> TextIO:
    """``stream`` (stdin) read as UTF-8 whatever the locale, split at ``\\n`` only, with
    bytes that are not UTF-8 kept as lone surrogates so that only their line is refused
    (:func:`~riskscore.io.utf8_lines.not_utf8`): decoded strictly, the first such byte
    ended the stream, and in another locale's encoding ids read as other accounts than
    batch reads. A stream that is not the interpreter's (a test's ``StringIO``) or was
    already read is left as it is.
    """
    if isinstance(stream, io.TextIOWrapper):
        with contextlib.suppress(io.UnsupportedOperation):  # already read: too late
            stream.reconfigure(encoding="utf-8", errors="surrogateescape", newline="\n")
    return stream


def _regular_file(stream: TextIO) -> os.stat_result | None:
    """The status of the regular file ``stream`` reads or writes (a shell's ``< FILE`` or
    ``> FILE``), or None: a pipe, a terminal, a device or a stream with no file (a test's
    ``StringIO``)."""
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    return status if stat.S_ISREG(status.st_mode) else None


def check_not_standard_streams(
    files: Mapping[str, Path | None], stdin: TextIO | None, stdout: TextIO | None
) -> None:
    """Refuse, before any work, stdin or stdout closed (None: a process started with
    ``<&-`` or ``>&-``; each was a traceback), a file ``riskscore stream`` writes
    (``files``: option to path, None when not given) that is the file on stdin or on
    stdout, and stdout that is the file on stdin, by any path. Shadow alerts appended to
    the events being read were read back as events (and the input file changed, with exit
    status 0); alerts that stdout wrote into the checkpoint or queue went under its SQLite
    pages, lost with exit status 0; stdout appended to the input fed the alerts back as
    events.

    Raises
    ------
    SchemaError
        Naming the option, the file and the stream; the CLI prints one line and exits
        with status 2.
    """
    if stdin is None:
        raise SchemaError(
            "stdin is closed: riskscore stream reads the events on stdin "
            "(riskscore stream < events.jsonl)"
        )
    if stdout is None:
        raise SchemaError(
            "stdout is closed: riskscore stream writes the alerts on stdout; send it to a "
            "file or a pipe (riskscore stream < events.jsonl > alerts.jsonl)"
        )
    read, written = _regular_file(stdin), _regular_file(stdout)
    if read is not None and written is not None and os.path.samestat(read, written):
        raise SchemaError(
            "stdout is the file on stdin: the alerts would be written into the events being "
            "read; send stdout to another file (riskscore stream < events.jsonl > alerts.jsonl)"
        )
    streams = {"stdin, the events being read": read, "stdout, where the alerts go": written}
    for option, path in files.items():
        if path is None:
            continue
        try:
            status = os.stat(path)
        except OSError:  # not there yet: no stream's file (one it cannot open fails later)
            continue
        for name, stream in streams.items():
            if stream is not None and os.path.samestat(stream, status):
                raise SchemaError(
                    f"{option} {path} is the file on {name}: give {option} a file of its own"
                )
