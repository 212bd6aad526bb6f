"""Expand a vignette's conversation specs into schema v1 events (seeded, same file same bytes).

The rules (times, who sends what, ids) are in :mod:`riskscore.vignettes.loader`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from riskscore._units import DAY_S, HOUR_S
from riskscore.io.schema import (
    SCHEMA_COLUMNS,
    Channel,
    EventType,
)
from riskscore.vignettes.columns import event_columns
from riskscore.vignettes.errors import VignetteFileError
from riskscore.vignettes.rooms import build_room
from riskscore.vignettes.specs import ConversationSpec, PhaseSpec, RoomSpec, SingleEvent
from riskscore.vignettes.timing import (
    AnyArray,
    check_event_times,
    counts,
    draw_times,
    local_midnight,
    media_events,
    phase_hours,
)

__all__ = ["build_events"]

#: A vignette of two-account conversations only has no ``room_size``.
_COLUMNS: Final = tuple(c for c in SCHEMA_COLUMNS if c != "room_size")


def build_events(
    conversations: Sequence[ConversationSpec | RoomSpec], source: str
) -> dict[str, AnyArray]:
    """Build the events of ``conversations`` as schema v1 columns, in their order.

    Parameters
    ----------
    conversations : sequence of ConversationSpec or RoomSpec
        A vignette's conversations (groups expanded) and group rooms; each is sorted by
        time.
    source : str
        The vignette's file name, for errors.

    Returns
    -------
    dict of str to array of shape (n_events,)
        One array per schema v1 column; ``room_size`` only when a group room is among
        them (a room's member count on its rows, NaN, not given, on the others).

    Raises
    ------
    VignetteFileError
        A conversation cannot be built as written (the message names the key).
    """
    parts = [
        build_room(conv, source)
        if isinstance(conv, RoomSpec)
        else _build_conversation(conv, source)
        for conv in conversations
    ]
    if not any(isinstance(conv, RoomSpec) for conv in conversations):
        return {name: np.concatenate([p[name] for p in parts]) for name in _COLUMNS}
    for part in parts:
        part.setdefault("room_size", np.full(len(part["timestamp"]), np.nan))
    return {name: np.concatenate([p[name] for p in parts]) for name in SCHEMA_COLUMNS}


@dataclass(slots=True)
class _Part:
    """Events of one repetition of one phase, before the conversation is sorted."""

    time: npt.NDArray[np.int64]
    sender: npt.NDArray[np.int64]  # 0: between[0], 1: between[1]
    event: npt.NDArray[np.int64]
    channel: npt.NDArray[np.int64]
    drawn: npt.NDArray[np.bool_]  # message or media drawn by the builder (not opening/closing)


def _build_conversation(conv: ConversationSpec, source: str) -> dict[str, AnyArray]:
    rng = np.random.default_rng(list(conv.seed))
    midnight = local_midnight(conv.start, conv.clock.tz)
    names = (conv.accounts[0].name, conv.accounts[1].name)
    parts: list[_Part] = []
    for phase in conv.phases:
        for rep in range(phase.repeat):
            parts.append(_build_phase(phase, rep, midnight, names, rng, source))
    time = np.concatenate([p.time for p in parts])
    sender = np.concatenate([p.sender for p in parts])
    event = np.concatenate([p.event for p in parts])
    channel = np.concatenate([p.channel for p in parts])
    drawn = np.concatenate([p.drawn for p in parts])
    part_of = np.concatenate([np.full(len(p.time), i) for i, p in enumerate(parts)])
    order = np.argsort(time, kind="stable")
    time, sender, event, channel, drawn, part_of = (
        a[order] for a in (time, sender, event, channel, drawn, part_of)
    )
    check_event_times(
        time,
        "the conversation's events (closing events included, each after_min after the one before)",
        source,
        f"{conv.key}.start",
    )
    if sender[0] != 0:
        candidates = np.flatnonzero(drawn & (sender == 0) & (part_of == part_of[0]))
        if not drawn[0] or not len(candidates):
            raise VignetteFileError(
                f"the conversation's first event is sent by {names[1]!r}, but the first "
                f"account in between is {names[0]!r}: swap them or add an opening event",
                source=source,
                key=f"{conv.key}.between",
            )
        j = candidates[0]
        sender[[0, j]] = sender[[j, 0]]
        event[[0, j]] = event[[j, 0]]
    return event_columns(conv.id, conv.accounts, time, sender, 1 - sender, channel, event)


def _build_phase(
    phase: PhaseSpec,
    rep: int,
    midnight: int,
    names: tuple[str, str],
    rng: np.random.Generator,
    source: str,
) -> _Part:
    day = phase.day + rep * phase.every
    h0, h1 = phase_hours(phase)  # h1 past 24 when it runs past midnight
    day_start = midnight + day * DAY_S
    channel = int(Channel[phase.channel.upper()])

    singles_t: list[float] = []
    t = day_start + h0 * HOUR_S
    for single in phase.opening:
        t += single.after_min * 60.0
        singles_t.append(t)
    lo_first = h0 if not phase.opening else (t - day_start) / HOUR_S + 1 / 60
    n = phase.events
    if n and lo_first >= h1:
        raise VignetteFileError(
            "the opening events run past the end of the phase's hours",
            source=source,
            key=f"{phase.key}.opening",
        )
    drawn_t = draw_times(phase, rep, midnight, lo_first, rng)
    sender = rng.permutation(np.repeat([0, 1], counts(n, phase.shares, names))).astype(np.int64)
    event = media_events(phase, sender, names, rng)
    order = np.argsort(drawn_t, kind="stable")
    drawn_t, sender, event = drawn_t[order], sender[order], event[order]

    t = float(drawn_t[-1]) if n else (singles_t[-1] if singles_t else day_start + h0 * HOUR_S)
    closing_t = []
    for single in phase.closing:
        t += single.after_min * 60.0
        closing_t.append(t)

    def singles(items: tuple[SingleEvent, ...]) -> tuple[AnyArray, AnyArray, AnyArray]:
        return (
            np.array([names.index(s.by) for s in items], dtype=np.int64),
            np.array([int(EventType[s.event.upper()]) for s in items], dtype=np.int64),
            np.array(
                [channel if s.channel is None else int(Channel[s.channel.upper()]) for s in items],
                dtype=np.int64,
            ),
        )

    open_s, open_e, open_c = singles(phase.opening)
    close_s, close_e, close_c = singles(phase.closing)
    n_open, n_close = len(phase.opening), len(phase.closing)
    return _Part(
        time=np.concatenate(
            [
                np.floor(np.asarray(singles_t, dtype=np.float64)).astype(np.int64),
                drawn_t,
                np.floor(np.asarray(closing_t, dtype=np.float64)).astype(np.int64),
            ]
        ),
        sender=np.concatenate([open_s, sender, close_s]),
        event=np.concatenate([open_e, event, close_e]),
        channel=np.concatenate(
            [open_c, np.full(n, channel, dtype=np.int64), close_c],
        ),
        drawn=np.concatenate(
            [np.zeros(n_open, dtype=bool), np.ones(n, dtype=bool), np.zeros(n_close, dtype=bool)]
        ),
    )
