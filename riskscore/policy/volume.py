"""Thresholds set by alert volume: as many alerts per million conversations as a team
can review.

The one rule behind the default policy (set on 30 synthetic worlds the model never saw,
``benchmarks/robustness.py``) and behind ``riskscore policy tune`` (set on a platform's
own traffic). Each band's threshold odds are a common base times the band's odds
(:data:`BAND_ODDS`: younger children get lower thresholds); the base of each tier is found
by bisection so that the median :class:`Traffic` alerts the target number of its counted
conversations per million, the policy's guards applied while counting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from riskscore._checks import MIN_PREVALENCE, is_real
from riskscore.policy.alert_policy import AlertPolicy
from riskscore.policy.bands import AgeBand

__all__ = [
    "BAND_ODDS",
    "REVIEW_PER_MILLION",
    "URGENT_PER_MILLION",
    "Traffic",
    "alerts_per_million",
    "check_per_million",
    "conversation_tiers",
    "policy_for_volume",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: How much stricter (lower odds) or laxer each default band's thresholds are than the
#: 13-15 band's: the younger the child, the lower the risk that sends it to a moderator.
BAND_ODDS: Final = {
    "under 13": 0.5,
    "13-15": 1.0,
    "16-17": 2.0,
    "18+": 4.0,
    "unknown": 1.0,
    # not chosen: the ratio of the default's thresholds, this band set on its own
    # conversations (own_volume, benchmarks/robustness.py: odds 8.90 against 13-15's 2.30)
    "minor, other age unknown": 3.9,
}

#: The alert volumes the default policy was set for (benign conversations per million in
#: the median unseen world), and ``riskscore policy tune``'s defaults.
REVIEW_PER_MILLION: Final = 800.0
URGENT_PER_MILLION: Final = 100.0

#: Fewest alerts a target may expect of the counted conversations, per tier: below this a
#: threshold is set by one or two conversations and means nothing.
MIN_ALERTS: Final = 5


class AgeColumns(Protocol):
    """Scored conversations' columns by name, as a :class:`~riskscore.FeatureTable` gives
    them (the policy does not depend on the features)."""

    def column(self, name: str) -> FloatArray: ...


@dataclass(frozen=True, slots=True, eq=False)
class Traffic:
    """Scored conversations of one platform or one world: what alerts are counted on.

    A row is one scored state of a conversation: its final state in batch scoring, or,
    with ``conversation``, any of the states it passed through online (an online scorer
    alerts the first time a conversation reaches a tier, whatever its risk at the end).

    Attributes
    ----------
    risk : array of shape (n,)
        Calibrated risk of each row, in [0, 1].
    child_age, adult_age : array of shape (n,)
        The two ages in years (NaN when unknown): they pick the band and the guards.
    counted : bool array of shape (n,), optional
        The rows whose alerts count toward the volume: the benign conversations of a
        labelled sample; every one (the default) on a platform's own traffic, where
        grooming is too rare (about 1 in 10,000) to change the count.
    conversation : int array of shape (n,), optional
        The conversation of each row, as integer codes from 0 (``0 .. m - 1``): a
        conversation alerts at the highest tier of its rows and counts once (when its rows
        are counted; ``counted`` must then be the same on all of them). None (the
        default): each row is a conversation.
    """

    risk: FloatArray
    child_age: FloatArray
    adult_age: FloatArray
    counted: BoolArray | None = None
    conversation: IntArray | None = None

    def __post_init__(self) -> None:
        risk = np.asarray(self.risk, dtype=np.float64)
        n = len(risk)
        for name in ("child_age", "adult_age", "counted", "conversation"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"Traffic.{name} has {len(value)} rows, risk has {n}")
        bad = np.flatnonzero(~((risk >= 0.0) & (risk <= 1.0)))
        if len(bad):
            raise ValueError(
                f"Traffic.risk must lie in [0, 1]: row {int(bad[0])} is {float(risk[bad[0]])!r}"
            )
        if self.counted is not None and np.asarray(self.counted).dtype != np.bool_:
            raise ValueError(
                f"Traffic.counted must be a bool array, got dtype {np.asarray(self.counted).dtype}"
            )
        if self.conversation is not None:
            _check_conversation(np.asarray(self.conversation), self.counted)

    @classmethod
    def of(
        cls, features: AgeColumns, risk: FloatArray, counted: BoolArray | None = None
    ) -> Traffic:
        """The conversations of ``features`` (a feature table) scored by ``risk``."""
        return cls(
            risk=np.asarray(risk, dtype=np.float64),
            child_age=features.column("child_age"),
            adult_age=features.column("adult_age"),
            counted=counted,
        )

    @property
    def n_counted(self) -> int:
        """How many conversations are counted."""
        if self.conversation is None:
            return len(self.risk) if self.counted is None else int(np.count_nonzero(self.counted))
        rows = np.asarray(self.conversation, dtype=np.int64)
        if self.counted is not None:
            rows = rows[np.asarray(self.counted, dtype=bool)]
        return len(np.unique(rows))


def _check_conversation(codes: npt.NDArray[Any], counted: BoolArray | None) -> None:
    """``Traffic.conversation`` checked: integer codes from 0, and ``counted`` the same on
    every row of a conversation (a conversation is counted or not, as a whole)."""
    if not len(codes):
        return
    if codes.dtype.kind not in "iu":
        raise ValueError(
            "Traffic.conversation must hold integer codes 0 .. m - 1, got dtype "
            f"{codes.dtype} (row 0 is {codes[0].item()!r})"
        )
    bad = np.flatnonzero(codes < 0)
    if len(bad):
        raise ValueError(
            f"Traffic.conversation must hold codes from 0: row {int(bad[0])} is "
            f"{int(codes[bad[0]])}"
        )
    if counted is None:
        return
    rows = np.asarray(counted, dtype=bool)
    # a conversation whose rows disagree: counted on some rows, not on others
    _, inverse = np.unique(codes, return_inverse=True)  # codes may be sparse: 0 and 10**15
    some = np.zeros(len(codes), dtype=bool)
    some[inverse[rows]] = True
    mixed = np.flatnonzero(some[inverse] != rows)
    if len(mixed):
        row = int(mixed[0])
        raise ValueError(
            f"Traffic.counted must be the same on every row of a conversation: row {row} "
            f"(conversation {int(codes[row])}) is {bool(rows[row])}, another row of that "
            f"conversation is {not rows[row]}"
        )


def conversation_tiers(tiers: IntArray, conversation: IntArray) -> tuple[IntArray, IntArray]:
    """Each conversation's tier from the tiers of its rows (its scored states): the highest
    any of them reached, as an online scorer alerts. Returns the conversation codes
    (sorted) and their tiers."""
    codes, rows = np.unique(conversation, return_inverse=True)
    highest = np.zeros(len(codes), dtype=np.asarray(tiers).dtype)
    np.maximum.at(highest, rows, tiers)
    return codes, highest


def alerts_per_million(policy: AlertPolicy, traffic: Traffic) -> tuple[float, float]:
    """Alerts (review or urgent) and urgent alerts per million counted conversations."""
    tiers = policy.tiers(traffic.risk, traffic.child_age, traffic.adult_age)
    if traffic.counted is not None:
        counted = np.asarray(traffic.counted, dtype=bool)
        tiers = tiers[counted]
    if traffic.conversation is not None:
        rows = np.asarray(traffic.conversation, dtype=np.int64)
        if traffic.counted is not None:
            rows = rows[counted]
        tiers = conversation_tiers(tiers, rows)[1]
    if not len(tiers):
        return math.nan, math.nan
    return 1e6 * float(np.mean(tiers >= 1)), 1e6 * float(np.mean(tiers >= 2))


#: Smallest target alert volume per million conversations: the smallest share alerted
#: that a threshold is computed for (:data:`riskscore._checks.MIN_PREVALENCE`, one
#: conversation in a trillion).
MIN_PER_MILLION: Final = 1e6 * MIN_PREVALENCE


def check_per_million(name: str, value: object) -> float:
    """The one rule for a target alert volume: a number from :data:`MIN_PER_MILLION`
    and below a million (a share alerted is a prevalence of alerts: the rule of
    :func:`riskscore._checks.check_prevalence`, in alerts per million)."""
    if not is_real(value) or not MIN_PER_MILLION <= value < 1e6:
        raise ValueError(
            f"{name} must be a number from {MIN_PER_MILLION:g} and below 1,000,000, got {value!r}"
        )
    return float(value)


def _check_targets(review_per_million: float, urgent_per_million: float) -> None:
    check_per_million("review_per_million", review_per_million)
    check_per_million("urgent_per_million", urgent_per_million)
    if urgent_per_million > review_per_million:
        raise ValueError(
            f"urgent_per_million ({urgent_per_million:g}) cannot exceed review_per_million "
            f"({review_per_million:g}): every urgent alert is also an alert"
        )


def _check_size(
    traffic: Sequence[Traffic], targets: tuple[float, float], template: AlertPolicy
) -> None:
    n = sum(t.n_counted for t in traffic)
    urgent_per_million = targets[1]
    expected = n * urgent_per_million / 1e6
    if expected < MIN_ALERTS:
        needed = math.ceil(MIN_ALERTS * 1e6 / urgent_per_million)
        raise ValueError(
            f"{n:,} conversations at {urgent_per_million:g} urgent alerts per million give "
            f"{expected:.2g} urgent alerts: too few to set a threshold by; give at least "
            f"{needed:,} conversations, or a larger urgent_per_million"
        )
    # the conversations that alert at each tier whatever the threshold (risk 1), guards applied
    can = [
        alerts_per_million(template, replace(t, risk=np.ones_like(t.risk, dtype=np.float64)))
        for t in traffic
    ]
    for tier, (name, target) in enumerate(zip(("alerts", "urgent alerts"), targets, strict=True)):
        able = sum(
            round(c[tier] * t.n_counted / 1e6)
            for c, t in zip(can, traffic, strict=True)
            if t.n_counted
        )
        if able < n * target / 1e6:
            raise ValueError(
                f"only {able:,} of {n:,} conversations can raise {name} under the policy's "
                f"guards (two adults never alert, two minors of close ages at most for "
                f"review): {target:g} {name} per million ask for "
                f"{n * target / 1e6:.3g}; give traffic with more adult-minor conversations, "
                "or a smaller target"
            )


def policy_for_volume(
    traffic: Traffic | Sequence[Traffic],
    *,
    review_per_million: float,
    urgent_per_million: float,
    template: AlertPolicy | None = None,
    band_odds: Mapping[str, float] | None = None,
    own_volume: Sequence[str] = (),
) -> AlertPolicy:
    """Thresholds that alert about a target number of counted conversations per million,
    in the median :class:`Traffic`.

    Parameters
    ----------
    traffic : Traffic or sequence of Traffic
        One platform's scored conversations, or one per synthetic world.
    review_per_million, urgent_per_million : float
        Target alert volumes (review counts every alert, urgent the urgent ones).
    template : AlertPolicy, optional
        Bands and guards to keep (:meth:`AlertPolicy.default` when omitted).
    band_odds : mapping of str to float, optional
        Relative threshold odds per band name (the ``unknown`` bands included). By default
        :data:`BAND_ODDS` when it names every band of ``template``, otherwise the odds of
        each band's own review threshold in ``template`` (a template of other bands, such as
        ``riskscore policy tune --from`` reads, keeps its ratios).
    own_volume : sequence of str, optional
        Bands (by name) whose thresholds are set on their own conversations: each alerts
        the target volume of the conversations scored in it, pooled over ``traffic`` (one
        world holds too few of them for a median), before the other bands are set for the
        whole. The default policy sets its ``unknown_adult`` band so: what is unknown of
        the ages changes how many benign conversations reach a risk, so a ratio to the
        known bands would send more of them to review than the target, or fewer.

    Returns
    -------
    AlertPolicy
        At most the targets in the median traffic (ties aside), younger bands stricter.

    Raises
    ------
    ValueError
        A target out of range, urgent above review, a band without odds, a band of
        ``own_volume`` that ``template`` does not have, or traffic too small to expect
        :data:`MIN_ALERTS` urgent alerts (in all, or in a band of ``own_volume``), or in
        which fewer conversations can alert at a tier, whatever its threshold (the
        template's guards applied), than that tier's target asks for.
    """
    traffic = [traffic] if isinstance(traffic, Traffic) else list(traffic)
    if not traffic:
        raise ValueError("policy_for_volume needs at least one Traffic")
    _check_targets(review_per_million, urgent_per_million)
    template = template or AlertPolicy.default()
    band_odds = _template_odds(template) if band_odds is None else band_odds
    names = [b.name for b in template.all_bands]
    missing = [name for name in names if name not in band_odds]
    if missing:
        raise ValueError(f"band_odds lacks the band(s) {missing}")
    strange = [name for name in own_volume if name not in names]
    if strange:
        raise ValueError(f"own_volume names band(s) {strange} that the template lacks: {names}")
    targets = (review_per_million, urgent_per_million)
    _check_size(traffic, targets, template)
    fixed: dict[str, AgeBand] = {}

    def policy(review_base: float, urgent_base: float) -> AlertPolicy:
        def band(b: AgeBand) -> AgeBand:
            if b.name in fixed:
                return fixed[b.name]
            review = _odds_to_risk(review_base * band_odds[b.name])
            # above review in odds: as risks, 1.01 times a review above 0.990 was 1.0, and
            # the urgent tier of such a band was switched off in silence
            urgent = _odds_to_risk(max(urgent_base, review_base * 1.01) * band_odds[b.name])
            return AgeBand(b.name, b.min_age, b.max_age, review=review, urgent=urgent)

        return AlertPolicy(
            bands=tuple(band(b) for b in template.bands),
            unknown=band(template.unknown),
            unknown_adult=None if template.unknown_adult is None else band(template.unknown_adult),
            guards=template.guards,
        )

    for name in own_volume:
        strata = [_in_band(t, template, names.index(name)) for t in traffic]
        try:
            _check_size(strata, targets, template)
        except ValueError as exc:
            raise ValueError(f"band {name!r} (own_volume): {exc}") from None
        try:
            base = _bases(policy, partial(_pooled, traffic=strata), targets)
            fixed[name] = policy(*base).all_bands[names.index(name)]
        except ValueError as exc:
            raise _out_of_order(fixed, exc) from None

    def median(p: AlertPolicy, tier: int) -> float:
        return float(np.median([alerts_per_million(p, t)[tier - 1] for t in traffic]))

    try:
        return policy(*_bases(policy, median, targets))
    except ValueError as exc:
        raise _out_of_order(fixed, exc) from None


def _out_of_order(fixed: dict[str, AgeBand], exc: ValueError) -> ValueError:
    """The refusal of a policy whose bands set at their own volume (``own_volume``) break
    the rule that a younger band is at least as strict as an older one (an age band set on
    its own conversations can need higher thresholds than an older band's), naming them."""
    if not fixed:
        return exc
    named = ", ".join(repr(name) for name in fixed)
    return ValueError(
        f"own_volume {named}: set at its own volume, the thresholds break the age bands' "
        f"order ({exc}); own volume suits the unknown bands, outside that order"
    )


Build = Callable[[float, float], AlertPolicy]
Volume = Callable[[AlertPolicy, int], float]


def _bases(policy: Build, volume: Volume, targets: tuple[float, float]) -> tuple[float, float]:
    """The review and urgent bases (odds) of ``policy`` whose ``volume`` meets ``targets``:
    urgent first, then review with urgent fixed, found by bisection on their log odds."""

    def solve(tier: int, target: float, other: float) -> float:
        low, high = -36.0, 36.0  # log odds of the base threshold (risks 1e-16 to 1 - 1e-16)
        for _ in range(50):
            mid = (low + high) / 2
            base = math.exp(mid)
            p = policy(base, max(other, base * 1.5)) if tier == 1 else policy(other, base)
            if volume(p, tier) > target:
                low = mid
            else:
                high = mid
        return math.exp(high)

    urgent_base = solve(2, targets[1], other=1e-6)
    review_base = solve(1, targets[0], other=urgent_base)
    # urgent odds at least 1.5 times review odds: a review threshold lowered to keep that
    # sent more to review than its target; urgent raised instead sends fewer to urgent
    return review_base, max(urgent_base, review_base * 1.5)


def _in_band(traffic: Traffic, policy: AlertPolicy, band: int) -> Traffic:
    """The rows of ``traffic`` scored in band ``band`` of ``policy`` (the band depends on
    the ages only, not on the thresholds)."""
    rows = policy.band_index(traffic.child_age, traffic.adult_age) == band
    return Traffic(
        risk=traffic.risk[rows],
        child_age=traffic.child_age[rows],
        adult_age=traffic.adult_age[rows],
        counted=None if traffic.counted is None else np.asarray(traffic.counted)[rows],
        conversation=(
            None if traffic.conversation is None else np.asarray(traffic.conversation)[rows]
        ),
    )


def _pooled(policy: AlertPolicy, tier: int, *, traffic: Sequence[Traffic]) -> float:
    """Alerts of ``tier`` per million counted conversations of all ``traffic`` together."""
    counts = [t.n_counted for t in traffic]
    alerts = sum(
        alerts_per_million(policy, t)[tier - 1] * n
        for t, n in zip(traffic, counts, strict=True)
        if n
    )
    return float(alerts / max(sum(counts), 1))


def _template_odds(template: AlertPolicy) -> Mapping[str, float]:
    """:data:`BAND_ODDS` when it names every band of ``template`` (the built-in bands),
    else each band's review threshold as odds: the template's own ratios, younger bands
    stricter as the template is."""
    if all(b.name in BAND_ODDS for b in template.all_bands):
        return BAND_ODDS
    return {b.name: b.review / (1.0 - b.review) for b in template.all_bands}


def _odds_to_risk(odds: float) -> float:
    return odds / (1.0 + odds)
