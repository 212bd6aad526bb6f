"""Transparency reports: child-safety alerts and user reports, and how they were dealt with.

:func:`transparency_report` reads a :class:`~riskscore.moderation.queue.ReviewQueue` and
counts, for one period: alerts raised by automated detection and user reports
received, by tier, by child age band and by channel; their outcomes
(actioned, dismissed, escalated to law enforcement, still open at the end of
the period); time to first review and to decision (median, 90th percentile);
automated detection's share and its precision as measured by moderators'
decisions; and, given the period's drift (:func:`riskscore.model.drift.period_drift`),
the population stability of the model's inputs and score against the reference
distributions stored with the model. Field names follow what the EU Digital Services
Act (Article 15) and Ofcom's codes ask platforms to publish (see ``docs/transparency.md``).

Account ids never appear in clear: the few that a report lists are
pseudonymised with HMAC-SHA256 under a key the platform provides and keeps;
the key is not written into the report.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from riskscore.io.pair_ids import conversation_key
from riskscore.io.raw import as_python_value
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.io.staging import staged_outputs
from riskscore.io.timestamps import iso_utc_z
from riskscore.keys import check_key, check_pseudonym_key
from riskscore.model.drift import DriftReport
from riskscore.moderation.cases import QueueItem, check_period, check_platform, closed_end
from riskscore.moderation.disclosure import DEFAULT_MIN_CELL, check_min_cell, protect_report
from riskscore.moderation.published import check_disjoint
from riskscore.moderation.queue import ReviewQueue
from riskscore.moderation.ranking import TIER_NAMES
from riskscore.moderation.report_times import counted, simulation_section, times
from riskscore.moderation.transparency_render import (
    CHART_FILES,
    OUTCOMES,
    render_html,
    render_markdown,
    write_charts,
)

__all__ = [
    "REPORT_FILES",
    "SYNTHETIC_DEMO_KEY",
    "TransparencyReport",
    "pseudonymise",
    "transparency_report",
    "wilson_interval",
]

#: Every file :meth:`TransparencyReport.write` may write into its directory.
REPORT_FILES = ("report.json", "report.md", "report.html", *CHART_FILES)

#: The documented key of ``make report`` and the examples: synthetic data only, never a
#: platform's secret.
SYNTHETIC_DEMO_KEY = "riskscore-synthetic-demo-key-NOT-A-SECRET-v1"

REPORT_FORMAT = 2  # 2: disclosure control (withheld counts are null)
_TIERS = {tier: name for tier, name in TIER_NAMES.items() if tier > 0}  # alert tiers


def pseudonymise(value: Any, key: bytes | str) -> str:
    """A stable pseudonym for an id: HMAC-SHA256 under ``key``, first 16 hex digits.

    The same id and key give the same pseudonym, so reports of one platform can
    be compared; without the key a pseudonym cannot be linked to an account.

    Raises
    ------
    ValueError
        ``key`` fails :func:`riskscore.keys.check_key` (at least 32 bytes, not
        low-entropy); the message says what is wrong.

    Examples
    --------
    >>> pseudonymise("account-42", SYNTHETIC_DEMO_KEY)  # doctest: +ELLIPSIS
    'p_...'
    >>> key = SYNTHETIC_DEMO_KEY.encode()
    >>> pseudonymise(42, key) == pseudonymise(42, key) != pseudonymise("42", key)
    True
    """
    secret = check_key(key, source="the pseudonymisation key")
    msg = json.dumps(as_python_value(value)).encode("utf-8")
    return "p_" + hmac.new(secret, msg, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class TransparencyReport:
    """A transparency report for one period.

    Attributes
    ----------
    period_start, period_end : int
        Epoch seconds; items the queue received in ``[period_start, period_end)`` are
        counted as they stood at ``period_end``: status, tier and channel
        (:meth:`ReviewQueue.items_at`), whatever time they carry (``received_in_period``
        counts those dated before the period: late arrivals).
    data : dict
        The report; :meth:`to_dict` returns a copy ready for JSON.
    """

    period_start: int
    period_end: int
    data: dict[str, Any]

    @property
    def alerts_raised(self) -> int | None:
        """Alerts raised by automated detection in the period (None when withheld)."""
        value: int | None = self.data["alerts_raised"]
        return value

    @property
    def user_reports(self) -> int | None:
        """User reports received in the period (None when withheld)."""
        value: int | None = self.data["user_reports"]
        return value

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON types."""
        out: dict[str, Any] = json.loads(json.dumps(self.data))
        return out

    def to_markdown(self, charts: Sequence[str] = ()) -> str:
        """The report as Markdown; ``charts`` are PNG file names to embed."""
        return render_markdown(self.data, charts)

    def write(self, out_dir: str | Path, *, charts: bool = True) -> dict[str, Path]:
        """Write ``report.json``, ``report.md``, ``report.html`` and PNG charts.

        Returns
        -------
        dict of str to Path
            Every file written, by name.
        """
        out = Path(out_dir)
        # one run's files, or the earlier run's: charts of an earlier run are removed
        with staged_outputs(out, owned=REPORT_FILES) as stage:
            names = write_charts(self.data, stage.root) if charts else []
            stage("report.json").write_text(
                json.dumps(self.data, indent=2, sort_keys=False) + "\n", encoding="utf-8"
            )
            stage("report.md").write_text(render_markdown(self.data, names), encoding="utf-8")
            stage("report.html").write_text(render_html(self.data, names), encoding="utf-8")
        return {name: out / name for name in (*names, "report.json", "report.md", "report.html")}


