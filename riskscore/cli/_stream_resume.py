"""What a resumed ``riskscore stream`` reads from its checkpoint: the input lines it processed
(their count and fingerprint) and the counts it carries on.

A resumed stream skips as many lines as its checkpoint processed, so it must be fed the
same input from its start. Fed anything else (``tail -f`` of the file, which replays only
its last lines; another day's file), the skip would throw away events never applied, in
silence. The checkpoint therefore keeps the SHA-256 of the lines it processed
(``extra["lines_sha256"]``), and a resumed stream checks the lines it skips against it
before it applies anything. The hash covers each line as read (its line break included),
and costs about half a microsecond a line.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from typing import Any, Final, TextIO

from riskscore.exceptions import CheckpointError
from riskscore.io.events import MAX_IGNORED_NAME_CHARS, OTHER_NAMES, reported_name
from riskscore.io.input_names import quoted_name
from riskscore.io.raw import ONE_WORD_MESSAGE_RE
from riskscore.online import OnlineScorer
from riskscore.online.persist import count_of

__all__ = [
    "FINGERPRINT_KEY",
    "SHADOW_BYTES_KEY",
    "LineFingerprint",
    "name_counts",
    "resumed_counts",
    "resumed_lines",
    "shadow_length",
    "stored_fingerprint",
    "trim_shadow",
]

#: Key of the fingerprint in a checkpoint's ``extra``.
FINGERPRINT_KEY: Final = "lines_sha256"
#: Key of the --shadow-out file's length in bytes in a checkpoint's ``extra``.
SHADOW_BYTES_KEY: Final = "shadow_out_bytes"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class LineFingerprint:
    """A running SHA-256 over input lines."""

    __slots__ = ("_hash",)

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, line: str) -> None:
        """Fold one line in (a lone surrogate, as bytes that are not UTF-8 are read, too)."""
        self._hash.update(line.encode("utf-8", "surrogatepass"))

    def hexdigest(self) -> str:
        """The fingerprint of the lines added so far."""
        return self._hash.hexdigest()

    def check(self, expected: str | None, lines: int, source: object) -> None:
        """Raise :class:`~riskscore.exceptions.CheckpointError` unless the lines added so far
        (``lines`` of them) have the fingerprint ``expected`` (None: a checkpoint written
        before fingerprints, not checked)."""
        if expected is None or self.hexdigest() == expected:
            return
        raise CheckpointError(
            f"{source}: the input's first {lines} lines are not the {lines} lines this "
            "checkpoint processed (their SHA-256 differs): a resumed stream skips that many "
            "lines, so it must be fed the same input from its start (a growing file: "
            "`tail -n +1 -f FILE`, not `tail -f FILE`); nothing was applied and the "
            "checkpoint is unchanged. Give a new --checkpoint file to score this input afresh"
        )


def stored_fingerprint(extra: dict[str, Any], path: object) -> str | None:
    """The fingerprint a checkpoint's ``extra`` holds (None when it has none), checked."""
    value = extra.get(FINGERPRINT_KEY)
    if value is None:
        return None
    if not isinstance(value, str) or not _HEX_DIGEST.fullmatch(value):
        raise CheckpointError(
            f"{path}: checkpoint extra {FINGERPRINT_KEY!r} must be 64 lowercase hexadecimal "
            "digits (a SHA-256)"
        )
    return value


def resumed_counts(extra: dict[str, Any], path: object) -> tuple[int, dict[str, int]]:
    """Lines rejected before a restart and their reasons, checked (errors name ``path``)."""
    rejected = count_of(extra.get("rejected", 0), path, "checkpoint extra 'rejected'")
    return rejected, name_counts(extra, "reasons", path)


def name_counts(extra: dict[str, Any], key: str, path: object) -> dict[str, int]:
    """Counts by name kept in a checkpoint's extra (rejection reasons, ignored fields),
    checked."""
    counts = extra.get(key, {})
    if not isinstance(counts, dict) or not all(isinstance(k, str) for k in counts):
        raise CheckpointError(f"{path}: checkpoint extra {key!r} must map names to counts >= 0")
    out: dict[str, int] = {}
    for name, n in counts.items():
        count = count_of(n, path, f"checkpoint extra {key!r}: the count of {quoted_name(name)}")
        if name != OTHER_NAMES and not reported_name(name):  # as count_ignored keeps names
            if not reported_name(ONE_WORD_MESSAGE_RE.sub("x", name)):
                raise CheckpointError(
                    f"{path}: checkpoint extra {key!r} holds a name of {len(name)} characters "
                    f"that riskscore stream never keeps (over {MAX_IGNORED_NAME_CHARS} "
                    "characters, not printable, or a sentence, which may be message content; "
                    "not shown)"
                )
            name = OTHER_NAMES  # kept by name before such scripts were read as text
        out[name] = out.get(name, 0) + count
    return out


def resumed_lines(scorer: OnlineScorer, path: object) -> int:
    """The input lines a checkpoint had processed, checked against the state it holds: each
    event applied or set aside took a line, and so did each rejected line. A count below
    that (or none, in a checkpoint of events written by the API or ``riskscore serve``)
    would apply lines a second time."""
    extra = scorer.checkpoint_extra
    held = scorer.n_events + scorer.n_broadcast
    if "lines" not in extra:
        if held:
            raise CheckpointError(
                f"{path}: holds {held} events but no count of input lines (extra 'lines'): "
                "not a checkpoint of riskscore stream, whose restart skips the lines already "
                "processed; give a new --checkpoint file"
            )
        return 0
    lines = count_of(extra["lines"], path, "checkpoint extra 'lines'")
    rejected, _ = resumed_counts(extra, path)
    if lines < held + rejected:
        raise CheckpointError(
            f"{path}: checkpoint extra 'lines' is {lines}, fewer than the lines its state "
            f"took ({held} events and {rejected} rejected lines): the lines after it would "
            "be applied a second time; give a new --checkpoint file"
        )
    return lines


def shadow_length(stream: TextIO) -> int | None:
    """The length in bytes of the regular file the shadow alerts are appended to (flushed
    first), or None when it is not one (a FIFO: nothing written can be taken back)."""
    stream.flush()
    found = os.fstat(stream.fileno())
    return found.st_size if stat.S_ISREG(found.st_mode) else None


def trim_shadow(stream: TextIO, extra: dict[str, Any], path: object, checkpoint: object) -> None:
    """Cut the shadow alerts file back to its length when the checkpoint was saved
    (``extra[SHADOW_BYTES_KEY]``): the shadow alerts of the lines after it, which the
    resumed stream writes again, are not kept twice (the alerts on stdout cannot be taken
    back: a consumer drops them by their line, as the docs say).

    Raises
    ------
    CheckpointError
        The file is shorter than it was then: not that run's shadow alerts file (or cut).
    """
    if extra.get(SHADOW_BYTES_KEY) is None:
        return  # saved without --shadow-out (or a FIFO), or by an earlier version
    length = count_of(extra[SHADOW_BYTES_KEY], checkpoint, f"checkpoint extra {SHADOW_BYTES_KEY!r}")
    found = shadow_length(stream)
    if found is None:
        return
    if found < length:
        raise CheckpointError(
            f"{path} holds {found} bytes, fewer than the {length} it held when {checkpoint} was "
            "saved: it is not that run's --shadow-out file (or it was cut), so the shadow "
            "alerts written since cannot be told apart; give that file, or a new checkpoint file"
        )
    os.ftruncate(stream.fileno(), length)
