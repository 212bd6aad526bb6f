"""Ranking the review queue: open items grouped into one case per adult, and ordered.

Private to :class:`~riskscore.moderation.queue.ReviewQueue` (:meth:`cases`, :meth:`case`,
:meth:`top`). The priority formula and its weights are documented in
:mod:`riskscore.moderation.cases` (:class:`~riskscore.moderation.cases.PriorityWeights`);
here the items of one adult become a :class:`~riskscore.moderation.cases.Case` with its
reasons in words, and cases are sorted by priority, then age, then adult id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import riskscore.moderation.queue_db as db
from riskscore._words import age_text, duration_text, number_text, plural, risk_text
from riskscore.io.shown_ids import shown_id
from riskscore.moderation.cases import (
    TIER_NAMES,  # defined beside Case.to_dict, which writes them; named here as before
    Case,
    PriorityWeights,
    QueueItem,
    youngest_child_age,
)
from riskscore.moderation.item_facts import alert_roles_assumed, younger_account_text

__all__ = ["TIER_NAMES", "build_case", "headline", "rank_cases"]


def rank_cases(items: Iterable[QueueItem], now: int, weights: PriorityWeights) -> list[Case]:
    """The open items as one case per adult, highest priority first (at ``now``)."""
    by_adult: dict[str, list[QueueItem]] = {}
    for item in items:
        by_adult.setdefault(db.encode_id(item.adult_id), []).append(item)
    cases = [build_case(group, now, weights) for group in by_adult.values()]
    cases.sort(key=lambda c: (-c.priority, c.oldest, db.encode_id(c.adult_id)))
    return cases


def build_case(items: list[QueueItem], now: int, weights: PriorityWeights) -> Case:
    """The case of one adult's open items (at least one): priority, children, reasons."""
    w = weights
    # highest priority first, then by item id: one order whatever the order read
    scored = sorted(((i.priority(w, now), i) for i in items), key=lambda p: (-p[0], p[1].item_id))
    items = [i for _, i in scored]  # the case's items, as it lists them
    # a reporter who declared an adult age is no child of the case (a parent, a bystander)
    children = tuple(dict.fromkeys(i.child_id for _, i in scored if i.child_not_known_adult))
    extra = max(0, min(len(children) - 1, w.max_extra_children))
    priority = scored[0][0] + w.extra_child * extra
    reasons: list[str] = []
    # in the order they were filed (item ids)
    reports = sorted((i for i in items if i.concerns_child), key=lambda i: i.item_id)
    if reports:  # one line for every child's report, as many reports and children as sent
        reporters = {db.encode_id(i.child_id): i.child_age for i in reports}
        ages = _reporters_ages(list(reporters.values()))
        what = "user report" if len(reports) == 1 else plural(len(reports), "user report")
        who = "a child" if len(reporters) == 1 else plural(len(reporters), "child", "children")
        reasons.append(f"{what} from {who} ({ages})")
    # of the case's items in its order, as headline() finds it: of two alerts of one tier
    # and risk, the first listed (the younger child's), never another by the order read
    best_alert = _strongest_alert(items)
    if best_alert is not None:  # whose are the model's reasons that end the list
        reasons.append(
            f"{TIER_NAMES[best_alert.tier]} alert, risk {risk_text(best_alert.risk)} "
            f"(band {best_alert.age_band}) in conversation {shown_id(best_alert.conversation_id)} "
            f"(child {_child_text(best_alert)}): the case's model reasons are this alert's"
        )
    youngest = youngest_child_age(items)
    if not math.isnan(youngest):
        reasons.append(f"youngest child: age {youngest:g}")
    elif children:  # of no declared age: an alert's younger account, or a reporter
        reasons.append(_unknown_ages_text(items, len(children)))
    else:  # every other account declared an adult age: said as what is there, with the youngest
        adult_ages = min(i.child_age for i in items)
        if all(i.kind == "user_report" for i in items):
            reasons.append(
                f"reported by adults only: every reporter declared an adult age "
                f"(youngest {adult_ages:g})"
            )
        else:  # an alert of the 18+ band (the other account's age unknown)
            reasons.append(
                f"adult accounts only: every other account declared an adult age "
                f"(youngest {adult_ages:g})"
            )
    if len(children) > 1:
        reasons.append(f"{len(children)} children in open conversations")
    reasons.append(f"waiting {duration_text(now - min(i.created_at for i in items))}")
    if best_alert is not None:
        reasons.extend(best_alert.reasons)
    return Case(
        adult_id=items[0].adult_id,
        priority=priority,
        items=tuple(items),
        children=children,
        reasons=tuple(reasons),
    )


#: Children's ages a case's reason lists one by one; more are counted by age.
MAX_AGES_LISTED = 5


def _reporters_ages(ages: list[float]) -> str:
    """The ages of the children whose reports a case holds, in the order they reported
    (``age 15, age 9``); more than :data:`MAX_AGES_LISTED` counted by age, youngest first
    (``72 of age 10, 71 of age 16``): a reason of one age per reporter grew with every
    report of a flood of them, to kilobytes on the console's queue page."""
    if len(ages) <= MAX_AGES_LISTED:
        return ", ".join(age_text(a) for a in ages)
    counts: dict[float, int] = {}
    for age in sorted(ages):
        counts[age] = counts.get(age, 0) + 1
    return ", ".join(f"{number_text(n)} of {age_text(a)}" for a, n in counts.items())


def _child_text(alert: QueueItem) -> str:
    """The child's age of a case's strongest alert, with, when its declared ages do not
    tell which account is older, that the roles are assumed (as its reasons say)."""
    assumed = alert_roles_assumed(
        alert.child_age, alert.adult_age, alert.first_event_at, alert.last_event_at
    )
    return younger_account_text(alert.child_age, alert.adult_age, assumed=assumed)


def _unknown_ages_text(items: list[QueueItem], n_children: int) -> str:
    """The reason of a case whose possible children all declared no age: "child age unknown"
    when an alert names one (the role rule made it the child), else its reporters' ages,
    counted as possible children but never called children."""
    if any(i.kind == "alert" for i in items if i.child_not_known_adult):
        return "child age unknown"
    if n_children == 1:
        return "reporter's age unknown: counted as a possible child"
    return "reporters' ages unknown: counted as possible children"


def _strongest_alert(items: Iterable[QueueItem]) -> QueueItem | None:
    """The alert of highest tier, then risk, among ``items`` (None when there is none): the
    one whose model reasons end a case's reasons."""
    return max((i for i in items if i.kind == "alert"), key=_tier_risk, default=None)


def headline(case: Case) -> tuple[str, ...]:
    """The reasons a one-line view of ``case`` shows (the console's queue page): its first
    two lines (a child's reports, the strongest alert, or the youngest child) and the
    model's strongest signal, which the case lists last; its first three lines when no
    alert gives a signal."""
    best = _strongest_alert(case.items)
    signals = () if best is None else best.reasons
    context = case.reasons[: len(case.reasons) - len(signals)]
    return (*context[:2], *signals[:1]) if signals else context[:3]


def _tier_risk(item: QueueItem) -> tuple[int, float]:
    return (item.tier, item.risk)
