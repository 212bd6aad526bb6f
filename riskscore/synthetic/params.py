"""Checks of world parameters: probabilities, fixed-length number lists and weight mixes.

Each check returns the value in its canonical form or raises ``ValueError`` naming the
parameter (``where``), what it must be and what it got (cut short: :func:`show`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from riskscore._checks import check_whole, is_real, unknown_keys_problem
from riskscore.io.raw import show
from riskscore.io.schema import (
    INT64_MAX,
    MAX_TZ_OFFSET_MIN,
    MIN_TZ_OFFSET_MIN,
    TZ_OFFSETS_IN_USE,
)

__all__ = [
    "check_probability",
    "fail",
    "floats",
    "mix",
    "tz_mix",
    "weight_total",
    "whole",
]


def fail(where: str, message: str) -> ValueError:
    """The error for the parameter ``where`` (returned, for the caller to raise)."""
    return ValueError(f"{where}: {message}")


def check_probability(where: str, value: object) -> float:
    """``value`` as a float in [0, 1], or ValueError naming ``where``."""
    if not is_real(value) or not 0.0 <= float(value) <= 1.0:
        raise fail(where, f"must be a number in [0, 1], got {show(value)}")
    return float(value)


def whole(where: str, value: object, low: int, high: int = INT64_MAX) -> int:
    """``value`` as an int in ``[low, high]`` (:func:`riskscore._checks.check_whole`), or
    ValueError naming ``where``.

    Examples
    --------
    >>> whole("max_fanout", 0, 1)
    Traceback (most recent call last):
    ValueError: max_fanout: must be an integer >= 1 and <= 9223372036854775807, got 0
    """
    try:
        return check_whole(where, value, low, high)
    except ValueError:
        raise fail(where, f"must be an integer >= {low} and <= {high}, got {show(value)}") from None


def floats(where: str, value: object, size: int) -> tuple[float, ...]:
    """``value`` as a tuple of ``size`` finite floats, or ValueError naming ``where``."""
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != size:
        raise fail(where, f"must be a list of {size} numbers, got {show(value)}")
    if not all(is_real(v) for v in value):
        raise fail(where, f"must hold finite numbers only, got {show(value)}")
    return tuple(float(v) for v in value)


def mix(name: str, given: object, keys: Sequence[str]) -> dict[str, float]:
    """Weights over ``keys`` (missing ones weigh 0), scaled to sum to 1."""
    if not isinstance(given, Mapping):
        raise fail(name, f"must be a mapping of name to weight, got {show(given)}")
    problem = unknown_keys_problem(given, keys)
    if problem:
        raise fail(name, problem)
    for key, weight in given.items():
        if not is_real(weight) or weight < 0:
            raise fail(f"{name}[{key!r}]", f"must be a number >= 0, got {show(weight)}")
    total = weight_total(name, [float(w) for w in given.values()], dict(given))
    return {key: float(given.get(key, 0.0)) / total for key in keys}


def weight_total(where: str, weights: Sequence[float], given: object) -> float:
    """The sum of ``weights`` (finite numbers; ``given`` is what the caller was given), or
    ValueError naming ``where`` when a weight is below 0 or the sum is not positive and
    finite: weights are shares of their sum, and weights whose sum overflows (two of
    1e308) would all be shares of infinity, 0.

    Examples
    --------
    >>> weight_total("benign_mix", [1.0, 3.0], None)
    4.0
    >>> weight_total("weights", [1e308, 1e308], [1e308, 1e308])
    Traceback (most recent call last):
    ValueError: weights: must be weights >= 0 with a positive, finite sum, got [1e+308, 1e+308]
    """
    total = sum(weights)
    if min(weights, default=0.0) < 0 or not 0 < total < math.inf:
        raise fail(where, f"must be weights >= 0 with a positive, finite sum, got {show(given)}")
    return float(total)


def tz_mix(given: object) -> dict[int, float]:
    """Weights over UTC offsets in minutes (keys may be strings, as in TOML), summing to 1."""
    if not isinstance(given, Mapping) or not given:
        raise fail(
            "tz_mix",
            f"must be a non-empty mapping of UTC offset (minutes) to weight, got {show(given)}",
        )
    out: dict[int, float] = {}
    for key, weight in given.items():
        try:
            offset = int(key)
        except (TypeError, ValueError):
            offset = None
        if offset is None or str(offset) != str(key).strip() or offset not in TZ_OFFSETS_IN_USE:
            raise fail(
                "tz_mix",
                f"offsets must be integer minutes in [{MIN_TZ_OFFSET_MIN}, "
                f"{MAX_TZ_OFFSET_MIN}] in whole quarter hours, got {show(key)}",
            )
        if not is_real(weight) or weight < 0:
            raise fail(f"tz_mix[{key!r}]", f"must be a number >= 0, got {show(weight)}")
        out[offset] = float(weight)
    total = weight_total("tz_mix", list(out.values()), given)
    return {k: w / total for k, w in out.items()}
