"""Statistical disclosure control of a published transparency report: small counts withheld.

A transparency report is published. For a small platform or a short period its breakdowns
hold counts of 1 or 2 ("one alert, under 13, external channel, actioned"), and such a count
can point to one child. Official statistics withhold them (UK ONS and NHS England guidance:
counts below a threshold, commonly 10, are suppressed, and enough other cells are suppressed
that a suppressed one cannot be worked out from the totals). The rule here:

1. **Primary suppression.** Every count ``0 < count < min_cell`` is withheld. Zeros are
   published: a zero points to nobody. Headline totals of the period (alerts raised, user
   reports received, alerts decided, items reviewed or decided) are exempt from this step.
2. **Secondary suppression, checked by an adversary.** Every published relation between
   counts (a table's rows and columns add up to its totals; ``decided = actioned + dismissed +
   escalated``; a ratio reveals its numerator and denominator) is written as a linear
   equation; what the published list of cases shows (each listed case escalated at least
   one item and holds at least as many items as children and conversations; each account
   counted holds an item) is written as an inequality. For each withheld count, integer
   programming (:func:`scipy.optimize.milp`)
   finds its smallest and largest value consistent with every published figure, knowing
   that a withheld count is at least 1 (zeros are shown). While some withheld count has one
   possible value, one more count is withheld: among the published non-zero counts linked
   to it are taken in order of preference (breakdown cells before headline totals,
   smallest first) until it has two or more possible values, and those it does without
   are put back: each step withholds a set that protects the cell and that no smaller
   subset would. A headline total is withheld only when the breakdown cells cannot
   protect a withheld one.

Every withheld figure is shown the same way (``[c]``, "confidential", as ONS tables write
it), whether it was small or withheld to protect a small one: marking them apart would tell
a reader that the others are below the threshold, and bounds like that can pin a value
(a group total of 11 with one cell marked "<10" and one marked "withheld, at least 10"
holds exactly 1 and 10). ``min_cell`` 0 or 1 withholds nothing (exact figures, for a
regulator under confidentiality).

Examples
--------
>>> t = CountTables({("all",): 12, ("a",): 1, ("b",): 11}, (( ("all",), (("a",), ("b",)) ),),
...                 headline=frozenset({("all",)}))
>>> sorted(withheld(t, min_cell=10))  # "a" is small; "b" would give it away: 12 - 11
[('a',), ('b',)]
>>> determined(t, withheld(t, min_cell=10))
[]
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_MIN_CELL",
    "SUPPRESSED",
    "CountTables",
    "check_min_cell",
    "determined",
    "is_small",
    "protect_report",
    "report_tables",
    "withheld",
]

#: The threshold of ``riskscore report`` and :func:`~riskscore.transparency_report`.
DEFAULT_MIN_CELL = 10

#: How the Markdown and HTML renderings show a withheld figure.
SUPPRESSED = "[c]"

#: A cell's place in the report: the keys leading to it (``("by_channel", "direct", "alerts")``).
CellPath = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CountTables:
    """The counts a report publishes and the equations that link them.

    Attributes
    ----------
    values : dict of tuple of str to int
        Every count, exact, by its path in the report.
    sums : tuple of (path, tuple of paths)
        ``(total, parts)``: the published value of ``total`` is the sum of ``parts``.
    headline : frozenset of paths
        Totals of the whole period, exempt from primary suppression.
    floors : tuple of (tuple of paths, int)
        ``(parts, least)``: what else the report publishes shows that the sum of ``parts``
        is at least ``least`` (a list of escalated cases bounds the escalated counts).
    """

    values: dict[CellPath, int]
    sums: tuple[tuple[CellPath, tuple[CellPath, ...]], ...]
    headline: frozenset[CellPath] = field(default_factory=frozenset)
    floors: tuple[tuple[tuple[CellPath, ...], int], ...] = ()

    def __post_init__(self) -> None:
        for parts, least in self.floors:
            missing = [p for p in parts if p not in self.values]
            if missing or sum(self.values[p] for p in parts) < least:
                raise ValueError(
                    f"the floor {least} of {list(parts)!r} names a path with no count or "
                    "exceeds their sum"
                )
        for total, parts in self.sums:
            for p in (total, *parts):
                if p not in self.values:
                    raise ValueError(f"the sum of {total!r} names {p!r}, which has no count")
            if sum(self.values[p] for p in parts) != self.values[total]:
                raise ValueError(
                    f"{total!r} is {self.values[total]} but its parts add up to "
                    f"{sum(self.values[p] for p in parts)}: {list(parts)!r}"
                )


def check_min_cell(min_cell: object) -> int:
    """``min_cell`` as an int >= 0, or a ``ValueError`` saying what was given.

    Examples
    --------
    >>> check_min_cell(10)
    10
    >>> check_min_cell(2.5)
    Traceback (most recent call last):
    ...
    ValueError: min_cell must be a whole number >= 0 (0 or 1 withholds nothing), got 2.5
    """
    if type(min_cell) is not int or min_cell < 0:
        raise ValueError(
            f"min_cell must be a whole number >= 0 (0 or 1 withholds nothing), got {min_cell!r}"
        )
    return min_cell


def is_small(count: int, min_cell: int) -> bool:
    """The primary rule: a count from 1 to ``min_cell - 1`` is withheld (zeros point to
    nobody).

    Examples
    --------
    >>> is_small(0, 10), is_small(3, 10), is_small(10, 10)
    (False, True, False)
    """
    return 0 < count < min_cell


def withheld(tables: CountTables, *, min_cell: int) -> frozenset[CellPath]:
    """The counts to withhold: primary suppression, then secondary until none is determined.

    Parameters
    ----------
    tables : CountTables
        The report's counts and their equations.
    min_cell : int
        Counts from 1 to ``min_cell - 1`` are withheld; 0 or 1 withholds nothing.

    Returns
    -------
    frozenset of paths
        No withheld count can be worked out from the published ones (:func:`determined`
        is empty).
    """
    check_min_cell(min_cell)
    values = tables.values
    out = {p for p, v in values.items() if is_small(v, min_cell) and p not in tables.headline}
    order = {p: k for k, p in enumerate(values)}
    while True:
        pinned = determined(tables, out, first=True)
        if not pinned:
            return frozenset(out)
        cell = pinned[0]
        candidates = sorted(
            (p for p in _linked(tables, cell) if p not in out and values[p] > 0),
            key=lambda p: (p in tables.headline, values[p], order[p]),
        )
        if not candidates:  # all zero or withheld: the equations then fix nothing
            raise RuntimeError(f"disclosure control found no cell to protect {cell!r}")
        out |= _protecting(tables, out, cell, candidates)


def determined(
    tables: CountTables,
    hidden: Iterable[CellPath],
    *,
    first: bool = False,
    only: CellPath | None = None,
) -> list[CellPath]:
    """Withheld counts that the published counts and equations fix to one value.

    The adversary: unknowns are the ``hidden`` counts, each a whole number of at least 1
    (zeros are shown); every equation of ``tables`` with a hidden count is a constraint,
    and so is every floor (``tables.floors``).
    A count is determined when its smallest and largest possible values are equal.

    Parameters
    ----------
    tables : CountTables
    hidden : iterable of paths
        The withheld counts.
    first : bool
        Stop at the first determined count.
    only : path, optional
        Check this one count only.

    Returns
    -------
    list of paths
        In the order of ``tables.values``.
    """
    hidden = set(hidden)
    if not hidden:
        return []
    variables = [p for p in tables.values if p in hidden]
    index = {p: k for k, p in enumerate(variables)}

    def row_of(terms: Iterable[tuple[CellPath, float]]) -> tuple[Any, float]:
        """Coefficients of the hidden counts in ``terms`` and the sum of the others."""
        row = np.zeros(len(variables))
        known = 0.0
        for p, sign in terms:
            if p in index:
                row[index[p]] += sign
            else:
                known += sign * tables.values[p]
        return row, known

    rows, lows, highs = [], [], []
    for total, parts in tables.sums:
        row, known = row_of(((total, -1.0), *((q, 1.0) for q in parts)))
        if row.any():
            rows.append(row)
            lows.append(-known)
            highs.append(-known)
    if not rows:
        return []
    for parts, least in tables.floors:
        row, known = row_of((q, 1.0) for q in parts)
        if row.any():
            rows.append(row)
            lows.append(least - known)
            highs.append(np.inf)
    # Imported when a report is withheld from, not at every command's start-up.
    from scipy.optimize import Bounds, LinearConstraint, milp

    constraint = LinearConstraint(np.asarray(rows), np.asarray(lows), np.asarray(highs))
    bounds = Bounds(1, np.inf)
    integral = np.ones(len(variables))
    out = []
    for p in variables if only is None else [only]:
        c = np.zeros(len(variables))
        c[index[p]] = 1.0
        lo = milp(c, integrality=integral, bounds=bounds, constraints=constraint)
        hi = milp(-c, integrality=integral, bounds=bounds, constraints=constraint)
        if lo.status == 0 and hi.status == 0 and round(lo.fun) == round(-hi.fun):
            out.append(p)
            if first:
                break
    return out


def _protecting(
    tables: CountTables, hidden: set[CellPath], cell: CellPath, candidates: list[CellPath]
) -> set[CellPath]:
    """Counts to withhold with ``hidden`` so that ``cell`` has two possible values: the
    first ``candidates`` (in order of preference) until it has, less every one it does
    without (the last first): no count is withheld that this cell does not need."""
    chosen: list[CellPath] = []
    for c in candidates:
        chosen.append(c)
        if not determined(tables, hidden | set(chosen), only=cell):
            break
    else:
        return set(chosen)  # still determined: the audit goes on from the next cell
    for c in reversed(chosen[:-1]):
        trial = [x for x in chosen if x != c]
        if not determined(tables, hidden | set(trial), only=cell):
            chosen = trial
    return set(chosen)


def _linked(tables: CountTables, cell: CellPath) -> list[CellPath]:
    """Every count connected to ``cell`` through the equations, ``cell`` excluded."""
    seen, todo = {cell}, [cell]
    while todo:
        p = todo.pop()
        for total, parts in tables.sums:
            group: Sequence[CellPath] = (total, *parts)
            if p in group:
                for q in group:
                    if q not in seen:
                        seen.add(q)
                        todo.append(q)
    seen.discard(cell)
    return sorted(seen, key=list(tables.values).index)


_DECIDED = ("actioned", "dismissed", "escalated")
_CONFIRMED = ("actioned", "escalated")


@dataclass(frozen=True, slots=True)
class ReportCounts:
    """A report's :class:`CountTables`, with what its ratios reveal.

    Attributes
    ----------
    tables : CountTables
    ratios : dict of path to tuple of paths
        A ratio (a precision, a share) and the counts it is computed from: it is
        published only when they all are (it tells at most those counts).
    unwritten : frozenset of paths
        Counts that only a ratio publishes (no field of their own).
    """

    tables: CountTables
    ratios: dict[CellPath, tuple[CellPath, ...]]
    unwritten: frozenset[CellPath]


def report_tables(d: dict[str, Any], *, child_bands: Sequence[str] | None) -> ReportCounts:
    """The counts of a transparency report's ``data`` and every equation a reader can write.

    Parameters
    ----------
    d : dict
        :attr:`riskscore.TransparencyReport.data` with exact counts.
    child_bands : sequence of str or None
        The age bands whose user reports all come from children, when every band's
        reports are all from children or none are: then ``user_reports_from_children``
        is the sum of those bands' user reports. None when a band mixes both.

    Returns
    -------
    ReportCounts
    """
    values: dict[CellPath, int] = {}
    sums: list[tuple[CellPath, tuple[CellPath, ...]]] = []
    alerts, reports = ("alerts_raised",), ("user_reports",)
    values[alerts], values[reports] = d["alerts_raised"], d["user_reports"]
    outcomes = tuple(d["user_report_outcomes"])
    for o in outcomes:
        values[(o,)] = d[o]
        values[("user_report_outcomes", o)] = d["user_report_outcomes"][o]
    sums.append((alerts, tuple((o,) for o in outcomes)))
    sums.append((reports, tuple(("user_report_outcomes", o) for o in outcomes)))
    values[("user_reports_from_children",)] = d["user_reports_from_children"]

    ad = ("automated_detection",)
    ratios: dict[CellPath, tuple[CellPath, ...]] = {}
    unwritten: set[CellPath] = set()

    def add_sum(total: CellPath, parts: Sequence[CellPath], *, hidden: bool = False) -> None:
        if hidden:  # a count only a ratio publishes
            values[total] = sum(values[p] for p in parts)
            unwritten.add(total)
        sums.append((total, tuple(parts)))

    tiers = d["by_tier"]
    for t, row in tiers.items():
        for k, x in row.items():
            values[("by_tier", t, k)] = x
        add_sum(("by_tier", t, "alerts"), [("by_tier", t, o) for o in outcomes])
        ratio = (*ad, "precision_by_tier", t)
        conf, dec = (*ratio, "confirmed"), (*ratio, "decided")
        add_sum(conf, [("by_tier", t, o) for o in _CONFIRMED], hidden=True)
        add_sum(dec, [("by_tier", t, o) for o in _DECIDED], hidden=True)
        ratios[ratio] = (conf, dec)
    add_sum(alerts, [("by_tier", t, "alerts") for t in tiers])
    for o in outcomes:
        add_sum((o,), [("by_tier", t, o) for t in tiers])
    for key in ("by_age_band", "by_channel"):
        for name, row in d[key].items():
            values[(key, name, "alerts")] = row["alerts"]
            values[(key, name, "user_reports")] = row["user_reports"]
        add_sum(alerts, [(key, name, "alerts") for name in d[key]])
        add_sum(reports, [(key, name, "user_reports") for name in d[key]])
    if child_bands is not None:
        bands = [("by_age_band", b, "user_reports") for b in child_bands if b in d["by_age_band"]]
        add_sum(("user_reports_from_children",), bands)

    decided, confirmed = (*ad, "decided"), (*ad, "confirmed")
    values[decided], values[confirmed] = d[ad[0]]["decided"], d[ad[0]]["confirmed"]
    add_sum(decided, [(o,) for o in _DECIDED])
    add_sum(confirmed, [(o,) for o in _CONFIRMED])
    actions = (*ad, "share_of_actions", "user_reports")
    add_sum(actions, [("user_report_outcomes", o) for o in _CONFIRMED], hidden=True)
    ratios[(*ad, "precision")] = ratios[(*ad, "precision_ci95")] = (confirmed, decided)
    ratios[(*ad, "share_of_actions")] = (confirmed, actions)
    ratios[(*ad, "share_of_items")] = (alerts, reports)

    headline = {alerts, reports, decided}
    received = d["received_in_period"]  # the headline totals by date: exempt, linked to them
    for total, kind in ((alerts, "alerts"), (reports, "user_reports")):
        parts = [("received_in_period", dated, kind) for dated in received]
        values.update({path: received[path[1]][kind] for path in parts})
        headline |= set(parts)
        add_sum(total, parts)
    for key in ("time_to_first_review_hours", "time_to_decision_hours"):
        n = {s: (key, s, "n") for s in d[key]}
        for path in n.values():
            values[path] = d[key][path[1]]["n"]
        headline |= set(n.values())
        add_sum(n["all"], [n["automated_detection"], n["user_reports"]])
    # the times to decision count the items decided (an alert decided is not open)
    add_sum(("time_to_decision_hours", "automated_detection", "n"), [(o,) for o in _DECIDED])
    add_sum(
        ("time_to_decision_hours", "user_reports", "n"),
        [("user_report_outcomes", o) for o in _DECIDED],
    )
    tables = CountTables(values, tuple(sums), frozenset(headline), _case_floors(d["cases"]))
    return ReportCounts(tables, ratios, frozenset(unwritten))


def _case_floors(cases: dict[str, Any]) -> tuple[tuple[tuple[CellPath, ...], int], ...]:
    """What a report's ``cases`` section, which is published whole, shows of its counts:
    each listed escalated case escalated an alert or a user report; the items (alerts and
    user reports) are at least one per account counted, two per account with several
    children, and for a listed case as many as its children and its conversations."""
    listed = cases["escalated_multi_child_cases"]
    several = cases["accounts_with_several_children"]
    items = (
        cases["accounts_reviewed"]
        + several
        + sum(max(c["children"], c["conversations"]) - 2 for c in listed)
    )
    return (
        ((("escalated",), ("user_report_outcomes", "escalated")), len(listed)),
        ((("alerts_raised",), ("user_reports",)), items),
    )


def protect_report(
    d: dict[str, Any], *, min_cell: int, child_bands: Sequence[str] | None = None
) -> dict[str, Any]:
    """A copy of report data with small counts withheld (``null``), and its
    ``disclosure_control`` section.

    Parameters
    ----------
    d : dict
        Report data with exact counts.
    min_cell : int
        Threshold: counts from 1 to ``min_cell - 1`` are withheld (:func:`withheld`); 0 or 1
        withholds nothing.
    child_bands : sequence of str or None
        See :func:`report_tables`.

    Returns
    -------
    dict
        ``d`` with each withheld figure ``null`` in place and listed, as its path of keys,
        in ``disclosure_control.suppressed``; ``disclosure_control.min_cell`` is the
        threshold.
    """
    check_min_cell(min_cell)
    out = copy.deepcopy(d)
    counts = report_tables(d, child_bands=child_bands)
    hidden = withheld(counts.tables, min_cell=min_cell) if min_cell > 1 else frozenset()
    listed = [p for p in counts.tables.values if p in hidden and p not in counts.unwritten]
    listed += [r for r, inputs in counts.ratios.items() if hidden & set(inputs)]
    for path in listed:
        parent = out
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = None
    for key in ("time_to_first_review_hours", "time_to_decision_hours"):  # n_simulated = n
        for source, t in out.get(key, {}).items():  # when every time was simulated, and
            # n - n_simulated is the count of clock times, a cell of its own
            sim = t["n_simulated"]
            small = sim is not None and t["n"] is not None and 0 < t["n"] - sim < min_cell
            if sim is not None and (t["n"] is None or small or 0 < sim < min_cell):
                t["n_simulated"] = None
                listed.append((key, source, "n_simulated"))
    out["disclosure_control"] = {
        "min_cell": min_cell,
        "suppressed": [list(p) for p in listed],
        "method": _method(min_cell),
    }
    return out


def _method(min_cell: int) -> str:
    if min_cell <= 1:
        return "none: exact figures (min_cell 0 or 1), not for publication"
    return (
        f"counts from 1 to {min_cell - 1} are withheld, and further counts or ratios so that "
        "no withheld count can be worked out from the published figures; zeros are shown; "
        "a withheld figure is null here and [c] in the Markdown and HTML report"
    )
