"""Check a vignette file's TOML and turn it into a Vignette; every error names the file and key."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Final, NoReturn, cast

from riskscore._checks import is_real, unknown_keys_problem
from riskscore.io.raw import show
from riskscore.io.schema import (
    CHANNEL_NAMES,
    EVENT_NAMES,
    MAX_AGE,
    MAX_TZ_OFFSET_MIN,
    MIN_AGE,
    MIN_TZ_OFFSET_MIN,
)
from riskscore.io.tz_offsets import one_tz_offset_problem
from riskscore.vignettes.errors import VignetteFileError
from riskscore.vignettes.specs import (
    Account,
    ConversationSpec,
    PhaseSpec,
    RoomSpec,
    SingleEvent,
)
from riskscore.vignettes.vignette import EXPECTED, KINDS, Expected, Kind, Vignette

__all__ = [
    "MAX_EVENTS",
    "MAX_GROUP_SIZE",
    "id_from_file_name",
    "parse_vignette",
]

#: Most events one vignette may build (phases' events, repeats and group members counted).
MAX_EVENTS: Final = 100_000
#: Most accounts of one group.
MAX_GROUP_SIZE: Final = 1_000
#: Days a vignette's events may fall on (local dates): every UTC offset keeps their times in
#: the schema's range of event times (2000-01-01 up to, not including, 2200-01-01).
FIRST_DATE: Final = dt.date(2000, 1, 2)
LAST_DATE: Final = dt.date(2199, 12, 31)

_EXPECTED_BY_KIND: Final = {"grooming": ("alert", "urgent"), "benign": ("no_alert",)}

# \Z, not $: "$" also matches before a final line break ("approach\n")
_ID = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_TOP_KEYS: Final = {"title", "kind", "expected", "summary", "reason", "seed"}
_TOP_REQUIRED: Final = ("title", "kind", "expected", "summary", "reason", "accounts")
_ACCOUNT_KEYS: Final = {"age", "ages", "count", "tz"}
_CONVERSATION_KEYS: Final = {"name", "between", "room", "clock", "start", "focus", "phases"}
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


def id_from_file_name(name: str) -> str:
    """The id of the vignette in the file called ``name`` (the name without ``.toml``).

    Raises
    ------
    VignetteFileError
        ``name`` does not end in ``.toml`` or its id is not lower-case letters, digits
        and dashes.
    """
    if not name.endswith(".toml"):
        raise VignetteFileError("expected a .toml file", source=name)
    stem = name[: -len(".toml")]
    if not _ID.match(stem):
        raise VignetteFileError(
            "the file name (the vignette's id) must be lower-case letters, digits and dashes",
            source=name,
        )
    return stem


def parse_vignette(vignette_id: str, source: str, doc: dict[str, Any]) -> Vignette:
    """Check the mapping ``doc`` read from the TOML file ``source`` and build its Vignette.

    Raises
    ------
    VignetteFileError
        The mapping breaks the format (the message names the file and the key).
    """
    return _Reader(source).vignette(vignette_id, doc)


class _Reader:
    """Checks one file's parsed TOML; every error names the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str | None, message: str) -> NoReturn:
        raise VignetteFileError(message, source=self.source, key=key)

    def table(self, value: object, key: str, allowed: set[str] | frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, f"expected a table, found {show(value)}")
        problem = unknown_keys_problem(value, allowed)  # the one rule of every reader
        if problem is not None:
            self.fail(key or None, problem)
        return cast(dict[str, Any], value)

    def text(self, value: object, key: str, *, one_line: bool = False) -> str:
        """Text, its runs of white space made one space; a control or format character
        (other than a line break or tab in a text of several lines) is refused."""
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"expected a non-empty string, found {show(value)}")
        text = " ".join(value.split())
        if not (value.isprintable() if one_line else text.isprintable()):
            bad = next(ch for ch in (value if one_line else text) if not ch.isprintable())
            self.fail(
                key,
                f"expected {'one line of ' if one_line else ''}printable text, found the "
                f"character {bad!r} (U+{ord(bad):04X})",
            )
        return text

    def choice(self, value: object, key: str, options: tuple[str, ...]) -> str:
        if value not in options:
            self.fail(key, f"expected one of {', '.join(options)}, found {show(value)}")
        return value

    def integer(self, value: object, key: str, low: int, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected a whole number, found {show(value)}")
        if value < low or (high is not None and value > high):
            upper = "" if high is None else f" and at most {high}"
            self.fail(key, f"expected at least {low}{upper}, found {show(value)}")
        return value

    def tz_offset(self, value: object, key: str) -> int:
        offset = self.integer(value, key, MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN)
        off_step = one_tz_offset_problem(offset)  # the schema's rule: whole quarter hours
        if off_step is not None:
            self.fail(key, f"{offset} {off_step}")
        return offset

    def number(self, value: object, key: str, low: float, high: float) -> float:
        # the one number rule: no bool, NaN, infinity or integer beyond a float
        if not is_real(value):
            self.fail(key, f"expected a number, found {show(value)}")
        if not low <= value <= high:
            self.fail(key, f"expected a number in [{low:g}, {high:g}], found {show(value)}")
        return float(value)

    def name(self, value: object, key: str, names: tuple[str, ...]) -> str:
        if value not in names:
            accounts = f"expected one of this conversation's accounts {names}"
            self.fail(key, f"{accounts}, found {show(value)}")
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
                f"found {show(expected)}",
            )
        seed = self.integer(doc.get("seed", 0), "seed", 0)
        groups = self.accounts(vignette_id, doc["accounts"])
        raw = doc.get("conversations")
        if not isinstance(raw, list) or not raw:
            self.fail("conversations", "expected at least one [[conversations]] table")
        conversations: list[ConversationSpec | RoomSpec] = []
        names: set[str] = set()
        n_events = 0
        for i, entry in enumerate(raw):
            expanded = self.conversation(vignette_id, entry, f"conversations[{i}]", groups, seed, i)
            if expanded[0].name in names:
                self.fail(f"conversations[{i}].name", "two conversations have this name")
            names.add(expanded[0].name)
            conversations.extend(expanded)
            # a room's event is one row per other member
            rows = len(expanded[0].members) - 1 if isinstance(expanded[0], RoomSpec) else 1
            n_events += (len(expanded) * rows) * sum(
                p.repeat * (p.events + len(p.opening) + len(p.closing)) for p in expanded[0].phases
            )
            if n_events > MAX_EVENTS:
                self.fail(
                    f"conversations[{i}]",
                    f"the vignette builds {n_events} events up to this conversation (phases' "
                    f"events and repeats, group members counted), more than {MAX_EVENTS}",
                )
        if not any(c.focus for c in conversations):
            self.fail("conversations", "no conversation has focus = true")
        return Vignette(
            id=vignette_id,
            title=self.text(doc["title"], "title", one_line=True),
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
                    self.fail(f"{key}.ages", f"expected a list of ages, found {show(raw_ages)}")
                if len(raw_ages) > MAX_GROUP_SIZE:
                    self.fail(
                        f"{key}.ages",
                        f"a group of {len(raw_ages)} accounts; at most {MAX_GROUP_SIZE}",
                    )
                ages = [
                    self.number(a, f"{key}.ages[{j}]", MIN_AGE, MAX_AGE)
                    for j, a in enumerate(raw_ages)
                ]
                if "count" in spec and self.integer(spec["count"], f"{key}.count", 1) != len(ages):
                    self.fail(f"{key}.count", f"does not match the {len(ages)} ages given")
            else:
                count = self.integer(spec.get("count", 1), f"{key}.count", 1, MAX_GROUP_SIZE)
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
                tzs = [self.tz_offset(t, f"{key}.tz[{j}]") for j, t in enumerate(raw_tz)]
            else:
                tzs = [self.tz_offset(raw_tz, f"{key}.tz")]
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
    ) -> list[ConversationSpec] | list[RoomSpec]:
        spec = self.table(raw, key, _CONVERSATION_KEYS)
        if "between" in spec and "room" in spec:
            self.fail(f"{key}.room", "give between (two accounts) or room (a group room), not both")
        for required in ("name", "room" if "room" in spec else "between", "clock", "start"):
            if required not in spec:
                self.fail(f"{key}.{required}", "missing")
        if "phases" not in spec:
            self.fail(f"{key}.phases", "missing")
        name = spec["name"]
        if not isinstance(name, str) or not _ID.match(name):
            want = "expected lower-case letters, digits and dashes"
            self.fail(f"{key}.name", f"{want}: {show(name)}")
        if "room" in spec:
            return [self.room(vignette_id, spec, key, groups, seed, index)]
        between = spec["between"]
        if (
            not isinstance(between, list)
            or len(between) != 2
            or not all(isinstance(b, str) for b in between)
            or between[0] == between[1]
        ):
            want = "expected two different account names"
            self.fail(f"{key}.between", f"{want}, found {show(between)}")
        for j, account in enumerate(between):
            if account not in groups:
                self.fail(f"{key}.between[{j}]", f"no account {show(account)} in [accounts]")
        first, second = cast(list[str], between)
        names = (first, second)
        if groups[first][0] and groups[second][0]:
            self.fail(f"{key}.between", "at most one side of a conversation may be a group")
        clock = self.name(spec["clock"], f"{key}.clock", names)
        start, focus, phases = self.timeline(spec, key, names)
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
                    phases=phases,
                    seed=(seed, index, k),
                )
            )
        return out

    def room(
        self,
        vignette_id: str,
        spec: dict[str, Any],
        key: str,
        groups: dict[str, tuple[bool, list[Account]]],
        seed: int,
        index: int,
    ) -> RoomSpec:
        """A group room: every account of the names in ``room`` (groups expanded)."""
        room = spec["room"]
        if (
            not isinstance(room, list)
            or not room
            or not all(isinstance(r, str) for r in room)
            or len(set(room)) != len(room)
        ):
            want = "expected a list of different account names"
            self.fail(f"{key}.room", f"{want}, found {show(room)}")
        for j, account in enumerate(room):
            if account not in groups:
                self.fail(f"{key}.room[{j}]", f"no account {show(account)} in [accounts]")
        names = tuple(cast(list[str], room))
        members = tuple(a for n in names for a in groups[n][1])
        if len(members) < 3:
            self.fail(f"{key}.room", f"a room holds three or more accounts, found {len(members)}")
        clock = groups[self.name(spec["clock"], f"{key}.clock", names)][1][0]
        start, focus, phases = self.timeline(spec, key, names)
        for j, phase in enumerate(phases):
            if phase.opening or phase.closing:
                self.fail(
                    f"{key}.phases[{j}]",
                    "a room's phases have no opening or closing events (write them in a "
                    "conversation between two accounts)",
                )
        return RoomSpec(
            id=f"{vignette_id}/{spec['name']}",
            name=spec["name"],
            key=key,
            names=names,
            members=members,
            clock=clock,
            start=start,
            focus=focus,
            phases=phases,
            seed=(seed, index),
        )

    def timeline(
        self, spec: dict[str, Any], key: str, names: tuple[str, ...]
    ) -> tuple[dt.date, bool, tuple[PhaseSpec, ...]]:
        """A conversation's or room's start, focus and phases."""
        start = spec["start"]
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            self.fail(f"{key}.start", f"expected a date like 2025-03-03, found {show(start)}")
        if not FIRST_DATE <= start <= LAST_DATE:
            self.fail(f"{key}.start", f"expected a date from {FIRST_DATE} to {LAST_DATE}: {start}")
        focus = spec.get("focus", False)
        if not isinstance(focus, bool):
            self.fail(f"{key}.focus", f"expected true or false, found {show(focus)}")
        raw_phases = spec["phases"]
        if not isinstance(raw_phases, list) or not raw_phases:
            self.fail(f"{key}.phases", "expected at least one [[conversations.phases]] table")
        phases: list[PhaseSpec] = []
        next_day = 0
        for j, entry in enumerate(raw_phases):
            phase = self.phase(entry, f"{key}.phases[{j}]", names, next_day)
            phases.append(phase)
            next_day = phase.day + (phase.repeat - 1) * phase.every + phase.days
            if (LAST_DATE - start).days < next_day - 1:
                self.fail(
                    f"{key}.phases[{j}]",
                    f"its last day, {next_day - 1} days after the start {start}, is after "
                    f"{LAST_DATE}",
                )
        return start, focus, tuple(phases)

    def phase(self, raw: object, key: str, names: tuple[str, ...], next_day: int) -> PhaseSpec:
        spec = self.table(raw, key, _PHASE_KEYS)
        for required in ("hours", "channel"):
            if required not in spec:
                self.fail(f"{key}.{required}", "missing")
        hours = spec["hours"]
        if not isinstance(hours, list) or len(hours) != 2:
            self.fail(f"{key}.hours", f"expected [first hour, last hour], found {show(hours)}")
        h0 = self.number(hours[0], f"{key}.hours[0]", 0.0, 24.0)
        h1 = self.number(hours[1], f"{key}.hours[1]", 0.0, 24.0)
        if h0 == h1 or h0 == 24.0:
            self.fail(f"{key}.hours", f"expected a window of local hours, found {show(hours)}")
        events = self.integer(spec.get("events", 0), f"{key}.events", 0, 100_000)
        shares = self.fractions(spec.get("shares", {}), f"{key}.shares", names)
        if events and "shares" not in spec:
            self.fail(f"{key}.shares", "missing: who sends the phase's events")
        # with events to send an empty table ({}) is checked too: its shares add up to 0
        if (shares or events) and not math.isclose(sum(s for _, s in shares), 1.0, abs_tol=1e-9):
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
        self, raw: object, key: str, names: tuple[str, ...]
    ) -> tuple[tuple[str, float], ...]:
        table = self.table(raw, key, set(names))
        return tuple(
            (n, self.number(table[n], f"{key}.{n}", 0.0, 1.0)) for n in names if n in table
        )

    def singles(self, raw: object, key: str, names: tuple[str, ...]) -> tuple[SingleEvent, ...]:
        if not isinstance(raw, list):
            want = "expected a list of events like { by = ..., event = ... }"
            self.fail(key, f"{want}: {show(raw)}")
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
