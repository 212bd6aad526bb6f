"""Pair ids: the id of the conversation of two accounts in a group room,
``room|account|account`` (rule 3 of :mod:`riskscore.io.groups`, which exports the first two
names), the room a pair id names, and the ids one conversation carries in its life: a room's
while it holds two accounts, then its pair's."""

from __future__ import annotations

from collections.abc import Container

from riskscore.io.given_ids import INTEGER_TEXT
from riskscore.io.schema import PAIR_ID_SEPARATOR

__all__ = [
    "conversation_aliases",
    "conversation_key",
    "pair_conversation_id",
    "room_of_pair_id",
]


def pair_conversation_id(room_id: object, a: object, b: object) -> str:
    """Id of the conversation between accounts ``a`` and ``b`` in room ``room_id``.

    The room and the two account ids (in text order, so either order gives the same id)
    joined by :data:`PAIR_ID_SEPARATOR`; ``room_id=None`` gives one id per pair across
    rooms (the Synapse module's ``conversation_scope: pair``).

    Examples
    --------
    >>> pair_conversation_id("g1", "kid", "adult")
    'g1|adult|kid'
    >>> pair_conversation_id(None, "@b:x", "@a:x")
    '@a:x|@b:x'
    """
    lo, hi = sorted((str(a), str(b)))
    parts = (lo, hi) if room_id is None else (str(room_id), lo, hi)
    return PAIR_ID_SEPARATOR.join(parts)


def room_of_pair_id(pair_id: str, a: object, b: object, rooms: Container[object]) -> object:
    """The room of ``rooms`` whose pair id for accounts ``a`` and ``b`` is ``pair_id``
    (:func:`pair_conversation_id`), or None. An integer room matches its decimal text only
    (``"01|a|b"`` or ``"\u0661|a|b"`` is no pair of room ``1``).

    Examples
    --------
    >>> room_of_pair_id("1|a|b", "b", "a", {1}), room_of_pair_id("01|a|b", "a", "b", {1})
    (1, None)
    """
    room = _room_text(pair_id, a, b)
    if room is None:
        return None
    if room in rooms:
        return room
    if INTEGER_TEXT.fullmatch(room) and int(room) in rooms:
        return int(room)
    return None


def _room_text(pair_id: str, a: object, b: object) -> str | None:
    """The room part of ``pair_id`` when it is a pair id of accounts ``a`` and ``b``
    (:func:`pair_conversation_id`: the room, then the two accounts in text order), else
    None."""
    lo, hi = sorted((str(a), str(b)))
    suffix = f"{PAIR_ID_SEPARATOR}{lo}{PAIR_ID_SEPARATOR}{hi}"
    if not pair_id.endswith(suffix) or len(pair_id) == len(suffix):
        return None
    return pair_id[: -len(suffix)]


def conversation_aliases(conversation_id: object, a: object, b: object) -> tuple[object, ...]:
    """The other ids the conversation of accounts ``a`` and ``b`` under
    ``conversation_id`` carries in its life (rule 3): a room of two accounts is a
    conversation under the room's id until a third account writes in it, then its pair
    goes on under its pair id. So a pair id of ``a`` and ``b`` has its room's id (as
    given: the text, and the integer its decimal text is), and any other id its pair id
    were it a room that grew. What the review queue takes for one case: the online scorer's
    alerts raised while the room held two accounts carry the room's id, batch scoring's the
    pair id.

    Examples
    --------
    >>> conversation_aliases("9|a|b", "b", "a"), conversation_aliases(9, "a", "b")
    (('9', 9), ('9|a|b',))
    """
    if isinstance(conversation_id, str):
        room = _room_text(conversation_id, a, b)
        if room is not None:
            return (room, int(room)) if INTEGER_TEXT.fullmatch(room) else (room,)
    return (pair_conversation_id(conversation_id, a, b),)


def conversation_key(conversation_id: object, a: object, b: object) -> str:
    """One key for the conversation of accounts ``a`` and ``b`` under every id it carries in
    its life (:func:`conversation_aliases`): its pair id. What counts of distinct
    conversations count, so that a room of two and the pair it became are one.

    Examples
    --------
    >>> conversation_key("club", "adult", "kid"), conversation_key("club|adult|kid", "kid", "adult")
    ('club|adult|kid', 'club|adult|kid')
    """
    if isinstance(conversation_id, str) and _room_text(conversation_id, a, b) is not None:
        return conversation_id
    return pair_conversation_id(conversation_id, a, b)
