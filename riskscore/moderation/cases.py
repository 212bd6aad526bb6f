"""What the review queue holds and returns: items, cases, user reports, outcomes, the
audit log's entries, and the priority weights.

Priority of an open item (documented in ``docs/transparency.md``; weights in
:class:`PriorityWeights`)::

    priority = w_risk * risk                       # calibrated risk, 0-1
             + w_tier * tier                       # 0 none (user report), 1 review, 2 urgent
             + w_youth * youth(child_age)          # 1 at or below youth_full_age, 0 at 18
             + w_child_report * concerns_child     # 1 for a user report from a child
             + w_wait * min(wait_days, max_wait_days)

    youth(age) = clip((18 - age) / (18 - youth_full_age), 0, 1); unknown age -> unknown_age_youth

A case's priority is the highest priority of its open items plus
``w_extra_child`` for each further child (at most ``max_extra_children``).
With the default weights a report from a child outranks everything without
one (``w_child_report`` exceeds the most all other terms can add), and at equal
risk and tier a younger child outranks an older one.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import numpy as np

from riskscore._checks import is_int, is_real
from riskscore._units import DAY_S
from riskscore.exceptions import RiskscoreError
from riskscore.io.raw import show, shown
from riskscore.io.schema import MINOR_AGE, has_hidden_character
from riskscore.io.timestamps import iso_utc
from riskscore.policy import Tier

__all__ = [
    "MAX_NAME_CHARS",
    "MAX_NOTE_CHARS",
    "TIER_NAMES",
    "AuditEntry",
    "Case",
    "Outcome",
    "PriorityWeights",
    "QueueError",
    "QueueItem",
    "begun",
    "check_epoch",
    "check_name",
    "check_period",
    "check_platform",
    "closed_end",
    "parse_token",
    "youngest_child_age",
]

#: Longest moderator or actor name (characters).
MAX_NAME_CHARS = 128
#: Longest note of a decision (characters): a short factual summary (moderation.notes).
MAX_NOTE_CHARS = 280
#: Times are refused from year 10000 on (and before 1970).
MAX_EPOCH_S = 253_402_300_800
#: Tiers of queue items in words, the alert tiers by their names in :class:`~riskscore.Tier`
#: (0, a user report, has none): the queue's, the console's and the reports' one wording.
TIER_NAMES: Final = {0: "user report", **{int(t): t.name.lower() for t in Tier}}
_TOKEN = re.compile(r"v1:(\d{1,18}\.\d{1,18})(-\d{1,18}\.\d{1,18})*")


class QueueError(RiskscoreError, ValueError):
    """A queue operation that cannot be done (unknown case, decision on a closed item)."""


class Outcome(StrEnum):
    """What a moderator decided about an item."""

    ACTIONED = "actioned"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"  # escalated to law enforcement

    @classmethod
    def parse(cls, value: str | Outcome) -> Outcome:
        """Accept an :class:`Outcome`, its value, or ``"escalated to law enforcement"``."""
        if isinstance(value, Outcome):
            return value
        text = str(value).strip().lower().replace("_", " ")
        if text in ("escalated to law enforcement", "escalate"):
            return cls.ESCALATED
        try:
            return cls(text)
        except ValueError:
            raise QueueError(
                f"outcome {show(value)} is not one of actioned, dismissed, escalated "
                "(escalated to law enforcement)"
            ) from None


def check_name(name: object, what: str = "moderator") -> str:
    """A moderator or actor name as kept in the audit log, or a :class:`QueueError`.

    Non-empty text of at most ``MAX_NAME_CHARS`` characters, not only spaces, with
    no control, format or line-separator characters (which could forge log lines
    or hide text).

    Examples
    --------
    >>> check_name("mod-7")
    'mod-7'
    >>> check_name("mod\\n7")
    Traceback (most recent call last):
    ...
    riskscore.moderation.cases.QueueError: moderator 'mod\\n7' holds a control character ...
    """
    if not isinstance(name, str) or not name.strip():
        raise QueueError(f"a {what} name or id is required (non-empty text), got {name!r}")
    if len(name) > MAX_NAME_CHARS:
        raise QueueError(f"{what} name has {len(name)} characters, at most {MAX_NAME_CHARS}")
    if has_hidden_character(name):
        raise QueueError(
            f"{what} {name!r} holds a control character (such as a newline, tab or an "
            "invalid character); give plain text on one line"
        )
    return name


def check_platform(platform: object) -> str:
    """A platform name as written into reports and exports: empty (unnamed), or a name
    as :func:`check_name` accepts (one line of printable text, at most
    ``MAX_NAME_CHARS`` characters), so that it cannot add lines or headings to a
    Markdown draft, split a CSV row, or fail to encode as UTF-8.

    Examples
    --------
    >>> check_platform("Example chat"), check_platform("")
    ('Example chat', '')
    >>> check_platform("chat\\n# heading")
    Traceback (most recent call last):
    ...
    riskscore.moderation.cases.QueueError: platform 'chat\\n# heading' holds a control character ...
    """
    if platform == "":
        return ""
    return check_name(platform, "platform")


def check_period(start: int, end: int) -> None:
    """Refuse a reporting period whose start is not before its end, or that reaches
    outside the times a queue holds (``[0, MAX_EPOCH_S)``), naming both ends as UTC times
    (and as the epoch seconds given).

    Examples
    --------
    >>> check_period(1_769_904_000, 1_767_225_600)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: period start 2026-02-01T00:00:00+00:00 (1769904000) must be before its end ...
    >>> check_period(0, 2**40)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: period 1970-01-01T00:00:00+00:00 (0) to 1099511627776 is outside ...
    """
    if not start < end:
        raise ValueError(f"period start {_when(start)} must be before its end {_when(end)}")
    if start < 0 or end >= MAX_EPOCH_S:
        raise ValueError(
            f"period {_when(start)} to {_when(end)} is outside the times a queue holds: "
            f"from 1970-01-01 (0) to before year 10000 ({MAX_EPOCH_S})"
        )


def closed_end(start: int | None, end: int, as_of: int | None = None) -> int:
    """The end of the part of a reporting period ``[start, end)`` that has passed at
    ``as_of`` (epoch seconds; default: now, to the next whole second, so that whatever
    happened before is in it): ``end``, or ``as_of`` when the period has not ended, since
    its figures would still change (a report of a closed period is the same whenever it is
    made). A period that starts after ``as_of`` is refused: nothing in it has happened.

    Examples
    --------
    >>> closed_end(1_767_225_600, 1_769_904_000, as_of=1_767_657_600)  # asked on Jan 5th
    1767657600
    >>> closed_end(1_767_225_600, 1_769_904_000, as_of=1_772_323_200)
    1769904000
    """
    return min(end, begun(start, as_of))


def begun(start: int | None, as_of: int | None = None) -> int:
    """The time of a report (``as_of``, default now to the next whole second), after
    checking that a period starting at ``start`` has begun then (a period of no end too:
    nothing in it has happened before it starts).

    Examples
    --------
    >>> begun(1_767_225_600, as_of=1_767_657_600)
    1767657600
    """
    if as_of is None:
        as_of = math.ceil(time.time())
    elif isinstance(as_of, bool) or not isinstance(as_of, (int, np.integer)):
        raise ValueError(f"as_of must be epoch seconds (an int), got {as_of!r}")
    if start is not None and start >= as_of:
        raise ValueError(
            f"period start {_when(start)} is not before the time of the report "
            f"{_when(int(as_of))}: nothing in the period has happened yet"
        )
    return int(as_of)


def _when(epoch: int) -> str:
    try:
        return f"{iso_utc(epoch)} ({epoch})"
    except (OverflowError, ValueError, OSError):  # beyond the calendar: the number alone
        return str(epoch)


def check_epoch(value: Any, name: str) -> int:
    """Epoch seconds in ``[0, MAX_EPOCH_S)`` as an int, or a :class:`QueueError` naming
    ``name`` and the value as an event's time is shown (:func:`~riskscore.io.raw.shown`:
    text that may be message content by its length; an integer too long to write by its
    size).

    Examples
    --------
    >>> check_epoch(1_700_000_000, "at")
    1700000000
    >>> check_epoch("see you at nine", "at")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    riskscore.moderation.cases.QueueError: at must be epoch seconds, ... got text of 15 ch...
    """
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_EPOCH_S:
        got = show(shown("timestamp", value))
        raise QueueError(f"{name} must be epoch seconds, an int in [0, {MAX_EPOCH_S}), got {got}")
    return value


def parse_token(token: object) -> dict[int, int]:
    """The items (id -> version) named by a :attr:`Case.token`, or a :class:`QueueError`."""
    if not isinstance(token, str) or len(token) > 100_000 or not _TOKEN.fullmatch(token):
        shown = repr(token)[:80]
        raise QueueError(
            f"{shown} is not a case token: give the token shown with the case (`riskscore "
            "queue` prints it; ReviewQueue.case(...).token), like v1:12.1-15.3"
        )
    out: dict[int, int] = {}
    for part in token[3:].split("-"):
        item, version = part.split(".")
        out[int(item)] = int(version)
    return out


#: The weights that are real numbers >= 0.
_REALS = ("risk", "tier", "youth", "child_report", "wait_per_day", "max_wait_days", "extra_child")


@dataclass(frozen=True, slots=True)
class PriorityWeights:
    """Weights of the queue's priority formula (see the module docstring).

    Examples
    --------
    >>> from riskscore import PriorityWeights
    >>> w = PriorityWeights()
    >>> young = w.item_priority(risk=0.4, tier=1, child_age=11.0, concerns_child=True, wait_s=0)
    >>> old = w.item_priority(risk=0.4, tier=1, child_age=16.0, concerns_child=True, wait_s=0)
    >>> young > old
    True
    """

    risk: float = 4.0
    tier: float = 1.0
    youth: float = 2.0
    child_report: float = 20.0
    wait_per_day: float = 0.5
    max_wait_days: float = 4.0
    extra_child: float = 0.5
    max_extra_children: int = 4
    youth_full_age: float = 8.0
    unknown_age_youth: float = 0.5

    def __post_init__(self) -> None:
        for name in _REALS:
            value = getattr(self, name)
            if not (is_real(value) and value >= 0):  # a bool is no weight
                raise ValueError(
                    f"priority weight {name!r} must be a finite number >= 0: {value!r}"
                )
        if not (is_int(self.max_extra_children) and self.max_extra_children >= 0):
            raise ValueError(
                "priority weight 'max_extra_children' must be a whole number >= 0: "
                f"{self.max_extra_children!r}"
            )
        if not 0 <= self.youth_full_age < MINOR_AGE:
            raise ValueError(f"youth_full_age must be in [0, 18), got {self.youth_full_age}")
        if not 0 <= self.unknown_age_youth <= 1:
            raise ValueError(f"unknown_age_youth must be in [0, 1], got {self.unknown_age_youth}")

    def youth_of(self, child_age: float | None) -> float:
        """1 for a child at or below ``youth_full_age``, falling linearly to 0 at 18."""
        if child_age is None or math.isnan(child_age):
            return self.unknown_age_youth
        return min(max((MINOR_AGE - child_age) / (MINOR_AGE - self.youth_full_age), 0.0), 1.0)

    def item_priority(
        self,
        *,
        risk: float,
        tier: int,
        child_age: float | None,
        concerns_child: bool,
        wait_s: float,
    ) -> float:
        """Priority of one open item."""
        wait_days = min(max(wait_s, 0.0) / DAY_S, self.max_wait_days)
        return (
            self.risk * risk
            + self.tier * tier
            + self.youth * self.youth_of(child_age)
            + self.child_report * float(concerns_child)
            + self.wait_per_day * wait_days
        )


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One alert or user report as stored in the queue.

    ``decision_id`` names the decision that closed a decided item: the smallest item id
    that decision closed (the items of one decision share it). None for an open item, and
    for an item decided before riskscore recorded it.

    ``adult_age`` is the adult's declared age (NaN: unknown, or not recorded for an alert
    queued before riskscore kept it); ``first_event_at`` and ``last_event_at`` the epoch
    seconds of the conversation's first and latest event as scored (None: not known, a user
    report's, or not recorded). :mod:`~riskscore.moderation.item_facts` words them for a
    moderator.

    ``created_at`` is the time the item carries (its alert's or report's); ``received_at``
    when the queue received it, by which a transparency report places it in a period
    (:meth:`ReviewQueue.items_at`; None when not read from the audit log).
    """

    item_id: int
    kind: str
    conversation_id: Any
    adult_id: Any
    child_id: Any
    child_age: float
    age_band: str
    risk: float
    tier: int
    channel: str | None
    concerns_child: bool
    reasons: tuple[str, ...]
    created_at: int
    updated_at: int
    n_signals: int
    status: str
    first_reviewed_at: int | None
    decided_at: int | None
    decided_by: str | None
    decision_id: int | None = None
    adult_age: float = math.nan
    first_event_at: int | None = None
    last_event_at: int | None = None
    received_at: int | None = None

    @property
    def received_time(self) -> int:
        """When the queue received the item (``received_at``; ``created_at`` when it was
        not read): the time by which reports and exports place it in a period."""
        return self.created_at if self.received_at is None else self.received_at

    @property
    def child_not_known_adult(self) -> bool:
        """Whether ``child_id`` may be a child (declared age unknown or under 18): a user
        report's ``child_id`` is its reporter, who may be an adult (a parent, a bystander),
        whom the exports never count or list as a child."""
        return math.isnan(self.child_age) or self.child_age < MINOR_AGE

    def status_at(self, end: int | None) -> str:
        """The status as it stood at the end of a period (``end`` excluded; None: now):
        an item decided at or after ``end`` was still open. Reports and exports of one
        period count outcomes by it, so that their figures agree whenever they are made."""
        if end is None or (self.decided_at is not None and self.decided_at < end):
            return self.status
        return "open"

    def priority(self, weights: PriorityWeights, now: int) -> float:
        """This item's priority at time ``now``."""
        return weights.item_priority(
            risk=self.risk,
            tier=self.tier,
            child_age=self.child_age,
            concerns_child=self.concerns_child,
            wait_s=now - self.created_at,
        )


