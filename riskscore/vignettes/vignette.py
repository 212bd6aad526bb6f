"""The Vignette: a read vignette file, its expected outcome and its conversations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from riskscore.io.groups import pair_conversation_id
from riskscore.vignettes.build import build_events
from riskscore.vignettes.specs import Account, ConversationSpec, RoomSpec
from riskscore.vignettes.timing import AnyArray

__all__ = ["EXPECTED", "KINDS", "Expected", "Kind", "Vignette"]

Kind = Literal["grooming", "benign"]
Expected = Literal["alert", "urgent", "no_alert"]

KINDS: Final = ("grooming", "benign")
EXPECTED: Final = ("alert", "urgent", "no_alert")


@dataclass(frozen=True, slots=True)
class Vignette:
    """A hand-written conversation pattern and the outcome a moderator expects.

    Attributes
    ----------
    id : str
        The file name without ``.toml``.
    title : str
        One line.
    kind : {"grooming", "benign"}
        The moderator's judgement of the pattern.
    expected : {"alert", "urgent", "no_alert"}
        Outcome of every focus conversation: ``"alert"`` at least a review alert,
        ``"urgent"`` an urgent alert, ``"no_alert"`` none.
    summary : str
        What happens, in plain words.
    moderator_reason : str
        The reason a moderator would give for the outcome.
    accounts : tuple of Account
        Every account, in file order (groups expanded).
    conversations : tuple of ConversationSpec or RoomSpec
        The conversations and group rooms to build, in file order (groups expanded).
    source : str
        The file it was read from.

    Examples
    --------
    >>> import riskscore as rs
    >>> from riskscore.vignettes import load_vignettes
    >>> vignette = load_vignettes()[0]
    >>> messages = rs.read_messages(vignette.events())
    >>> len(messages) == len(vignette.events()["timestamp"])
    True
    >>> set(vignette.focus) <= set(vignette.conversation_ids)
    True
    """

    id: str
    title: str
    kind: Kind
    expected: Expected
    summary: str
    moderator_reason: str
    accounts: tuple[Account, ...]
    conversations: tuple[ConversationSpec | RoomSpec, ...]
    source: str

    @property
    def conversation_ids(self) -> tuple[str, ...]:
        """Ids of all its conversations and group rooms, in file order (the
        ``conversation_id`` of their events)."""
        return tuple(c.id for c in self.conversations)

    @property
    def focus(self) -> tuple[str, ...]:
        """Ids of the conversations whose outcome is asserted: a focus room's are the ids
        of its pairs, ``room|account|account``, each scored as its own conversation (a
        pair of members neither of whom wrote in the room shares no event and is not
        scored)."""
        return tuple(i for c in self.conversations if c.focus for i in _scored_ids(c))

    @property
    def room_pairs(self) -> tuple[str, ...]:
        """Ids of the pair conversations of all its group rooms, in file order."""
        rooms = (c for c in self.conversations if isinstance(c, RoomSpec))
        return tuple(i for c in rooms for i in _scored_ids(c))

    def events(self) -> dict[str, AnyArray]:
        """Build its events as schema v1 columns (deterministic: same file, same bytes).

        Returns
        -------
        dict of str to array of shape (n_events,)
            ``conversation_id``, ``timestamp`` (int epoch seconds, UTC),
            ``sender_id``, ``recipient_id``, ``sender_age``, ``recipient_age``
            (float years, NaN if unknown), ``channel``, ``event`` and
            ``recipient_tz_offset_min``; conversations in file order, each
            sorted by time, and, when it holds a group room, ``room_size``
            (a room's member count, NaN elsewhere). :func:`riskscore.read_messages`
            accepts it.
        """
        return build_events(self.conversations, self.source)


def _scored_ids(conv: ConversationSpec | RoomSpec) -> tuple[str, ...]:
    """The conversation ids scored for ``conv``: its own, or its room's pairs."""
    if isinstance(conv, ConversationSpec):
        return (conv.id,)
    ids = [a.id for a in conv.members]
    return tuple(
        pair_conversation_id(conv.id, a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]
    )
