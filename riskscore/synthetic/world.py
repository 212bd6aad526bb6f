"""Worlds: every parameter of the synthetic generator in one validated, frozen object.

A :class:`World` says what a platform and its population look like: which scenarios
happen and how often, how long and how late conversations run, which channels people
use, how many ages are unknown, which time zones they live in and what the platform
records. :meth:`World.default` reads ``default_world.toml``; :func:`draw_world` draws
other worlds from the documented ranges of the nuisance parameters
(:mod:`riskscore.synthetic.nuisance`), and :data:`~riskscore.synthetic.STRESS_WORLDS`
pushes each benign look-alike to its extreme. ``generate(n, world=...)`` uses one.
A world's parts (:class:`ScenarioProfile`, :class:`Platform`) are in
:mod:`riskscore.synthetic.profiles`, the checks of its values in
:mod:`riskscore.synthetic.params`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from riskscore._checks import is_real, unknown_keys_problem
from riskscore._toml import read_toml
from riskscore.io.raw import show
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.synthetic.params import (
    check_probability,
    fail,
    floats,
    mix,
    tz_mix,
    weight_total,
    whole,
)
from riskscore.synthetic.profiles import (
    BENIGN_SCENARIOS,
    GROOMING_SCENARIOS,
    Platform,
    ScenarioProfile,
)

__all__ = [
    "BENIGN_SCENARIOS",
    "GROOMING_SCENARIOS",
    "Platform",
    "ScenarioProfile",
    "World",
    "world_or_default",
]

#: Ages whose relative weights the age-weight vectors give: 2, 3, ..., 17.
N_CHILD_AGES: Final = 16
#: Longest world name: one printable line, as results and reports quote it.
MAX_NAME_CHARS: Final = 128
#: Largest world file read (bytes): ``default_world.toml``, every field given, is 10 kB.
MAX_WORLD_BYTES: Final = 1_000_000
#: Largest teen cohort: each cohort's ages are drawn at once, a trillion ran out of memory.
MAX_TEEN_COHORT: Final = 10_000
#: Most targets of one groomer's campaign (drawn worlds use at most 40): a campaign of
#: 10**18 made the campaigns' running total overflow, and generation crashed the process.
MAX_FANOUT: Final = 10_000


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
    ('default', 10)
    >>> world.replace(minor_unknown_age_rate=0.5).minor_unknown_age_rate
    0.5
    >>> World.default().replace(max_fanout=0)
    Traceback (most recent call last):
    ...
    ValueError: max_fanout: must be an integer >= 1 and <= 10000, got 0
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
    spam_targets_per_account: float
    platform: Platform = field(default_factory=Platform)
    secure_channel_mix: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if (
            not isinstance(self.name, str)
            or not self.name
            or not self.name.isprintable()
            or len(self.name) > MAX_NAME_CHARS
        ):
            raise fail(
                "name",
                f"must be one line of printable text of 1 to {MAX_NAME_CHARS} characters, "
                f"got {show(self.name)}",
            )
        if not isinstance(self.description, str):
            raise fail("description", f"must be text, got {show(self.description)}")
        names = tuple(s.name for s in self.scenarios)
        expected = (*GROOMING_SCENARIOS, *BENIGN_SCENARIOS)
        if sorted(names) != sorted(expected):
            raise fail("scenarios", f"must be the scenarios {list(expected)}, got {list(names)}")
        object.__setattr__(
            self, "scenarios", tuple(sorted(self.scenarios, key=lambda s: expected.index(s.name)))
        )
        for s in self.scenarios:
            if s.is_grooming != (s.name in GROOMING_SCENARIOS):
                raise fail(f"scenario {s.name!r}.is_grooming", f"is wrong: {s.is_grooming}")
        object.__setattr__(self, "benign_mix", mix("benign_mix", self.benign_mix, BENIGN_SCENARIOS))
        object.__setattr__(
            self, "grooming_mix", mix("grooming_mix", self.grooming_mix, GROOMING_SCENARIOS)
        )
        if self.secure_channel_mix is not None:
            object.__setattr__(
                self,
                "secure_channel_mix",
                mix(
                    "secure_channel_mix",
                    self.secure_channel_mix,
                    ("direct", "ephemeral", "encrypted"),
                ),
            )
        tz = tz_mix(self.tz_mix)
        object.__setattr__(self, "tz_mix", tz)
        for name in (
            "adult_unknown_age_rate",
            "minor_unknown_age_rate",
            "groomer_unknown_age_rate",
            "move_platform_rate",
            "groomer_declares_teen",
            "reciprocity",
        ):
            object.__setattr__(self, name, check_probability(name, getattr(self, name)))
        if not is_real(self.fanout_geometric_p) or not 0 < self.fanout_geometric_p <= 1:
            raise fail("fanout_geometric_p", f"must be in (0, 1], got {self.fanout_geometric_p!r}")
        object.__setattr__(self, "max_fanout", whole("max_fanout", self.max_fanout, 1, MAX_FANOUT))
        object.__setattr__(
            self,
            "teen_cohort_size",
            whole("teen_cohort_size", self.teen_cohort_size, 2, MAX_TEEN_COHORT),
        )
        for name in (
            "adult_reuse",
            "minor_reuse",
            "teen_reuse",
            "pupils_per_teacher",
            "spam_targets_per_account",
        ):
            value = getattr(self, name)
            if not is_real(value) or value < 1:
                raise fail(name, f"must be a number >= 1, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not is_real(self.special_adult_conversations) or self.special_adult_conversations < 0:
            raise fail(
                "special_adult_conversations",
                f"must be a number >= 0, got {self.special_adult_conversations!r}",
            )
        if not is_real(self.teen_age_spread) or not 0 < self.teen_age_spread <= 5:
            raise fail("teen_age_spread", f"must be in (0, 5] years, got {self.teen_age_spread!r}")
        for name in (
            "target_age_weights",
            "child_age_weights",
            "sibling_age_weights",
            "pupil_age_weights",
        ):
            weights = floats(name, getattr(self, name), N_CHILD_AGES)  # ages 2..17
            weight_total(name, weights, list(weights))
            object.__setattr__(self, name, weights)
        if not isinstance(self.platform, Platform):
            raise fail("platform", f"must be a Platform, got {type(self.platform).__name__}")

    # ---------------------------------------------------------------- building

    @classmethod
    def default(cls) -> World:
        """The reference world, read from the package's ``default_world.toml``."""
        return _DEFAULT

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> World:
        """A world from a TOML file with the keys of ``default_world.toml``.

        Keys left out keep the default world's values; a ``[[scenarios]]`` entry
        changes only the fields it names of the scenario it names. A file that is not
        UTF-8 TOML of at most :data:`MAX_WORLD_BYTES` raises ``ValueError`` naming it.
        """
        source = str(path)
        data = read_toml(
            Path(path),
            max_bytes=MAX_WORLD_BYTES,
            what="world",
            refuse=lambda reason: fail(source, reason),
        )
        return cls.from_mapping(data, source=source)

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


