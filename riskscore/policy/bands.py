"""Age bands and tiers: the thresholds a policy holds for each age band of the child.

A band covers children whose age is in ``[min_age, max_age)``; bands run from
age 0 upwards without gaps, and a younger band may not have a higher threshold
than an older one ("Safe Accounts": the younger the child, the lower the risk
that already sends a conversation to a moderator). Conversations whose child's
age is unknown have a band of their own (``unknown``), and so do those of a known
minor with an account whose age is unknown (``unknown_adult``).
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from riskscore._checks import is_int
from riskscore.io.raw import show
from riskscore.io.schema import MAX_AGE, has_hidden_character
from riskscore.io.shown_ids import escaped_when_shown, shown_id

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_UNKNOWN",
    "DEFAULT_UNKNOWN_ADULT",
    "MAX_BANDS",
    "MAX_NAME_CHARS",
    "AgeBand",
    "Tier",
    "check_bands",
    "check_name",
    "threshold_text",
]

#: Most age bands a policy may have (the compiled rule nests one test per band).
MAX_BANDS = 64
#: Longest band name (characters): it is shown on alerts and in exports.
MAX_NAME_CHARS = 64


class Tier(IntEnum):
    """Alert tiers, in order of urgency (0 means no alert).

    Examples
    --------
    >>> from riskscore import Tier
    >>> Tier(2).name, Tier.REVIEW < Tier.URGENT
    ('URGENT', True)
    """

    REVIEW = 1
    URGENT = 2


@dataclass(frozen=True, slots=True)
class AgeBand:
    """Thresholds for children whose age is in ``[min_age, max_age)``.

    Attributes
    ----------
    name : str
        Band label shown on alerts, e.g. ``"13-15"``: 1 to :data:`MAX_NAME_CHARS`
        printable characters (no newline, tab or other control character).
    min_age, max_age : float
        Age range in years, lower bound included, upper excluded.
    review, urgent : float
        Risk at or above which a conversation gets a review or an urgent alert.

    The four numbers may be given as any Python or numpy integer or float (kept as floats);
    a bool, text or None is refused with a ``TypeError`` naming the band and the field.

    Examples
    --------
    >>> from riskscore import AgeBand
    >>> AgeBand("13-15", 13.0, 16.0, review=0.25, urgent=0.6).urgent
    0.6
    """

    name: str
    min_age: float
    max_age: float
    review: float
    urgent: float

    def __post_init__(self) -> None:
        check_name(self.name)
        for key in ("min_age", "max_age", "review", "urgent"):
            # a bool or text compared as a number: True passed as urgent = 1 and was then
            # written to a policy file as `urgent = true`, which no policy file may say
            value = getattr(self, key)
            try:
                number = (
                    float(value)
                    if is_int(value) or isinstance(value, (float, np.floating))
                    else None
                )
            except OverflowError:  # an integer beyond any float
                number = None
            if number is None:
                raise TypeError(
                    f"age band {self.name!r}: {key} must be a number, found {show(value)}"
                )
            object.__setattr__(self, key, number)
        if not 0.0 < self.review < self.urgent <= 1.0:
            raise ValueError(
                f"age band {self.name!r}: thresholds must satisfy 0 < review < urgent <= 1, "
                f"got review={self.review}, urgent={self.urgent}"
            )
        if not self.min_age < self.max_age:
            raise ValueError(
                f"age band {self.name!r}: min_age {self.min_age} must be below max_age "
                f"{self.max_age}"
            )


def check_name(name: object) -> None:
    r"""Refuse a band name that is not 1 to :data:`MAX_NAME_CHARS` printable characters, that
    reads as other text (:func:`riskscore.io.shown_ids.escaped_when_shown`: ``unkn\u043ewn``
    with a Cyrillic o, a full-width ``\uff55nder 13``), or that is blank or has
    whitespace around it.

    Raises
    ------
    ValueError
        Saying what is wrong with the name.

    Examples
    --------
    >>> check_name("13-15")
    >>> check_name("13-15\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: age band name '13-15\n' has a control or invisible character; ...
    """
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        shown = f"{len(name)} characters" if isinstance(name, str) else show(name)
        raise ValueError(
            f"an age band name must be text of 1 to {MAX_NAME_CHARS} characters, found {shown}"
        )
    if has_hidden_character(name):
        raise ValueError(
            f"age band name {name!r} has a control or invisible character; use printable "
            "characters only"
        )
    if not name.strip() or name != name.strip():  # '13-15 ' reads as '13-15' in a report
        raise ValueError(
            f"age band name {name!r} is blank or has spaces around it: alerts and reports "
            "tell bands apart by name, so give it without"
        )
    if escaped_when_shown(name):  # 'unkn\u043ewn' (a Cyrillic o) reads as 'unknown'
        raise ValueError(
            f"age band name {shown_id(name)} reads as other text (letters of two alphabets "
            "that pass for one another, a full-width or other compatibility form, digits of "
            "two numbering systems): alerts and exports tell bands apart by name, so write it "
            "without look-alike characters"
        )


def check_bands(bands: tuple[AgeBand, ...], *unknown: AgeBand | None) -> None:
    """Refuse bands that do not run from 0 to infinity without gaps, a younger band that is
    stricter, more than :data:`MAX_BANDS` bands, or two bands (the ``unknown`` bands given
    after them included) of one name.

    Raises
    ------
    ValueError
        Naming the bands at fault and what to change.
    """
    if not bands:
        raise ValueError("an alert policy needs at least one age band")
    if len(bands) > MAX_BANDS:
        raise ValueError(f"an alert policy has at most {MAX_BANDS} age bands, found {len(bands)}")
    names = [b.name for b in (*bands, *(b for b in unknown if b is not None))]
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(_read_as(name), name)
        if other is not name:
            same = "is used twice" if other == name else f"reads as {other!r}"
            raise ValueError(
                f"age band name {name!r} {same} (the unknown bands included); alerts and "
                "exports tell bands apart by name: give each band its own"
            )
    if bands[0].min_age != 0.0:
        raise ValueError(f"the first age band must start at 0, not {bands[0].min_age}")
    for younger, older in itertools.pairwise(bands):
        if younger.max_age != older.min_age:
            raise ValueError(
                f"age bands {younger.name!r} and {older.name!r} must meet: "
                f"{younger.max_age} != {older.min_age}"
            )
        if younger.review > older.review or younger.urgent > older.urgent:
            raise ValueError(
                f"age band {younger.name!r} has higher thresholds than the older band "
                f"{older.name!r}: younger children must get thresholds at least as strict"
            )
    unreachable = next((b for b in bands if b.min_age >= MAX_AGE), None)
    if unreachable is not None:
        raise ValueError(
            f"age band {unreachable.name!r} starts at {unreachable.min_age:g}, and no declared "
            f"age reaches it (ages are years, at most {MAX_AGE:g}): give band edges in years"
        )
    if bands[-1].max_age != math.inf:
        raise ValueError(
            f"the last age band {bands[-1].name!r} must end at max_age = inf (every older age "
            f"gets its thresholds), not {bands[-1].max_age}"
        )


def _read_as(name: str) -> str:
    """How a band name reads: compatibility forms folded (NFKC), every dash or minus sign
    as ``-``, runs of spaces as one, case ignored. Two bands named ``13-15`` and ``13\u201015``
    (a hyphen, U+2010) both printed as "13-15" in alerts, exports and reports."""
    folded = unicodedata.normalize("NFKC", name).replace("\u2212", "-")  # a minus sign (Sm)
    dashes = "".join("-" if unicodedata.category(c) == "Pd" else c for c in folded)
    return " ".join(dashes.split()).casefold()


#: The shipped thresholds: about 800 review and 100 urgent alerts per million benign
#: conversations in the median unseen world of ``benchmarks/robustness.py``, counted online
#: (a conversation alerts the first time it reaches a tier, at any event; see
#: ``docs/policy.md`` for how they were set:
#: ``riskscore.policy.volume.policy_for_volume``).
DEFAULT_BANDS = (
    AgeBand("under 13", 0.0, 13.0, review=0.534, urgent=0.869),
    AgeBand("13-15", 13.0, 16.0, review=0.697, urgent=0.93),
    AgeBand("16-17", 16.0, 18.0, review=0.821, urgent=0.964),
    AgeBand("18+", 18.0, math.inf, review=0.902, urgent=0.982),
)
DEFAULT_UNKNOWN = AgeBand("unknown", 0.0, math.inf, review=0.697, urgent=0.93)
DEFAULT_UNKNOWN_ADULT = AgeBand(
    "minor, other age unknown", 0.0, math.inf, review=0.899, urgent=0.961
)


def threshold_text(value: float) -> str:
    """A threshold as every output quotes it (``riskscore policy check``, the 2024/2835
    qualitative draft): four significant digits, as a tuned policy file holds it (0.306,
    not 0.31), but never rounded to 0 or 1 when it is neither (a tuned 0.99999 as 1 would
    read as no urgent alert at all).

    Examples
    --------
    >>> [threshold_text(v) for v in (0.306, 0.99971, 1.0, 0.99999, 0.00001)]
    ['0.306', '0.9997', '1', '0.99999', '1e-05']
    """
    text = f"{value:.4g}"
    if float(text) in (0.0, 1.0) and float(text) != value:
        return repr(float(value))
    return text
