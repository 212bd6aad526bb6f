"""The rules for the numbers given to library functions (private): one rule for each kind
of number, shared by the library functions that take it and by the CLI options that give
it (``riskscore.cli._time`` parses the text, then applies the same rule).

Each check returns the value (an ``int`` or ``float``) or raises ``ValueError`` naming the
parameter and the value. A bool is not a number here (``True`` is not a seed of 1).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import Any, TypeGuard

import numpy as np

__all__ = [
    "MAX_SYNTHETIC_CONVERSATIONS",
    "MIN_PREVALENCE",
    "check_open_share",
    "check_prevalence",
    "check_sample",
    "check_seconds",
    "check_seed",
    "check_share",
    "check_whole",
    "is_int",
    "is_prevalence",
    "is_real",
    "is_sha256_hex",
    "unknown_keys",
    "unknown_keys_problem",
]

#: Most synthetic conversations one sample holds (:func:`riskscore.synthetic.generate`, a
#: world of a training recipe or a robustness sweep, and the command line's options that
#: give them): about a day of work on two cores; more is refused rather than run for days,
#: fill the disk or ask for more memory than there is.
MAX_SYNTHETIC_CONVERSATIONS = 10_000_000

#: Smallest prevalence a calibration or a re-weighting takes, and the distance from 1 of
#: the largest (one conversation in a trillion). Nearer 0 or 1 the log-odds and the odds
#: leave what a float computes with: at 1e-320 (a denormal) a calibrated risk is clamped
#: to one value for every conversation, and a re-weighting to it overflows to infinity.
MIN_PREVALENCE = 1e-12


def is_int(value: object) -> TypeGuard[int | np.integer[Any]]:
    """True for a Python or numpy integer (bool is not one here, nor a numpy duration,
    whose type numpy makes an integer type: ``np.timedelta64(14, "s")``).

    Examples
    --------
    >>> is_int(7), is_int(np.int8(7)), is_int(True), is_int(np.timedelta64(7, "s"))
    (True, True, False, False)
    """
    return isinstance(value, (int, np.integer)) and not isinstance(
        value, (bool, np.bool_, np.timedelta64)
    )


def is_real(value: object) -> TypeGuard[int | float | np.integer[Any] | np.floating[Any]]:
    """True for a finite Python or numpy number (bool is not one here, nor an integer too
    large for a float: ``10**400``).

    Examples
    --------
    >>> is_real(0.5), is_real(True), is_real("1"), is_real(float("inf")), is_real(10**400)
    (True, False, False, False, False)
    """
    if not (is_int(value) or isinstance(value, (float, np.floating))):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_whole(name: str, value: object, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int from ``low`` (to ``high``), or ValueError naming ``name``.

    Examples
    --------
    >>> check_whole("n_conversations", 20)
    20
    >>> check_whole("n_worlds", 0, 1, 1000)
    Traceback (most recent call last):
    ValueError: n_worlds must be an integer from 1 to 1000, got 0
    """
    if not is_int(value) or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"from {low} to {high}"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def check_seed(value: object, *, none_ok: bool = False) -> int | None:
    """A seed of ``np.random.default_rng``: an int >= 0 (or None, fresh entropy, when
    ``none_ok``), or ValueError.

    Examples
    --------
    >>> check_seed(7)
    7
    >>> check_seed(True)
    Traceback (most recent call last):
    ValueError: seed must be a non-negative integer, got True
    """
    if value is None and none_ok:
        return None
    if not is_int(value) or value < 0:
        alternative = " or None" if none_ok else ""
        raise ValueError(f"seed must be a non-negative integer{alternative}, got {value!r}")
    return int(value)


