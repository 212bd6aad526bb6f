"""What each synthetic conversation will look like (length, span, phases, channels,
night shares, media), drawn from its scenario's profile before its events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskscore._units import DAY_S, HOUR_S
from riskscore.io.schema import Channel
from riskscore.synthetic.portable import exp
from riskscore.synthetic.world import World

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _by_scenario(world: World, field: str, scenario: IntArray) -> FloatArray:
    """A profile parameter for each conversation: shape (n,) or (n, k) for tuples."""
    values = np.array([getattr(s, field) for s in world.scenarios], dtype=np.float64)
    return values[scenario]


def _uniform_in(bounds: FloatArray, rng: np.random.Generator) -> FloatArray:
    """One uniform draw per row of an (n, 2) array of [low, high) bounds."""
    return bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) * rng.random(len(bounds))


def _lognormal_in(params: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Lognormal draws per row of (median, sigma, min, max), clipped to [min, max]."""
    draws = params[:, 0] * exp(params[:, 1] * rng.standard_normal(len(params)))
    return np.clip(draws, params[:, 2], params[:, 3])


def _categorical(probs: FloatArray, rng: np.random.Generator) -> IntArray:
    """One category per row of an (n, k) array of probabilities."""
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cumulative[:, -1]
    category: IntArray = (u[:, None] >= cumulative).sum(axis=1).astype(np.int64)
    return category


def _beta(shapes: FloatArray, rng: np.random.Generator) -> FloatArray:
    return rng.beta(shapes[:, 0], shapes[:, 1])


@dataclass(frozen=True, slots=True)
class Plan:
    """What each conversation will look like, before its events are drawn."""

    n_events: IntArray
    n_open: IntArray  # 0, 1 (request) or 2 (request, accept)
    n_end: IntArray  # closing block and/or report by the younger account
    has_block: BoolArray
    unanswered: BoolArray  # a request that was never accepted
    a_initiates: BoolArray
    span_s: FloatArray
    t0: FloatArray  # local seconds of the conversation's start
    warp: FloatArray  # time-warp exponent: > 1 means contact accelerates
    onset_u: FloatArray  # phase 2 starts this fraction into the body...
    move_within_s: FloatArray  # ...or, when > 0, at the first message after this delay
    c_open: IntArray
    c1: IntArray
    c2: IntArray
    a_share: FloatArray
    night1: FloatArray
    night2: FloatArray
    media: FloatArray  # (n, 3)
    external: FloatArray  # (n, 2)
    p_stray: FloatArray
    marked: BoolArray  # grooming: phase 2 starts with a media event or a secure channel
    asks_external: BoolArray  # grooming: the adult's first phase-2 message shares a handle


def plan_conversations(
    scenario: IntArray, world: World, window: tuple[int, int], rng: np.random.Generator
) -> Plan:
    """Draw the plan of every conversation (scenario codes index ``world.scenarios``)."""
    n = len(scenario)
    grooming = np.array([s.is_grooming for s in world.scenarios])[scenario]
    has_request = rng.random(n) < _by_scenario(world, "p_request", scenario)
    accepted = has_request & (rng.random(n) < _by_scenario(world, "p_accept", scenario))
    unanswered = has_request & ~accepted
    has_block = rng.random(n) < _by_scenario(world, "p_block", scenario)
    has_report = rng.random(n) < _by_scenario(world, "p_report", scenario)
    n_open = has_request.astype(np.int64) + accepted
    n_end = has_block.astype(np.int64) + has_report

    wanted = np.round(_lognormal_in(_by_scenario(world, "events", scenario), rng)).astype(np.int64)
    min_body = np.where(unanswered & ~grooming, 0, 1)
    max_body = np.where(unanswered, _by_scenario(world, "max_unanswered", scenario), 10**9)
    n_body = np.clip(wanted - n_open - n_end, min_body, max_body.astype(np.int64))

    first, last = window
    span_s = np.minimum(
        _lognormal_in(_by_scenario(world, "span_hours", scenario), rng) * HOUR_S, last - first - 1
    )
    t0 = first + rng.random(n) * (last - first - span_s)
    # Conversations shorter than a day start at a scenario-typical local hour.
    short = span_s <= DAY_S
    start_hour = _uniform_in(_by_scenario(world, "start_hour", scenario), rng)
    same_day = np.floor(t0 / DAY_S) * DAY_S + start_hour * HOUR_S
    same_day = np.where(same_day < first, same_day + DAY_S, same_day)
    same_day = np.where(same_day + span_s >= last, same_day - DAY_S, same_day)
    t0 = np.where(short, same_day, t0)

    c1 = _categorical(_by_scenario(world, "phase1_channel", scenario), rng)
    phase2_channel = _by_scenario(world, "phase2_channel", scenario)
    if world.secure_channel_mix is not None:
        mix = world.secure_channel_mix
        phase2_channel[grooming] = [
            0.0,
            0.0,
            mix["direct"],
            mix["ephemeral"],
            mix["encrypted"],
            0.0,
        ]
    c2 = np.maximum(c1, _categorical(phase2_channel, rng))
    quiet = rng.random(n) < _by_scenario(world, "p_quiet", scenario)
    c2 = np.where(quiet, c1, c2)
    night1 = _beta(_by_scenario(world, "night_phase1", scenario), rng)
    night2 = np.where(quiet, night1, _beta(_by_scenario(world, "night_phase2", scenario), rng))
    # Grooming: a share of conversations asks to move to another app (at least once).
    asks_external = grooming & ~quiet & (rng.random(n) < world.move_platform_rate)
    external = np.where(
        (quiet | (grooming & ~asks_external))[:, None],
        0.0,
        _by_scenario(world, "external", scenario),
    )
    p_stray = np.where(quiet, 0.0, _by_scenario(world, "p_stray", scenario))
    public_open = rng.random(n) < _by_scenario(world, "p_request_public", scenario)
    return Plan(
        n_events=n_open + n_body + n_end,
        n_open=n_open,
        n_end=n_end,
        has_block=has_block,
        unanswered=unanswered,
        a_initiates=rng.random(n) < _by_scenario(world, "p_a_initiates", scenario),
        span_s=span_s,
        t0=t0,
        warp=_uniform_in(_by_scenario(world, "escalation", scenario), rng),
        onset_u=_uniform_in(_by_scenario(world, "onset_fraction", scenario), rng),
        move_within_s=_uniform_in(_by_scenario(world, "move_within_min", scenario), rng) * 60.0,
        c_open=np.where(public_open, Channel.PUBLIC, Channel.GROUP).astype(np.int64),
        c1=c1,
        c2=c2,
        a_share=_beta(_by_scenario(world, "a_share", scenario), rng),
        night1=night1,
        night2=night2,
        media=_by_scenario(world, "media", scenario),
        external=external,
        p_stray=p_stray,
        marked=grooming,
        asks_external=asks_external,
    )
