"""Times and counts given on the command line (private): one parser for every command.

Each is an argparse ``type``, so a value outside its range is refused while the
arguments are parsed (argparse's one error line, exit status 2), before any work. A
number that a library function also takes is checked by the library's rule
(:mod:`riskscore._checks`, whose caps include the synthetic samples'); the CLI adds
only its own (:data:`MAX_COUNT`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

from riskscore._checks import (
    MAX_SYNTHETIC_CONVERSATIONS,
    check_open_share,
    check_seconds,
    check_seed,
    check_share,
    check_whole,
)
from riskscore.io.given_times import parse_time
from riskscore.io.text import is_number_text
from riskscore.policy.volume import MIN_PER_MILLION, check_per_million

T = TypeVar("T", int, float)

#: Largest whole number accepted by a count option (a row count, an item id).
MAX_COUNT = 2**53


def parse_epoch(text: str, *, end_of_day: bool = False) -> int:
    """An argparse type: :func:`~riskscore.io.given_times.parse_time`, the one rule of a
    given time (the console's period follows it too): epoch seconds, a day ``YYYY-MM-DD``
    (UTC) or ISO 8601 with an offset, 2000 to 2200; with ``end_of_day`` a day is included
    (its end is the next day's first second).

    Raises
    ------
    argparse.ArgumentTypeError
        None of the forms, an ISO time without an offset, or a time out of range.

    Examples
    --------
    >>> parse_epoch("2026-01-01"), parse_epoch("2026-01-01", end_of_day=True)
    (1767225600, 1767312000)
    >>> parse_epoch("1999-12-31")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '1999-12-31' is out of range: times are from 2000-01-01 ...
    """
    try:
        return parse_time(text, end_of_day=end_of_day)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_end(text: str) -> int:
    """:func:`parse_epoch` of a period's end: a day ``YYYY-MM-DD`` is included."""
    return parse_epoch(text, end_of_day=True)


def _by_rule(
    text: str, parse: Callable[[str], T], rule: Callable[[T], object], message: str,
    *, inf_ok: bool = False,
) -> T:  # fmt: skip
    """``parse(text)`` checked by ``rule`` (a check of :mod:`riskscore._checks`, the one the
    library functions apply), or ``message`` as an argparse error. The text must be a
    number as the data's rule writes one (:func:`~riskscore.io.text.is_number_text`: ASCII
    digits, no ``_``; ``inf`` too where ``inf_ok``): Python's ``int`` and ``float`` also
    read ``10_0`` as 100 and digits of other scripts."""
    if not (is_number_text(text) or (inf_ok and text.strip().lower() in {"inf", "+inf"})):
        raise argparse.ArgumentTypeError(message)
    try:
        value = parse(text)
        rule(value)
    except ValueError:  # the text is no number, or the rule refuses it
        raise argparse.ArgumentTypeError(message) from None
    return value


def whole_number(low: int, high: int = MAX_COUNT) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[low, high]``.

    Examples
    --------
    >>> whole_number(1)("20")
    20
    >>> whole_number(1)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '0' is not a whole number from 1 to 9007199254740992
    """

    def parse(text: str) -> int:
        message = f"{text!r} is not a whole number from {low} to {high}"
        return _by_rule(text, int, lambda v: check_whole("value", v, low, high), message)

    return parse


def integer(text: str) -> int:
    """An argparse type: a whole number written as the data writes one (ASCII digits, no
    ``_``); the option's range is checked where its value is used.

    Examples
    --------
    >>> integer("8000")
    8000
    >>> integer("8_000")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '8_000' is not a whole number
    """
    return _by_rule(text, int, lambda v: None, f"{text!r} is not a whole number")


def number(text: str) -> float:
    """An argparse type: a number written as the data writes one, or ``inf``; the
    option's range is checked where its value is used.

    Examples
    --------
    >>> number("0.5"), number("inf")
    (0.5, inf)
    """
    return _by_rule(text, float, lambda v: None, f"{text!r} is not a number", inf_ok=True)


def positive_number(text: str) -> float:
    """An argparse type: a finite number above 0 (a size or a lifetime, which a server
    turns into whole bytes or seconds: ``inf`` has none).

    Examples
    --------
    >>> positive_number("16"), positive_number("0.5")
    (16.0, 0.5)
    >>> positive_number("inf")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: 'inf' is not a finite number above 0
    """
    return _by_rule(text, float, _above_zero, f"{text!r} is not a finite number above 0")


def _above_zero(value: float) -> None:
    """ValueError unless ``value`` is finite and above 0."""
    if not 0.0 < value < math.inf:
        raise ValueError(value)


def seed(text: str) -> int:
    """An argparse type: a seed of ``np.random.default_rng``, a whole number >= 0 (the
    library's rule), at most :data:`MAX_COUNT`.

    Examples
    --------
    >>> seed("7")
    7
    >>> seed("-1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '-1' is not a seed: expected a whole number from 0 to ...
    """
    message = f"{text!r} is not a seed: expected a whole number from 0 to {MAX_COUNT}"
    return _by_rule(text, int, lambda v: check_whole("seed", check_seed(v), 0, MAX_COUNT), message)


def open_fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1 (a held-out share, as
    ``train_model(test_fraction=...)`` takes it).

    Examples
    --------
    >>> open_fraction("0.25")
    0.25
    >>> open_fraction("nan")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: 'nan' is not a number between 0 and 1 (both excluded)
    """
    message = f"{text!r} is not a number between 0 and 1 (both excluded)"
    return _by_rule(text, float, lambda v: check_open_share("value", v), message)


def share(text: str) -> float:
    """An argparse type: a number from 0 to 1, both included (a prevalence, as the
    synthetic generator takes it).

    Examples
    --------
    >>> share("0.01")
    0.01
    >>> share("1.5")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '1.5' is not a number from 0 to 1
    """
    return _by_rule(
        text, float, lambda v: check_share("value", v), f"{text!r} is not a number from 0 to 1"
    )


def seconds(text: str) -> float:
    """An argparse type: a duration, seconds >= 0, ``inf`` for "no limit" (the library's
    rule, :func:`riskscore._checks.check_seconds`).

    Examples
    --------
    >>> seconds("86400"), seconds("inf")
    (86400.0, inf)
    >>> seconds("-1")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '-1' is not a number of seconds >= 0 (or inf)
    """
    return _duration(text, positive=False)


def positive_seconds(text: str) -> float:
    """An argparse type: a duration above 0 seconds, ``inf`` for "never" (the library's
    rule, :func:`riskscore._checks.check_seconds` with ``positive``): a period or a
    window that 0 would turn into a busy loop or no window at all.

    Examples
    --------
    >>> positive_seconds("60"), positive_seconds("inf")
    (60.0, inf)
    >>> positive_seconds("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '0' is not a number of seconds > 0 (or inf)
    """
    return _duration(text, positive=True)


def _duration(text: str, *, positive: bool) -> float:
    """Seconds >= 0 (> 0 when ``positive``) or ``inf``, by :func:`check_seconds`."""
    message = f"{text!r} is not a number of seconds {'>' if positive else '>='} 0 (or inf)"

    def rule(value: float) -> None:
        check_seconds("value", value, positive=positive)

    return _by_rule(text, float, rule, message, inf_ok=True)


def per_million(text: str) -> float:
    """An argparse type: a target alert volume per million conversations (the library's
    rule, :func:`riskscore.policy.volume.check_per_million`).

    Examples
    --------
    >>> per_million("800")
    800.0
    >>> per_million("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '0' is not a number of alerts per million in [1e-06, 1000000)
    """
    message = f"{text!r} is not a number of alerts per million in [{MIN_PER_MILLION:g}, 1000000)"
    return _by_rule(text, float, lambda v: check_per_million("value", v), message)


#: An argparse type: a number of synthetic conversations, 1 to
#: :data:`~riskscore._checks.MAX_SYNTHETIC_CONVERSATIONS` (per world or sample in ``train``,
#: ``evaluate --worlds``, ``policy`` and ``report --synthetic-month``: the library's cap).
synthetic_conversations = whole_number(1, MAX_SYNTHETIC_CONVERSATIONS)
