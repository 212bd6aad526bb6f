"""Parts of a :class:`MessageTable` at conversation boundaries: a conversation is never
split between parts (private)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from riskscore.io.messages import MessageTable


def conversation_parts(table: MessageTable, max_events: int) -> list[tuple[int, int]]:
    """Consecutive ranges ``(start, stop)`` of conversation codes, each holding about
    ``max_events`` events (more when one conversation alone is longer): a conversation is
    never split between parts."""
    n = table.n_conversations
    if n == 0:
        return []
    cuts = np.searchsorted(table.segment_starts, np.arange(max_events, len(table), max_events))
    edges = np.unique(np.concatenate([[0], cuts, [n]]))
    return list(pairwise(edges.tolist()))


def slice_conversations(table: MessageTable, start: int, stop: int) -> MessageTable:
    """Conversations ``start`` to ``stop - 1`` (codes) as a table of views into ``table``.

    Account codes and :attr:`~MessageTable.accounts` stay those of the whole table, so
    per-account results of the parts line up with each other.
    """
    starts = table.segment_starts
    first = int(starts[start])
    last = int(starts[stop]) if stop < table.n_conversations else len(table)
    rows = slice(first, last)
    return MessageTable(
        conversation_id=table.conversation_id[rows],
        timestamp=table.timestamp[rows],
        sender_id=table.sender_id[rows],
        recipient_id=table.recipient_id[rows],
        sender_age=table.sender_age[rows],
        recipient_age=table.recipient_age[rows],
        channel=table.channel[rows],
        event=table.event[rows],
        recipient_tz_offset_min=table.recipient_tz_offset_min[rows],
        room_size=table.room_size[rows],
        conversation_code=table.conversation_code[rows] - start,
        conversations=table.conversations[start:stop],
        segment_starts=starts[start:stop] - first,
        sender_code=table.sender_code[rows],
        recipient_code=table.recipient_code[rows],
        accounts=table.accounts,
        source_row=table.source_row[rows],
        decimal_ids=table.decimal_ids,
    )
