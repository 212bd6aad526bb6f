"""Nuisance parameters: what the generator assumes without calibration, and how wide.

Every assumption of the default world that no published figure pins down (lengths,
spans, night shares, channel mixes, media, blocks and reports, fan-out, account
reuse, time zones, unknown ages, the scenario mix, what the platform records) is a
:class:`Nuisance` with a documented range. :func:`draw_world` draws one value of
each from a seed, so a model can be trained on some worlds and tested on others it
has never seen. The ranges are wide on purpose: across worlds, no nuisance on its own
tells grooming from its look-alikes (benign chats can be longer than grooming ones,
teenagers can chat at night on ephemeral channels, families can use encrypted apps
in the evening, groomers can have a single target, ages can be unknown on either
side, a platform can record no contact requests or no time zones).

``docs/synthetic.md``'s table of nuisances is generated from :data:`NUISANCES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from riskscore.io.schema import CHANNEL_NAMES
from riskscore.synthetic.world import BENIGN_SCENARIOS, GROOMING_SCENARIOS, World

__all__ = ["NUISANCES", "Nuisance", "draw_world", "nuisance_table"]

Rng = np.random.Generator
_GROOMING: Final = GROOMING_SCENARIOS
_BENIGN: Final = BENIGN_SCENARIOS
_ALL: Final = _GROOMING + _BENIGN
_CONVERSING: Final = tuple(s for s in _ALL if s != "grooming_refused")

#: Regions whose UTC offsets (minutes) a drawn world's accounts live in.
TZ_REGIONS: Final[dict[str, dict[int, float]]] = {
    "europe": {
        0: 0.35,
        60: 0.30,
        120: 0.07,
        -300: 0.10,
        -360: 0.04,
        -480: 0.06,
        330: 0.04,
        600: 0.04,
    },
    "americas": {-300: 0.45, -360: 0.25, -420: 0.10, -480: 0.15, -180: 0.05},
    "asia_pacific": {480: 0.40, 540: 0.30, 600: 0.15, 420: 0.10, 720: 0.05},
    "south_asia": {330: 0.80, 300: 0.10, 345: 0.05, 360: 0.05},
    "global": {-480: 1.0, -300: 1.0, 0: 1.0, 60: 1.0, 120: 1.0, 330: 1.0, 480: 1.0, 600: 1.0},
    "single_zone": {0: 1.0},
}


@dataclass(frozen=True, slots=True)
class Nuisance:
    """One uncalibrated assumption and the range over which worlds vary it.

    Attributes
    ----------
    name : str
        Short name.
    changes : str
        The world fields it changes.
    scenarios : tuple of str
        Scenarios it applies to, each drawn independently; empty for a global one.
    law : str
        How a world's value is drawn, with its range.
    default : str
        The default world's value, in words.
    draw : callable
        ``(fields, scenario, rng) -> None``: draws and writes the change into the
        mapping of world fields (``fields["scenarios"][scenario]`` for a
        per-scenario one).
    """

    name: str
    changes: str
    scenarios: tuple[str, ...]
    law: str
    default: str
    draw: Callable[[dict[str, Any], str, Rng], None]


def _log_uniform(rng: Rng, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _beta_with_mean(shapes: tuple[float, ...], mean: float) -> list[float]:
    """Beta shapes with the same concentration and a new mean."""
    total = shapes[0] + shapes[1]
    return [mean * total, (1.0 - mean) * total]


def _scenario(fields: dict[str, Any], name: str) -> dict[str, Any]:
    profile: dict[str, Any] = fields["scenarios"][name]
    return profile


def _events(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    factor = _log_uniform(rng, 1 / 3, 3.0)
    median, sigma, low, high = p["events"]
    top = min(max(high * factor, low + 1), 1000.0)
    p["events"] = [median * factor, sigma, low, top]


def _span(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    factor = _log_uniform(rng, 1 / 4, 4.0)
    median, sigma, low, high = p["span_hours"]
    new_low = min(low * factor, 700.0)
    p["span_hours"] = [median * factor, sigma, new_low, min(max(high * factor, new_low), 720.0)]


def _start_hour(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    shift = rng.uniform(-3.0, 3.0)
    low, high = p["start_hour"]
    low, high = min(max(low + shift, 0.0), 23.0), min(max(high + shift, 1.0), 24.0)
    p["start_hour"] = [low, max(high, low)]


def _night(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    factor = _log_uniform(rng, 1 / 3, 3.0)
    for key in ("night_phase1", "night_phase2"):
        a, b = p[key]
        mean = min(max(a / (a + b) * factor, 0.01), 0.85)
        p[key] = _beta_with_mean((a, b), mean)


def _channels(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    phase1 = np.asarray(p["phase1_channel"], dtype=np.float64)
    p["phase1_channel"] = rng.dirichlet(8.0 * phase1 / phase1.sum() + 0.4).tolist()
    phase2 = np.asarray(p["phase2_channel"], dtype=np.float64)
    if name in _GROOMING:
        # Where grooming moves to varies; that it moves to a less visible surface does not.
        private = rng.dirichlet(8.0 * phase2[2:5] / phase2[2:5].sum() + 0.4)
        p["phase2_channel"] = [0.0, 0.0, *private.tolist(), 0.0]
    else:
        weights = rng.dirichlet(8.0 * phase2[:5] / phase2[:5].sum() + 0.4)
        p["phase2_channel"] = [*weights.tolist(), 0.0]  # external comes from shared handles


def _scaled_rates(key: str, low: float, high: float, cap: float) -> Callable[..., None]:
    def draw(fields: dict[str, Any], name: str, rng: Rng) -> None:
        p = _scenario(fields, name)
        factor = _log_uniform(rng, low, high)
        if isinstance(p[key], (list, tuple)):
            p[key] = [min(v * factor, cap) for v in p[key]]
        else:
            p[key] = min(p[key] * factor, cap)

    return draw


def _safety(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    factor = _log_uniform(rng, 1 / 4, 4.0)
    p["p_block"] = min(p["p_block"] * factor, 0.5)
    p["p_report"] = min(p["p_report"] * factor, 0.5)


def _benign_external(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    extra = rng.uniform(0.0, 0.02)
    p["external"] = [min(v + extra, 0.6) for v in p["external"]]


def _requests(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    p["p_request"] = float(np.clip(p["p_request"] + rng.uniform(-0.3, 0.3), 0.0, 1.0))
    if name in _BENIGN:
        p["p_accept"] = rng.uniform(0.6, 1.0)


def _initiation(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    p["p_a_initiates"] = float(np.clip(p["p_a_initiates"] + rng.uniform(-0.3, 0.3), 0.0, 1.0))


def _a_share(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    a, b = p["a_share"]
    mean = min(max(a / (a + b) + rng.uniform(-0.15, 0.15), 0.2), 0.9)
    p["a_share"] = _beta_with_mean((a, b), mean)


def _escalation(fields: dict[str, Any], name: str, rng: Rng) -> None:
    low = rng.uniform(0.7, 1.6)
    _scenario(fields, name)["escalation"] = [low, low + rng.uniform(0.0, 1.5)]


def _onset(fields: dict[str, Any], name: str, rng: Rng) -> None:
    low = rng.uniform(0.0, 0.6)
    _scenario(fields, name)["onset_fraction"] = [low, min(low + rng.uniform(0.1, 0.6), 1.0)]


def _dirichlet_mix(key: str, concentration: float, floor: float) -> Callable[..., None]:
    def draw(fields: dict[str, Any], name: str, rng: Rng) -> None:
        names = list(fields[key])
        weights = np.array([fields[key][k] for k in names], dtype=np.float64)
        drawn = rng.dirichlet(concentration * weights / weights.sum() + floor)
        fields[key] = dict(zip(names, drawn.tolist(), strict=True))

    return draw


def _uniform(key: str, low: float, high: float) -> Callable[..., None]:
    def draw(fields: dict[str, Any], name: str, rng: Rng) -> None:
        fields[key] = rng.uniform(low, high)

    return draw


def _log_uniform_field(key: str, low: float, high: float) -> Callable[..., None]:
    def draw(fields: dict[str, Any], name: str, rng: Rng) -> None:
        fields[key] = _log_uniform(rng, low, high)

    return draw


def _time_zones(fields: dict[str, Any], name: str, rng: Rng) -> None:
    regions = list(TZ_REGIONS)
    region = TZ_REGIONS[regions[int(rng.integers(len(regions)))]]
    weights = rng.dirichlet(10.0 * np.array(list(region.values())) / sum(region.values()))
    fields["tz_mix"] = dict(zip(region, weights.tolist(), strict=True))
    fields["platform"]["time_zones"] = bool(rng.random() < 0.8)


def _recording(fields: dict[str, Any], name: str, rng: Rng) -> None:
    platform = fields["platform"]
    platform["contact_events"] = bool(rng.random() < 0.75)
    platform["media_events"] = bool(rng.random() < 0.8)
    platform["safety_events"] = bool(rng.random() < 0.8)
    dropped = rng.random(len(CHANNEL_NAMES)) < 0.4
    if rng.random() < 0.5:
        dropped[:] = False
    platform["channels"] = [
        c
        for c, drop in zip(CHANNEL_NAMES, dropped, strict=True)
        if c in ("public", "direct") or not drop
    ]


def _fanout(fields: dict[str, Any], name: str, rng: Rng) -> None:
    fields["fanout_geometric_p"] = _log_uniform(rng, 0.1, 1.0)
    fields["max_fanout"] = int(rng.integers(1, 41))


def _age_weights(key: str) -> Callable[..., None]:
    def draw(fields: dict[str, Any], name: str, rng: Rng) -> None:
        weights = np.asarray(fields[key], dtype=np.float64)
        fields[key] = rng.dirichlet(40.0 * weights / weights.sum() + 0.05).tolist()

    return draw


#: Every nuisance parameter, in the order :func:`draw_world` draws them.
NUISANCES: Final[tuple[Nuisance, ...]] = (
    Nuisance(
        "conversation length",
        "events (median and max)",
        _ALL,
        "median times a log-uniform factor in [1/3, 3]",
        "per scenario, 4 to 80 events",
        _events,
    ),
    Nuisance(
        "conversation span",
        "span_hours (median, min, max)",
        _ALL,
        "times a log-uniform factor in [1/4, 4], at most 30 days",
        "per scenario, 2 hours to 14 days",
        _span,
    ),
    Nuisance(
        "start hour",
        "start_hour",
        _ALL,
        "window shifted by U(-3, +3) hours",
        "per scenario, e.g. 17:00-23:30 for fast grooming",
        _start_hour,
    ),
    Nuisance(
        "night share",
        "night_phase1, night_phase2 (Beta means)",
        _ALL,
        "mean times a log-uniform factor in [1/3, 3], in [0.01, 0.85]",
        "per scenario, 4 % to 67 %",
        _night,
    ),
    Nuisance(
        "channel mix",
        "phase1_channel, phase2_channel",
        _ALL,
        "Dirichlet(8 p + 0.4) around the default p: any surface can occur in benign "
        "scenarios; grooming's second phase stays on direct, ephemeral or encrypted",
        "per scenario",
        _channels,
    ),
    Nuisance(
        "media rate",
        "media",
        _ALL,
        "times a log-uniform factor in [1/4, 4], at most 0.5",
        "per scenario, 0 to 0.2 per message",
        _scaled_rates("media", 0.25, 4.0, 0.5),
    ),
    Nuisance(
        "handle sharing",
        "external",
        _ALL,
        "times a log-uniform factor in [1/4, 4], at most 0.6",
        "per scenario, 0 to 0.5 per phase-2 message",
        _scaled_rates("external", 0.25, 4.0, 0.6),
    ),
    Nuisance(
        "benign links",
        "external",
        _BENIGN,
        "plus U(0, 0.02) per message (club links, video calls)",
        "0 to 0.04",
        _benign_external,
    ),
    Nuisance(
        "blocks and reports",
        "p_block, p_report",
        _ALL,
        "times a log-uniform factor in [1/4, 4], at most 0.5",
        "per scenario, 0.1 % to 25 %",
        _safety,
    ),
    Nuisance(
        "contact requests",
        "p_request; p_accept (benign)",
        _ALL,
        "p_request + U(-0.3, 0.3); benign p_accept U(0.6, 1)",
        "per scenario",
        _requests,
    ),
    Nuisance(
        "who initiates",
        "p_a_initiates",
        _CONVERSING,
        "+ U(-0.3, 0.3), in [0, 1]",
        "0.4 to 0.9",
        _initiation,
    ),
    Nuisance(
        "older side's share",
        "a_share (Beta mean)",
        _CONVERSING,
        "mean + U(-0.15, 0.15), in [0.2, 0.9]",
        "0.5 to 0.7",
        _a_share,
    ),
    Nuisance(
        "escalation",
        "escalation (time-warp range)",
        _CONVERSING,
        "low U(0.7, 1.6), high = low + U(0, 1.5)",
        "benign about 1, grooming 1 to 3",
        _escalation,
    ),
    Nuisance(
        "stray messages",
        "p_stray",
        _ALL,
        "times a log-uniform factor in [1/3, 3], at most 0.3",
        "0 to 0.1",
        _scaled_rates("p_stray", 1 / 3, 3.0, 0.3),
    ),
    Nuisance(
        "phase change",
        "onset_fraction",
        (*_BENIGN, "grooming_slow"),
        "low U(0, 0.6), high = low + U(0.1, 0.6)",
        "per scenario",
        _onset,
    ),
    Nuisance(
        "benign scenario mix",
        "benign_mix",
        (),
        "Dirichlet(6 w + 0.3) around the default weights w",
        "adult_daytime 48 %, family 14 %, ...",
        _dirichlet_mix("benign_mix", 6.0, 0.3),
    ),
    Nuisance(
        "grooming variant mix",
        "grooming_mix",
        (),
        "Dirichlet(6 w + 0.5) around the default weights",
        "fast 35 %, slow 40 %, refused 25 %",
        _dirichlet_mix("grooming_mix", 6.0, 0.5),
    ),
    Nuisance(
        "unknown adult ages",
        "adult_unknown_age_rate",
        (),
        "U(0, 0.6)",
        "0.15",
        _uniform("adult_unknown_age_rate", 0.0, 0.6),
    ),
    Nuisance(
        "unknown minor ages",
        "minor_unknown_age_rate",
        (),
        "U(0, 0.6)",
        "0.15",
        _uniform("minor_unknown_age_rate", 0.0, 0.6),
    ),
    Nuisance(
        "unknown groomer ages",
        "groomer_unknown_age_rate",
        (),
        "U(0, 0.6)",
        "0.15",
        _uniform("groomer_unknown_age_rate", 0.0, 0.6),
    ),
    Nuisance(
        "time zones",
        "tz_mix, platform.time_zones",
        (),
        f"one of the regions {list(TZ_REGIONS)} with Dirichlet(10 w) weights; offsets "
        "recorded with probability 0.8",
        "europe, recorded",
        _time_zones,
    ),
    Nuisance(
        "what the platform records",
        "platform",
        (),
        "contact events p = 0.75, media 0.8, blocks/reports 0.8; half the worlds drop each "
        "of group, ephemeral, encrypted, external with p = 0.4",
        "everything, six surfaces",
        _recording,
    ),
    Nuisance(
        "move to another app",
        "move_platform_rate",
        (),
        "U(0.2, 0.9)",
        "0.77",
        _uniform("move_platform_rate", 0.2, 0.9),
    ),
    Nuisance(
        "groomers declaring a teenage age",
        "groomer_declares_teen",
        (),
        "U(0, 0.2)",
        "0.10",
        _uniform("groomer_declares_teen", 0.0, 0.2),
    ),
    Nuisance(
        "groomer fan-out",
        "fanout_geometric_p, max_fanout",
        (),
        "p log-uniform in [0.1, 1] (1: a single target), max integer U{1..40}",
        "p = 0.22, max 15",
        _fanout,
    ),
    Nuisance(
        "pupils per teacher",
        "pupils_per_teacher",
        (),
        "log-uniform in [3, 100]",
        "15",
        _log_uniform_field("pupils_per_teacher", 3.0, 100.0),
    ),
    Nuisance(
        "reciprocity", "reciprocity", (), "U(0.2, 1)", "0.4", _uniform("reciprocity", 0.2, 1.0)
    ),
    Nuisance(
        "teen age spread",
        "teen_age_spread",
        (),
        "U(1.5, 4) years",
        "under 3 years",
        _uniform("teen_age_spread", 1.5, 4.0),
    ),
    Nuisance(
        "adult account reuse",
        "adult_reuse",
        (),
        "log-uniform in [1.5, 8]",
        "4",
        _log_uniform_field("adult_reuse", 1.5, 8.0),
    ),
    Nuisance(
        "minor account reuse",
        "minor_reuse",
        (),
        "log-uniform in [1, 4]",
        "2",
        _log_uniform_field("minor_reuse", 1.0, 4.0),
    ),
    Nuisance(
        "teen account reuse",
        "teen_reuse",
        (),
        "log-uniform in [1.5, 5]",
        "3",
        _log_uniform_field("teen_reuse", 1.5, 5.0),
    ),
    Nuisance(
        "target ages",
        "target_age_weights",
        (),
        "Dirichlet(40 w + 0.05) around the calibrated weights",
        "calibrated (NSPCC)",
        _age_weights("target_age_weights"),
    ),
    Nuisance(
        "family children's ages",
        "child_age_weights",
        (),
        "Dirichlet(40 w + 0.05)",
        "6-17, fewer under 6",
        _age_weights("child_age_weights"),
    ),
)


def draw_world(seed: int, *, base: World | None = None, name: str | None = None) -> World:
    """A world with every nuisance parameter drawn from its range.

    Parameters
    ----------
    seed : int
        Seed of the draw (``np.random.default_rng(seed)``); the same seed gives the
        same world.
    base : World, optional
        The world whose values the draws start from (their ranges are relative to
        it); :meth:`World.default` when omitted.
    name : str, optional
        Name of the new world; ``"drawn-<seed>"`` by default.

    Returns
    -------
    World

    Examples
    --------
    >>> from riskscore.synthetic import draw_world
    >>> draw_world(3) == draw_world(3), draw_world(3) == draw_world(4)
    (True, False)
    >>> draw_world(3).name
    'drawn-3'
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    world = base or World.default()
    rng = np.random.default_rng(seed)
    fields = world.to_dict()
    fields["scenarios"] = {s["name"]: s for s in fields["scenarios"]}
    for nuisance in NUISANCES:
        for scenario in nuisance.scenarios or ("",):
            nuisance.draw(fields, scenario, rng)
    scenarios = [
        {k: v for k, v in s.items() if k != "is_grooming"} for s in fields.pop("scenarios").values()
    ]
    fields["name"] = name or f"drawn-{int(seed)}"
    fields["description"] = f"nuisance parameters drawn with seed {int(seed)} from {world.name!r}"
    return world.replace(scenarios=scenarios, **fields)


def nuisance_table() -> str:
    """The nuisance parameters as a Markdown table (``docs/synthetic.md`` includes it)."""
    rows = [
        "| nuisance | world fields | scenarios | drawn as | default world |",
        "|---|---|---|---|---|",
    ]
    for n in NUISANCES:
        scope = "all" if n.scenarios == _ALL else ", ".join(n.scenarios) or "global"
        rows.append(f"| {n.name} | `{n.changes}` | {scope} | {n.law} | {n.default} |")
    return "\n".join(rows) + "\n"
