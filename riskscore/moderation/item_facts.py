"""The facts a moderator judges an alert by, in words: the older account's declared age,
when the conversation between the two accounts began and when it was last active, against
the time of the alert (``"adult age 34; conversation of 3 days (2026-01-02 09:00 UTC to
2026-01-05 10:00 UTC); last active 2 hours before the alert"``). The span is this
conversation's, from its first event (a group room's pair: the first between the two in the
room), never called the time the two have been in contact: two accounts that met in a room
days before they wrote to each other directly have two conversations.

The account the role rule makes the adult (``adult_id``: the older of two declared ages) is
named by its declared age, by :func:`older_role`, in every view: "adult" at 18 or over and
when its age is unknown (the role rule then decided it), "older account" when it declared an
age under 18 (two known minors, whom a policy can alert: urgent too when their ages are
further apart than its minor-peer guard allows): ``"older account age 17 (a minor);
conversation of ..."``.

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
from collections.abc import Iterable
from typing import Final

from riskscore._words import age_text, duration_text, relative_text, when_text
from riskscore.io.schema import is_declared_minor
from riskscore.model.scores import ROLES_ASSUMED, ages_tell_roles
from riskscore.moderation.cases import Case, QueueItem
from riskscore.policy import Alert

__all__ = [
    "account_age",
    "account_role",
    "alert_facts",
    "alert_roles_assumed",
    "case_role",
    "facts_text",
    "item_facts",
    "older_role",
    "report_facts",
    "younger_account_text",
]

#: What a fact reads as when the queue holds none for an alert.
_NOT_RECORDED = "not recorded"


def older_role(age: float | None) -> str:
    """What a moderator reads for a conversation's older account (``adult_id``), from its
    declared ``age``: ``"older account"`` when it is known and under 18, else ``"adult"``
    (18 or over, or unknown: the role rule then decided which account is the adult). The
    one wording of that role in every view (the facts, ``riskscore score --top`` and
    ``riskscore queue``, the console, the Synapse notice); machine-readable fields keep
    their names (``adult_id``, ``adult_age``).

    Examples
    --------
    >>> older_role(34.0), older_role(18.0), older_role(None), older_role(float("nan"))
    ('adult', 'adult', 'adult', 'adult')
    >>> older_role(17.0)
    'older account'
    """
    return "older account" if is_declared_minor(age) else "adult"


def younger_account_text(
    child_age: float | None,
    adult_age: float | None,
    band: str | None = None,
    *,
    assumed: bool | None = None,
) -> str:
    """The younger account's declared age (and the alert's age ``band`` when given) as a
    header gives it in parentheses after ``child ID``: ``age 11, band under 13``; when the
    declared ages do not tell which account is older (:func:`ages_tell_roles`: none, one,
    or two equal), that the role rule assumed it (:data:`ROLES_ASSUMED`), so that an account
    of no declared age is never called a child as a fact. The one wording of ``riskscore
    score --top``'s and ``riskscore queue``'s alert lines and the Synapse notice.
    ``assumed`` given says whether the roles were assumed (a queued alert:
    :func:`alert_roles_assumed`), else it is read from the two ages.

    Examples
    --------
    >>> younger_account_text(11.0, 34.0, "under 13")
    'age 11, band under 13'
    >>> younger_account_text(None, 34.0)
    'age unknown; who is older is assumed: the declared ages do not tell'
    >>> younger_account_text(float("nan"), float("nan"), "unknown")
    'age unknown, band unknown; who is older is assumed: the declared ages do not tell'
    """
    text = age_text(child_age) if band is None else f"{age_text(child_age)}, band {band}"
    if assumed is None:
        assumed = not ages_tell_roles(child_age, adult_age)
    return f"{text}; {ROLES_ASSUMED}" if assumed else text


def alert_roles_assumed(
    child_age: float | None,
    adult_age: float | None,
    first_event_at: int | None,
    last_event_at: int | None,
) -> bool:
    """Whether the roles of a queued alert were assumed: the declared ages do not tell which
    account is older (:func:`ages_tell_roles`), its facts recorded (an alert queued before
    riskscore kept the adult's age, whose facts read "not recorded", tells nothing either
    way: no note).

    Examples
    --------
    >>> alert_roles_assumed(None, None, 10, 20), alert_roles_assumed(12.0, 34.0, 10, 20)
    (True, False)
    >>> alert_roles_assumed(12.0, None, None, None)
    False
    """
    recorded = _facts_recorded(adult_age, first_event_at, last_event_at)
    return recorded and not ages_tell_roles(child_age, adult_age)


def _facts_recorded(
    adult_age: float | None, first_event_at: int | None, last_event_at: int | None
) -> bool:
    """Whether any fact of an alert was recorded (none: queued before riskscore kept them)."""
    unknown_age = adult_age is None or math.isnan(adult_age)
    return not (unknown_age and first_event_at is None and last_event_at is None)


def older_age_text(age: float | None, recorded: bool = True) -> str:
    """The older account's role and declared age, as the facts of an alert begin:
    ``adult age 34``, ``adult age unknown`` (None or NaN), ``older account age 17 (a
    minor)``, or ``adult age not recorded`` when not ``recorded`` (an alert queued before
    riskscore kept it).

    Examples
    --------
    >>> older_age_text(34.0), older_age_text(17.0), older_age_text(None)
    ('adult age 34', 'older account age 17 (a minor)', 'adult age unknown')
    >>> older_age_text(None, recorded=False)
    'adult age not recorded'
    """
    if not recorded:
        return f"{older_role(None)} age {_NOT_RECORDED}"
    minor = " (a minor)" if is_declared_minor(age) else ""
    return f"{older_role(age)} {age_text(age)}{minor}"


def account_age(items: Iterable[tuple[int | None, int, int, float | None]]) -> float | None:
    """The declared age of a case's account: that of its item with the latest event that
    knows it, from ``(last_event_at, updated_at, item_id, adult_age)`` of each item (None
    or NaN: not known; an item without an event time, a user report, after those with one;
    a later queueing, then a later item, breaks a tie); None when none does. The age
    :func:`older_role` words a case's account by (of its alerts: :func:`account_role`) and
    a CyberTipline draft gives the reported account.

    Examples
    --------
    >>> account_age([(10, 1, 1, 17.0), (30, 1, 2, None), (20, 1, 3, 18.0)])
    18.0
    >>> account_age([(10, 5, 1, 17.0), (10, 5, 2, 18.0), (None, 9, 3, 16.0)])
    18.0
    >>> account_age([(10, 1, 1, float("nan"))]) is None
    True
    """
    known = [
        ((-1 if last is None else last, at, item), age)
        for last, at, item, age in items
        if age is not None and not math.isnan(age)
    ]
    return max(known)[1] if known else None


#: What a moderator reads for a case's account that only user reports name: no role rule
#: chose it (the reporter did), so "adult" (an unknown age: the role rule's choice) would
#: call a reported peer an adult, whatever age the report declares for it.
REPORTED_ROLE: Final = "reported account"


def account_role(items: Iterable[tuple[str, int | None, int, int, float | None]]) -> str:
    """The role of a case's account as a moderator reads it, from ``(kind, last_event_at,
    updated_at, item_id, adult_age)`` of each of its items: :func:`older_role` of the
    :func:`account_age` of its alerts when an alert names it (the ages the role rule chose
    it by; a user report's declared age of the reported account is not one), else
    :data:`REPORTED_ROLE`.

    Examples
    --------
    >>> account_role([("alert", 10, 1, 1, 17.0), ("user_report", None, 2, 2, None)])
    'older account'
    >>> account_role([("user_report", None, 2, 2, 16.0)])
    'reported account'
    >>> account_role([("alert", 10, 1, 1, None), ("user_report", None, 2, 2, 16.0)])
    'adult'
    """
    alerts = [(last, at, item, age) for kind, last, at, item, age in items if kind == "alert"]
    return older_role(account_age(alerts)) if alerts else REPORTED_ROLE


def case_role(case: Case) -> str:
    """The role of a case's account as a moderator reads it: :func:`account_role` of its
    items (the console's queue and case pages)."""
    return account_role(
        (i.kind, i.last_event_at, i.updated_at, i.item_id, i.adult_age) for i in case.items
    )


def _contact_texts(
    first_event_at: int | None, last_event_at: int | None, alert_at: int, anchor: str
) -> tuple[str, str]:
    """How long the conversation has run, with both dates, and when it was last active
    against ``alert_at`` (named ``anchor``): ``("conversation of 2 days (2025-12-29 00:00
    UTC to 2025-12-31 22:00 UTC)", "last active 2 hours before the alert")``; events all in
    one minute read ``conversation within one minute (2025-12-29 00:00 UTC)``, not a span
    from a time to itself. The span is
    what a moderator weighs (a conversation of hours, or of months); a batch alert raised
    long after the events still reads it. It is this conversation's, never called the time
    the two have been in contact (they may have met in another one, a group room). A time
    not known reads ``conversation start not recorded`` (or ``last active not recorded``),
    the other one dated."""
    if first_event_at is not None and last_event_at is not None:
        first, last = when_text(first_event_at), when_text(last_event_at)
        span = (
            f"conversation within one minute ({first})"  # one event, or all in that minute
            if first == last
            else f"conversation of {duration_text(last_event_at - first_event_at)} "
            f"({first} to {last})"
        )
        return span, f"last active {relative_text(alert_at - last_event_at, anchor)}"
    out = []
    for what, unknown, at in (
        ("conversation began", "conversation start", first_event_at),
        ("last active", "last active", last_event_at),
    ):
        if at is None:
            out.append(f"{unknown} {_NOT_RECORDED}")
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
    """The facts of an alert in one line: the older account's role and age
    (:func:`older_age_text`: "adult", or "older account" when its declared age is under 18;
    "not recorded" when none of the three facts is known: an alert queued before riskscore
    kept them), how long the conversation has run, with its dates, and when it was last
    active, against ``alert_at``:
    "the alert", "the latest alert" after ``n_alerts`` > 1, or ``anchor`` when given
    (``"now"`` for a live conversation, which has no alert).

    Examples
    --------
    >>> print(facts_text(34.0, 1_766_966_400, 1_767_218_400, alert_at=1_767_225_600))
    adult age 34; conversation of 2.9 days (2025-12-29 00:00 UTC to 2025-12-31 22:00 UTC); last active 2 hours before the alert
    >>> print(facts_text(None, 1_766_966_400, None, alert_at=1_767_225_600))
    adult age unknown; conversation began 3 days before the alert (2025-12-29 00:00 UTC); last active not recorded
    >>> print(facts_text(None, None, None, alert_at=1_767_225_600))
    adult age not recorded; conversation start not recorded; last active not recorded
    >>> print(facts_text(34.0, 1_766_966_400, 1_767_218_400, 1_767_225_600, anchor="now"))
    adult age 34; conversation of 2.9 days (2025-12-29 00:00 UTC to 2025-12-31 22:00 UTC); last active 2 hours before now
    >>> print(facts_text(17.0, 1_766_966_400, 1_767_218_400, alert_at=1_767_225_600))
    older account age 17 (a minor); conversation of 2.9 days (2025-12-29 00:00 UTC to 2025-12-31 22:00 UTC); last active 2 hours before the alert
    """  # noqa: E501
    recorded = _facts_recorded(adult_age, first_event_at, last_event_at)
    if anchor is None:
        anchor = "the alert" if n_alerts == 1 else "the latest alert"
    contact = _contact_texts(first_event_at, last_event_at, alert_at, anchor)
    return "; ".join((older_age_text(adult_age, recorded), *contact))


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
    adult age unknown; conversation of 2.9 days (2025-12-29 00:00 UTC to 2025-12-31 22:00 UTC); last active 2 hours before the alert
    """  # noqa: E501
    alert_at = at if alert.timestamp is None else alert.timestamp
    return facts_text(alert.adult_age, alert.first_event_at, alert.last_event_at, alert_at)


def report_facts(reported_age: float | None) -> str:
    """The facts of a user report: the declared age of the account it reports (the report
    event's ``recipient_age``, the queue's ``adult_age``), as :data:`REPORTED_ROLE`:
    ``reported account age 45``, ``reported account age 14 (a minor)``, ``reported account
    age unknown`` when not given (or the report was queued before riskscore kept it). A
    report has no span of contact: the conversation was not scored for it.

    Examples
    --------
    >>> report_facts(45.0), report_facts(14.0), report_facts(None)
    ('reported account age 45', 'reported account age 14 (a minor)', 'reported account age unknown')
    """
    minor = " (a minor)" if is_declared_minor(reported_age) else ""
    return f"{REPORTED_ROLE} {age_text(reported_age)}{minor}"


def item_facts(item: QueueItem) -> str:
    """The facts of an item: of an alert, :func:`facts_text` against its latest alert
    (``updated_at``); of a user report, :func:`report_facts`."""
    if item.kind != "alert":
        return report_facts(item.adult_age)
    return facts_text(
        item.adult_age, item.first_event_at, item.last_event_at, item.updated_at, item.n_signals
    )