def transparency_report(
    queue: ReviewQueue,
    period: tuple[int, int],
    *,
    key: bytes | str,
    platform: str = "",
    max_listed_cases: int = 20,
    drift: DriftReport | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
    published: Sequence[tuple[int, int]] = (),
    as_of: int | None = None,
) -> TransparencyReport:
    """Count what came into the review queue in ``period`` and how it was dealt with.

    An item is counted in the period in which the queue received it, as it stood at the
    period's end, so a report of a closed period is the same whenever it is made: an alert
    queued later, whatever time it carries (an alert on last month's events scored today),
    and a later signal merged into an item, are of a later period. ``received_in_period``
    says how many of the period's items carry a time before it (late arrivals, counted
    here and never restated in the period they are dated in).

    Parameters
    ----------
    queue : ReviewQueue
        The queue (alerts, user reports, decisions).
    period : (int, int)
        Start (inclusive) and end (exclusive), epoch seconds UTC (ints) from 1970 to
        before year 10000.
    key : bytes or str
        Secret key for pseudonymising account ids (HMAC-SHA256), checked by
        :func:`riskscore.keys.check_pseudonym_key` (at least 32 bytes, not low-entropy;
        a key printed in the documentation only for a simulated queue). Provided by the
        platform, never stored in the report.
    platform : str
        Name shown on the report: empty, or one line of printable text of at most
        128 characters (:func:`~riskscore.moderation.cases.check_platform`).
    max_listed_cases : int, default 20
        How many escalated multi-child cases to list (pseudonymised).
    drift : DriftReport, optional
        The period's drift against the model's reference distributions
        (:func:`riskscore.model.drift.period_drift`): the report's ``drift`` section.
        Without it, ``drift`` is None.
    min_cell : int, default 10
        Disclosure control (:mod:`riskscore.moderation.disclosure`): counts from 1 to
        ``min_cell - 1`` are withheld, and further figures so that none can be worked out
        from the published totals; zeros are shown. A withheld figure is None and its path
        is listed in ``disclosure_control.suppressed``. 0 or 1 gives exact figures, for a
        regulator who receives them under confidentiality.
    published : sequence of (int, int)
        The periods of the reports already published from this queue: a ``period`` that
        overlaps one of them (or equals it) is refused
        (:func:`~riskscore.moderation.published.check_disjoint`), since the difference of
        two overlapping reports escapes the control of each.
    as_of : int, optional
        The time of the report, epoch seconds (default: now). A ``period`` that ends
        after it has not ended, and its figures would change: it is cut at ``as_of``, and
        the report says so (``period["requested_end"]``, every rendering). A period that
        starts after it is refused: nothing in it has happened.

    Returns
    -------
    TransparencyReport
        Its top level has ``alerts_raised``, ``user_reports``, ``actioned``,
        ``dismissed``, ``escalated`` and ``open``; the last four count alerts,
        so ``alerts_raised == actioned + dismissed + escalated + open``.
        ``simulated`` is true when the queue was created in simulation mode or any
        review or decision time counted was given by the caller
        (:meth:`ReviewQueue.simulated_items`); ``simulation`` says which, and each
        time figure counts its simulated times in ``n_simulated``. Every rendering
        marks such figures as simulated. ``disclosure_control`` states ``min_cell`` and
        lists what was withheld.

    Examples
    --------
    >>> import tempfile
    >>> from riskscore import ReviewQueue, transparency_report
    >>> from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY
    >>> from riskscore.policy import Alert, Tier
    >>> q = ReviewQueue(f"{tempfile.mkdtemp()}/q.sqlite", simulation=True)
    >>> t = 1_767_225_600  # 2026-01-01
    >>> _ = q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.7, Tier.URGENT), at=t)
    >>> token = q.case("a", now=t + 100).token
    >>> _ = q.decide("a", "actioned", moderator="m", at=t + 100, token=token)
    >>> r = transparency_report(q, (t, t + 1000), key=SYNTHETIC_DEMO_KEY, min_cell=0)
    >>> r.alerts_raised, r.data["actioned"], r.data["open"]
    (1, 1, 0)
    >>> published = transparency_report(q, (t, t + 1000), key=SYNTHETIC_DEMO_KEY)
    >>> published.data["actioned"], published.data["disclosure_control"]["min_cell"]
    (None, 10)
    >>> r.data["simulated"], r.data["simulation"]["decision_times"]
    (True, 'simulated')
    >>> q.close()
    """
    start, end = _period(period)
    requested_end = end
    end = closed_end(start, end, as_of)
    check_disjoint((start, end), [_period(p) for p in published])
    # a slice [:-1] would list every case but the last; 2.5 or True are no count
    if not (type(max_listed_cases) is int and max_listed_cases >= 0):
        raise ValueError(f"max_listed_cases must be a whole number >= 0, got {max_listed_cases!r}")
    check_min_cell(min_cell)
    secret = check_pseudonym_key(  # before any work
        key, synthetic=queue.simulated, source="the pseudonymisation key"
    )
    platform = check_platform(platform)
    # what the queue received by the end, never what it received later (whatever time
    # that carries): a report of a closed period is the same whenever it is made
    as_of_end, unknown = queue.items_at(end)
    items = [i for i in as_of_end if start <= i.received_time]
    simulated = queue.simulated_items(before=end)  # as the period's end saw them
    band_order = tuple(b.name for b in queue.policy.all_bands)
    alerts = [i for i in items if i.kind == "alert"]
    reports = [i for i in items if i.kind == "user_report"]
    status = {i.item_id: i.status_at(end) for i in items}
    simulation = simulation_section(queue.simulated, items, end, simulated)
    data: dict[str, Any] = {
        "report_format": REPORT_FORMAT,
        "platform": platform,
        "period": {
            "start": iso_utc_z(start),
            "end": iso_utc_z(end),
            "start_epoch": start,
            "end_epoch": end,
            **({"requested_end": iso_utc_z(requested_end)} if requested_end != end else {}),
        },
        "simulated": simulation["simulated_queue"] or simulation["decision_times"] != "measured",
        "simulation": simulation,
        "alerts_raised": len(alerts),
        "user_reports": len(reports),
        **_outcomes(alerts, status),
        "user_report_outcomes": _outcomes(reports, status),
        "user_reports_from_children": sum(i.concerns_child for i in reports),
        "received_in_period": {
            dated: {
                "alerts": sum((i.created_at < start) == earlier for i in alerts),
                "user_reports": sum((i.created_at < start) == earlier for i in reports),
            }
            for dated, earlier in (("dated_in_period", False), ("dated_before_period", True))
        },
        "by_tier": {
            name: {
                "alerts": sum(i.tier == t for i in alerts),
                **_outcomes([i for i in alerts if i.tier == t], status),
            }
            for t, name in _TIERS.items()
        },
        "by_age_band": _by(alerts, reports, lambda i: i.age_band, band_order),
        "by_channel": _by(alerts, reports, lambda i: i.channel or "unknown", CHANNEL_NAMES),
        "channels_at_period_end": not unknown & {i.item_id for i in alerts},
        **{
            f"time_to_{step}_hours": {
                "automated_detection": times(alerts, column, end, simulated),
                "user_reports": times(reports, column, end, simulated),
                "all": times(items, column, end, simulated),
            }
            for step, column in (("first_review", "first_reviewed_at"), ("decision", "decided_at"))
        },
        "automated_detection": _automated_detection(items, alerts, status),
        "cases": _cases(items, status, secret, max_listed_cases, end),
        "drift": None if drift is None else drift.to_dict(),
        "pseudonymisation": {
            "method": "HMAC-SHA256 of the JSON-encoded id, first 16 hex digits, prefixed 'p_'",
            "key": "held by the platform; not part of this report",
        },
    }
    protected = protect_report(data, min_cell=min_cell, child_bands=_child_bands(reports))
    return TransparencyReport(start, end, protected)


