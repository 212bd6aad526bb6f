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

Ids. Account ids are ``"<vignette id>/<name>"`` (``"<vignette id>/<name>-<k>"`` in a
group); conversation ids are ``"<vignette id>/<conversation name>"``, with ``-<k>`` for
the conversation with the group's k-th member. Each conversation draws from
``np.random.default_rng([seed, conversation index, member index])``: the same file
always gives the same events.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, Literal, NoReturn, cast

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import RiskscoreError
from riskscore.io.schema import (
    CHANNEL_NAMES,
    EVENT_NAMES,
    MAX_AGE,
    MAX_TZ_OFFSET_MIN,
    MIN_AGE,
    MIN_TZ_OFFSET_MIN,
    SCHEMA_COLUMNS,
    Channel,
    EventType,
)

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

Kind = Literal["grooming", "benign"]
Expected = Literal["alert", "urgent", "no_alert"]

KINDS: Final = ("grooming", "benign")
EXPECTED: Final = ("alert", "urgent", "no_alert")
_EXPECTED_BY_KIND: Final = {"grooming": ("alert", "urgent"), "benign": ("no_alert",)}

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TOP_KEYS: Final = {"title", "kind", "expected", "summary", "reason", "seed"}
_TOP_REQUIRED: Final = ("title", "kind", "expected", "summary", "reason", "accounts")
_ACCOUNT_KEYS: Final = {"age", "ages", "count", "tz"}
_CONVERSATION_KEYS: Final = {"name", "between", "clock", "start", "focus", "phases"}
_PHASE_KEYS: Final = {
    "day",
    "days",
    "hours",
    "channel",
    "events",
    "shares",
    "media",
    "opening",
    "closing",
    "repeat",
    "every",
}
_SINGLE_KEYS: Final = {"by", "event", "channel", "after_min"}
_DAY_S: Final = 86_400
_EPOCH: Final = dt.date(1970, 1, 1)

AnyArray = npt.NDArray[Any]


class VignetteFileError(RiskscoreError, ValueError):
    """A vignette file that cannot be read.

    Attributes
    ----------
    source : str
        The file's name.
    key : str or None
        The offending entry, e.g. ``"conversations[0].phases[1].shares"``.
    """

    def __init__(self, message: str, *, source: str, key: str | None = None) -> None:
        at = f" key {key!r}:" if key else ""
        super().__init__(f"{source}:{at} {message}")
        self.source = source
        self.key = key


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
    conversations : tuple of ConversationSpec
        The conversations to build, in file order (groups expanded).
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
    conversations: tuple[ConversationSpec, ...]
    source: str

    @property
    def conversation_ids(self) -> tuple[str, ...]:
        """Ids of all its conversations, in file order."""
        return tuple(c.id for c in self.conversations)

    @property
    def focus(self) -> tuple[str, ...]:
        """Ids of the conversations whose outcome is asserted."""
        return tuple(c.id for c in self.conversations if c.focus)

    def events(self) -> dict[str, AnyArray]:
        """Build its events as schema v1 columns (deterministic: same file, same bytes).

        Returns
        -------
        dict of str to array of shape (n_events,)
            ``conversation_id``, ``timestamp`` (int epoch seconds, UTC),
            ``sender_id``, ``recipient_id``, ``sender_age``, ``recipient_age``
            (float years, NaN if unknown), ``channel``, ``event`` and
            ``recipient_tz_offset_min``; conversations in file order, each
            sorted by time. :func:`riskscore.read_messages` accepts it.
        """
        parts = [_build_conversation(conv, self.source) for conv in self.conversations]
        return {name: np.concatenate([p[name] for p in parts]) for name in _COLUMNS}


