"""Checks of world parameters: probabilities, fixed-length number lists and weight mixes.

Each check returns the value in its canonical form or raises ``ValueError`` naming the
parameter (``where``), what it must be and what it got.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from riskscore._checks import check_whole, is_real
from riskscore.io.schema import MAX_TZ_OFFSET_MIN, MIN_TZ_OFFSET_MIN

__all__ = ["INT64_MAX", "check_probability", "fail", "floats", "mix", "tz_mix", "whole"]

#: Largest whole number of a world: the generator holds them in int64 arrays.
INT64_MAX: Final = 2**63 - 1


def fail(where: str, message: str) -> ValueError:
    """The error for the parameter ``where`` (returned, for the caller to raise)."""
    return ValueError(f"{where}: {message}")


def check_probability(where: str, value: object) -> float:
    """``value`` as a float in [0, 1], or ValueError naming ``where``."""
    if not is_real(value) or not 0.0 <= float(value) <= 1.0:
        raise fail(where, f"must be a number in [0, 1], got {value!r}")
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
        raise fail(where, f"must be an integer >= {low} and <= {high}, got {value!r}") from None


def floats(where: str, value: object, size: int) -> tuple[float, ...]:
    """``value`` as a tuple of ``size`` finite floats, or ValueError naming ``where``."""
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != size:
        raise fail(where, f"must be a list of {size} numbers, got {value!r}")
    if not all(is_real(v) for v in value):
        raise fail(where, f"must hold finite numbers only, got {value!r}")
    return tuple(float(v) for v in value)


def mix(name: str, given: object, keys: Sequence[str]) -> dict[str, float]:
    """Weights over ``keys`` (missing ones weigh 0), scaled to sum to 1."""
    if not isinstance(given, Mapping):
        raise fail(name, f"must be a mapping of name to weight, got {given!r}")
    unknown = sorted(set(given) - set(keys), key=str)
    if unknown:
        raise fail(name, f"has unknown key(s) {unknown}; expected keys from {list(keys)}")
    for key, weight in given.items():
        if not is_real(weight) or weight < 0:
            raise fail(f"{name}[{key!r}]", f"must be a number >= 0, got {weight!r}")
    total = sum(float(w) for w in given.values())
    if total <= 0:
        raise fail(name, f"must give some entry a weight > 0, got {dict(given)}")
    return {key: float(given.get(key, 0.0)) / total for key in keys}


def tz_mix(given: object) -> dict[int, float]:
    """Weights over UTC offsets in minutes (keys may be strings, as in TOML), summing to 1."""
    if not isinstance(given, Mapping) or not given:
        raise fail(
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
            raise fail(
                "tz_mix",
                f"offsets must be integer minutes in [{MIN_TZ_OFFSET_MIN}, "
                f"{MAX_TZ_OFFSET_MIN}], got {key!r}",
            )
        if not is_real(weight) or weight < 0:
            raise fail(f"tz_mix[{key!r}]", f"must be a number >= 0, got {weight!r}")
        out[offset] = float(weight)
    total = sum(out.values())
    if total <= 0:
        raise fail("tz_mix", "must give some offset a weight > 0")
    return {k: w / total for k, w in out.items()}
