"""Decided cases: the moderators' decisions that the regulatory exports describe.

A *decided case* is one decision a moderator recorded on one adult account: the
queue items (alerts and user reports) it closed
(:attr:`~riskscore.moderation.cases.QueueItem.decision_id`). Two decisions are never
merged, even of one second, outcome and adult; items decided before the queue recorded
their decision are grouped by adult, decision second and outcome. Statements of reasons
and CyberTipline drafts are written per decided case; the transparency templates count
them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from riskscore._words import plural
from riskscore.features.registry import FEATURE_SPECS
from riskscore.io.schema import MINOR_AGE
from riskscore.model.scores import reason_feature
from riskscore.moderation import QueueItem
from riskscore.moderation.cases import check_epoch, check_period, youngest_child_age
from riskscore.moderation.earlier_reasons import exported_reason

__all__ = [
    "CHILD",
    "DECLARED_ADULT",
    "RESTRICTING",
    "UNDECLARED",
    "DecidedCase",
    "ExportFilter",
    "child_accounts_text",
    "decided_cases",
    "declared_kind",
]

#: The features whose value is an age in years (a reason of theirs states one).
_AGE_VALUED = frozenset(name for name, spec in FEATURE_SPECS.items() if spec.unit == "years")

RESTRICTING = ("actioned", "escalated")
"""Outcomes that restrict the adult account (dismissed restricts nothing)."""

_OUTCOMES = ("actioned", "dismissed", "escalated")


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which queue items an export covers.

    Attributes
    ----------
    start, end : int or None
        Period in epoch seconds UTC, ``start`` included, ``end`` excluded. A
        decision counts when it was made in the period; a notice or alert when the queue
        received it in the period (:attr:`~riskscore.moderation.cases.QueueItem.received_time`,
        as in the transparency report), whatever time it carries. ``None`` leaves that side
        open.
    outcomes : tuple of str or None
        Keep only decisions with these outcomes (``actioned``, ``dismissed``,
        ``escalated``); ``None`` keeps all (an empty tuple, which would keep none, is
        refused).
    bands : tuple of str or None
        Age bands of the alert policy (``"under 13"``, ``"13-15"``, ...): keep only the
        decisions with an item in one of them, each whole (every child it concerns), and
        count only the notices and alerts in them; ``None`` keeps all (an empty tuple is
        refused).

    Examples
    --------
    >>> f = ExportFilter(start=0, end=100, outcomes=("escalated",))
    >>> f.in_period(99), f.in_period(100)
    (True, False)
    """

    start: int | None = None
    end: int | None = None
    outcomes: tuple[str, ...] | None = None
    bands: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # each given side alone too: the templates write it as a date
        for name, t in (("start", self.start), ("end", self.end)):
            if t is not None:
                check_epoch(t, f"period {name}")
        if self.start is not None and self.end is not None:
            check_period(self.start, self.end)
        for what, names in (("decision", self.outcomes), ("band", self.bands)):
            if isinstance(names, str):  # iterated, "escalated" would be 9 letters
                raise ValueError(f"{what} filter must be a tuple of names, got {names!r}")
            if names is not None and not names:  # an export of nothing, silently
                raise ValueError(
                    f"{what} filter is empty, which keeps no {what}: give None to keep all "
                    f"(riskscore export without --{what})"
                )
        for outcome in self.outcomes or ():
            if outcome not in _OUTCOMES:
                raise ValueError(
                    f"decision filter {outcome!r} is not one of {', '.join(_OUTCOMES)}"
                )

    def in_period(self, t: int) -> bool:
        """Whether epoch second ``t`` falls in the period."""
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)

    def keeps(self, item: QueueItem) -> bool:
        """Whether ``item`` passes the band filter (the period is applied by the caller)."""
        return self.bands is None or item.age_band in self.bands

    def keeps_outcome(self, outcome: str) -> bool:
        """Whether decisions with ``outcome`` pass the decision filter."""
        return self.outcomes is None or outcome in self.outcomes

    def status(self, item: QueueItem) -> str:
        """``item``'s status as it stood at the period's end
        (:meth:`~riskscore.moderation.cases.QueueItem.status_at`)."""
        return item.status_at(self.end)

    def received(self, items: Iterable[QueueItem]) -> list[QueueItem]:
        """The ``items`` received in the period and in the bands kept whose status at the
        period's end is open or passes the decision filter."""
        return [
            i
            for i in items
            if self.in_period(i.received_time)
            and self.keeps(i)
            and (self.status(i) == "open" or self.keeps_outcome(self.status(i)))
        ]


