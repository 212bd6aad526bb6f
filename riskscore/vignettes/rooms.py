"""Expand a vignette's group room into schema v1 events: one row per member an event reached.

A room's phase draws its message and media events as a conversation's do (days, local hours,
shares by account name, media by account name); an event of a group name is sent by one of
its members drawn at random, and reaches every other member of the room, with ``room_size``
the number of members (``docs/schema.md``, "Group conversations").
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskscore.io.schema import (
    Channel,
)
from riskscore.vignettes.columns import event_columns
from riskscore.vignettes.specs import PhaseSpec, RoomSpec
from riskscore.vignettes.timing import (
    AnyArray,
    check_event_times,
    counts,
    draw_times,
    local_midnight,
    media_events,
)

__all__ = ["build_room"]


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
    midnight = local_midnight(room.start, room.clock.tz)
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
    check_event_times(time, "the room's events", source, f"{room.key}.start")
    n_members = len(room.members)
    # each event reaches every other member, in the members' order
    others = np.array([[k for k in range(n_members) if k != s] for s in range(n_members)])
    recipient = others[sender].reshape(-1)
    rows = [np.repeat(a, n_members - 1) for a in (time, sender, channel, event)]
    columns = event_columns(room.id, room.members, rows[0], rows[1], recipient, rows[2], rows[3])
    columns["room_size"] = np.full(len(recipient), float(n_members))
    return columns


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
    event = media_events(phase, name_of, names, rng)
    sender = np.array([by_name[i][rng.integers(len(by_name[i]))] for i in name_of], dtype=np.int64)
    return time, sender, event
