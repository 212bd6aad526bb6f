"""How a drawn world changes each nuisance parameter (the draws :data:`NUISANCES` names).

Each draw is ``(fields, scenario, rng) -> None``: it draws a value from ``rng`` and
writes it into the mapping of world fields (``fields["scenarios"][scenario]`` for a
per-scenario one); the ``*_field``, ``*_mix``, ``*_rates`` and ``*_weights`` builders
return such a draw for one field. Their ranges are documented in
:data:`riskscore.synthetic.nuisance.NUISANCES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

import numpy as np

from riskscore.io.schema import CHANNEL_NAMES
from riskscore.synthetic.world import BENIGN_SCENARIOS, GROOMING_SCENARIOS

__all__ = [
    "TZ_REGIONS",
    "Rng",
    "a_share",
    "age_weights",
    "benign_external",
    "channels",
    "dirichlet_mix",
    "escalation",
    "events",
    "fanout",
    "initiation",
    "log_uniform_field",
    "night",
    "onset",
    "recording",
    "requests",
    "safety",
    "scaled_rates",
    "span",
    "start_hour",
    "time_zones",
    "uniform",
]

Rng = np.random.Generator

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


def _log_uniform(rng: Rng, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _beta_with_mean(shapes: tuple[float, ...], mean: float) -> list[float]:
    """Beta shapes with the same concentration and a new mean."""
    total = shapes[0] + shapes[1]
    return [mean * total, (1.0 - mean) * total]


def _scenario(fields: dict[str, Any], name: str) -> dict[str, Any]:
    profile: dict[str, Any] = fields["scenarios"][name]
    return profile


def events(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    factor = _log_uniform(rng, 1 / 3, 3.0)
    median, sigma, low, high = p["events"]
    top = min(max(high * factor, low + 1), 1000.0)
    p["events"] = [median * factor, sigma, low, top]


def span(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    factor = _log_uniform(rng, 1 / 4, 4.0)
    median, sigma, low, high = p["span_hours"]
    new_low = min(low * factor, 700.0)
    p["span_hours"] = [median * factor, sigma, new_low, min(max(high * factor, new_low), 720.0)]


def start_hour(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    shift = rng.uniform(-3.0, 3.0)
    low, high = p["start_hour"]
    low, high = min(max(low + shift, 0.0), 23.0), min(max(high + shift, 1.0), 24.0)
    p["start_hour"] = [low, max(high, low)]


def night(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    factor = _log_uniform(rng, 1 / 3, 3.0)
    for key in ("night_phase1", "night_phase2"):
        a, b = p[key]
        mean = min(max(a / (a + b) * factor, 0.01), 0.85)
        p[key] = _beta_with_mean((a, b), mean)


def channels(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    phase1 = np.asarray(p["phase1_channel"], dtype=np.float64)
    p["phase1_channel"] = rng.dirichlet(8.0 * phase1 / phase1.sum() + 0.4).tolist()
    phase2 = np.asarray(p["phase2_channel"], dtype=np.float64)
    if name in GROOMING_SCENARIOS:
        # Where grooming moves to varies; that it moves to a less visible surface does not.
        private = rng.dirichlet(8.0 * phase2[2:5] / phase2[2:5].sum() + 0.4)
        p["phase2_channel"] = [0.0, 0.0, *private.tolist(), 0.0]
    else:
        weights = rng.dirichlet(8.0 * phase2[:5] / phase2[:5].sum() + 0.4)
        p["phase2_channel"] = [*weights.tolist(), 0.0]  # external comes from shared handles


def scaled_rates(key: str, low: float, high: float, cap: float) -> Callable[..., None]:
    def draw(fields: dict[str, Any], name: str, rng: Rng) -> None:
        p = _scenario(fields, name)
        factor = _log_uniform(rng, low, high)
        if isinstance(p[key], (list, tuple)):
            p[key] = [min(v * factor, cap) for v in p[key]]
        else:
            p[key] = min(p[key] * factor, cap)

    return draw


def safety(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    factor = _log_uniform(rng, 1 / 4, 4.0)
    p["p_block"] = min(p["p_block"] * factor, 0.5)
    p["p_report"] = min(p["p_report"] * factor, 0.5)


def benign_external(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    extra = rng.uniform(0.0, 0.02)
    p["external"] = [min(v + extra, 0.6) for v in p["external"]]


def requests(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    p["p_request"] = float(np.clip(p["p_request"] + rng.uniform(-0.3, 0.3), 0.0, 1.0))
    if name in BENIGN_SCENARIOS:
        p["p_accept"] = rng.uniform(0.6, 1.0)


def initiation(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    p["p_a_initiates"] = float(np.clip(p["p_a_initiates"] + rng.uniform(-0.3, 0.3), 0.0, 1.0))


def a_share(fields: dict[str, Any], name: str, rng: Rng) -> None:
    p = _scenario(fields, name)
    a, b = p["a_share"]
    mean = min(max(a / (a + b) + rng.uniform(-0.15, 0.15), 0.2), 0.9)
    p["a_share"] = _beta_with_mean((a, b), mean)


def escalation(fields: dict[str, Any], name: str, rng: Rng) -> None:
    low = rng.uniform(0.7, 1.6)
    _scenario(fields, name)["escalation"] = [low, low + rng.uniform(0.0, 1.5)]


def onset(fields: dict[str, Any], name: str, rng: Rng) -> None:
    low = rng.uniform(0.0, 0.6)
    _scenario(fields, name)["onset_fraction"] = [low, min(low + rng.uniform(0.1, 0.6), 1.0)]


def dirichlet_mix(
    key: str, concentration: float, floor: float, keep: tuple[str, ...] = ()
) -> Callable[..., None]:
    """Draw the mix ``key`` around its weights; the names in ``keep`` keep their share
    (another nuisance draws them)."""

    def draw(fields: dict[str, Any], name: str, rng: Rng) -> None:
        names = [k for k in fields[key] if k not in keep]
        weights = np.array([fields[key][k] for k in names], dtype=np.float64)
        kept = sum(fields[key][k] for k in keep if k in fields[key])
        drawn = rng.dirichlet(concentration * weights / weights.sum() + floor) * (1.0 - kept)
        fields[key] = {**fields[key], **dict(zip(names, drawn.tolist(), strict=True))}

    return draw


def spam_sweeps(fields: dict[str, Any], name: str, rng: Rng) -> None:
    """A share of spam sweeps among benign conversations, U(0, 0.12), the other benign
    scenarios scaled to make room, and how many accounts each spam account reaches."""
    mix = fields["benign_mix"]
    share = rng.uniform(0.0, 0.12)
    others = sum(v for k, v in mix.items() if k != "spam_sweep")
    scaled = {k: v * (1.0 - share) / others for k, v in mix.items() if k != "spam_sweep"}
    # the spam share takes the rest, so the shares sum to 1 as the World keeps them
    fields["benign_mix"] = {**scaled, "spam_sweep": 1.0 - sum(scaled.values())}
    fields["spam_targets_per_account"] = _log_uniform(rng, 10.0, 150.0)
    p = _scenario(fields, "spam_sweep")
    p["p_accept"] = rng.uniform(0.0, 0.3)
    p["external"] = [rng.uniform(0.3, 1.0), 0.0]


def uniform(key: str, low: float, high: float) -> Callable[..., None]:
    def draw(fields: dict[str, Any], name: str, rng: Rng) -> None:
        fields[key] = rng.uniform(low, high)

    return draw


def log_uniform_field(key: str, low: float, high: float) -> Callable[..., None]:
    def draw(fields: dict[str, Any], name: str, rng: Rng) -> None:
        fields[key] = _log_uniform(rng, low, high)

    return draw


def time_zones(fields: dict[str, Any], name: str, rng: Rng) -> None:
    regions = list(TZ_REGIONS)
    region = TZ_REGIONS[regions[int(rng.integers(len(regions)))]]
    weights = rng.dirichlet(10.0 * np.array(list(region.values())) / sum(region.values()))
    fields["tz_mix"] = dict(zip(region, weights.tolist(), strict=True))
    fields["platform"]["time_zones"] = bool(rng.random() < 0.8)


def recording(fields: dict[str, Any], name: str, rng: Rng) -> None:
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


def fanout(fields: dict[str, Any], name: str, rng: Rng) -> None:
    fields["fanout_geometric_p"] = _log_uniform(rng, 0.1, 1.0)
    fields["max_fanout"] = int(rng.integers(1, 41))


def age_weights(key: str) -> Callable[..., None]:
    def draw(fields: dict[str, Any], name: str, rng: Rng) -> None:
        weights = np.asarray(fields[key], dtype=np.float64)
        fields[key] = rng.dirichlet(40.0 * weights / weights.sum() + 0.05).tolist()

    return draw
