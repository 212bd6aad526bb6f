"""Alert policy: from calibrated scores to alerts, with stricter thresholds for younger children.

The model scores; the policy decides. Thresholds are set per child age band
(the "Safe Accounts" idea: the younger the child, the lower the risk that
already sends a conversation to a moderator) and per tier.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.scores import Reason, ScoreTable

__all__ = ["AgeBand", "Alert", "AlertPolicy", "Tier"]

FloatArray = npt.NDArray[np.float64]


class Tier(IntEnum):
    """Alert tiers, in order of urgency."""

    REVIEW = 1
    URGENT = 2


@dataclass(frozen=True, slots=True)
class AgeBand:
    """Thresholds for children whose age is in ``[min_age, max_age)``.

    Attributes
    ----------
    name : str
        Band label shown on alerts, e.g. ``"13-15"``.
    min_age, max_age : float
        Age range in years, lower bound included, upper excluded.
    review, urgent : float
        Risk at or above which a conversation gets a review or an urgent alert.
    """

    name: str
    min_age: float
    max_age: float
    review: float
    urgent: float

    def __post_init__(self) -> None:
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


@dataclass(frozen=True, slots=True)
class Alert:
    """A conversation sent to human review.

    Attributes
    ----------
    conversation_id, adult_id, child_id : object
        Ids as in the input events.
    child_age : float
        The child's age in years (NaN if unknown).
    age_band : str
        Name of the age band whose thresholds applied.
    risk : float
        Calibrated risk.
    tier : Tier
        Review or urgent.
    reasons : tuple of Reason
        Features that raised the risk, strongest first.
    event_index : int or None
        Index within the conversation of the event that raised the alert
        (online scoring); None in batch scoring.
    timestamp : int or None
        Epoch seconds of that event; None in batch scoring.
    """

    conversation_id: Any
    adult_id: Any
    child_id: Any
    child_age: float
    age_band: str
    risk: float
    tier: Tier
    reasons: tuple[Reason, ...] = field(default=())
    event_index: int | None = None
    timestamp: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "conversation_id": _plain(self.conversation_id),
            "adult_id": _plain(self.adult_id),
            "child_id": _plain(self.child_id),
            "child_age": None if math.isnan(self.child_age) else self.child_age,
            "age_band": self.age_band,
            "risk": self.risk,
            "tier": self.tier.name.lower(),
            "reasons": [
                {
                    "feature": r.feature,
                    "value": None if math.isnan(r.value) else r.value,
                    "contribution": r.contribution,
                    "description": r.description,
                }
                for r in self.reasons
            ],
            "event_index": self.event_index,
            "timestamp": self.timestamp,
        }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


_DEFAULT_BANDS = (
    AgeBand("under 13", 0.0, 13.0, review=0.15, urgent=0.50),
    AgeBand("13-15", 13.0, 16.0, review=0.25, urgent=0.60),
    AgeBand("16-17", 16.0, 18.0, review=0.35, urgent=0.70),
    AgeBand("18+", 18.0, math.inf, review=0.60, urgent=0.90),
)
_DEFAULT_UNKNOWN = AgeBand("unknown", 0.0, math.inf, review=0.25, urgent=0.60)


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Age-banded thresholds that turn scores into alerts.

    Parameters
    ----------
    bands : tuple of AgeBand
        Contiguous, non-overlapping bands from age 0 upwards; a band for
        younger children may not have higher thresholds than an older one.
    unknown : AgeBand
        Thresholds when the child's age is unknown.

    Examples
    --------
    >>> policy = AlertPolicy.default()
    >>> policy.tier_of(0.55, child_age=11.0), policy.tier_of(0.55, child_age=17.0)
    (<Tier.URGENT: 2>, <Tier.REVIEW: 1>)
    >>> policy.tier_of(0.1, child_age=float("nan")) is None
    True
    """

    bands: tuple[AgeBand, ...] = _DEFAULT_BANDS
    unknown: AgeBand = _DEFAULT_UNKNOWN
    _edges: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.bands:
            raise ValueError("an alert policy needs at least one age band")
        if self.bands[0].min_age != 0.0:
            raise ValueError(f"the first age band must start at 0, not {self.bands[0].min_age}")
        for younger, older in zip(self.bands, self.bands[1:], strict=False):
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
        edges = np.array([b.max_age for b in self.bands[:-1]], dtype=np.float64)
        object.__setattr__(self, "_edges", edges)

    @classmethod
    def default(cls) -> AlertPolicy:
        """The shipped default policy (see ``docs/policy.md`` for how it was chosen)."""
        return cls()

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> AlertPolicy:
        """Read a policy file (format in ``docs/policy.md``; ``policies/default.toml``).

        Raises
        ------
        riskscore._policy_toml.PolicyFileError
            The file is invalid; the message names the offending key.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "policy.toml"
        >>> _ = path.write_text(AlertPolicy.default().to_toml())
        >>> AlertPolicy.from_toml(path) == AlertPolicy.default()
        True
        """
        from riskscore._policy_toml import load

        return load(path)

    def to_toml(self, *, name: str | None = None) -> str:
        """This policy as TOML text that :meth:`from_toml` reads back."""
        from riskscore._policy_toml import dumps

        return dumps(self, name=name)

    def band_index(self, child_age: FloatArray) -> npt.NDArray[np.int64]:
        """Band of each age: index into :attr:`bands`, or ``len(bands)`` for unknown."""
        ages = np.asarray(child_age, dtype=np.float64)
        idx = np.searchsorted(self._edges, ages, side="right").astype(np.int64)
        return np.where(np.isnan(ages), len(self.bands), idx)

    def thresholds(self, child_age: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Review and urgent thresholds for each age."""
        all_bands = (*self.bands, self.unknown)
        review = np.array([b.review for b in all_bands])
        urgent = np.array([b.urgent for b in all_bands])
        idx = self.band_index(child_age)
        return review[idx], urgent[idx]

    def tiers(self, risk: FloatArray, child_age: FloatArray) -> npt.NDArray[np.int64]:
        """Tier of each conversation: 0 (no alert), 1 (review) or 2 (urgent)."""
        review, urgent = self.thresholds(child_age)
        risk = np.asarray(risk, dtype=np.float64)
        return (risk >= review).astype(np.int64) + (risk >= urgent).astype(np.int64)

    def tier_of(self, risk: float, child_age: float) -> Tier | None:
        """Tier for one conversation, or None when it raises no alert."""
        band = self.band_of(child_age)
        if risk >= band.urgent:
            return Tier.URGENT
        if risk >= band.review:
            return Tier.REVIEW
        return None

    def band_of(self, child_age: float) -> AgeBand:
        """The band whose thresholds apply to a child of this age."""
        if math.isnan(child_age):
            return self.unknown
        return self.bands[int(np.searchsorted(self._edges, child_age, side="right"))]

    def alerts(self, scores: ScoreTable) -> list[Alert]:
        """One alert per conversation at or above its band's review threshold.

        Parameters
        ----------
        scores : ScoreTable
            Output of :meth:`RiskModel.score`.

        Returns
        -------
        list of Alert
            Urgent first, then by decreasing risk.
        """
        tiers = self.tiers(scores.risk, scores.child_age)
        hit = np.flatnonzero(tiers > 0)
        hit = hit[np.lexsort((-scores.risk[hit], -tiers[hit]))]
        band_idx = self.band_index(scores.child_age)
        all_bands = (*self.bands, self.unknown)
        return [
            Alert(
                conversation_id=_plain(scores.conversation_id[i]),
                adult_id=_plain(scores.adult_id[i]),
                child_id=_plain(scores.child_id[i]),
                child_age=float(scores.child_age[i]),
                age_band=all_bands[band_idx[i]].name,
                risk=float(scores.risk[i]),
                tier=Tier(int(tiers[i])),
                reasons=scores.reasons(int(i)),
            )
            for i in hit
        ]