def check_share(name: str, value: object) -> float:
    """A share from 0 to 1, both included (a prevalence), or ValueError naming ``name``.

    Examples
    --------
    >>> check_share("prevalence", 0.01)
    0.01
    >>> check_share("prevalence", float("nan"))
    Traceback (most recent call last):
    ValueError: prevalence must be a number in [0, 1], got nan
    """
    if not is_real(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_open_share(name: str, value: object) -> float:
    """A share strictly between 0 and 1 (a held-out fraction), or ValueError naming ``name``.

    Examples
    --------
    >>> check_open_share("test_fraction", 0.25)
    0.25
    >>> check_open_share("test_fraction", 1)
    Traceback (most recent call last):
    ValueError: test_fraction must be a number between 0 and 1 (both excluded), got 1
    """
    if not is_real(value) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a number between 0 and 1 (both excluded), got {value!r}")
    return float(value)


def is_prevalence(value: object) -> TypeGuard[int | float | np.integer[Any] | np.floating[Any]]:
    """Whether ``value`` is a prevalence a calibration can be moved to or from: a number
    from :data:`MIN_PREVALENCE` to ``1 - MIN_PREVALENCE`` (:func:`check_prevalence`'s
    rule, which a calibration read from a file is held to as well).

    Examples
    --------
    >>> is_prevalence(0.01), is_prevalence(0.0), is_prevalence(float("nan"))
    (True, False, False)
    """
    return is_real(value) and bool(MIN_PREVALENCE <= value <= 1.0 - MIN_PREVALENCE)


def check_prevalence(name: str, value: object) -> float:
    """A prevalence to calibrate or re-weight to: a number from :data:`MIN_PREVALENCE` to
    ``1 - MIN_PREVALENCE``, or ValueError naming ``name``. A share of a sample that is
    drawn or counted (``generate(prevalence=...)``) may be 0 or 1: :func:`check_share`.

    Examples
    --------
    >>> check_prevalence("rare_prevalence", 1e-4)
    0.0001
    >>> check_prevalence("prevalence", 1e-320)
    Traceback (most recent call last):
    ValueError: prevalence must be a number from 1e-12 to 1 - 1e-12, got 1e-320
    """
    if not is_prevalence(value):
        raise ValueError(
            f"{name} must be a number from {MIN_PREVALENCE:g} to 1 - {MIN_PREVALENCE:g}, "
            f"got {value!r}"
        )
    return float(value)


def check_seconds(name: str, value: object, *, positive: bool = False) -> float:
    """A duration in seconds: a number >= 0 (> 0 when ``positive``), where infinity means
    "never", or ValueError naming ``name``.

    Examples
    --------
    >>> check_seconds("cooldown_s", 0), check_seconds("idle_expiry_s", math.inf, positive=True)
    (0.0, inf)
    >>> check_seconds("cooldown_s", "60")
    Traceback (most recent call last):
    ValueError: cooldown_s must be a number of seconds >= 0, got '60'
    """
    never = isinstance(value, (float, np.floating)) and value == math.inf
    seconds = float(value) if is_real(value) or never else math.nan  # type: ignore[arg-type]
    if not (seconds > 0.0 if positive else seconds >= 0.0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a number of seconds {bound}, got {value!r}")
    return seconds


def check_sample(
    n_conversations: object, prevalence: object, seed: object, *, none_ok: bool = False
) -> None:
    """The size (1 to :data:`MAX_SYNTHETIC_CONVERSATIONS`), prevalence and seed of a
    synthetic sample (:func:`check_whole`, :func:`check_share`, :func:`check_seed`), in
    that order.

    Examples
    --------
    >>> check_sample(4_000, 0.04, 0)
    >>> check_sample(4_000, 4, 0)
    Traceback (most recent call last):
    ValueError: prevalence must be a number in [0, 1], got 4
    """
    check_whole("n_conversations", n_conversations, 1, MAX_SYNTHETIC_CONVERSATIONS)
    check_share("prevalence", prevalence)
    check_seed(seed, none_ok=none_ok)


def unknown_keys(data: Mapping[Any, Any], allowed: Collection[Any]) -> list[Any]:
    """The keys of ``data`` not in ``allowed``, sorted by their ``repr`` (so keys of mixed
    types sort too): a file of another version, or edited by hand, is refused rather than
    read in part. Every mapping riskscore reads applies this one rule.

    Examples
    --------
    >>> unknown_keys({"a": 1, 2: 0, "b": 3}, ("a",))
    ['b', 2]
    """
    return sorted((key for key in data if key not in allowed), key=repr)


def unknown_keys_problem(
    data: Mapping[Any, Any], allowed: Collection[Any], noun: str = "key"
) -> str | None:
    r"""None when every key of ``data`` is in ``allowed``, else the one text that names the
    unknown keys and the known ones; callers prefix where the mapping came from.

    Examples
    --------
    >>> unknown_keys_problem({"colour": 1, "a": 2}, ("a", "b"))
    "unknown key(s) 'colour'; expected some of a, b"
    >>> print(unknown_keys_problem({"\u0430": 1}, ("a", "b")))  # a Cyrillic a
    unknown key(s) '\u0430'; expected some of a, b
    """
    extra = unknown_keys(data, allowed)
    if not extra:
        return None
    # a hand-edited file can hold thousands of keys, each of any length: name a few, cut;
    # beyond ASCII by code point, as no known key is: 'revi\u0435w' (a Cyrillic e) would
    # read as the 'review' the message lists as known
    shown = ", ".join(f"{key!a:.80}" for key in extra[:_KEYS_SHOWN])
    more = f" and {len(extra) - _KEYS_SHOWN} more" if len(extra) > _KEYS_SHOWN else ""
    known = ", ".join(sorted(map(str, allowed)))
    return f"unknown {noun}(s) {shown}{more}; expected some of {known}"


_KEYS_SHOWN = 10


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_sha256_hex(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a SHA-256 digest as riskscore writes one (64 lowercase
    hexadecimal digits): a digest read back from a file riskscore wrote is checked by this
    before it is compared or shown (text of another form may be anything, even escape
    sequences a terminal obeys).

    Examples
    --------
    >>> is_sha256_hex("0" * 64), is_sha256_hex("0" * 63), is_sha256_hex(5)
    (True, False, False)
    """
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None
