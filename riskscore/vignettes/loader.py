"""Read vignette files and expand their phases into schema v1 events.

A vignette is one TOML file; its name without ``.toml`` is the vignette's id. The
format, with every key (optional keys show their default)::

    title = "An adult cold-contacts a 12-year-old"
    kind = "grooming"                 # or "benign"
    expected = "urgent"               # "alert" (review or urgent), "urgent" or "no_alert"
    summary = "What happens, in plain words."
    reason = "The reason a moderator would give."
    seed = 0                          # the builder's draws (times, who sends which event)

    [accounts]                        # name = declared age (omit: unknown), UTC offset in minutes
    adult = { age = 34, tz = 60 }
    child = { age = 12, tz = 60 }
    pupils = { ages = [13, 14], tz = 60 }   # a group: one account per age ("pupils-1", ...)
    others = { count = 3, tz = [0, 60, -300] }  # a group of three accounts of unknown age

    [[conversations]]
    name = "approach"
    between = ["adult", "child"]      # the first one sends the first event; one may be a group
    clock = "child"                   # `hours` below are this account's local time
    start = 2025-03-03                # the local date of day 0
    focus = false                     # true: the vignette's expected outcome is asserted on it

    [[conversations.phases]]
    day = 0                           # first day; default: the day after the previous phase
    days = 1                          # events fall on days [day, day + days)
    hours = [16.5, 19.5]              # local hours of each day; [22, 2] runs past midnight
    channel = "direct"
    events = 0                        # message and media events, spread uniformly over the hours
    shares = { adult = 0.65, child = 0.35 }   # who sends them (required when events > 0)
    media = { adult = 0.05 }          # share of a side's events that are media
    opening = [{ by = "adult", event = "contact_request" },
               { by = "child", event = "contact_accept", after_min = 40 }]
    closing = [{ by = "child", event = "block" }, { by = "child", event = "report" }]
    repeat = 1                        # the phase again every `every` days
    every = 1

    [[conversations]]                 # a group room instead of two accounts
    name = "team-room"
    room = ["adult", "pupils"]        # its members: these accounts, groups expanded (3 or more)
    clock = "pupils"                  # a group's first member's local time
    start = 2025-03-03
    focus = true                      # true: asserted on every pair of the room

    [[conversations.phases]]          # as above; shares and media by account name, no
    hours = [16, 18]                  # opening or closing events (write them between two)
    channel = "group"
    events = 30
    shares = { adult = 0.3, pupils = 0.7 }

Limits. A file of at most ``MAX_FILE_BYTES`` (1 MB) of UTF-8; at most ``MAX_EVENTS``
(100,000) events per vignette (each phase's ``events`` plus its opening and closing events,
times ``repeat``, times the members of a group); groups of at most ``MAX_GROUP_SIZE`` (1,000)
accounts; ``start`` and every day of a phase from 2000-01-02 to 2199-12-31 (local dates; a
conversation whose closing events then still fall past 2199 UTC is refused when it is
built). Names are letters, digits, ``_`` (accounts) or ``-`` (conversations, files); the
title is one line of printable text, summary and reason printable text (line breaks and
tabs become spaces). Each error names the file, the key and the value.

Times. Opening events come at the start of the phase's hours on its first day, each
``after_min`` (default 1) minutes after the one before; message and media events are
drawn uniformly over the phase's days and hours (none before the last opening event);
closing events follow the phase's last event, each ``after_min`` minutes after the one
before. An event's ``channel`` defaults to its phase's. Phases may overlap (evenings and
nights of the same days); a conversation's events are sorted by time.

Who sends what. A side sends ``round(share * events)`` of a phase's events (largest
remainders), in an order drawn at random, and ``round(media * its events)`` of its own
events are media. If the conversation's first event falls to the second account, it
trades places with the first account's earliest event of that phase, so the first
account in ``between`` always opens the conversation.

Group rooms. A room's message or media event is sent by one account of the name that
sends it (a group's member drawn at random) and reaches every other member of the room:
one row per member reached, all with the event's time, channel and kind, and ``room_size``
the number of members (``docs/schema.md``, "Group conversations"). A vignette that holds a
room gives every event a ``room_size`` (NaN, not given, outside rooms); one without gives
none. riskscore scores each pair of a room as its own conversation,
``"<room id>|<account id>|<account id>"``, and sets aside as a broadcast the events of a
room of more than 20 accounts (``max_room_members``); a room's rows count ``members - 1``
times toward ``MAX_EVENTS``.

Ids. Account ids are ``"<vignette id>/<name>"`` (``"<vignette id>/<name>-<k>"`` in a
group); conversation ids are ``"<vignette id>/<conversation name>"``, with ``-<k>`` for
the conversation with the group's k-th member; a room's id is
``"<vignette id>/<room name>"``. Each conversation draws from
``np.random.default_rng([seed, conversation index, member index])``, a room from
``np.random.default_rng([seed, conversation index])``: the same file always gives the
same events.
"""

from __future__ import annotations

import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from riskscore._toml import read_toml
from riskscore.vignettes.errors import VignetteFileError
from riskscore.vignettes.parse import (
    id_from_file_name,
    parse_vignette,
)
from riskscore.vignettes.specs import Account, ConversationSpec, PhaseSpec, SingleEvent
from riskscore.vignettes.vignette import Vignette

#: Largest vignette file read, in bytes (the shipped ones are under 3 kB).
MAX_FILE_BYTES: Final = 1_000_000

__all__ = [
    "Account",
    "ConversationSpec",
    "PhaseSpec",
    "SingleEvent",
    "Vignette",
    "VignetteFileError",
    "data_directory",
    "load_vignettes",
    "read_vignette",
]


def data_directory() -> Traversable:
    """The folder of the vignette files shipped with riskscore (``riskscore/vignettes/data``)."""
    return files("riskscore.vignettes").joinpath("data")


def load_vignettes(directory: str | os.PathLike[str] | None = None) -> tuple[Vignette, ...]:
    """Read every vignette file, in the order of their ids.

    Parameters
    ----------
    directory : str or path-like, optional
        A folder of ``*.toml`` vignette files; the shipped ones when omitted.

    Returns
    -------
    tuple of Vignette
        Sorted by id.

    Raises
    ------
    VignetteFileError
        A file is malformed (the message names the file and the key).

    Examples
    --------
    >>> from riskscore.vignettes import load_vignettes
    >>> vignettes = load_vignettes()
    >>> len(vignettes) >= 24, sorted(v.id for v in vignettes) == [v.id for v in vignettes]
    (True, True)
    """
    folder: Traversable = data_directory() if directory is None else Path(directory)
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".toml")),
        key=lambda entry: entry.name,
    )
    return tuple(read_vignette(entry) for entry in entries)


def read_vignette(path: str | os.PathLike[str] | Traversable) -> Vignette:
    """Read one vignette file.

    Parameters
    ----------
    path : str, path-like or importlib Traversable
        A ``.toml`` file; its name without the suffix is the vignette's id.

    Returns
    -------
    Vignette
        Its id is the file name without ``.toml``; its events are built on demand
        by :meth:`Vignette.events`.

    Raises
    ------
    VignetteFileError
        The file is malformed; the message names the file and the key.
    """
    entry: Traversable = Path(path) if isinstance(path, (str, os.PathLike)) else path
    vignette_id = id_from_file_name(entry.name)
    doc = read_toml(
        entry,
        max_bytes=MAX_FILE_BYTES,
        what="vignette",
        refuse=lambda reason: VignetteFileError(reason, source=entry.name),
    )
    return parse_vignette(vignette_id, entry.name, doc)
