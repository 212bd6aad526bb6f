"""Worlds: every parameter of the synthetic generator in one validated, frozen object.

A :class:`World` says what a platform and its population look like: which scenarios
happen and how often, how long and how late conversations run, which channels people
use, how many ages are unknown, which time zones they live in and what the platform
records. :meth:`World.default` reads ``default_world.toml``; :func:`draw_world` draws
other worlds from the documented ranges of the nuisance parameters
(:mod:`riskscore.synthetic.nuisance`), and :data:`~riskscore.synthetic.STRESS_WORLDS`
pushes each benign look-alike to its extreme. ``generate(n, world=...)`` uses one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from riskscore.io.schema import CHANNEL_NAMES, MAX_TZ_OFFSET_MIN, MIN_TZ_OFFSET_MIN

__all__ = ["BENIGN_SCENARIOS", "GROOMING_SCENARIOS", "Platform", "ScenarioProfile", "World"]

#: Ages whose relative weights the age-weight vectors give: 2, 3, ..., 17.
N_CHILD_AGES: Final = 16


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"{where}: {message}")


def _check_probability(where: str, value: object) -> float:
    if not _is_real(value) or not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
        raise _fail(where, f"must be a number in [0, 1], got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _is_real(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _floats(where: str, value: object, size: int) -> tuple[float, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != size:
        raise _fail(where, f"must be a list of {size} numbers, got {value!r}")
    if not all(_is_real(v) for v in value):
        raise _fail(where, f"must hold finite numbers only, got {value!r}")
    return tuple(float(v) for v in value)


@dataclass(frozen=True, slots=True)
class ScenarioProfile:
    """Parameters of one scenario (one row of ``default_world.toml``'s ``[[scenarios]]``).

    Role A is the older account (the adult; the groomer in grooming scenarios), role B
    the younger one (the child). Times of day are drawn in B's local time. Pairs are
    ranges ``[low, high)`` or Beta shapes ``[a, b]`` as named; ``docs/synthetic.md``
    explains each field.
    """

    name: str
    is_grooming: bool
    story: str
    imitates: str
    events: tuple[float, float, float, float]  # lognormal median, sigma; min, max
    span_hours: tuple[float, float, float, float]  # lognormal median, sigma; min, max
    start_hour: tuple[float, float]  # local start window of conversations shorter than a day
    p_a_initiates: float
    p_request: float  # opens with a contact request from the initiator
    p_accept: float
    p_request_public: float  # request sent on public (else group)
    phase1_channel: tuple[float, float, float]  # public, group, direct
    phase2_channel: tuple[float, float, float, float, float, float]  # c2 = max(c1, draw)
    onset_fraction: tuple[float, float]  # phase 2 starts this far into the body
    move_within_min: tuple[float, float]  # if > 0: phase 2 starts this many minutes in
    night_phase1: tuple[float, float]  # Beta shapes of the night share
    night_phase2: tuple[float, float]
    a_share: tuple[float, float]  # Beta shapes of A's share of messages
    media: tuple[float, float, float]  # per message: phase 1, phase 2 by A, phase 2 by B
    external: tuple[float, float]  # per phase 2 message: by A, by B
    escalation: tuple[float, float]  # range of the time-warp exponent (> 1: accelerating)
    p_block: float  # B blocks A at the end
    p_report: float  # B reports A at the end
    p_stray: float  # a message on a random public/group/direct channel
    p_quiet: float  # hard case: no night shift, no channel move (marker: media)
    max_unanswered: int  # messages the initiator sends to a request never accepted

    def __post_init__(self) -> None:
        where = f"scenario {self.name!r}"
        sizes = {
            "events": 4,
            "span_hours": 4,
            "start_hour": 2,
            "phase1_channel": 3,
            "phase2_channel": 6,
            "onset_fraction": 2,
            "move_within_min": 2,
            "night_phase1": 2,
            "night_phase2": 2,
            "a_share": 2,
            "media": 3,
            "external": 2,
            "escalation": 2,
        }
        for name, size in sizes.items():
            object.__setattr__(self, name, _floats(f"{where}.{name}", getattr(self, name), size))
        for name in ("events", "span_hours"):
            median, sigma, low, high = getattr(self, name)
            if not (median > 0 and sigma >= 0 and 0 < low <= high):
                raise _fail(
                    f"{where}.{name}",
                    f"needs median > 0, sigma >= 0 and 0 < min <= max, got {getattr(self, name)}",
                )
        for name in ("start_hour", "onset_fraction", "move_within_min", "escalation"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise _fail(f"{where}.{name}", f"needs 0 <= low <= high, got {[low, high]}")
        if self.start_hour[1] > 24.0 or self.onset_fraction[1] > 1.0 or self.escalation[0] <= 0:
            raise _fail(
                where,
                "start_hour must lie in [0, 24], onset_fraction in [0, 1] and escalation above 0",
            )
        for name in ("night_phase1", "night_phase2", "a_share"):
            if min(getattr(self, name)) <= 0:
                raise _fail(
                    f"{where}.{name}", f"Beta shapes must be > 0, got {getattr(self, name)}"
                )
        for name in ("phase1_channel", "phase2_channel"):
            weights = getattr(self, name)
            if min(weights) < 0 or sum(weights) <= 0:
                raise _fail(
                    f"{where}.{name}", f"needs weights >= 0 with a positive sum, got {weights}"
                )
        for name in ("media", "external"):
            for value in getattr(self, name):
                _check_probability(f"{where}.{name}", value)
        for name in (
            "p_a_initiates",
            "p_request",
            "p_accept",
            "p_request_public",
            "p_block",
            "p_report",
            "p_stray",
            "p_quiet",
        ):
            object.__setattr__(
                self, name, _check_probability(f"{where}.{name}", getattr(self, name))
            )
        if isinstance(self.max_unanswered, bool) or not isinstance(self.max_unanswered, int):
            raise _fail(
                f"{where}.max_unanswered", f"must be an integer, got {self.max_unanswered!r}"
            )
        if self.max_unanswered < 0:
            raise _fail(f"{where}.max_unanswered", f"must be >= 0, got {self.max_unanswered}")

    def replace(self, **changes: Any) -> ScenarioProfile:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Platform:
    """What the platform records of each event.

    Attributes
    ----------
    contact_events : bool
        ``contact_request`` and ``contact_accept`` are recorded; otherwise the
        approach and its acceptance show as plain messages.
    media_events : bool
        ``media`` is recorded; otherwise media shows as a plain message.
    safety_events : bool
        ``block`` and ``report`` are recorded; otherwise they leave no event.
    time_zones : bool
        ``recipient_tz_offset_min`` is recorded; otherwise every event carries 0
        (UTC), whatever the recipient's real local time.
    channels : tuple of str
        Surfaces the platform has (``public`` and ``direct`` always). An event on a
        surface it lacks is recorded on the nearest more public one it has.
    """

    contact_events: bool = True
    media_events: bool = True
    safety_events: bool = True
    time_zones: bool = True
    channels: tuple[str, ...] = tuple(CHANNEL_NAMES)

    def __post_init__(self) -> None:
        for name in ("contact_events", "media_events", "safety_events", "time_zones"):
            if not isinstance(getattr(self, name), bool):
                raise _fail(
                    f"platform.{name}", f"must be true or false, got {getattr(self, name)!r}"
                )
        channels = tuple(self.channels)
        unknown = sorted(set(channels) - set(CHANNEL_NAMES))
        if unknown:
            raise _fail(
                "platform.channels", f"unknown channel(s) {unknown}; known: {list(CHANNEL_NAMES)}"
            )
        if not {"public", "direct"} <= set(channels):
            raise _fail(
                "platform.channels", f"must include 'public' and 'direct', got {list(channels)}"
            )
        # Kept in the privacy order of the schema, each once.
        object.__setattr__(self, "channels", tuple(c for c in CHANNEL_NAMES if c in channels))

    @property
    def channel_map(self) -> tuple[int, ...]:
        """Recorded channel code for each channel code: the nearest available at or below."""
        available = [CHANNEL_NAMES.index(c) for c in self.channels]
        return tuple(max(a for a in available if a <= code) for code in range(len(CHANNEL_NAMES)))


#: Scenario names: grooming variants and benign scenarios, in code order.
GROOMING_SCENARIOS: Final = ("grooming_fast", "grooming_slow", "grooming_refused")
BENIGN_SCENARIOS: Final = (
    "adult_daytime",
    "family",
    "teacher_coach",
    "adult_romance",
    "teen_peers",
    "older_sibling",
)


@dataclass(frozen=True, slots=True)
class World:
    """Everything the generator needs to know about a platform and its population.

    Build one with :meth:`default`, :meth:`from_mapping` (e.g. a TOML file),
    :func:`~riskscore.synthetic.draw_world` or :meth:`replace`; every field is
    validated, and a bad value raises ``ValueError`` naming it. The fields are those
    of ``default_world.toml`` (documented there and in ``docs/synthetic.md``).

    Examples
    --------
    >>> from riskscore.synthetic import World
    >>> world = World.default()
    >>> world.name, len(world.scenarios)
    ('default', 9)
    >>> world.replace(minor_unknown_age_rate=0.5).minor_unknown_age_rate
    0.5
    >>> World.default().replace(max_fanout=0)
    Traceback (most recent call last):
    ...
    ValueError: max_fanout: must be an integer >= 1, got 0
    """

    name: str
    description: str
    scenarios: tuple[ScenarioProfile, ...]
    benign_mix: Mapping[str, float]
    grooming_mix: Mapping[str, float]
    adult_unknown_age_rate: float
    minor_unknown_age_rate: float
    groomer_unknown_age_rate: float
    tz_mix: Mapping[int, float]
    target_age_weights: tuple[float, ...]
    child_age_weights: tuple[float, ...]
    sibling_age_weights: tuple[float, ...]
    pupil_age_weights: tuple[float, ...]
    move_platform_rate: float
    groomer_declares_teen: float
    fanout_geometric_p: float
    max_fanout: int
    reciprocity: float
    adult_reuse: float
    minor_reuse: float
    teen_reuse: float
    pupils_per_teacher: float
    special_adult_conversations: float
    teen_cohort_size: int
    teen_age_spread: float
    platform: Platform = field(default_factory=Platform)
    secure_channel_mix: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise _fail("name", f"must be a non-empty string, got {self.name!r}")
        names = tuple(s.name for s in self.scenarios)
        expected = (*GROOMING_SCENARIOS, *BENIGN_SCENARIOS)
        if sorted(names) != sorted(expected):
            raise _fail("scenarios", f"must be the scenarios {list(expected)}, got {list(names)}")
        object.__setattr__(
            self, "scenarios", tuple(sorted(self.scenarios, key=lambda s: expected.index(s.name)))
        )
        for s in self.scenarios:
            if s.is_grooming != (s.name in GROOMING_SCENARIOS):
                raise _fail(f"scenario {s.name!r}.is_grooming", f"is wrong: {s.is_grooming}")
        object.__setattr__(
            self, "benign_mix", _mix("benign_mix", self.benign_mix, BENIGN_SCENARIOS)
        )
        object.__setattr__(
            self, "grooming_mix", _mix("grooming_mix", self.grooming_mix, GROOMING_SCENARIOS)
        )
        if self.secure_channel_mix is not None:
            object.__setattr__(
                self,
                "secure_channel_mix",
                _mix(
                    "secure_channel_mix",
                    self.secure_channel_mix,
                    ("direct", "ephemeral", "encrypted"),
                ),
            )
        tz = _tz_mix(self.tz_mix)
        object.__setattr__(self, "tz_mix", tz)
        for name in (
            "adult_unknown_age_rate",
            "minor_unknown_age_rate",
            "groomer_unknown_age_rate",
            "move_platform_rate",
            "groomer_declares_teen",
            "reciprocity",
        ):
            object.__setattr__(self, name, _check_probability(name, getattr(self, name)))
        if not _is_real(self.fanout_geometric_p) or not 0 < self.fanout_geometric_p <= 1:
            raise _fail("fanout_geometric_p", f"must be in (0, 1], got {self.fanout_geometric_p!r}")
        for name in ("max_fanout", "teen_cohort_size"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < (2 if name == "teen_cohort_size" else 1)
            ):
                low = 2 if name == "teen_cohort_size" else 1
                raise _fail(name, f"must be an integer >= {low}, got {value!r}")
        for name in ("adult_reuse", "minor_reuse", "teen_reuse", "pupils_per_teacher"):
            value = getattr(self, name)
            if not _is_real(value) or value < 1:
                raise _fail(name, f"must be a number >= 1, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not _is_real(self.special_adult_conversations) or self.special_adult_conversations < 0:
            raise _fail(
                "special_adult_conversations",
                f"must be a number >= 0, got {self.special_adult_conversations!r}",
            )
        if not _is_real(self.teen_age_spread) or not 0 < self.teen_age_spread <= 5:
            raise _fail("teen_age_spread", f"must be in (0, 5] years, got {self.teen_age_spread!r}")
        for name in (
            "target_age_weights",
            "child_age_weights",
            "sibling_age_weights",
            "pupil_age_weights",
        ):
            weights = _floats(name, getattr(self, name), N_CHILD_AGES)
            if min(weights) < 0 or sum(weights) <= 0:
                raise _fail(
                    name,
                    "must be 16 weights >= 0 for ages 2..17 with a positive sum, "
                    f"got {list(weights)}",
                )
            object.__setattr__(self, name, weights)
        if not isinstance(self.platform, Platform):
            raise _fail("platform", f"must be a Platform, got {type(self.platform).__name__}")

    # ---------------------------------------------------------------- building

    @classmethod
    def default(cls) -> World:
        """The reference world, read from the package's ``default_world.toml``."""
        return _DEFAULT

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> World:
        """A world from a TOML file with the keys of ``default_world.toml``.

        Keys left out keep the default world's values; a ``[[scenarios]]`` entry
        changes only the fields it names of the scenario it names.
        """
        with Path(path).open("rb") as f:
            return cls.from_mapping(tomllib.load(f), source=str(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "world") -> World:
        """A world from a mapping of fields, as in ``default_world.toml``.

        Missing fields keep the default world's values (``World.default()``);
        ``scenarios`` entries are partial updates keyed by ``name``.
        """
        return _from_mapping(_DEFAULT, data, source)

    def replace(self, **changes: Any) -> World:
        """A copy with some fields changed, validated.

        ``scenarios`` may be given as a mapping of scenario name to a mapping of
        changed fields, e.g. ``{"family": {"p_block": 0.05}}``.
        """
        return _from_mapping(self, changes, "replace")

    def scenario(self, name: str) -> ScenarioProfile:
        """The profile of one scenario, by name."""
        for s in self.scenarios:
            if s.name == name:
                return s
        raise KeyError(f"no scenario {name!r}; scenarios are {[s.name for s in self.scenarios]}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the inverse of :meth:`from_mapping`)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "scenarios":
                value = [
                    {
                        k: list(v) if isinstance(v, tuple) else v
                        for k, v in dataclasses.asdict(s).items()
                    }
                    for s in value
                ]
            elif f.name == "platform":
                value = {
                    k: list(v) if isinstance(v, tuple) else v
                    for k, v in dataclasses.asdict(value).items()
                }
            elif f.name == "tz_mix":
                value = {str(k): v for k, v in value.items()}
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def _mix(name: str, given: object, keys: Sequence[str]) -> dict[str, float]:
    """Weights over ``keys`` (missing ones weigh 0), scaled to sum to 1."""
    if not isinstance(given, Mapping):
        raise _fail(name, f"must be a mapping of name to weight, got {given!r}")
    unknown = sorted(set(given) - set(keys), key=str)
    if unknown:
        raise _fail(name, f"has unknown key(s) {unknown}; expected keys from {list(keys)}")
    for key, weight in given.items():
        if not _is_real(weight) or weight < 0:
            raise _fail(f"{name}[{key!r}]", f"must be a number >= 0, got {weight!r}")
    total = sum(float(w) for w in given.values())
    if total <= 0:
        raise _fail(name, f"must give some entry a weight > 0, got {dict(given)}")
    return {key: float(given.get(key, 0.0)) / total for key in keys}


def _tz_mix(given: object) -> dict[int, float]:
    if not isinstance(given, Mapping) or not given:
        raise _fail(
            "tz_mix",
            f"must be a non-empty mapping of UTC offset (minutes) to weight, got {given!r}",
        )
    out: dict[int, float] = {}
    for key, weight in given.items():
        try:
            offset = int(key)
        except (TypeError, ValueError):
            offset = None
        if (
            offset is None
            or str(offset) != str(key).strip()
            or not MIN_TZ_OFFSET_MIN <= offset <= MAX_TZ_OFFSET_MIN
        ):
            raise _fail(
                "tz_mix",
                f"offsets must be integer minutes in [{MIN_TZ_OFFSET_MIN}, "
                f"{MAX_TZ_OFFSET_MIN}], got {key!r}",
            )
        if not _is_real(weight) or weight < 0:
            raise _fail(f"tz_mix[{key!r}]", f"must be a number >= 0, got {weight!r}")
        out[offset] = float(weight)
    total = sum(out.values())
    if total <= 0:
        raise _fail("tz_mix", "must give some offset a weight > 0")
    return {k: w / total for k, w in out.items()}


_FIELDS: Final = {f.name for f in dataclasses.fields(World)}
_SCENARIO_FIELDS: Final = {f.name for f in dataclasses.fields(ScenarioProfile)}
_PLATFORM_FIELDS: Final = {f.name for f in dataclasses.fields(Platform)}


def _from_mapping(base: World | None, data: Mapping[str, Any], source: str) -> World:
    """``base`` with the fields of ``data`` changed (all fields required when no base)."""
    if not isinstance(data, Mapping):
        raise _fail(source, f"a world must be a mapping of fields, got {type(data).__name__}")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise _fail(source, f"unknown world field(s) {unknown}; known fields: {sorted(_FIELDS)}")
    values: dict[str, Any] = {} if base is None else {f: getattr(base, f) for f in _FIELDS}
    for key, value in data.items():
        if key == "scenarios":
            values[key] = _scenarios(base, value, source)
        elif key == "platform":
            values[key] = _platform(None if base is None else base.platform, value, source)
        else:
            values[key] = value
    if base is not None and "name" not in data and data:
        values["name"] = base.name
    missing = sorted(_FIELDS - set(values) - {"platform", "secure_channel_mix"})
    if missing:
        raise _fail(source, f"missing world field(s) {missing}")
    return World(**values)


def _scenarios(base: World | None, value: object, source: str) -> tuple[ScenarioProfile, ...]:
    by_name: dict[str, ScenarioProfile | None] = (
        {} if base is None else {s.name: s for s in base.scenarios}
    )
    if isinstance(value, Mapping):
        entries = [{"name": name, **dict(fields)} for name, fields in value.items()]
    elif isinstance(value, (list, tuple)):
        entries = [dict(e) if isinstance(e, Mapping) else e for e in value]
    else:
        raise _fail(f"{source}: scenarios", f"must be a list of tables, got {value!r}")
    for entry in entries:
        if isinstance(entry, ScenarioProfile):
            by_name[entry.name] = entry
            continue
        if not isinstance(entry, dict) or "name" not in entry:
            raise _fail(f"{source}: scenarios", f"each entry needs a 'name', got {entry!r}")
        name = entry["name"]
        unknown = sorted(set(entry) - _SCENARIO_FIELDS)
        if unknown:
            raise _fail(f"{source}: scenario {name!r}", f"unknown field(s) {unknown}")
        current = by_name.get(name)
        if current is None:
            if base is not None:
                raise _fail(f"{source}: scenarios", f"unknown scenario {name!r}")
            by_name[name] = ScenarioProfile(**entry)
        else:
            by_name[name] = current.replace(**{k: v for k, v in entry.items() if k != "name"})
    return tuple(s for s in by_name.values() if s is not None)


def _platform(base: Platform | None, value: object, source: str) -> Platform:
    if isinstance(value, Platform):
        return value
    if not isinstance(value, Mapping):
        raise _fail(f"{source}: platform", f"must be a table, got {value!r}")
    unknown = sorted(set(value) - _PLATFORM_FIELDS)
    if unknown:
        raise _fail(
            f"{source}: platform", f"unknown field(s) {unknown}; known: {sorted(_PLATFORM_FIELDS)}"
        )
    values = {} if base is None else dataclasses.asdict(base)
    values.update(value)
    values["channels"] = tuple(values.get("channels", CHANNEL_NAMES))
    return Platform(**values)


def _load_default() -> World:
    text = resources.files("riskscore.synthetic").joinpath("default_world.toml").read_text("utf-8")
    return _from_mapping(None, tomllib.loads(text), "default_world.toml")


_DEFAULT: Final = _load_default()
