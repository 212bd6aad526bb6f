"""The parsed pieces of a vignette file: accounts, conversations, phases and single events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["Account", "ConversationSpec", "PhaseSpec", "RoomSpec", "SingleEvent"]


@dataclass(frozen=True, slots=True)
class Account:
    """One account of a vignette.

    Attributes
    ----------
    id : str
        Account id in the events, ``"<vignette id>/<name>"`` (``-<k>`` in a group).
    name : str
        The name the file gives it (a group's name for a group member).
    age : float or None
        Declared age in years, on every event it sends or receives; None if unknown.
    tz : int
        UTC offset in minutes (the events it receives carry it).
    """

    id: str
    name: str
    age: float | None
    tz: int


@dataclass(frozen=True, slots=True)
class SingleEvent:
    """An opening or closing event of a phase (see the module docstring)."""

    by: str
    event: str
    channel: str | None
    after_min: float


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """A stretch of a conversation with one channel, rhythm and balance."""

    key: str
    day: int
    days: int
    hours: tuple[float, float]
    channel: str
    events: int
    shares: tuple[tuple[str, float], ...]
    media: tuple[tuple[str, float], ...]
    opening: tuple[SingleEvent, ...]
    closing: tuple[SingleEvent, ...]
    repeat: int
    every: int


@dataclass(frozen=True, slots=True)
class ConversationSpec:
    """One conversation between two accounts, as phases (a group is already expanded)."""

    id: str
    name: str
    key: str
    accounts: tuple[Account, Account]
    clock: Account
    start: dt.date
    focus: bool
    phases: tuple[PhaseSpec, ...]
    seed: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RoomSpec:
    """A group room of three or more accounts, as phases (its groups already expanded).

    Each message or media event goes to every other member as one row, with ``room_size``
    the number of members (``docs/schema.md``, "Group conversations").
    """

    id: str
    name: str
    key: str
    names: tuple[str, ...]
    members: tuple[Account, ...]
    clock: Account
    start: dt.date
    focus: bool
    phases: tuple[PhaseSpec, ...]
    seed: tuple[int, ...]
