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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from riskscore._checks import check_seed
from riskscore.synthetic import draws
from riskscore.synthetic.draws import TZ_REGIONS, Rng
from riskscore.synthetic.world import (
    BENIGN_SCENARIOS,
    GROOMING_SCENARIOS,
    World,
    world_or_default,
)

__all__ = ["NUISANCES", "Nuisance", "draw_world", "nuisance_table"]

_GROOMING: Final = GROOMING_SCENARIOS
#: Spam sweeps have a nuisance of their own, drawn last, so the draws of the other
#: scenarios are those of worlds drawn before spam sweeps existed.
_BENIGN: Final = tuple(s for s in BENIGN_SCENARIOS if s != "spam_sweep")
_ALL: Final = _GROOMING + _BENIGN
_CONVERSING: Final = tuple(s for s in _ALL if s != "grooming_refused")


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


#: Every nuisance parameter, in the order :func:`draw_world` draws them.
NUISANCES: Final[tuple[Nuisance, ...]] = (
    Nuisance(
        "conversation length",
        "events (median and max)",
        _ALL,
        "median times a log-uniform factor in [1/3, 3]",
        "per scenario, 4 to 80 events",
        draws.events,
    ),
    Nuisance(
        "conversation span",
        "span_hours (median, min, max)",
        _ALL,
        "times a log-uniform factor in [1/4, 4], at most 30 days",
        "per scenario, 2 hours to 14 days",
        draws.span,
    ),
    Nuisance(
        "start hour",
        "start_hour",
        _ALL,
        "window shifted by U(-3, +3) hours",
        "per scenario, e.g. 17:00-23:30 for fast grooming",
        draws.start_hour,
    ),
    Nuisance(
        "night share",
        "night_phase1, night_phase2 (Beta means)",
        _ALL,
        "mean times a log-uniform factor in [1/3, 3], in [0.01, 0.85]",
        "per scenario, 4 % to 67 %",
        draws.night,
    ),
    Nuisance(
        "channel mix",
        "phase1_channel, phase2_channel",
        _ALL,
        "Dirichlet(8 p + 0.4) around the default p: any surface can occur in benign "
        "scenarios; grooming's second phase stays on direct, ephemeral or encrypted",
        "per scenario",
        draws.channels,
    ),
    Nuisance(
        "media rate",
        "media",
        _ALL,
        "times a log-uniform factor in [1/4, 4], at most 0.5",
        "per scenario, 0 to 0.2 per message",
        draws.scaled_rates("media", 0.25, 4.0, 0.5),
    ),
    Nuisance(
        "handle sharing",
        "external",
        _ALL,
        "times a log-uniform factor in [1/4, 4], at most 0.6",
        "per scenario, 0 to 0.5 per phase-2 message",
        draws.scaled_rates("external", 0.25, 4.0, 0.6),
    ),
    Nuisance(
        "benign links",
        "external",
        _BENIGN,
        "plus U(0, 0.02) per message (club links, video calls)",
        "0 to 0.04",
        draws.benign_external,
    ),
    Nuisance(
        "blocks and reports",
        "p_block, p_report",
        _ALL,
        "times a log-uniform factor in [1/4, 4], at most 0.5",
        "per scenario, 0.1 % to 25 %",
        draws.safety,
    ),
    Nuisance(
        "contact requests",
        "p_request; p_accept (benign)",
        _ALL,
        "p_request + U(-0.3, 0.3); benign p_accept U(0.6, 1)",
        "per scenario",
        draws.requests,
    ),
    Nuisance(
        "who initiates",
        "p_a_initiates",
        _CONVERSING,
        "+ U(-0.3, 0.3), in [0, 1]",
        "0.4 to 0.9",
        draws.initiation,
    ),
    Nuisance(
        "older side's share",
        "a_share (Beta mean)",
        _CONVERSING,
        "mean + U(-0.15, 0.15), in [0.2, 0.9]",
        "0.5 to 0.7",
        draws.a_share,
    ),
    Nuisance(
        "escalation",
        "escalation (time-warp range)",
        _CONVERSING,
        "low U(0.7, 1.6), high = low + U(0, 1.5)",
        "benign about 1, grooming 1 to 3",
        draws.escalation,
    ),
    Nuisance(
        "stray messages",
        "p_stray",
        _ALL,
        "times a log-uniform factor in [1/3, 3], at most 0.3",
        "0 to 0.1",
        draws.scaled_rates("p_stray", 1 / 3, 3.0, 0.3),
    ),
    Nuisance(
        "phase change",
        "onset_fraction",
        (*_BENIGN, "grooming_slow"),
        "low U(0, 0.6), high = low + U(0.1, 0.6)",
        "per scenario",
        draws.onset,
    ),
    Nuisance(
        "benign scenario mix",
        "benign_mix",
        (),
        "Dirichlet(6 w + 0.3) around the default weights w",
        "adult_daytime 48 %, family 14 %, ...",
        draws.dirichlet_mix("benign_mix", 6.0, 0.3, keep=("spam_sweep",)),
    ),
    Nuisance(
        "grooming variant mix",
        "grooming_mix",
        (),
        "Dirichlet(6 w + 0.5) around the default weights",
        "fast 35 %, slow 40 %, refused 25 %",
        draws.dirichlet_mix("grooming_mix", 6.0, 0.5),
    ),
    Nuisance(
        "unknown adult ages",
        "adult_unknown_age_rate",
        (),
        "U(0, 0.6)",
        "0.15",
        draws.uniform("adult_unknown_age_rate", 0.0, 0.6),
    ),
    Nuisance(
        "unknown minor ages",
        "minor_unknown_age_rate",
        (),
        "U(0, 0.6)",
        "0.15",
        draws.uniform("minor_unknown_age_rate", 0.0, 0.6),
    ),
    Nuisance(
        "unknown groomer ages",
        "groomer_unknown_age_rate",
        (),
        "U(0, 0.6)",
        "0.15",
        draws.uniform("groomer_unknown_age_rate", 0.0, 0.6),
    ),
    Nuisance(
        "time zones",
        "tz_mix, platform.time_zones",
        (),
        f"one of the regions {list(TZ_REGIONS)} with Dirichlet(10 w) weights; offsets "
        "recorded with probability 0.8",
        "europe, recorded",
        draws.time_zones,
    ),
    Nuisance(
        "what the platform records",
        "platform",
        (),
        "contact events p = 0.75, media 0.8, blocks/reports 0.8; half the worlds drop each "
        "of group, ephemeral, encrypted, external with p = 0.4",
        "everything, six surfaces",
        draws.recording,
    ),
    Nuisance(
        "move to another app",
        "move_platform_rate",
        (),
        "U(0.2, 0.9)",
        "0.77",
        draws.uniform("move_platform_rate", 0.2, 0.9),
    ),
    Nuisance(
        "groomers declaring a teenage age",
        "groomer_declares_teen",
        (),
        "U(0, 0.2)",
        "0.10",
        draws.uniform("groomer_declares_teen", 0.0, 0.2),
    ),
    Nuisance(
        "groomer fan-out",
        "fanout_geometric_p, max_fanout",
        (),
        "p log-uniform in [0.1, 1] (1: a single target), max integer U{1..40}",
        "p = 0.22, max 15",
        draws.fanout,
    ),
    Nuisance(
        "pupils per teacher",
        "pupils_per_teacher",
        (),
        "log-uniform in [3, 100]",
        "15",
        draws.log_uniform_field("pupils_per_teacher", 3.0, 100.0),
    ),
    Nuisance(
        "reciprocity", "reciprocity", (), "U(0.2, 1)", "0.4", draws.uniform("reciprocity", 0.2, 1.0)
    ),
    Nuisance(
        "teen age spread",
        "teen_age_spread",
        (),
        "U(1.5, 4) years",
        "under 3 years",
        draws.uniform("teen_age_spread", 1.5, 4.0),
    ),
    Nuisance(
        "adult account reuse",
        "adult_reuse",
        (),
        "log-uniform in [1.5, 8]",
        "4",
        draws.log_uniform_field("adult_reuse", 1.5, 8.0),
    ),
    Nuisance(
        "minor account reuse",
        "minor_reuse",
        (),
        "log-uniform in [1, 4]",
        "2",
        draws.log_uniform_field("minor_reuse", 1.0, 4.0),
    ),
    Nuisance(
        "teen account reuse",
        "teen_reuse",
        (),
        "log-uniform in [1.5, 5]",
        "3",
        draws.log_uniform_field("teen_reuse", 1.5, 5.0),
    ),
    Nuisance(
        "target ages",
        "target_age_weights",
        (),
        "Dirichlet(40 w + 0.05) around the calibrated weights",
        "calibrated (NSPCC)",
        draws.age_weights("target_age_weights"),
    ),
    Nuisance(
        "family children's ages",
        "child_age_weights",
        (),
        "Dirichlet(40 w + 0.05)",
        "6-17, fewer under 6",
        draws.age_weights("child_age_weights"),
    ),
    Nuisance(
        "spam sweeps",
        "benign_mix (spam_sweep), spam_targets_per_account, scenarios (spam_sweep's p_accept and "
        "external)",
        (),
        "share of benign conversations U(0, 0.12), the others scaled; accounts reached per "
        "spam account log-uniform in [10, 150]; accepted U(0, 0.3); link per message "
        "U(0.3, 1)",
        "none (0 %)",
        draws.spam_sweeps,
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
        Name of the new world, one line of printable text (an empty name is refused);
        ``"drawn-<seed>"`` when None.

    Returns
    -------
    World

    Raises
    ------
    ValueError
        ``seed`` is not an integer >= 0, ``base`` is not a World, or ``name`` is not one
        line of printable text of 1 to 128 characters.

    Examples
    --------
    >>> from riskscore.synthetic import draw_world
    >>> draw_world(3) == draw_world(3), draw_world(3) == draw_world(4)
    (True, False)
    >>> draw_world(3).name
    'drawn-3'
    """
    check_seed(seed)
    world = world_or_default("base", base)
    rng = np.random.default_rng(seed)
    fields = world.to_dict()
    fields["scenarios"] = {s["name"]: s for s in fields["scenarios"]}
    for nuisance in NUISANCES:
        for scenario in nuisance.scenarios or ("",):
            nuisance.draw(fields, scenario, rng)
    scenarios = [
        {k: v for k, v in s.items() if k != "is_grooming"} for s in fields.pop("scenarios").values()
    ]
    fields["name"] = f"drawn-{int(seed)}" if name is None else name
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