#: A vignette is a set of two-account conversations: no ``room_size``.
_COLUMNS: Final = tuple(c for c in SCHEMA_COLUMNS if c != "room_size")


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
    name = entry.name
    if not name.endswith(".toml"):
        raise VignetteFileError("expected a .toml file", source=name)
    vignette_id = name[: -len(".toml")]
    if not _ID.match(vignette_id):
        raise VignetteFileError(
            "the file name (the vignette's id) must be lower-case letters, digits and dashes",
            source=name,
        )
    try:
        doc = tomllib.loads(entry.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise VignetteFileError(f"not valid TOML ({exc})", source=name) from None
    return _Reader(name).vignette(vignette_id, doc)


# ---------------------------------------------------------------- parsing


class _Reader:
    """Checks one file's parsed TOML; every error names the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str | None, message: str) -> NoReturn:
        raise VignetteFileError(message, source=self.source, key=key)

    def table(self, value: object, key: str, allowed: set[str] | frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, f"expected a table, found {value!r}")
        extra = sorted(set(value) - set(allowed))
        if extra:
            self.fail(f"{key}.{extra[0]}" if key else extra[0], _unknown_key(allowed))
        return cast(dict[str, Any], value)

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"expected a non-empty string, found {value!r}")
        return " ".join(value.split())

    def choice(self, value: object, key: str, options: tuple[str, ...]) -> str:
        if value not in options:
            self.fail(key, f"expected one of {', '.join(options)}, found {value!r}")
        return value

    def integer(self, value: object, key: str, low: int, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected a whole number, found {value!r}")
        if value < low or (high is not None and value > high):
            upper = "" if high is None else f" and at most {high}"
            self.fail(key, f"expected at least {low}{upper}, found {value}")
        return value

    def number(self, value: object, key: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            self.fail(key, f"expected a number, found {value!r}")
        if not low <= value <= high:
            self.fail(key, f"expected a number in [{low:g}, {high:g}], found {value}")
        return float(value)

    def name(self, value: object, key: str, names: tuple[str, ...]) -> str:
        if value not in names:
            self.fail(key, f"expected one of this conversation's accounts {names}, found {value!r}")
        return value

    # ------------------------------------------------------------ sections

    def vignette(self, vignette_id: str, doc: dict[str, Any]) -> Vignette:
        doc = self.table(doc, "", _TOP_KEYS | {"accounts", "conversations"})
        for key in _TOP_REQUIRED:
            if key not in doc:
                self.fail(key, "missing")
        kind = cast(Kind, self.choice(doc["kind"], "kind", KINDS))
        expected = cast(Expected, self.choice(doc["expected"], "expected", EXPECTED))
        if expected not in _EXPECTED_BY_KIND[kind]:
            self.fail(
                "expected",
                f"a {kind} vignette expects one of {', '.join(_EXPECTED_BY_KIND[kind])}, "
                f"found {expected!r}",
            )
        seed = self.integer(doc.get("seed", 0), "seed", 0)
        groups = self.accounts(vignette_id, doc["accounts"])
        raw = doc.get("conversations")
        if not isinstance(raw, list) or not raw:
            self.fail("conversations", "expected at least one [[conversations]] table")
        conversations: list[ConversationSpec] = []
        names: set[str] = set()
        for i, entry in enumerate(raw):
            expanded = self.conversation(vignette_id, entry, f"conversations[{i}]", groups, seed, i)
            if expanded[0].name in names:
                self.fail(f"conversations[{i}].name", "two conversations have this name")
            names.add(expanded[0].name)
            conversations.extend(expanded)
        if not any(c.focus for c in conversations):
            self.fail("conversations", "no conversation has focus = true")
        return Vignette(
            id=vignette_id,
            title=self.text(doc["title"], "title"),
            kind=kind,
            expected=expected,
            summary=self.text(doc["summary"], "summary"),
            moderator_reason=self.text(doc["reason"], "reason"),
            accounts=tuple(a for members in groups.values() for a in members[1]),
            conversations=tuple(conversations),
            source=self.source,
        )

    def accounts(self, vignette_id: str, raw: object) -> dict[str, tuple[bool, list[Account]]]:
        """Account name -> (is a group, its accounts)."""
        if not isinstance(raw, dict) or not raw:
            self.fail("accounts", "expected a table of at least one account")
        out: dict[str, tuple[bool, list[Account]]] = {}
        for name, spec in raw.items():
            key = f"accounts.{name}"
            if not _NAME.match(name):
                self.fail(key, "an account name is a letter then letters, digits or _")
            spec = self.table(spec, key, _ACCOUNT_KEYS)
            if "tz" not in spec:
                self.fail(f"{key}.tz", "missing: the account's UTC offset in minutes")
            if "age" in spec and "ages" in spec:
                self.fail(f"{key}.ages", "give age (one age for all) or ages (one each), not both")
            is_group = "ages" in spec or "count" in spec
            ages: list[float | None]
            if "ages" in spec:
                raw_ages = spec["ages"]
                if not isinstance(raw_ages, list) or not raw_ages:
                    self.fail(f"{key}.ages", f"expected a list of ages, found {raw_ages!r}")
                ages = [
                    self.number(a, f"{key}.ages[{j}]", MIN_AGE, MAX_AGE)
                    for j, a in enumerate(raw_ages)
                ]
                if "count" in spec and self.integer(spec["count"], f"{key}.count", 1) != len(ages):
                    self.fail(f"{key}.count", f"does not match the {len(ages)} ages given")
            else:
                count = self.integer(spec.get("count", 1), f"{key}.count", 1)
                age = (
                    self.number(spec["age"], f"{key}.age", MIN_AGE, MAX_AGE)
                    if "age" in spec
                    else None
                )
                ages = [age] * count
            raw_tz = spec["tz"]
            if isinstance(raw_tz, list):
                if not is_group or len(raw_tz) != len(ages):
                    self.fail(
                        f"{key}.tz",
                        f"a list of offsets needs a group of the same size ({len(ages)})",
                    )
                tzs = [
                    self.integer(t, f"{key}.tz[{j}]", MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN)
                    for j, t in enumerate(raw_tz)
                ]
            else:
                tzs = [self.integer(raw_tz, f"{key}.tz", MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN)]
                tzs *= len(ages)
            members = [
                Account(
                    id=f"{vignette_id}/{name}-{k + 1}" if is_group else f"{vignette_id}/{name}",
                    name=name,
                    age=age,
                    tz=tz,
                )
                for k, (age, tz) in enumerate(zip(ages, tzs, strict=True))
            ]
            out[name] = (is_group, members)
        return out

    def conversation(
        self,
        vignette_id: str,
        raw: object,
        key: str,
        groups: dict[str, tuple[bool, list[Account]]],
        seed: int,
        index: int,
    ) -> list[ConversationSpec]:
        spec = self.table(raw, key, _CONVERSATION_KEYS)
        for required in ("name", "between", "clock", "start", "phases"):
            if required not in spec:
                self.fail(f"{key}.{required}", "missing")
        name = spec["name"]
        if not isinstance(name, str) or not _ID.match(name):
            self.fail(f"{key}.name", f"expected lower-case letters, digits and dashes: {name!r}")
        between = spec["between"]
        if (
            not isinstance(between, list)
            or len(between) != 2
            or not all(isinstance(b, str) for b in between)
            or between[0] == between[1]
        ):
            self.fail(f"{key}.between", f"expected two different account names, found {between!r}")
        for j, account in enumerate(between):
            if account not in groups:
                self.fail(f"{key}.between[{j}]", f"no account {account!r} in [accounts]")
        first, second = cast(list[str], between)
        names = (first, second)
        if groups[first][0] and groups[second][0]:
            self.fail(f"{key}.between", "at most one side of a conversation may be a group")
        clock = self.name(spec["clock"], f"{key}.clock", names)
        start = spec["start"]
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            self.fail(f"{key}.start", f"expected a date like 2025-03-03, found {start!r}")
        focus = spec.get("focus", False)
        if not isinstance(focus, bool):
            self.fail(f"{key}.focus", f"expected true or false, found {focus!r}")
        raw_phases = spec["phases"]
        if not isinstance(raw_phases, list) or not raw_phases:
            self.fail(f"{key}.phases", "expected at least one [[conversations.phases]] table")
        phases: list[PhaseSpec] = []
        next_day = 0
        for j, entry in enumerate(raw_phases):
            phase = self.phase(entry, f"{key}.phases[{j}]", names, next_day)
            phases.append(phase)
            next_day = phase.day + (phase.repeat - 1) * phase.every + phase.days
        group = first if groups[first][0] else second if groups[second][0] else None
        n_members = len(groups[group][1]) if group else 1
        out = []
        for k in range(n_members):
            pair = tuple(groups[n][1][k if n == group else 0] for n in names)
            out.append(
                ConversationSpec(
                    id=f"{vignette_id}/{name}-{k + 1}" if group else f"{vignette_id}/{name}",
                    name=name,
                    key=key,
                    accounts=(pair[0], pair[1]),
                    clock=pair[names.index(clock)],
                    start=start,
                    focus=focus,
                    phases=tuple(phases),
                    seed=(seed, index, k),
                )
            )
        return out

    def phase(self, raw: object, key: str, names: tuple[str, str], next_day: int) -> PhaseSpec:
        spec = self.table(raw, key, _PHASE_KEYS)
        for required in ("hours", "channel"):
            if required not in spec:
                self.fail(f"{key}.{required}", "missing")
        hours = spec["hours"]
        if not isinstance(hours, list) or len(hours) != 2:
            self.fail(f"{key}.hours", f"expected [first hour, last hour], found {hours!r}")
        h0 = self.number(hours[0], f"{key}.hours[0]", 0.0, 24.0)
        h1 = self.number(hours[1], f"{key}.hours[1]", 0.0, 24.0)
        if h0 == h1 or h0 == 24.0:
            self.fail(f"{key}.hours", f"expected a window of local hours, found {hours!r}")
        events = self.integer(spec.get("events", 0), f"{key}.events", 0, 100_000)
        shares = self.fractions(spec.get("shares", {}), f"{key}.shares", names)
        if events and "shares" not in spec:
            self.fail(f"{key}.shares", "missing: who sends the phase's events")
        if shares and not math.isclose(sum(s for _, s in shares), 1.0, abs_tol=1e-9):
            self.fail(f"{key}.shares", f"must add up to 1, found {sum(s for _, s in shares):g}")
        repeat = self.integer(spec.get("repeat", 1), f"{key}.repeat", 1, 10_000)
        if repeat > 1 and "every" not in spec:
            self.fail(f"{key}.every", "missing: the days between repetitions")
        opening = self.singles(spec.get("opening", []), f"{key}.opening", names)
        closing = self.singles(spec.get("closing", []), f"{key}.closing", names)
        if not (events or opening or closing):
            self.fail(key, "the phase has no events, opening or closing events")
        return PhaseSpec(
            key=key,
            day=self.integer(spec.get("day", next_day), f"{key}.day", 0, 3_650),
            days=self.integer(spec.get("days", 1), f"{key}.days", 1, 3_650),
            hours=(h0, h1),
            channel=self.choice(spec["channel"], f"{key}.channel", CHANNEL_NAMES),
            events=events,
            shares=shares,
            media=self.fractions(spec.get("media", {}), f"{key}.media", names),
            opening=opening,
            closing=closing,
            repeat=repeat,
            every=self.integer(spec.get("every", 1), f"{key}.every", 1, 3_650),
        )

    def fractions(
        self, raw: object, key: str, names: tuple[str, str]
    ) -> tuple[tuple[str, float], ...]:
        table = self.table(raw, key, set(names))
        return tuple(
            (n, self.number(table[n], f"{key}.{n}", 0.0, 1.0)) for n in names if n in table
        )

    def singles(self, raw: object, key: str, names: tuple[str, str]) -> tuple[SingleEvent, ...]:
        if not isinstance(raw, list):
            self.fail(key, f"expected a list of events like {{ by = ..., event = ... }}: {raw!r}")
        out = []
        for j, entry in enumerate(raw):
            k = f"{key}[{j}]"
            spec = self.table(entry, k, _SINGLE_KEYS)
            for required in ("by", "event"):
                if required not in spec:
                    self.fail(f"{k}.{required}", "missing")
            channel = spec.get("channel")
            out.append(
                SingleEvent(
                    by=self.name(spec["by"], f"{k}.by", names),
                    event=self.choice(spec["event"], f"{k}.event", EVENT_NAMES),
                    channel=None
                    if channel is None
                    else self.choice(channel, f"{k}.channel", CHANNEL_NAMES),
                    after_min=self.number(spec.get("after_min", 1), f"{k}.after_min", 0.0, 1e6),
                )
            )
        return tuple(out)


def _unknown_key(allowed: set[str] | frozenset[str]) -> str:
    return f"unknown key; expected one of {', '.join(sorted(allowed))}"


# ---------------------------------------------------------------- building


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
    midnight = (conv.start - _EPOCH).days * _DAY_S - conv.clock.tz * 60
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
    n = len(time)
    ids = np.array([a.id for a in conv.accounts], dtype=object)
    ages = np.array([np.nan if a.age is None else a.age for a in conv.accounts])
    tzs = np.array([a.tz for a in conv.accounts], dtype=np.int64)
    recipient = 1 - sender
    return {
        "conversation_id": np.full(n, conv.id, dtype=object),
        "timestamp": time,
        "sender_id": ids[sender],
        "recipient_id": ids[recipient],
        "sender_age": ages[sender],
        "recipient_age": ages[recipient],
        "channel": np.array(CHANNEL_NAMES, dtype=object)[channel],
        "event": np.array(EVENT_NAMES, dtype=object)[event],
        "recipient_tz_offset_min": tzs[recipient],
    }


def _build_phase(
    phase: PhaseSpec,
    rep: int,
    midnight: int,
    names: tuple[str, str],
    rng: np.random.Generator,
    source: str,
) -> _Part:
    day = phase.day + rep * phase.every
    h0, h1 = phase.hours
    if h1 <= h0:
        h1 += 24.0  # runs past midnight
    day_start = midnight + day * _DAY_S
    channel = int(Channel[phase.channel.upper()])

    singles_t: list[float] = []
    t = day_start + h0 * 3600.0
    for single in phase.opening:
        t += single.after_min * 60.0
        singles_t.append(t)
    lo_first = h0 if not phase.opening else (t - day_start) / 3600.0 + 1 / 60
    n = phase.events
    if n and lo_first >= h1:
        raise VignetteFileError(
            "the opening events run past the end of the phase's hours",
            source=source,
            key=f"{phase.key}.opening",
        )
    days = rng.integers(day, day + phase.days, size=n)
    lo = np.where(days == day, lo_first, h0)
    hours = lo + rng.random(n) * (h1 - lo)
    drawn_t = np.floor(midnight + days * _DAY_S + hours * 3600.0).astype(np.int64)
    sender = rng.permutation(np.repeat([0, 1], _counts(n, phase.shares, names))).astype(np.int64)
    event = np.full(n, int(EventType.MESSAGE), dtype=np.int64)
    for name, fraction in phase.media:
        mine = np.flatnonzero(sender == names.index(name))
        chosen = rng.choice(mine, size=_round(fraction * len(mine)), replace=False)
        event[chosen] = int(EventType.MEDIA)
    order = np.argsort(drawn_t, kind="stable")
    drawn_t, sender, event = drawn_t[order], sender[order], event[order]

    t = float(drawn_t[-1]) if n else (singles_t[-1] if singles_t else day_start + h0 * 3600.0)
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


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def _counts(n: int, shares: tuple[tuple[str, float], ...], names: tuple[str, str]) -> list[int]:
    """How many of ``n`` events each side sends: shares rounded by largest remainders."""
    share = dict(shares)
    quota = [share.get(name, 0.0) * n for name in names]
    counts = [math.floor(q) for q in quota]
    by_remainder = sorted(range(2), key=lambda i: -(quota[i] - counts[i]))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return counts
