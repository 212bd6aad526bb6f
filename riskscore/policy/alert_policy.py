"""AlertPolicy: from calibrated scores to alerts, with stricter thresholds for younger children.

The model scores; the policy decides. It holds two thresholds (review, urgent)
per age band of the child, thresholds for children of unknown age and for known
minors with an account of unknown age, and guards
on pairs of known ages (:mod:`riskscore.policy.guards`). Every tier, one
conversation at a time or a whole table at once, comes from the one rule in
:mod:`riskscore.policy.rule`; every policy, from a file, a configuration block
or code, is checked by the one validator in :mod:`riskscore.policy.validate`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.io.given_ids import IntegerAndPairIds, given_id
from riskscore.io.raw import as_python_value, show
from riskscore.model.risk_model import DEFAULT_REASONS_ABOVE
from riskscore.model.scores import ScoreTable
from riskscore.policy.alerts import Alert
from riskscore.policy.bands import (
    DEFAULT_BANDS,
    DEFAULT_UNKNOWN,
    DEFAULT_UNKNOWN_ADULT,
    AgeBand,
    Tier,
    check_bands,
)
from riskscore.policy.errors import PolicyFileError
from riskscore.policy.files import dumps as dumps_toml
from riskscore.policy.files import read as read_toml
from riskscore.policy.guards import Guards
from riskscore.policy.inputs import checked_decision_inputs, checked_one_input
from riskscore.policy.rule import CompiledRule, compile_rule
from riskscore.policy.validate import FORMAT_VERSION, parse

__all__ = ["AlertPolicy", "policy_or_default"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Age-banded thresholds and guards that turn scores into alerts.

    Parameters
    ----------
    bands : tuple of AgeBand
        Contiguous, non-overlapping bands from age 0 upwards; a band for
        younger children may not have higher thresholds than an older one.
    unknown : AgeBand
        Thresholds when the child's age is unknown (whatever the adult's).
    guards : Guards
        Caps for two known adults (no alert) and two known minors close in
        age (review at most).
    unknown_adult : AgeBand or None
        Thresholds when the child's age is known and the adult's is not (by the role
        rule of ``docs/features.md`` the child is then a known minor); None: the child's
        band applies, as in policy files before format 3.

    Examples
    --------
    >>> from riskscore import AlertPolicy
    >>> policy = AlertPolicy.default()
    >>> policy.tier_of(0.9, child_age=11.0, adult_age=30.0)
    <Tier.URGENT: 2>
    >>> policy.tier_of(0.85, child_age=17.0, adult_age=30.0)
    <Tier.REVIEW: 1>
    >>> policy.tier_of(0.99, child_age=15.0, adult_age=14.0)  # minor peers: never urgent
    <Tier.REVIEW: 1>
    >>> policy.tier_of(0.99, child_age=25.0, adult_age=40.0) is None  # two adults
    True
    >>> nan = float("nan")
    >>> policy.tier_of(0.1, child_age=nan, adult_age=nan) is None
    True
    """

    bands: tuple[AgeBand, ...] = DEFAULT_BANDS
    unknown: AgeBand = DEFAULT_UNKNOWN
    guards: Guards = field(default_factory=Guards)
    unknown_adult: AgeBand | None = DEFAULT_UNKNOWN_ADULT
    _one: CompiledRule = field(init=False, repr=False, compare=False)
    _many: CompiledRule = field(init=False, repr=False, compare=False)
    _all_bands: tuple[AgeBand, ...] = field(init=False, repr=False, compare=False)
    _min_review: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_bands(self.bands, self.unknown, self.unknown_adult)
        for name, arrays in (("_one", False), ("_many", True)):
            rule = compile_rule(
                self.bands, self.unknown, self.unknown_adult, self.guards, arrays=arrays
            )
            object.__setattr__(self, name, rule)
        extra = () if self.unknown_adult is None else (self.unknown_adult,)
        object.__setattr__(self, "_all_bands", (*self.bands, self.unknown, *extra))
        object.__setattr__(self, "_min_review", min(b.review for b in self._all_bands))

    def __reduce__(self) -> tuple[type[AlertPolicy], tuple[Any, ...]]:
        # Copied and pickled (Spark broadcasts it) by its parameters; the compiled rule
        # is rebuilt on arrival.
        return type(self), (self.bands, self.unknown, self.guards, self.unknown_adult)

    # ---------------------------------------------------------------- construction

    @classmethod
    def default(cls) -> AlertPolicy:
        """The built-in default policy: the thresholds and guards of
        ``policies/default.toml`` in the source tree (``docs/policy.md``; a test keeps them
        equal). ``riskscore policy default`` prints it as a file to start from."""
        return cls()

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, source: str = "") -> AlertPolicy:
        """A policy from a mapping with the keys of a policy file.

        The one validator behind :meth:`from_toml` and the Synapse module's
        ``policy:`` block: the same mistake gives the same message.

        Parameters
        ----------
        mapping : mapping
            ``format_version``, ``bands``, ``unknown``, optional ``name``,
            (format 2) ``guards`` and (format 3) ``unknown_adult``; see
            ``docs/policy.md``.
        source : str, optional
            Where the mapping came from, named in messages.

        Raises
        ------
        PolicyFileError
            The mapping is invalid; the message names the offending key.

        Examples
        --------
        >>> from riskscore import AlertPolicy
        >>> doc = AlertPolicy.default().to_mapping()
        >>> AlertPolicy.from_mapping(doc) == AlertPolicy.default()
        True
        >>> doc["guards"] = {"adult_pairs_alert": "no"}
        >>> AlertPolicy.from_mapping(doc, source="mine")
        Traceback (most recent call last):
        ...
        riskscore.policy.errors.PolicyFileError: mine: key 'guards.adult_pairs_alert': \
expected true or false, found 'no'
        """
        parts = parse(mapping, source=source)
        try:
            return cls(
                bands=parts.bands,
                unknown=parts.unknown,
                unknown_adult=parts.unknown_adult,
                guards=parts.guards,
            )
        except ValueError as exc:  # already checked by validate.parse; kept as a backstop
            raise PolicyFileError(str(exc), source=source) from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> AlertPolicy:
        """Read a policy file (format in ``docs/policy.md``; ``policies/default.toml``).

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        PolicyFileError
            The file is invalid; the message names the file and the offending key.

        Examples
        --------
        >>> from riskscore import AlertPolicy
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "policy.toml"
        >>> _ = path.write_text(AlertPolicy.default().to_toml())
        >>> AlertPolicy.from_toml(path) == AlertPolicy.default()
        True
        """
        return cls.from_mapping(read_toml(path), source=str(path))

    def to_mapping(self, *, name: str | None = None) -> dict[str, Any]:
        """This policy as a mapping that :meth:`from_mapping` reads back (format 3)."""

        def table(b: AgeBand) -> dict[str, Any]:
            return {
                "name": b.name,
                "min_age": b.min_age,
                "max_age": b.max_age,
                "review": b.review,
                "urgent": b.urgent,
            }

        doc: dict[str, Any] = {"format_version": FORMAT_VERSION}
        if name is not None:
            doc["name"] = name
        doc["bands"] = [table(b) for b in self.bands]
        doc["unknown"] = table(self.unknown)
        if self.unknown_adult is not None:
            doc["unknown_adult"] = table(self.unknown_adult)
        doc["guards"] = {
            "adult_pairs_alert": self.guards.adult_pairs_alert,
            "minor_peer_max_gap_years": self.guards.minor_peer_max_gap_years,
        }
        return doc

    def sha256(self) -> str:
        """The policy's identity: the SHA-256 (hex) of its canonical mapping
        (:meth:`to_mapping` without a name, as sorted, compact JSON). A checkpoint stores
        it, so that a scorer is never resumed under another policy.

        Examples
        --------
        >>> from riskscore import AlertPolicy
        >>> AlertPolicy.default().sha256() == AlertPolicy.from_mapping(
        ...     AlertPolicy.default().to_mapping(name="renamed")).sha256()
        True
        """
        text = json.dumps(self.to_mapping(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_toml(self, *, name: str | None = None) -> str:
        """This policy as TOML text (format 3) that :meth:`from_toml` reads back."""
        return dumps_toml(self.to_mapping(name=name))

    # ---------------------------------------------------------------- bands

    @property
    def all_bands(self) -> tuple[AgeBand, ...]:
        """The age bands, the ``unknown`` band, then the ``unknown_adult`` band when the
        policy has one: indexed by :meth:`band_index`."""
        return self._all_bands

    @property
    def min_review(self) -> float:
        """The lowest review threshold: below it no conversation alerts."""
        return self._min_review

    @property
    def reasons_above(self) -> float:
        """The risk from which scoring must give reasons (``reasons_above`` of
        :meth:`~riskscore.model.RiskModel.score`): the model's default, or this policy's
        lowest review threshold when that is lower, so that every alert carries its
        reasons.

        Examples
        --------
        >>> from riskscore import AlertPolicy
        >>> AlertPolicy.default().reasons_above
        0.01
        """
        return min(DEFAULT_REASONS_ABOVE, self._min_review)

    def band_index(
        self, child_age: npt.ArrayLike, adult_age: npt.ArrayLike | None = None
    ) -> IntArray:
        """Band of each conversation: index into :attr:`all_bands` (``len(bands)`` for a
        child of unknown age, ``len(bands) + 1`` for a known child with an adult of
        unknown age). ``adult_age`` omitted: the band of the child's age alone."""
        ages = np.asarray(child_age, dtype=np.float64)
        other = np.zeros_like(ages) if adult_age is None else np.asarray(adult_age, np.float64)
        return np.asarray(self._many.band(ages, other), dtype=np.int64)

    def band_of(self, child_age: float, adult_age: float | None = None) -> AgeBand:
        """The band whose thresholds apply to a child of this age (NaN: ``unknown``) and,
        given, an adult of this age (NaN with a known child: ``unknown_adult``)."""
        other = 0.0 if adult_age is None else float(adult_age)
        return self._all_bands[self._one.band(float(child_age), other)]

    def thresholds(
        self, child_age: npt.ArrayLike, adult_age: npt.ArrayLike | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Review and urgent thresholds of each conversation's band (before the guards)."""
        idx = self.band_index(child_age, adult_age)
        review = np.array([b.review for b in self._all_bands], dtype=np.float64)
        urgent = np.array([b.urgent for b in self._all_bands], dtype=np.float64)
        return review[idx], urgent[idx]

    # ---------------------------------------------------------------- tiers

    def tiers(
        self, risk: npt.ArrayLike, child_age: npt.ArrayLike, adult_age: npt.ArrayLike
    ) -> IntArray:
        """Tier of each conversation: 0 (no alert), 1 (review) or 2 (urgent).

        Parameters
        ----------
        risk, child_age, adult_age : array-like of shape (n_conversations,)
            Calibrated risk and the younger and older participant's ages in
            years (NaN when unknown).

        Returns
        -------
        array of shape (n_conversations,)

        Examples
        --------
        >>> from riskscore import AlertPolicy
        >>> AlertPolicy.default().tiers([0.99, 0.99, 0.99], [12, 15, 30], [35, 14, 40]).tolist()
        [2, 1, 0]
        """
        return self.decide_many(risk, child_age, adult_age)[0]

    def allowed_tiers(self, child_age: npt.ArrayLike, adult_age: npt.ArrayLike) -> IntArray:
        """The highest tier the guards allow each conversation: its tier at risk 1.

        Examples
        --------
        >>> from riskscore import AlertPolicy
        >>> AlertPolicy.default().allowed_tiers([12, 15, 30], [35, 14, 40]).tolist()
        [2, 1, 0]
        """
        c = np.asarray(child_age, dtype=np.float64)
        return self.tiers(np.ones(c.shape), c, adult_age)

    def decide_many(
        self, risk: npt.ArrayLike, child_age: npt.ArrayLike, adult_age: npt.ArrayLike
    ) -> tuple[IntArray, IntArray]:
        """Tier and band index of each conversation (see :meth:`tiers`)."""
        r, c, a = checked_decision_inputs(risk, child_age, adult_age)
        tier, idx = self._many.decide(r, c, a)
        return np.asarray(tier, dtype=np.int64), np.asarray(idx, dtype=np.int64)

    def decide_one(self, risk: float, child_age: float, adult_age: float) -> tuple[int, AgeBand]:
        """Tier (0, 1 or 2) and applied band of one conversation, in about a microsecond.

        The online scorer's per-event check; the same rule as :meth:`tiers`.
        Arguments are Python floats (NaN for an unknown age).

        Examples
        --------
        >>> from riskscore import AlertPolicy
        >>> tier, band = AlertPolicy.default().decide_one(0.75, 14.0, 40.0)
        >>> tier, band.name
        (1, '13-15')
        """
        tier, idx = self._one.decide(risk, child_age, adult_age)
        return tier, self._all_bands[idx]

    def tier_of(self, risk: float, child_age: float, adult_age: float) -> Tier | None:
        """Tier of one conversation, or None when it raises no alert (the rule of
        :meth:`tiers`; a risk outside [0, 1], or a value that is no number, is refused)."""
        tier, _ = self._one.decide(
            checked_one_input(risk, "risk"),
            checked_one_input(child_age, "child_age"),
            checked_one_input(adult_age, "adult_age"),
        )
        return Tier(tier) if tier else None

    # ---------------------------------------------------------------- alerts

    def alerts(self, scores: ScoreTable) -> list[Alert]:
        """One alert per conversation the policy sends to review.

        Parameters
        ----------
        scores : ScoreTable
            Output of :meth:`RiskModel.score`; with ``reasons_above=``
            :attr:`reasons_above` every alert carries its reasons (the default, 0.01,
            gives none to a conversation below it, which a policy with a lower review
            threshold alerts on).

        Returns
        -------
        list of Alert
            Urgent first, then by decreasing risk.
        """
        tiers, band_idx = self.decide_many(scores.risk, scores.child_age, scores.adult_age)
        hit = np.flatnonzero(tiers > 0)
        hit = hit[np.lexsort((-scores.risk[hit], -tiers[hit]))]
        out = []
        # integer ids held as decimal text beside pair ids as given, as an online scorer
        # alerts on them and the review queue files them (ids beyond int64 stay text:
        # an alerts file's typed column may not hold them as integers)
        integers = isinstance(scores.conversation_id, IntegerAndPairIds)
        for i in hit.tolist():
            first, last = scores.event_times(i)
            out.append(
                Alert(
                    conversation_id=given_id(as_python_value(scores.conversation_id[i]), integers),
                    adult_id=as_python_value(scores.adult_id[i]),
                    child_id=as_python_value(scores.child_id[i]),
                    child_age=float(scores.child_age[i]),
                    adult_age=float(scores.adult_age[i]),
                    age_band=self._all_bands[band_idx[i]].name,
                    risk=float(scores.risk[i]),
                    tier=Tier(int(tiers[i])),
                    reasons=scores.reasons(i),
                    first_event_at=first,
                    last_event_at=last,
                    max_channel=scores.channel(i),
                )
            )
        return out


def policy_or_default(policy: AlertPolicy | None) -> AlertPolicy:
    """``policy``, or :meth:`AlertPolicy.default` for None: the ``policy`` argument of the
    scorers, the review queue and evaluation.

    Raises
    ------
    TypeError
        ``policy`` is something else, such as a policy file's path.

    Examples
    --------
    >>> policy_or_default(None) == AlertPolicy.default()
    True
    >>> policy_or_default("strict.toml")
    Traceback (most recent call last):
    ...
    TypeError: policy must be an AlertPolicy (AlertPolicy.from_toml(path) reads a policy \
file), got str 'strict.toml'
    """
    if policy is None:
        return AlertPolicy.default()
    if not isinstance(policy, AlertPolicy):
        raise TypeError(
            "policy must be an AlertPolicy (AlertPolicy.from_toml(path) reads a policy file), "
            f"got {type(policy).__name__} {show(policy)}"
        )
    return policy
