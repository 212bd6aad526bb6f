"""Alert thresholds set by alert volume across worlds (how the default policy's were set,
``docs/policy.md``): each tier's threshold is found so that the median unseen world
(:mod:`riskscore.evaluation.robustness`) alerts a target number of benign conversations
per million, younger children's bands lower than older ones'."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from riskscore.evaluation.robustness import WorldSample
from riskscore.policy import AgeBand, AlertPolicy

__all__ = ["BAND_ODDS", "policy_for_volume"]

FloatArray = npt.NDArray[np.float64]


#: How much stricter (lower odds) or laxer each default band's thresholds are than the
#: 13-15 band's: the younger the child, the lower the risk that sends it to a moderator.
BAND_ODDS: Final = {"under 13": 0.5, "13-15": 1.0, "16-17": 2.0, "18+": 4.0, "unknown": 1.0}


def _odds_to_risk(odds: float) -> float:
    return odds / (1.0 + odds)


def policy_for_volume(
    samples: Sequence[WorldSample],
    risks: Sequence[FloatArray],
    *,
    review_per_million: float,
    urgent_per_million: float,
    template: AlertPolicy | None = None,
    band_odds: Mapping[str, float] = BAND_ODDS,
) -> AlertPolicy:
    """Thresholds that alert about a target number of benign conversations per million,
    in the median world.

    Each band's threshold odds are ``base * band_odds[band]`` (younger children get lower
    thresholds); ``base`` is found by bisection for each tier so that the median, over
    ``samples``, of benign conversations alerted per million is at the target. The
    guards of ``template`` apply while counting.

    Parameters
    ----------
    samples : sequence of WorldSample
        Labelled samples of unseen worlds.
    risks : sequence of arrays
        A model's risk for each sample.
    review_per_million, urgent_per_million : float
        Target alert volumes (review counts every alert, urgent the urgent ones).
    template : AlertPolicy, optional
        Bands and guards to keep (:meth:`AlertPolicy.default` when omitted).
    band_odds : mapping of str to float
        Relative threshold odds per band name (the ``unknown`` band included).

    Returns
    -------
    AlertPolicy
    """
    template = template or AlertPolicy.default()
    names = [b.name for b in template.all_bands]
    missing = [n for n in names if n not in band_odds]
    if missing:
        raise ValueError(f"band_odds lacks the band(s) {missing}")

    def policy(review_base: float, urgent_base: float) -> AlertPolicy:
        def band(b: AgeBand) -> AgeBand:
            review = _odds_to_risk(review_base * band_odds[b.name])
            urgent = max(_odds_to_risk(urgent_base * band_odds[b.name]), min(review * 1.01, 1.0))
            return AgeBand(b.name, b.min_age, b.max_age, review=review, urgent=min(urgent, 1.0))

        return AlertPolicy(
            bands=tuple(band(b) for b in template.bands),
            unknown=band(template.unknown),
            guards=template.guards,
        )

    def volume(p: AlertPolicy, tier: int) -> float:
        per_world = []
        for s, risk in zip(samples, risks, strict=True):
            benign = ~np.asarray(s.labels.is_grooming_true, dtype=bool)
            tiers = p.tiers(risk, s.features.column("child_age"), s.features.column("adult_age"))
            per_world.append(1e6 * np.mean(tiers[benign] >= tier))
        return float(np.median(per_world))

    def solve(tier: int, target: float, other: float) -> float:
        low, high = -12.0, 12.0  # log odds of the base threshold
        for _ in range(50):
            mid = (low + high) / 2
            base = math.exp(mid)
            p = policy(base, max(other, base * 1.5)) if tier == 1 else policy(other, base)
            if volume(p, tier) > target:
                low = mid
            else:
                high = mid
        return math.exp(high)

    urgent_base = solve(2, urgent_per_million, other=1e-6)
    review_base = solve(1, review_per_million, other=urgent_base)
    return policy(min(review_base, urgent_base / 1.5), urgent_base)
