"""Group rooms added to synthetic histories (shared by the tests of ``score --accounts`` and
of out-of-core scoring). All data is synthetic."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

import riskscore as rs


def with_group_rooms(messages: rs.MessageTable, every: int) -> pa.Table:
    """``messages`` plus a group room for the pair of every ``every``-th conversation and
    an account of the next one: it meets there (channel group, one row per member a
    message reached) an hour before its own conversation starts."""
    table = messages.to_arrow()
    starts = messages.segment_starts
    ids = messages.accounts
    rows: list[dict[str, object]] = []
    room = int(np.max(messages.conversations)) + 1
    for k in range(0, messages.n_conversations - 1, every):
        a, b = ids[messages.sender_code[starts[k]]], ids[messages.recipient_code[starts[k]]]
        c = ids[messages.sender_code[starts[k + 1]]]
        if len({a, b, c}) < 3:
            continue
        t = int(messages.timestamp[starts[k]]) - 3_600
        for i, sender in enumerate((a, b, c, a)):
            for recipient in {a, b, c} - {sender}:
                rows.append(
                    {
                        "conversation_id": room,
                        "timestamp": t + 60 * i,
                        "sender_id": sender,
                        "recipient_id": recipient,
                        "sender_age": None,
                        "recipient_age": None,
                        "channel": "group",
                        "event": "message",
                        "recipient_tz_offset_min": None,
                    }
                )
        room += 1
    return pa.concat_tables([table, pa.Table.from_pylist(rows, schema=table.schema)])


def room_events(room: str, pairs: list[tuple[str, str]], t0: int) -> list[dict[str, object]]:
    """Events of group room ``room`` (room size 3), one a minute from ``t0``: one per
    (sender, recipient) of ``pairs``, an adult to a minor."""
    return [
        {"conversation_id": room, "timestamp": t0 + 60 * i, "sender_id": s,
         "recipient_id": r, "sender_age": 35.0, "recipient_age": 13.0,
         "channel": "group", "room_size": 3}
        for i, (s, r) in enumerate(pairs)
    ]  # fmt: skip
