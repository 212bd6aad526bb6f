"""Alerts: the record of one conversation sent to human review, as a frozen dataclass."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from riskscore.io.given_ids import ACCOUNT_ID_COLUMNS, given_id
from riskscore.io.json_lines import json_dumps
from riskscore.io.raw import as_python_value
from riskscore.model.scores import Reason
from riskscore.policy.bands import Tier

__all__ = ["ALERT_FIELDS", "LATER_ALERT_FIELDS", "Alert", "alert_changes", "given_alerts"]

#: The fields of an alert record, in the order every alert writer writes them
#: (:meth:`Alert.to_dict`; ``reasons`` items are feature, value, contribution, description
#: and text, the one wording a moderator reads).
ALERT_FIELDS: Final = (
    "conversation_id",
    "adult_id",
    "child_id",
    "child_age",
    "adult_age",
    "age_band",
    "risk",
    "tier",
    "reasons",
    "event_index",
    "timestamp",
    "first_event_at",
    "last_event_at",
    "max_channel",
)
#: The fields of :data:`ALERT_FIELDS` an alerts file written by an earlier riskscore lacks
#: (``max_channel``, added later than the others): such a file is still an alerts file.
LATER_ALERT_FIELDS: Final = ("max_channel",)


@dataclass(frozen=True, slots=True)
class Alert:
    """A conversation sent to human review.

    Attributes
    ----------
    conversation_id, adult_id, child_id : object
        Ids as in the input events.
    child_age : float
        The child's (younger participant's) age in years (NaN if unknown).
    age_band : str
        Name of the age band whose thresholds applied.
    risk : float
        Calibrated risk.
    tier : Tier
        Review or urgent.
    adult_age : float, keyword-only
        The adult's (older participant's) age in years (NaN if unknown, the
        default); with ``child_age`` it decides the policy's guards.
    reasons : tuple of Reason
        Features that raised the risk, strongest first. In the record each is
        ``{feature, value, contribution, description, text}``, ``text`` being what the
        review queue, its console and the exports show
        (:func:`~riskscore.model.scores.reason_texts`).
    event_index : int or None
        Index within the conversation of the event that raised the alert
        (online scoring); None in batch scoring.
    timestamp : int or None
        Epoch seconds of that event; None in batch scoring.
    first_event_at, last_event_at : int or None, keyword-only
        Epoch seconds of the conversation's first and latest event as scored (None when
        not known): what a moderator reads as "conversation of 3 days (dates), last active
        2 hours before the alert" in the review queue.
    max_channel : str or None, keyword-only
        The most private channel the conversation reached as scored (a schema v1 channel
        name; None when not known): the review queue's channel of the alert, which the
        transparency report counts by and the NCMEC drafts state.

    Examples
    --------
    >>> from riskscore import Alert, Tier
    >>> alert = Alert(7, "a", "c", 12.0, "under 13", 0.8, Tier.URGENT, adult_age=35.0)
    >>> alert.to_dict()["tier"], alert.to_dict()["adult_age"]
    ('urgent', 35.0)
    """

    conversation_id: Any
    adult_id: Any
    child_id: Any
    child_age: float
    adult_age: float = field(default=math.nan, kw_only=True)
    age_band: str
    risk: float
    tier: Tier
    reasons: tuple[Reason, ...] = field(default=())
    event_index: int | None = None
    timestamp: int | None = None
    first_event_at: int | None = field(default=None, kw_only=True)
    last_event_at: int | None = field(default=None, kw_only=True)
    max_channel: str | None = field(default=None, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, keys in :data:`ALERT_FIELDS` order (unknown ages, and any
        float that is not finite, as None)."""
        return {
            "conversation_id": as_python_value(self.conversation_id),
            "adult_id": as_python_value(self.adult_id),
            "child_id": as_python_value(self.child_id),
            "child_age": _finite(self.child_age),
            "adult_age": _finite(self.adult_age),
            "age_band": self.age_band,
            "risk": _finite(self.risk),
            "tier": self.tier.name.lower(),
            "reasons": [
                {
                    "feature": r.feature,
                    "value": _finite(r.value),
                    "contribution": _finite(r.contribution),
                    "description": r.description,
                    "text": str(r),
                }
                for r in self.reasons
            ],
            "event_index": self.event_index,
            "timestamp": self.timestamp,
            "first_event_at": self.first_event_at,
            "last_event_at": self.last_event_at,
            "max_channel": self.max_channel,
        }

    def to_json(self, **extra: Any) -> str:
        """The alert record as one line of JSON (no line break), ``extra`` fields after
        its own: the one text of an alert, which the alerts files of batch scoring
        (:func:`riskscore.batch.write_alerts`, written column by column), ``riskscore
        stream`` (with ``line``), the service (with ``index``) and the Synapse module
        write byte for byte. Compact, text as UTF-8, floats as :func:`repr` writes them
        (``12.0``), unknown values as ``null``.

        Examples
        --------
        >>> from riskscore import Alert, Tier
        >>> Alert(7, "a", "c", 12.0, "under 13", 0.8, Tier.URGENT).to_json(line=3)[:60]
        '{"conversation_id":7,"adult_id":"a","child_id":"c","child_ag'
        """
        return json_dumps({**self.to_dict(), **extra})


def alert_changes(
    reference: Iterable[Any], candidate: Iterable[Any]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Alerts gained and lost: the conversations ``candidate`` alerts and ``reference``
    does not, and the reverse.

    The one definition behind ``riskscore compare`` and shadow runs.

    Parameters
    ----------
    reference, candidate : iterables of conversation ids
        The conversations each alerts (e.g. production and shadow); repeats count once.

    Returns
    -------
    (gained, lost) : tuples of conversation ids
        ``gained`` in ``candidate``'s order, ``lost`` in ``reference``'s.

    Examples
    --------
    >>> alert_changes([1, 2, 3], [3, 4, 4, 5])
    ((4, 5), (1, 2))
    """
    ref, cand = dict.fromkeys(reference), dict.fromkeys(candidate)
    return tuple(c for c in cand if c not in ref), tuple(c for c in ref if c not in cand)


def given_alerts(alerts: Iterable[Alert], decimal_id_columns: Collection[str]) -> list[Alert]:
    """``alerts`` of a batch job with their ids as given, as an online scorer holds the
    same events' ids and the review queue files them: the ids of the events' columns
    ``decimal_id_columns`` (:attr:`riskscore.MessageTable.decimal_id_columns`: integers
    held as decimal text, one being beyond int64 or a group room's pair id beside them)
    as those integers again (:func:`~riskscore.io.given_ids.given_id`); text ids stay
    text (``"6"`` is not ``6``), and so do pair ids. The one rule of
    :attr:`riskscore.batch.ScoreResult.alerts`, of out-of-core results and of
    ``riskscore score --queue``; the alerts files keep the text (one type per column).

    Examples
    --------
    >>> a = Alert("6", "1", "2", 12.0, "all", 0.9, Tier.REVIEW)
    >>> [(x.conversation_id, x.adult_id) for x in given_alerts([a], ("conversation_id",))]
    [(6, '1')]
    """
    conversations = "conversation_id" in decimal_id_columns
    accounts = any(name in decimal_id_columns for name in ACCOUNT_ID_COLUMNS)
    return [
        replace(
            a,
            conversation_id=given_id(a.conversation_id, conversations),
            adult_id=given_id(a.adult_id, accounts),
            child_id=given_id(a.child_id, accounts),
        )
        for a in alerts
    ]


def _finite(value: float) -> float | None:
    """A float, or None for NaN and infinities (JSON has neither)."""
    return float(value) if math.isfinite(value) else None
