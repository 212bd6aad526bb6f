"""The batch ids (``Idempotency-Key``) the scoring service remembers, with the response
each had, so that a retried batch is not applied twice: the one rule of a key, as it comes
in and as a checkpoint keeps it (:func:`batch_id_problem`), and the keys read back from a
checkpoint (:func:`remembered_batches`), checked."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskscore._checks import is_sha256_hex
from riskscore.exceptions import CheckpointError
from riskscore.io.raw import show
from riskscore.io.schema import MIN_SENTENCE_WORDS, is_sentence

__all__ = [
    "MAX_BATCH_ID_CHARS",
    "BatchResult",
    "batch_id_problem",
    "remembered_batches",
]

#: Longest batch id (``Idempotency-Key``) accepted, in characters.
MAX_BATCH_ID_CHARS = 200
#: The statuses of a scored batch's response, which alone are remembered under its key.
_SCORED_STATUSES = frozenset({200, 422})


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one ``POST /v1/events`` did: HTTP status and JSON body."""

    status: int
    body: dict[str, Any]


#: Batch id -> its first response and the SHA-256 of its media type and body (None: kept by
#: a riskscore that did not record it; earlier ones hashed the body alone, so a retry
#: across that upgrade is refused as another body, never applied twice).
Batches = OrderedDict[str, tuple[BatchResult, str | None]]


def remembered_batches(extra: Mapping[str, Any], path: object) -> Batches:
    """The batch ids kept in a checkpoint's ``extra`` (``batches``: ``[id, status, body,
    body sha256]`` each), checked.

    Raises
    ------
    CheckpointError
        Naming ``path``: ``batches`` is not a list of such entries.
    """
    batches = extra.get("batches", [])
    out: Batches = OrderedDict()
    for i, entry in enumerate(batches if isinstance(batches, list) else [None]):
        if not (
            isinstance(entry, list)
            and len(entry) in (3, 4)
            and isinstance(entry[0], str)
            and type(entry[1]) is int
            and isinstance(entry[2], dict)
            and (len(entry) == 3 or is_sha256_hex(entry[3]))
        ):
            raise CheckpointError(
                f"{path}: checkpoint extra 'batches' must be a list of [id, status, body, "
                f"body sha256], found {show(entry if isinstance(batches, list) else batches)}"
            )
        # what a batch scored is remembered (200, or 422 with events refused), under a key
        # that came in by the rule of keys; another status is sent back as the response
        problem = batch_id_problem(entry[0])
        if problem is not None:
            problem = f"its batch id {problem}"
        elif entry[0] in out:  # the later entry won in silence
            problem = f"batch id {show(entry[0])} is kept twice"
        elif entry[1] not in _SCORED_STATUSES:
            problem = f"status {show(entry[1])} is not one a scored batch answers (200, 422)"
        if problem is not None:
            raise CheckpointError(f"{path}: checkpoint extra 'batches', entry {i}: {problem}")
        out[entry[0]] = (BatchResult(entry[1], entry[2]), entry[3] if len(entry) == 4 else None)
    return out


def batch_id_problem(batch_id: str) -> str | None:
    """Why ``batch_id`` (an ``Idempotency-Key``, kept in the checkpoint and sent back with
    its response) is refused, as a clause after its name; None when it is accepted: 1 to
    :data:`MAX_BATCH_ID_CHARS` printable characters, never a sentence (it may be message
    content, so it is not shown)."""
    if not batch_id or len(batch_id) > MAX_BATCH_ID_CHARS or not batch_id.isprintable():
        return f"must be 1 to {MAX_BATCH_ID_CHARS} printable characters"
    if is_sentence(batch_id):
        return (
            f"is text of {MIN_SENTENCE_WORDS} or more words, a sentence (not shown: it may be "
            "message content)"
        )
    return None
