"""The facts a moderator judges an alert by, in words: the adult's declared age, when the
conversation between the two accounts began and when it was last active, against the time
of the alert (``"adult age 34; in contact for 3 days (2026-01-02 09:00 UTC to 2026-01-05
10:00 UTC); last active 2 hours before the alert"``).

The one wording of these facts in the command line's ``riskscore queue`` and ``riskscore
score --top``, the console's case page, the Synapse module's notice to the moderators' room
and the service's ``GET /v1/conversations/{id}`` (against the time of the answer, "before
now"); the JSON of a case (:meth:`~riskscore.moderation.Case.to_dict`) keeps the
numbers (``adult_age``, ``first_event_at``, ``last_event_at``, null when not known). An
alert queued before riskscore recorded them (a queue file of schema version 2 or earlier)
reads "not recorded"; an adult whose age is unknown reads "age unknown", never 0.
"""

from __future__ import annotations

import math

from riskscore._words import age_text, duration_text, relative_text, when_text
from riskscore.moderation.cases import QueueItem
from riskscore.policy import Alert

__all__ = ["alert_facts", "facts_text", "item_facts"]

#: What a fact reads as when the queue holds none for an alert.
_NOT_RECORDED = "not recorded"


def _adult_age_text(adult_age: float | None, recorded: bool = True) -> str:
    """The adult's declared age of an alert: ``age 34``, ``age unknown`` (None or NaN), or
    ``age not recorded`` when not ``recorded`` (an alert queued before riskscore kept it)."""
    return age_text(adult_age) if recorded else f"age {_NOT_RECORDED}"


def _contact_texts(
    first_event_at: int | None, last_event_at: int | None, alert_at: int, anchor: str
) -> tuple[str, str]:
    """How long the two accounts have been in contact, with both dates, and when they were
    last active against ``alert_at`` (named ``anchor``): ``("in contact for 2 days
    (2025-12-29 00:00 UTC to 2025-12-31 22:00 UTC)", "last active 2 hours before the
    alert")``. The span is what a moderator weighs (a contact of hours, or of months); a
    batch alert raised long after the events still reads it. A time not known reads
    ``first contact not recorded`` (or ``last active not recorded``), the other one dated."""
    if first_event_at is not None and last_event_at is not None:
        return (
            f"in contact for {duration_text(last_event_at - first_event_at)} "
            f"({when_text(first_event_at)} to {when_text(last_event_at)})",
            f"last active {relative_text(alert_at - last_event_at, anchor)}",
        )
    out = []
    for what, at in (("first contact", first_event_at), ("last active", last_event_at)):
        if at is None:
            out.append(f"{what} {_NOT_RECORDED}")
        else:
            out.append(f"{what} {relative_text(alert_at - at, anchor)} ({when_text(at)})")
    return out[0], out[1]


def facts_text(
    adult_age: float | None,
    first_event_at: int | None,
    last_event_at: int | None,
    alert_at: int,
    n_alerts: int = 1,
    *,
    anchor: str | None = None,
) -> str:
    """The facts of an alert in one line: the adult's age (the adult's age, "not
    recorded" when none of the three facts is known: an alert queued before riskscore
    kept them), how long the contact has lasted, with its dates, and when it was last
    active, against ``alert_at``:
    "the alert", "the latest alert" after ``n_alerts`` > 1, or ``anchor`` when given
    (``"now"`` for a live conversation, which has no alert).

    Examples
    --------
    >>> print(facts_text(34.0, 1_766_966_400, 1_767_218_400, alert_at=1_767_225_600))
    adult age 34; in contact for 2.9 days (2025-12-29 00:00 UTC to 2025-12-31 22:00 UTC); last active 2 hours before the alert
    >>> print(facts_text(None, 1_766_966_400, None, alert_at=1_767_225_600))
    adult age unknown; first contact 3 days before the alert (2025-12-29 00:00 UTC); last active not recorded
    >>> print(facts_text(None, None, None, alert_at=1_767_225_600))
    adult age not recorded; first contact not recorded; last active not recorded
    >>> print(facts_text(34.0, 1_766_966_400, 1_767_218_400, 1_767_225_600, anchor="now"))
    adult age 34; in contact for 2.9 days (2025-12-29 00:00 UTC to 2025-12-31 22:00 UTC); last active 2 hours before now
    """  # noqa: E501
    unknown_age = adult_age is None or math.isnan(adult_age)
    recorded = not (unknown_age and first_event_at is None and last_event_at is None)
    if anchor is None:
        anchor = "the alert" if n_alerts == 1 else "the latest alert"
    contact = _contact_texts(first_event_at, last_event_at, alert_at, anchor)
    return "; ".join((f"adult {_adult_age_text(adult_age, recorded)}", *contact))


def alert_facts(alert: Alert, at: int) -> str:
    """The facts of an :class:`~riskscore.policy.Alert` (:func:`facts_text`), against the
    time of the event that raised it (``alert.timestamp``), or ``at`` for an alert of batch
    scoring, which has none (the time the review queue records for it when queued).

    Examples
    --------
    >>> from riskscore.policy import Tier
    >>> alert = Alert(7, "a", "c", 12.0, "under 13", 0.8, Tier.URGENT,
    ...               first_event_at=1_766_966_400, last_event_at=1_767_218_400)
    >>> print(alert_facts(alert, at=1_767_225_600))
    adult age unknown; in contact for 2.9 days (2025-12-29 00:00 UTC to 2025-12-31 22:00 UTC); last active 2 hours before the alert
    """  # noqa: E501
    alert_at = at if alert.timestamp is None else alert.timestamp
    return facts_text(alert.adult_age, alert.first_event_at, alert.last_event_at, alert_at)


def item_facts(item: QueueItem) -> str | None:
    """The facts of an alert item (:func:`facts_text`, against its latest alert,
    ``updated_at``); None for a user report, which has none."""
    if item.kind != "alert":
        return None
    return facts_text(
        item.adult_age, item.first_event_at, item.last_event_at, item.updated_at, item.n_signals
    )
