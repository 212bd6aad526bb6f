"""The one tier rule: risk and both ages in, tier and age band out, for one or many.

The rule is written once, in :data:`RULE_SOURCE`, and compiled per policy
twice from that same text: on Python floats for the online scorer (one event,
under a microsecond) and on numpy arrays for batch alerts, evaluation and
Spark. So scalar and vectorised tiers cannot drift apart. The rule:

1. the **band** is the number of band edges at or below the child's age; an
   unknown (NaN) age takes the ``unknown`` band; a known child with an adult of
   unknown age takes the ``unknown_adult`` band, when the policy has one;
2. the **tier** counts the band's thresholds that the risk reaches (0 none,
   1 review, 2 urgent);
3. the **guards** (:mod:`riskscore.policy.guards`) cap it: 0 for two known
   adults, 1 for two known minors within the allowed age gap. A NaN compares
   false with everything, so an unknown age never meets a guard's condition.

It uses only operators that mean the same on a float and elementwise on an
array (comparisons, ``&``, ``*``, ``+``, ``-``, ``abs``, indexing), with one
care: a boolean is multiplied by an integer or added to one before anything
else is added to it, because numpy's ``bool + bool`` is a logical or, not a
count. The band edges are unrolled into the text (a loop over them costs the
scalar path 0.7 us); only names and indices are formatted into it, and every
number is passed as a value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskscore.policy.bands import AgeBand
from riskscore.policy.guards import ADULT_AGE, Guards

__all__ = ["CompiledRule", "compile_rule"]

#: How far beyond ``minor_peer_max_gap_years`` two ages may differ and still count as the
#: gap apart: the rounding of a difference of decimal ages in floats (about 1e-15), far
#: below the precision of any declared age (a float32 age holds minutes, 2e-6 years).
GAP_TOLERANCE_YEARS = 1e-9

#: The band and tier rule. ``{band_terms}`` becomes ``+ (child_age >= _e0) + ...``, and
#: ``{unknown_adult_term}`` the line that picks the ``unknown_adult`` band (nothing without one).
RULE_SOURCE = """\
def band(child_age, adult_age):
    idx = 0{band_terms}
    idx = idx + (child_age != child_age) * (_unknown - idx){unknown_adult_term}
    return idx


def decide(risk, child_age, adult_age):
    idx = 0{band_terms}
    idx = idx + (child_age != child_age) * (_unknown - idx){unknown_adult_term}
    adults = (child_age >= _adult) & (adult_age >= _adult) & _adult_pairs_guard
    peers = (child_age < _adult) & (adult_age < _adult) & (abs(adult_age - child_age) <= _gap)
    allowed = 1 - adults
    tier = (risk >= _review[idx]) * allowed + (risk >= _urgent[idx]) * (allowed * (1 - peers))
    return tier, idx
"""

Band = Callable[[Any, Any], Any]
Decide = Callable[[Any, Any, Any], tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """:data:`RULE_SOURCE` compiled for one policy, on floats or on arrays.

    Attributes
    ----------
    band : callable
        ``band(child_age, adult_age) -> band index`` (``len(bands)`` for an unknown
        child's age, ``len(bands) + 1`` for a known child's with an unknown adult's when
        the policy has an ``unknown_adult`` band).
    decide : callable
        ``decide(risk, child_age, adult_age) -> (tier, band index)``, tier 0, 1 or 2.
    """

    band: Band
    decide: Decide


def compile_rule(
    bands: tuple[AgeBand, ...],
    unknown: AgeBand,
    unknown_adult: AgeBand | None,
    guards: Guards,
    *,
    arrays: bool,
) -> CompiledRule:
    """The rule of a policy, for Python floats (``arrays=False``) or float arrays.

    Examples
    --------
    >>> from riskscore.policy.bands import DEFAULT_BANDS, DEFAULT_UNKNOWN, DEFAULT_UNKNOWN_ADULT
    >>> rule = compile_rule(
    ...     DEFAULT_BANDS, DEFAULT_UNKNOWN, DEFAULT_UNKNOWN_ADULT, Guards(), arrays=False
    ... )
    >>> rule.decide(0.99, 12.0, 35.0), rule.decide(0.99, 14.0, 15.0), rule.decide(0.99, 30.0, 40.0)
    ((2, 0), (1, 1), (0, 3))
    >>> nan = float("nan")
    >>> rule.decide(0.99, nan, 35.0), rule.decide(0.99, 14.0, nan)  # the two unknown bands
    ((2, 4), (2, 5))
    >>> many = compile_rule(DEFAULT_BANDS, DEFAULT_UNKNOWN, None, Guards(), arrays=True)
    >>> tier, idx = many.decide(np.array([0.99, 0.99]), np.array([14.0, 12.0]),
    ...                         np.array([15.0, 35.0]))
    >>> tier.tolist(), idx.tolist()
    ([1, 2], [1, 0])
    """
    edges = [float(b.min_age) for b in bands[1:]]
    every = (*bands, unknown, *([] if unknown_adult is None else [unknown_adult]))
    review = [float(b.review) for b in every]
    urgent = [float(b.urgent) for b in every]
    namespace: dict[str, Any] = {
        "_unknown": len(bands),
        "_unknown_adult": len(bands) + 1,
        "_adult": float(ADULT_AGE),
        "_adult_pairs_guard": not guards.adult_pairs_alert,
        # ages differing by the gap in decimals (17.1 - 14.1 = 3.0000000000000018) are at it
        "_gap": float(guards.minor_peer_max_gap_years) + GAP_TOLERANCE_YEARS,
        "_review": np.array(review, dtype=np.float64) if arrays else tuple(review),
        "_urgent": np.array(urgent, dtype=np.float64) if arrays else tuple(urgent),
        **{f"_e{j}": edge for j, edge in enumerate(edges)},
    }
    terms = "".join(f" + (child_age >= _e{j})" for j in range(len(edges)))
    # a known child (age == age) with an adult of unknown age (age != age: NaN)
    unknown_adult_term = (
        ""
        if unknown_adult is None
        else "\n    idx = idx + (child_age == child_age) * (adult_age != adult_age)"
        " * (_unknown_adult - idx)"
    )
    source = RULE_SOURCE.format(band_terms=terms, unknown_adult_term=unknown_adult_term)
    exec(compile(source, "<riskscore.policy rule>", "exec"), namespace)
    return CompiledRule(band=namespace["band"], decide=namespace["decide"])