def _outcomes(group: list[QueueItem], status: dict[int, str]) -> dict[str, int]:
    """How many items of ``group`` ended in each of :data:`OUTCOMES` (``status``: each
    item's at the end of the period)."""
    counts = Counter(status[i.item_id] for i in group)
    return {o: int(counts.get(o, 0)) for o in OUTCOMES}


def _automated_detection(
    items: list[QueueItem], alerts: list[QueueItem], status: dict[int, str]
) -> dict[str, Any]:
    """Automated detection's share of items and of actions, and its precision measured
    from decisions (confirmed = actioned or escalated), in all and by tier."""
    acted = ("actioned", "escalated")
    decided = [i for i in alerts if status[i.item_id] != "open"]
    confirmed = sum(status[i.item_id] in acted for i in decided)
    actions = [i for i in items if status[i.item_id] in acted]
    return {
        "share_of_items": _share(len(alerts), len(items)),
        "share_of_actions": _share(sum(i.kind == "alert" for i in actions), len(actions)),
        "decided": len(decided),
        "confirmed": int(confirmed),
        "precision": _share(int(confirmed), len(decided)),
        "precision_ci95": _as_list(wilson_interval(int(confirmed), len(decided))),
        "precision_by_tier": {
            name: _share(
                sum(status[i.item_id] in acted for i in decided if i.tier == t),
                sum(i.tier == t for i in decided),
            )
            for t, name in _TIERS.items()
        },
        "method": "metadata-only risk model with age-banded thresholds (riskscore)",
    }