@dataclass(frozen=True, slots=True)
class DecidedCase:
    """One moderator decision on one adult account.

    Attributes
    ----------
    adult_id : int or str
        The account decided on (for a user report, the reported account).
    outcome : str
        ``actioned``, ``dismissed`` or ``escalated``.
    decided_at : int
        Epoch seconds of the decision.
    items : tuple of QueueItem
        Every alert and user report the decision closed, oldest first, whatever bands an
        export keeps: the band filter selects decisions, never which of a decision's
        children its statement and draft name (:func:`decided_cases`).
    first_item_id : int or None
        The oldest item of the decision (None: ``items[0]``): the decision's :attr:`key`,
        the same in every export.
    """

    adult_id: Any
    outcome: str
    decided_at: int
    items: tuple[QueueItem, ...]
    first_item_id: int | None = None

    @property
    def first_seen(self) -> int:
        """When the first alert or report of the case arrived (epoch seconds)."""
        return min(i.created_at for i in self.items)

    @property
    def alerts(self) -> tuple[QueueItem, ...]:
        """The automated alerts among the items."""
        return tuple(i for i in self.items if i.kind == "alert")

    @property
    def reports(self) -> tuple[QueueItem, ...]:
        """The user reports (notices) among the items."""
        return tuple(i for i in self.items if i.kind == "user_report")

    @property
    def tier(self) -> int:
        """Highest alert tier of the case (0 when it holds user reports only)."""
        return max(i.tier for i in self.items)

    @property
    def children(self) -> list[Any]:
        """The accounts of the items that may be children (``child_not_known_adult``), in
        order of first appearance: a reporter who declared an adult age is not one."""
        return list(dict.fromkeys(i.child_id for i in self.items if i.child_not_known_adult))

    @property
    def youngest_age(self) -> float:
        """Youngest declared child age (under 18) among the items (NaN when none is known)."""
        return youngest_child_age(self.items)

    @property
    def strongest(self) -> QueueItem:
        """The item of highest tier, then risk (an alert before any user report)."""
        return max(self.items, key=lambda i: (i.tier, i.risk))

    @property
    def indicators(self) -> tuple[str, ...]:
        """The reasons of :attr:`strongest` that exports quote, at most 5: those in
        riskscore's own words (:func:`riskscore.model.scores.is_reason_text`), and those a
        queue stored in riskscore's earlier wording, in the current one with their value as
        recorded and marked so (:func:`~riskscore.moderation.earlier_reasons.exported_reason`).
        Any other stored text (a platform's own wording, a file changed outside riskscore)
        may carry what a person wrote and is never exported."""
        quoted = (exported_reason(r) for r in self.strongest.reasons)
        return tuple(text for text in quoted if text is not None)[:5]

    @property
    def public_indicators(self) -> tuple[str, ...]:
        """:attr:`indicators` a public statement may quote: none that gives an age in
        years (the child's or the adult's declared age, their difference), since a
        statement gives the child's age band, never an age; the draft for the
        authorities keeps them."""
        return tuple(text for text in self.indicators if reason_feature(text) not in _AGE_VALUED)

    @property
    def key(self) -> str:
        """A stable text key of the decision (input to the pseudonymised puid), whatever
        the bands an export keeps."""
        first = self.items[0].item_id if self.first_item_id is None else self.first_item_id
        return f"decision:{first}:{self.decided_at}:{self.outcome}"


