"""Expand a vignette's group room into schema v1 events: one row per member an event reached.

A room's phase draws its message and media events as a conversation's do (days, local hours,
shares by account name, media by account name); an event of a group name is sent by one of
its members drawn at random, and reaches every other member of the room, with ``room_size``
the number of members (``docs/schema.md``, "Group conversations").
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import numpy.typing as npt

from riskscore._units import DAY_S
from riskscore.io.schema import (
    CHANNEL_NAMES,
    EARLIEST_EVENT_TIMESTAMP,
    EVENT_NAMES,
    MAX_TIMESTAMP,
    Channel,
    EventType,
)
from riskscore.vignettes.errors import VignetteFileError
from riskscore.vignettes.specs import PhaseSpec, RoomSpec
from riskscore.vignettes.timing import AnyArray, counts, draw_times, rounded

__all__ = ["build_room"]

_EPOCH: Final = dt.date(1970, 1, 1)


def build_room(room: RoomSpec, source: str) -> dict[str, AnyArray]:
    """Build the rows of ``room``'s events, sorted by time (a room's events are one per
    sender and second at most in order; each event's rows follow the members' order).

    Parameters
    ----------
    room : RoomSpec
        One group room of a vignette.
    source : str
        The vignette's file name, for errors.

    Returns
    -------
    dict of str to array of shape (n_rows,)
        Every schema v1 column, ``room_size`` the number of members.

    Raises
    ------
    VignetteFileError
        The room's events fall outside the schema's range of event times.
    """
    rng = np.random.default_rng(list(room.seed))
    midnight = (room.start - _EPOCH).days * DAY_S - room.clock.tz * 60
    by_name = [np.array([k for k, a in enumerate(room.members) if a.name == n]) for n in room.names]
    times, senders, events, channels = [], [], [], []
    for phase in room.phases:
        for rep in range(phase.repeat):
            t, s, e = _draw_phase(phase, rep, midnight, room.names, by_name, rng)
            times.append(t)
            senders.append(s)
            events.append(e)
            channels.append(np.full(len(t), int(Channel[phase.channel.upper()]), dtype=np.int64))
    time = np.concatenate(times)
    order = np.argsort(time, kind="stable")
    time, sender, event, channel = (
        a[order]
        for a in (time, np.concatenate(senders), np.concatenate(events), np.concatenate(channels))
    )
    if len(time) and not (time[0] >= EARLIEST_EVENT_TIMESTAMP and time[-1] < MAX_TIMESTAMP):
        raise VignetteFileError(
            "the room's events fall outside 2000-01-01 to 2199-12-31 UTC, the schema's range "
            "of event times: move its start or shorten it",
            source=source,
            key=f"{room.key}.start",
        )
    n_members = len(room.members)
    # each event reaches every other member, in the members' order
    others = np.array([[k for k in range(n_members) if k != s] for s in range(n_members)])
    recipient = others[sender].reshape(-1)
    row_sender = np.repeat(sender, n_members - 1)
    ids = np.array([a.id for a in room.members], dtype=object)
    ages = np.array([np.nan if a.age is None else a.age for a in room.members])
    tzs = np.array([a.tz for a in room.members], dtype=np.int64)
    n = len(recipient)
    return {
        "conversation_id": np.full(n, room.id, dtype=object),
        "timestamp": np.repeat(time, n_members - 1),
        "sender_id": ids[row_sender],
        "recipient_id": ids[recipient],
        "sender_age": ages[row_sender],
        "recipient_age": ages[recipient],
        "channel": np.array(CHANNEL_NAMES, dtype=object)[np.repeat(channel, n_members - 1)],
        "event": np.array(EVENT_NAMES, dtype=object)[np.repeat(event, n_members - 1)],
        "recipient_tz_offset_min": tzs[recipient],
        "room_size": np.full(n, float(n_members)),
    }


def _draw_phase(
    phase: PhaseSpec,
    rep: int,
    midnight: int,
    names: tuple[str, ...],
    by_name: list[npt.NDArray[np.int64]],
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Times, sending member and event of one repetition of a room's phase."""
    n = phase.events
    time = draw_times(phase, rep, midnight, phase.hours[0], rng)
    name_of = rng.permutation(np.repeat(np.arange(len(names)), counts(n, phase.shares, names)))
    event = np.full(n, int(EventType.MESSAGE), dtype=np.int64)
    for name, fraction in phase.media:
        mine = np.flatnonzero(name_of == names.index(name))
        chosen = rng.choice(mine, size=rounded(fraction * len(mine)), replace=False)
        event[chosen] = int(EventType.MEDIA)
    sender = np.array([by_name[i][rng.integers(len(by_name[i]))] for i in name_of], dtype=np.int64)
    return time, sender, event