@dataclass(frozen=True, slots=True)
class Case:
    """Open work about one adult account, as a moderator sees it.

    Attributes
    ----------
    adult_id : int or str
        The adult (for user reports, the reported account).
    priority : float
        Highest item priority plus the extra-children bonus.
    items : tuple of QueueItem
        Open items, highest priority first.
    children : tuple
        Distinct accounts concerned that may be children (declared age unknown or under
        18: ``QueueItem.child_not_known_adult``); a reporter who declared an adult age is
        not one.
    reasons : tuple of str
        Why the case ranks where it does, strongest first.
    """

    adult_id: Any
    priority: float
    items: tuple[QueueItem, ...]
    children: tuple[Any, ...]
    reasons: tuple[str, ...]

    @property
    def conversations(self) -> tuple[Any, ...]:
        """Distinct conversations of the open items."""
        return tuple(dict.fromkeys(i.conversation_id for i in self.items))

    @property
    def token(self) -> str:
        """The items shown and their versions (``n_signals``), e.g. ``"v1:12.1-15.3"``.

        :meth:`ReviewQueue.decide` with this token decides exactly these items, and
        refuses if one of them changed since.
        """
        parts = sorted((i.item_id, i.n_signals) for i in self.items)
        return "v1:" + "-".join(f"{item}.{version}" for item, version in parts)

    @property
    def oldest(self) -> int:
        """Creation time of the oldest open item."""
        return min(i.created_at for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (raw ids: for moderators, not for published reports); each item's
        ``tier`` is the number (0 a user report), ``tier_name`` its :data:`TIER_NAMES`."""
        return {
            "adult_id": self.adult_id,
            "priority": round(self.priority, 4),
            "children": list(self.children),
            "conversations": list(self.conversations),
            "reasons": list(self.reasons),
            "token": self.token,
            "items": [
                {
                    "item_id": i.item_id,
                    "kind": i.kind,
                    "conversation_id": i.conversation_id,
                    "child_id": i.child_id,
                    "child_age": None if math.isnan(i.child_age) else i.child_age,
                    "adult_age": None if math.isnan(i.adult_age) else i.adult_age,
                    "first_event_at": i.first_event_at,
                    "last_event_at": i.last_event_at,
                    "age_band": i.age_band,
                    "risk": i.risk,  # unrounded: 0.99995 is no certainty (risk_text)
                    "tier": i.tier,
                    "tier_name": TIER_NAMES[i.tier],
                    "created_at": i.created_at,
                    "updated_at": i.updated_at,
                    "n_signals": i.n_signals,
                    "reasons": list(i.reasons),
                }
                for i in self.items
            ],
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log: who did what to which item, and when."""

    entry_id: int
    at: int
    actor: str
    action: str
    item_id: int
    detail: dict[str, Any] = field(default_factory=dict)


def youngest_child_age(items: Iterable[QueueItem]) -> float:
    """Youngest declared age under 18 among ``items`` (NaN when none is known): a reporter
    who declared an adult age is no child (:attr:`QueueItem.child_not_known_adult`)."""
    return min((i.child_age for i in items if i.child_age < MINOR_AGE), default=math.nan)