def _child_bands(reports: list[QueueItem]) -> list[str] | None:
    """The age bands whose user reports all come from children, when no band mixes
    children's and adults' reports (``user_reports_from_children`` is then their sum)."""
    by_band: dict[str, set[bool]] = {}
    for i in reports:
        by_band.setdefault(i.age_band, set()).add(i.concerns_child)
    if any(len(kinds) > 1 for kinds in by_band.values()):
        return None
    return [band for band, kinds in by_band.items() if kinds == {True}]


def _period(period: tuple[int, int]) -> tuple[int, int]:
    """Start and end of ``period`` as epoch seconds (ints), start before end, or a
    ``ValueError`` naming the period: ``int()`` would read 0.5 and "0" as 0 and fail on NaN."""
    try:
        start, end = period
    except (TypeError, ValueError):
        raise ValueError(f"period must be (start, end) in epoch seconds, got {period!r}") from None
    for name, t in (("start", start), ("end", end)):
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise ValueError(f"period {name} must be epoch seconds (an int), got {t!r}")
    check_period(int(start), int(end))  # names both ends: out of order or out of range
    return int(start), int(end)


def _by(
    alerts: list[QueueItem], reports: list[QueueItem], key: Any, order: Sequence[str]
) -> dict[str, dict[str, int]]:
    a, r = Counter(key(i) for i in alerts), Counter(key(i) for i in reports)
    rank = {name: k for k, name in enumerate(order)}
    names = sorted(set(a) | set(r), key=lambda n: (rank.get(n, len(rank)), n))
    return {n: {"alerts": int(a[n]), "user_reports": int(r[n])} for n in names}


def _share(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 4)


def wilson_interval(confirmed: int, decided: int) -> tuple[float, float] | None:
    """95% Wilson score interval of a precision: ``confirmed`` of ``decided`` alerts.

    Returns
    -------
    tuple of two floats, or None
        Lower and upper bounds rounded to 4 decimal places; None when nothing was decided.

    Examples
    --------
    >>> wilson_interval(9, 10)
    (0.5958, 0.9821)
    >>> wilson_interval(0, 0) is None
    True
    """
    if decided == 0:
        return None
    # Imported when a report is made, not at every command's start-up (about a second).
    from scipy.stats import binomtest

    ci = binomtest(confirmed, decided).proportion_ci(0.95, method="wilson")
    return round(float(ci.low), 4), round(float(ci.high), 4)


def _as_list(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else list(interval)


def _cases(
    items: list[QueueItem], status: dict[int, str], key: bytes, limit: int, end: int
) -> dict[str, Any]:
    # reviewed: a moderator opened or decided one of the account's items before the end
    reviewed = {json.dumps(i.adult_id) for i in items if counted(i, "first_reviewed_at", end)}
    by_adult: dict[str, list[QueueItem]] = {}
    for i in items:
        by_adult.setdefault(json.dumps(i.adult_id), []).append(i)
    listed: list[dict[str, Any]] = []
    several = 0
    for group in by_adult.values():
        children = {json.dumps(i.child_id) for i in group if i.child_not_known_adult}
        if len(children) < 2:
            continue
        several += 1
        if any(status[i.item_id] == "escalated" for i in group):
            listed.append(
                {
                    "case": pseudonymise(group[0].adult_id, key),
                    "children": len(children),
                    "conversations": len(
                        {conversation_key(i.conversation_id, i.adult_id, i.child_id) for i in group}
                    ),
                }
            )
    listed.sort(key=lambda c: (-int(c["children"]), str(c["case"])))
    return {
        "accounts_reviewed": len(reviewed),
        "accounts_with_several_children": several,
        "escalated_multi_child_cases": listed[:limit],
    }