def decided_cases(
    items: Iterable[QueueItem], export_filter: ExportFilter | None = None
) -> list[DecidedCase]:
    """Group decided queue items into decisions, in the order they were made.

    Parameters
    ----------
    items : iterable of QueueItem
        From :meth:`riskscore.ReviewQueue.items`.
    export_filter : ExportFilter, optional
        Period (by decision time), decision and band filters. The band filter selects
        decisions: one with an item in a band kept is exported whole, with every item it
        closed, so its CyberTipline draft names every child of the decision and its
        statement of reasons reads as in an export without the filter.

    Returns
    -------
    list of DecidedCase
        One per decision (items decided before the queue recorded their decision: one
        per adult, decision time and outcome), oldest decision first.

    Examples
    --------
    >>> import tempfile
    >>> import riskscore as rs
    >>> from riskscore.policy import Alert, Tier
    >>> t = 1_767_225_600  # 2026-01-01
    >>> with rs.ReviewQueue(f"{tempfile.mkdtemp()}/q.sqlite", simulation=True) as q:
    ...     _ = q.add_alert(Alert(1, "a", "c1", 12.0, "under 13", 0.8, Tier.URGENT), at=t + 10)
    ...     _ = q.add_alert(Alert(2, "a", "c2", 14.0, "13-15", 0.5, Tier.REVIEW), at=t + 20)
    ...     token = q.case("a", now=t + 30).token
    ...     _ = q.decide("a", "escalated", moderator="m", at=t + 30, token=token)
    ...     cases = decided_cases(q.items())
    >>> [(c.adult_id, c.outcome, len(c.items)) for c in cases]
    [('a', 'escalated', 2)]
    """
    f = export_filter or ExportFilter()
    groups: dict[tuple[str, int, str, int | None], list[QueueItem]] = {}
    for item in items:
        if item.decided_at is None or item.status not in _OUTCOMES:
            continue
        if f.in_period(item.decided_at) and f.keeps_outcome(item.status):
            key = (repr(item.adult_id), item.decided_at, item.status, item.decision_id)
            groups.setdefault(key, []).append(item)
    cases = []
    for group in groups.values():
        group.sort(key=lambda i: (i.created_at, i.item_id))
        first = group[0]
        if any(f.keeps(i) for i in group):
            at = int(first.decided_at or 0)
            cases.append(DecidedCase(first.adult_id, first.status, at, tuple(group), first.item_id))
    cases.sort(key=lambda c: (c.decided_at, c.items[0].item_id))
    return cases


#: What the age an item's child account declared makes of it in an export, by
#: :func:`declared_kind`: a child (under 18), an account of undeclared age, an account of a
#: declared adult age (18 or over). The role rule chooses the child account, by signs of
#: approach when neither age is known: an export never states a guess as a child.
CHILD, UNDECLARED, DECLARED_ADULT = 0, 1, 2


def declared_kind(ages: Iterable[float]) -> int:
    """:data:`CHILD` when any of ``ages`` (one account's declared ages, NaN for none) is
    under 18, else :data:`DECLARED_ADULT` when any is declared, else :data:`UNDECLARED`.

    Examples
    --------
    >>> nan = float("nan")
    >>> declared_kind([nan, 12.0]), declared_kind([nan]), declared_kind([19.0, nan])
    (0, 1, 2)
    """
    known = [a for a in ages if not math.isnan(a)]
    return CHILD if any(a < MINOR_AGE for a in known) else DECLARED_ADULT if known else UNDECLARED


#: The words of an item's child account by :func:`declared_kind`.
_ACCOUNT_WORDS = (
    ("child account", "child accounts"),
    ("account of undeclared age", "accounts of undeclared age"),
    ("account of a declared adult age", "accounts of a declared adult age"),
)


def child_accounts_text(accounts: Iterable[tuple[Any, float]]) -> str:
    """The child accounts of ``(child_id, child_age)`` pairs (one per queue item) counted
    in words by the age they declared, as the exports state them: ``1 child account`` for
    an age under 18 (in any of its items), ``1 account of undeclared age`` for none (the
    role rule chose it, by signs of approach when neither age is known: never stated as a
    child), ``1 account of a declared adult age`` for 18 or over; "" when there is none,
    never "0 child accounts".

    Examples
    --------
    >>> nan = float("nan")
    >>> child_accounts_text([("k", 12.0), ("y", nan), ("k", nan), ("u", nan)])
    '1 child account and 2 accounts of undeclared age'
    >>> child_accounts_text([("p", 40.0)]), child_accounts_text([])
    ('1 account of a declared adult age', '')
    """
    ages: dict[str, list[float]] = {}
    for child, age in accounts:
        ages.setdefault(repr(child), []).append(age)
    counts = [0, 0, 0]
    for declared in ages.values():
        counts[declared_kind(declared)] += 1
    return " and ".join(
        plural(n, one, many) for n, (one, many) in zip(counts, _ACCOUNT_WORDS, strict=True) if n
    )
