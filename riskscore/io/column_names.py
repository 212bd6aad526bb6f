"""Names that resemble a schema v1 column: a misspelling of one that is not given
(refused: ignored, ``recipent_age`` would read every age as unknown), or the same column
written with other case or separators beside it (refused: which holds the column cannot be
told). :func:`riskscore.io.validate.check_misspelt_names` applies both, batch and online.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from typing import Final

from rapidfuzz.distance import OSA

from riskscore.io.content_names import NAME_CACHE_SIZE
from riskscore.io.schema import SCHEMA_COLUMNS, plain_name

__all__ = ["misspelt_column", "variant_of"]


def _folded(name: str) -> str:
    """A column name without case or separators (``Recipient-Age`` is ``recipientage``)."""
    return re.sub(r"[\W_]+", "", plain_name(name)).casefold()


#: The schema v1 columns as :func:`_verdict` compares names with them (:func:`_folded`).
_FOLDED_COLUMNS: Final = tuple(
    (column, _folded(column), max(1, (len(_folded(column)) - 4) // 5)) for column in SCHEMA_COLUMNS
)


#: Names no longer than this may resemble a column (the longest is 23 characters).
_MAX_RESEMBLING_CHARS: Final = 64


@lru_cache(maxsize=NAME_CACHE_SIZE)
def _verdict(name: str) -> tuple[str | None, str | None]:
    """The schema v1 column ``name`` writes with other case or separators, and the one it
    looks like a misspelling of (either None): each name's verdict kept, in a bounded cache
    (:data:`~riskscore.io.content_names.NAME_CACHE_SIZE`), for every event of a stream may carry a
    field riskscore does not read. Only names of at most :data:`_MAX_RESEMBLING_CHARS`
    characters come here, so the cache holds no long ones."""
    folded = _folded(name)
    variant = next((column for column, target, _ in _FOLDED_COLUMNS if folded == target), None)
    for column, target, limit in _FOLDED_COLUMNS:
        # letters added, dropped, changed or two neighbours swapped (optimal string
        # alignment), cut off beyond the limit
        if OSA.distance(folded, target, score_cutoff=limit) <= limit:
            return variant, column
    return variant, None


def _names_verdict(name: str) -> tuple[str | None, str | None]:
    """:func:`_verdict` of ``name``, and none for a schema v1 column or a long name."""
    if name in SCHEMA_COLUMNS or len(name) > _MAX_RESEMBLING_CHARS:
        return None, None
    return _verdict(name)


def variant_of(name: str) -> str | None:
    """The schema v1 column ``name`` writes with other case or separators (``Sender-ID`` is
    ``sender_id``); None for the column itself and for any other name.

    Examples
    --------
    >>> variant_of("Sender_ID"), variant_of("sender_id"), variant_of("senderid2")
    ('sender_id', None, None)
    """
    return _names_verdict(name)[0]


def misspelt_column(name: str, given: Collection[str]) -> str | None:
    """The schema v1 column that ``name`` is most likely a misspelling of, when that column
    is not in ``given`` (the other names of the table or event); None otherwise.

    A name is a misspelling of a column when, ignoring case and separators, a few letters
    added, dropped, changed or swapped make it that column (one for names of up to 13
    letters; two for ``conversation_id``, three for ``recipient_tz_offset_min``). Such a
    field is refused rather than ignored: ``recipent_age`` ignored would read every
    child's age as unknown. Any other name is not a schema v1 column, and is not read.

    Examples
    --------
    >>> misspelt_column("recipent_age", ["sender_age"]), misspelt_column("RecipientAge", [])
    ('recipient_age', 'recipient_age')
    >>> misspelt_column("recipent_age", ["recipient_age"]), misspelt_column("colour", [])
    (None, None)
    """
    column = _names_verdict(str(name))[1]
    return None if column is None or column in given else column
