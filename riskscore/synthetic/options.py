"""The generator's options: each checked once (``ValueError`` naming it), shared by every chunk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from riskscore._checks import check_sample, check_whole, is_int, is_real, unknown_keys
from riskscore._units import DAY_S, HOUR_S
from riskscore.io.schema import EARLIEST_EVENT_TIMESTAMP, MAX_TIMESTAMP
from riskscore.synthetic.world import World, world_or_default

__all__ = ["DEFAULT_START", "WORLD_KEYWORDS", "Config", "configure"]

#: Default period start: 2026-01-01T00:00:00Z.
DEFAULT_START: Final = 1_767_225_600
#: Local times are kept this far inside the period so that converting them to UTC with
#: any offset in [-12:00, +14:00] stays inside it.
_EARLY_MARGIN_S: Final = 14 * HOUR_S
_LATE_MARGIN_S: Final = 12 * HOUR_S

#: Keyword arguments of :func:`generate` that change the world (each one sets the world
#: field of the same name, except ``unknown_age_rate``, which sets the three age rates).
WORLD_KEYWORDS: Final = frozenset(
    {
        "unknown_age_rate",
        "benign_mix",
        "grooming_mix",
        "target_age_weights",
        "child_age_weights",
        "tz_mix",
        "secure_channel_mix",
        "move_platform_rate",
    }
)


@dataclass(frozen=True, slots=True)
class Config:
    """Validated options shared by every chunk."""

    world: World
    window: tuple[int, int]
    label_noise: float


def configure(
    n_conversations: object,
    prevalence: object,
    seed: object,
    *,
    world: World | None = None,
    start: object = DEFAULT_START,
    days: object = 30,
    n_adults: object = None,
    label_noise: object = 0.0,
    world_changes: Mapping[str, Any] | None = None,
) -> Config:
    """Check every parameter (``ValueError`` naming it and its value); return the config."""
    check_sample(n_conversations, prevalence, seed, none_ok=True)
    if not is_int(days) or days < 2:
        raise ValueError(f"days must be an integer >= 2, got {days!r}")
    if (
        not is_int(start)
        or not EARLIEST_EVENT_TIMESTAMP <= start <= MAX_TIMESTAMP - int(days) * DAY_S
    ):
        raise ValueError(
            f"start must be epoch seconds from 2000-01-01 ({EARLIEST_EVENT_TIMESTAMP}, the "
            "earliest event time) with start + days * 86400 before 2200-01-01, "
            f"got start={start!r}, days={days!r}"
        )
    if n_adults is not None and (not is_int(n_adults) or n_adults < 2):
        raise ValueError(f"n_adults must be an integer >= 2 or None, got {n_adults!r}")
    n = check_whole("n_conversations", n_conversations)
    if n_adults is not None and n_adults > 2 * n:
        # refused here, as the split over chunks overflows (each chunk refuses its share)
        raise ValueError(
            "n_adults must be at most the number of ordinary adult slots (under 2 per "
            f"conversation: {2 * n} for {n}), got {n_adults!r}"
        )
    if not is_real(label_noise) or not 0.0 <= label_noise <= 0.5:
        raise ValueError(f"label_noise must be a number in [0, 0.5], got {label_noise!r}")
    world = apply_changes(world_or_default("world", world), dict(world_changes or {}))
    start_s, days_n = int(start), int(days)
    return Config(
        world=world,
        window=(start_s + _EARLY_MARGIN_S, start_s + days_n * DAY_S - _LATE_MARGIN_S),
        label_noise=float(label_noise),
    )


def apply_changes(world: World, changes: dict[str, Any]) -> World:
    """``world`` with the shorthands of :data:`WORLD_KEYWORDS` applied (None: unchanged)."""
    unknown = unknown_keys(changes, WORLD_KEYWORDS)
    if unknown:
        raise TypeError(
            f"generate() got unexpected keyword argument(s) {unknown}; world shorthands are "
            f"{sorted(WORLD_KEYWORDS)} (pass world=World(...) for the rest)"
        )
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return world
    if "unknown_age_rate" in changes:
        rate = changes.pop("unknown_age_rate")
        if not is_real(rate) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"unknown_age_rate must be a number in [0, 1], got {rate!r}")
        for kind in ("adult", "minor", "groomer"):
            changes[f"{kind}_unknown_age_rate"] = float(rate)
    return world.replace(**changes)
