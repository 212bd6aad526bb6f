"""Numbers, counts and durations in words: the one rule behind the numbers a person reads
(the values of reasons, :func:`riskscore.model.values.format_value`; the facts of the
vignettes, :mod:`riskscore.vignettes.markdown`; the counts in the command line's summaries
and the moderator console).

Never scientific notation, never a trailing ``.0``, a singular for one, thousands separated
by commas (``78,967 events``). Machine outputs (JSON, CSV, Parquet) keep plain numbers.
A share that is a bound reads as one (``at least 20 %``, ``at most 20 %``). And the
indefinite article of a word a message names (``an int``, ``a list``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from riskscore._units import DAY_S, HOUR_S, MINUTE_S

#: Beginnings of words whose ``u`` reads as "you" (a consonant sound): ``a UserDict``.
_U_AS_YOU: tuple[str, ...] = ("uni", "usa", "use", "usu", "uint", "uuid", "utf")
#: Beginnings of words read letter by letter from a consonant whose name starts with a
#: vowel sound: ``an ndarray`` ("en-dee-array"), ``an SQLite...``.
_LETTER_NAMES: tuple[str, ...] = ("nd", "sql", "html", "xml", "rgb", "mp")

__all__ = [
    "a_or_an",
    "age_text",
    "at_least_percent",
    "duration_text",
    "number_text",
    "plural",
    "relative_text",
    "risk_text",
    "toward_half_percent",
    "when_text",
]


def number_text(value: float) -> str:
    """A finite number as a person reads it: whole from 100 (thousands separated by commas,
    as every count a person reads is written), one decimal from 1, two significant digits
    below 1 (``under 0.01`` below that).

    Examples
    --------
    >>> [number_text(v) for v in (1234.4, 36.5, 12.0, 0.0909, 0.30000000000000004, 0.0)]
    ['1,234', '36.5', '12', '0.091', '0.3', '0']
    >>> number_text(78_967), number_text(-1_500_000)
    ('78,967', '-1,500,000')
    """
    size = abs(value)
    if size >= 99.95:
        text = f"{value:,.0f}"
    elif size >= 0.995:
        text = f"{value:.1f}"
    elif size == 0.0:
        return "0"
    elif size < 0.01:
        return "under 0.01" if value > 0 else "over -0.01"
    else:
        text = f"{value:.{1 - math.floor(math.log10(size))}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def plural(count: float, word: str, words: str | None = None) -> str:
    """``count`` and ``word``, with an ``s`` (or ``words``, a plural not made with an
    ``s``) unless the count reads as 1.

    Examples
    --------
    >>> plural(1, "event"), plural(3, "account"), plural(1.5, "hour")
    ('1 event', '3 accounts', '1.5 hours')
    >>> plural(1, "child", "children"), plural(2, "child", "children")
    ('1 child', '2 children')
    >>> plural(78_967, "event")
    '78,967 events'
    """
    text = number_text(count)
    if text == "1":
        return f"{text} {word}"
    return f"{text} {words if words is not None else word + 's'}"


def duration_text(seconds: float) -> str:
    """A duration (``seconds`` >= 0) in minutes under an hour, hours under two days, else
    days.

    Examples
    --------
    >>> [duration_text(s) for s in (20, 1380, 3600, 5400, 131_400, 604_800)]
    ['under a minute', '23 minutes', '1 hour', '1.5 hours', '36.5 hours', '7 days']
    """
    if seconds < MINUTE_S:
        return "under a minute"
    if round(seconds / MINUTE_S) < 60:
        return plural(round(seconds / MINUTE_S), "minute")
    if seconds < 2 * DAY_S:
        return plural(seconds / HOUR_S, "hour")
    return plural(seconds / DAY_S, "day")


def relative_text(seconds: float, anchor: str) -> str:
    """How long before ``anchor`` (``seconds`` >= 0) or after it (< 0) something happened,
    in :func:`duration_text`'s words.

    Examples
    --------
    >>> relative_text(3 * 86_400, "the alert"), relative_text(-7200, "the alert")
    ('3 days before the alert', '2 hours after the alert')
    >>> relative_text(0, "the alert")
    'under a minute before the alert'
    """
    side = "before" if seconds >= 0 else "after"
    return f"{duration_text(abs(seconds))} {side} {anchor}"


def when_text(epoch: float) -> str:
    """Epoch seconds as a person reads a time: ISO date, hours and minutes, UTC (the
    console's times, and those of an alert's facts in the review queue).

    Examples
    --------
    >>> when_text(1_767_225_600)
    '2026-01-01 00:00 UTC'
    """
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def risk_text(risk: float) -> str:
    """A calibrated risk in [0, 1] as a person reads it: three decimals, never rounded to
    certainty (``over 0.999``, ``under 0.001``), unknown (NaN) as ``unknown``. The one
    wording of a risk in the queue, the console, the command line and the regulatory texts.

    Examples
    --------
    >>> [risk_text(r) for r in (0.97, 0.9956, 0.99996, 1.0, 0.0004, 0.0, float("nan"))]
    ['0.970', '0.996', 'over 0.999', '1', 'under 0.001', '0', 'unknown']
    >>> risk_text(0.9995)  # three decimals would round it to 1.000
    'over 0.999'
    """
    if risk != risk:
        return "unknown"
    if risk in (0.0, 1.0):
        return f"{risk:.0f}"
    if risk >= 0.9995:
        return "over 0.999"
    if risk < 0.0005:
        return "under 0.001"
    return f"{risk:.3f}"


def age_text(age: float | None) -> str:
    """A declared age as a person reads it, ``age unknown`` when there is none (None or
    NaN): the one wording of an account's age beside its id in ``riskscore score``'s
    alerts and the review queue's cases.

    Examples
    --------
    >>> age_text(14.0), age_text(None), age_text(float("nan"))
    ('age 14', 'age unknown', 'age unknown')
    """
    if age is None or age != age:
        return "age unknown"
    return f"age {age:g}"


def a_or_an(word: str) -> str:
    """``word`` after its indefinite article: ``an`` before a vowel sound (a word starting
    with a vowel letter, but a ``u`` read as "you"; or with letters read by their names,
    ``ndarray``), ``a`` otherwise; the one rule of a message that names a kind of value
    (``event 5 is an int, not a mapping``).

    Examples
    --------
    >>> [a_or_an(w) for w in ("int", "list", "object", "UserDict", "ellipsis", "uint8")]
    ['an int', 'a list', 'an object', 'a UserDict', 'an ellipsis', 'a uint8']
    >>> a_or_an("ndarray"), a_or_an("str"), a_or_an("NoneType")
    ('an ndarray', 'a str', 'a NoneType')
    """
    lower = word.lower()
    vowel = lower[:1] in ("a", "e", "i", "o", "u") and not lower.startswith(_U_AS_YOU)
    return f"{'an' if vowel or lower.startswith(_LETTER_NAMES) else 'a'} {word}"


def at_least_percent(percent: float) -> str:
    """A share of evidence or a recent share (``percent``, finite, 0 to 100) as the lower
    bound it is: rounded down, to whole percents from 1 % and to tenths below (``over 0 %``
    under 0.1 %), so the text is never above the share in the events (1 message of 1 at
    night reads ``at least 20 %``, its value 1 / 5, never ``20 %``). A share under 100 %
    reads at most ``at least 99 %``, however close to 100 % it is: ``at least 100 %`` says
    every event.

    Examples
    --------
    >>> at_least_percent(100 / 5), at_least_percent(100 * 32 / 36), at_least_percent(0.96)
    ('at least 20 %', 'at least 88 %', 'at least 0.9 %')
    >>> at_least_percent(100 * (1 - 1e-12)), at_least_percent(100.0)
    ('at least 99 %', '100 %')
    """
    if percent <= 0.0 or percent >= 100.0:
        return f"{percent:.0f} %"
    # 28.999999999 is the 29 % the division meant; 99.999999999 is no 100 %, which is the
    # whole and not a lower bound of a share under it
    whole = min(math.floor(percent + 1e-9), 99)
    if whole >= 1:
        return f"at least {whole} %"
    tenths = math.floor(10.0 * percent + 1e-9) / 10.0
    return f"at least {tenths:g} %" if tenths > 0.0 else "over 0 %"


def toward_half_percent(percent: float) -> str:
    """A share pulled toward one half (``percent``, finite, 0 to 100) as the bound it is on
    its side of 50 %: the share in the events is at least the value above, at most below
    (the adult sent 10 messages of 10: 12 / 14, ``at least 85 %``). Below, the mirror of
    :func:`at_least_percent`: rounded up to whole percents, so the text is never under the
    share; a share over 0 reads at least ``at most 1 %``, however close to 0 it is: ``at
    most 0 %`` says no event.

    Examples
    --------
    >>> toward_half_percent(100 * 12 / 14), toward_half_percent(20.0), toward_half_percent(50.0)
    ('at least 85 %', 'at most 20 %', '50 %')
    >>> toward_half_percent(1e-12), toward_half_percent(0.0)
    ('at most 1 %', '0 %')
    """
    if percent <= 0.0:
        return "0 %"
    if percent < 50.0:
        # 20.000000001 is the 20 % the division meant; 0.000000001 is no 0 %, which is
        # none and not an upper bound of a share over it
        return f"at most {max(math.ceil(percent - 1e-9), 1)} %"
    return at_least_percent(percent) if percent > 50.0 else "50 %"