_FIELDS: Final = {f.name for f in dataclasses.fields(World)}
_SCENARIO_FIELDS: Final = {f.name for f in dataclasses.fields(ScenarioProfile)}
_PLATFORM_FIELDS: Final = {f.name for f in dataclasses.fields(Platform)}


def _from_mapping(base: World | None, data: Mapping[str, Any], source: str) -> World:
    """``base`` with the fields of ``data`` changed (all fields required when no base)."""
    if not isinstance(data, Mapping):
        raise fail(source, f"a world must be a mapping of fields, got {type(data).__name__}")
    problem = unknown_keys_problem(data, _FIELDS, "world field")
    if problem:
        raise fail(source, problem)
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
        raise fail(source, f"missing world field(s) {missing}")
    return World(**values)


def _scenarios(base: World | None, value: object, source: str) -> tuple[ScenarioProfile, ...]:
    by_name: dict[str, ScenarioProfile | None] = (
        {} if base is None else {s.name: s for s in base.scenarios}
    )
    if isinstance(value, Mapping):
        for name, fields in value.items():
            if not isinstance(fields, Mapping):
                raise fail(f"{source}: scenarios.{name}", f"must be a table, got {show(fields)}")
            if fields.get("name", name) != name:  # it changed the other scenario it named
                raise fail(
                    f"{source}: scenarios.{name}",
                    f"names scenario {show(fields['name'])}: give no name in a scenario's table",
                )
        entries = [{**dict(fields), "name": name} for name, fields in value.items()]
    elif isinstance(value, (list, tuple)):
        entries = [dict(e) if isinstance(e, Mapping) else e for e in value]
    else:
        raise fail(f"{source}: scenarios", f"must be a list of tables, got {show(value)}")
    for entry in entries:
        if isinstance(entry, ScenarioProfile):
            by_name[entry.name] = entry
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            got = show(entry)
            raise fail(f"{source}: scenarios", f"each entry needs a 'name' (text), got {got}")
        name = entry["name"]
        problem = unknown_keys_problem(entry, _SCENARIO_FIELDS, "field")
        if problem:
            raise fail(f"{source}: scenario {name!r:.80}", problem)
        current = by_name.get(name)
        if current is None:
            if base is not None:
                raise fail(f"{source}: scenarios", f"unknown scenario {name!r}")
            by_name[name] = ScenarioProfile(**entry)
        else:
            by_name[name] = current.replace(**{k: v for k, v in entry.items() if k != "name"})
    return tuple(s for s in by_name.values() if s is not None)


def _platform(base: Platform | None, value: object, source: str) -> Platform:
    if isinstance(value, Platform):
        return value
    if not isinstance(value, Mapping):
        raise fail(f"{source}: platform", f"must be a table, got {show(value)}")
    problem = unknown_keys_problem(value, _PLATFORM_FIELDS, "field")
    if problem:
        raise fail(f"{source}: platform", problem)
    values = {} if base is None else dataclasses.asdict(base)
    values.update(value)
    values.setdefault("channels", CHANNEL_NAMES)  # checked, and made a tuple, by Platform
    return Platform(**values)


def _load_default() -> World:
    text = resources.files("riskscore.synthetic").joinpath("default_world.toml").read_text("utf-8")
    return _from_mapping(None, tomllib.loads(text), "default_world.toml")


_DEFAULT: Final = _load_default()


def world_or_default(name: str, value: object) -> World:
    """The world a function's argument ``name`` gives: :meth:`World.default` for None, else
    a :class:`World`, or ValueError naming ``name`` (a mapping is no world: build one with
    :meth:`World.from_mapping`).

    Examples
    --------
    >>> world_or_default("world", None).name
    'default'
    >>> world_or_default("base", {})
    Traceback (most recent call last):
    ValueError: base must be a riskscore.synthetic.World, got dict
    """
    if value is None:
        return _DEFAULT
    if not isinstance(value, World):
        raise ValueError(f"{name} must be a riskscore.synthetic.World, got {type(value).__name__}")
    return value
