"""Integer conversation ids held as text beside the pair ids of group rooms (private): the
decimal text of an integer, the text that may stand beside integers in one column (a pair
id, which no integer's text is), and the column type that holds both
(:class:`IntegerAndPairIds`), so that each id is given back as given and none merges with
another. Re-exported by :mod:`riskscore.io.given_ids`."""

from __future__ import annotations

import re
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore.io.schema import MAX_ID_LENGTH, MAX_PAIR_ID_LENGTH, PAIR_ID_SEPARATOR

__all__ = [
    "INTEGER_TEXT",
    "IntegerAndPairIds",
    "integers_beside_pair_ids",
    "is_long_pair_id",
    "is_pair_like",
]

#: The decimal text of an integer, as ``str`` writes it: what an id held as decimal text
#: is, and what no pair id (:func:`riskscore.io.groups.pair_conversation_id`) is.
INTEGER_TEXT: Final = re.compile(r"0|-?[1-9][0-9]*")


def is_pair_like(value: object) -> bool:
    """Whether ``value`` is text that may stand beside integer conversation ids in one
    column (:class:`IntegerAndPairIds`): text holding :data:`~riskscore.io.schema.
    PAIR_ID_SEPARATOR`, as the pair ids of group rooms do, which no integer's decimal
    text does. The one rule of the events' readers and of the alerts file.

    Examples
    --------
    >>> is_pair_like("9|3|4"), is_pair_like("6"), is_pair_like("x"), is_pair_like(6)
    (True, False, False, False)
    """
    return isinstance(value, str) and PAIR_ID_SEPARATOR in value


class IntegerAndPairIds(np.ndarray):
    """Conversation ids of events whose ids are integers, once a group room was split into
    pair conversations (:func:`riskscore.io.groups.text_conversation_ids`), or given as
    integers beside pair ids (:func:`is_pair_like`; what such a table writes): every id is
    text, because a pair id (``room|account|account``) is; the others are the decimal text
    of the integers given (:data:`INTEGER_TEXT`), which the online scorer holds as those
    integers."""


def integers_beside_pair_ids(
    values: npt.NDArray[Any], kinds: npt.NDArray[Any]
) -> npt.NDArray[np.object_] | None:
    """The text of a column of conversation ids given as integers beside pair ids (as a
    table with group rooms writes its ids to JSON lines or pandas): the integers as their
    decimal text, the pair ids as they are, ``""`` for a cell of another ``kinds`` (the
    kind of each value: ``"int"``, ``"str"`` or a reason it is refused). None when some
    text is no pair id (``"6"`` beside ``6``): two types, refused as such.

    Examples
    --------
    >>> kinds = np.array(["int", "str"], dtype=object)
    >>> integers_beside_pair_ids(np.array([6, "9|3|4"], dtype=object), kinds).tolist()
    ['6', '9|3|4']
    >>> integers_beside_pair_ids(np.array([6, "6"], dtype=object), kinds) is None
    True
    """
    pairs = list(zip(values.tolist(), kinds.tolist(), strict=True))
    if not all(is_pair_like(v) for v, k in pairs if k == "str"):
        return None
    text = [v if k == "str" else str(int(v)) if k == "int" else "" for v, k in pairs]
    return np.asarray(text, dtype=object).reshape(-1)


def is_long_pair_id(value: str) -> bool:
    """Whether ``value``, longer than :data:`MAX_ID_LENGTH`, is a pair id a room's split
    makes (``room|account|account``, each part at most that long, the whole at most
    :data:`MAX_PAIR_ID_LENGTH`): riskscore's own outputs hold them, and a room of 200
    characters with accounts of 106 made scores and alerts files it could not read back."""
    parts = value.split(PAIR_ID_SEPARATOR)
    return (
        len(value) <= MAX_PAIR_ID_LENGTH
        and len(parts) >= 3
        and all(0 < len(part) <= MAX_ID_LENGTH for part in parts)
    )
