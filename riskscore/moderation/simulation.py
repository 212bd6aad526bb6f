"""A synthetic month of moderation: events, alerts, a review queue and simulated moderators.

:func:`simulate_month` runs the whole path on synthetic data so the queue and the
transparency report can be shown and tested without any real case:

1. :func:`riskscore.synthetic.generate` draws a month of events with labels;
2. :class:`~riskscore.OnlineScorer` replays them in time order and raises alerts
   at the moment each conversation crosses a tier; ``report`` events become
   user reports;
3. both go into a :class:`~riskscore.moderation.queue.ReviewQueue` as they happen;
4. simulated moderators work shifts, always take the top case, spend a
   log-normal time on it and decide from the ground truth with a set accuracy.

The moderators are a model, not a measurement: shift times, speed and accuracy
are parameters (:class:`ModeratorModel`), seeded.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from riskscore import synthetic
from riskscore._units import DAY_S, HOUR_S
from riskscore.io import MessageTable
from riskscore.io.raw import as_python_value
from riskscore.model import RiskModel, load_model
from riskscore.moderation.cases import Case
from riskscore.moderation.queue import ReviewQueue
from riskscore.moderation.user_reports import UserReport, iter_reports
from riskscore.online import OnlineScorer
from riskscore.policy import Alert, AlertPolicy

__all__ = ["ModeratorModel", "SimulatedMonth", "simulate_moderation", "simulate_month"]


@dataclass(frozen=True, slots=True)
class ModeratorModel:
    """How the simulated moderators work.

    Attributes
    ----------
    n_moderators : int
        Moderators on shift at once.
    shift_start_hour, shift_end_hour : int
        Daily shift in UTC hours (end excluded).
    minutes_per_case : float
        Median time to decide a case (log-normal, sigma ``minutes_sigma``).
    sensitivity : float
        Probability a moderator confirms a case that is grooming.
    false_positive_rate : float
        Probability a moderator confirms a case that is not.
    escalation_rate : float
        Share of confirmed cases escalated to law enforcement (doubled, capped
        at 1, when a child under 13 is concerned).
    defer_rate : float
        Share of cases that wait for more information or a second opinion after
        the first review; their decision comes ``defer_hours`` (median,
        exponential) later, and some are still open when the period ends.
    """

    n_moderators: int = 2
    shift_start_hour: int = 8
    shift_end_hour: int = 20
    minutes_per_case: float = 25.0
    minutes_sigma: float = 0.6
    sensitivity: float = 0.95
    false_positive_rate: float = 0.03
    escalation_rate: float = 0.25
    defer_rate: float = 0.15
    defer_hours: float = 36.0

    def __post_init__(self) -> None:
        if self.n_moderators < 1:
            raise ValueError(f"n_moderators must be >= 1, got {self.n_moderators}")
        if not 0 <= self.shift_start_hour < self.shift_end_hour <= 24:
            raise ValueError(
                f"shift hours must satisfy 0 <= start < end <= 24, got "
                f"{self.shift_start_hour}-{self.shift_end_hour}"
            )
        for name in ("sensitivity", "false_positive_rate", "escalation_rate", "defer_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not self.minutes_per_case > 0:
            raise ValueError(f"minutes_per_case must be > 0, got {self.minutes_per_case}")


@dataclass(frozen=True, slots=True)
class SimulatedMonth:
    """What :func:`simulate_month` produced.

    ``alert_signals`` counts alerts the scorer emitted; the queue folds a second
    alert on a conversation whose alert is still open into that item, so the
    transparency report's ``alerts_raised`` can be smaller. ``messages`` are the
    month's events (for the drift section of its transparency report).
    """

    queue_path: Path
    period: tuple[int, int]
    n_events: int
    n_conversations: int
    n_grooming: int
    alert_signals: int
    user_reports: int
    decisions: int
    truth: dict[object, bool] = field(repr=False)
    messages: MessageTable = field(repr=False)


Arrival = tuple[int, int, Alert | UserReport, str | None]


def simulate_month(
    queue_path: str | Path,
    *,
    n_conversations: int = 10_000,
    prevalence: float = 0.01,
    days: int = 30,
    seed: int = 0,
    model: RiskModel | None = None,
    policy: AlertPolicy | None = None,
    moderators: ModeratorModel | None = None,
) -> SimulatedMonth:
    """Run a synthetic month end to end into a fresh queue file.

    Parameters
    ----------
    queue_path : str or Path
        Queue database to create; it must not exist yet.
    n_conversations, prevalence, days, seed : int, float, int, int
        Passed to :func:`riskscore.synthetic.generate`; ``seed`` also seeds the moderators.
    model : RiskModel, optional
        Defaults to :func:`riskscore.load_model`.
    policy : AlertPolicy, optional
        Defaults to :meth:`AlertPolicy.default`.
    moderators : ModeratorModel, optional
        Defaults to ``ModeratorModel()``.

    Examples
    --------
    >>> import tempfile
    >>> month = simulate_month(f"{tempfile.mkdtemp()}/q.sqlite", n_conversations=300,
    ...                        prevalence=0.05, days=7, seed=1)
    >>> month.alert_signals > 0 and month.decisions > 0
    True
    """
    path = Path(queue_path)
    if path.exists():
        raise FileExistsError(f"{path} exists; simulate_month writes a fresh queue")
    data = synthetic.generate(n_conversations, prevalence=prevalence, seed=seed, days=days)
    start = synthetic.DEFAULT_START
    period = (start, start + days * DAY_S)
    truth = {
        as_python_value(k): bool(v)
        for k, v in zip(data.labels.conversation_id, data.labels.is_grooming, strict=True)
    }
    # Synthetic events dated from DEFAULT_START, not live traffic: no wall clock to be
    # ahead of (a long simulation runs past today).
    scorer = OnlineScorer(model or load_model(), policy, max_future_s=math.inf)
    arrivals: list[Arrival] = []
    for event in data.messages.iter_events():
        # update_one_all: an event can also alert its adult's other conversations.
        for alert in scorer.update_one_all(event):
            ts = int(alert.timestamp or event["timestamp"])  # type: ignore[call-overload]
            arrivals.append((ts, len(arrivals), alert, alert.max_channel))
    for report in iter_reports(data.messages):
        risk = _risk_or_zero(scorer, report.conversation_id)
        arrivals.append((report.timestamp, len(arrivals), replace(report, risk=risk), None))
    arrivals.sort(key=lambda a: (a[0], a[1]))
    # The queue bands user reports by the child's age: the same policy as the scorer.
    with ReviewQueue(path, policy=policy, simulation=True) as queue:
        decisions = simulate_moderation(
            queue, arrivals, truth, period=period, moderators=moderators, seed=seed
        )
    return SimulatedMonth(
        queue_path=path,
        period=period,
        n_events=len(data.messages),
        n_conversations=n_conversations,
        n_grooming=int(data.labels.is_grooming.sum()),
        alert_signals=sum(isinstance(a[2], Alert) for a in arrivals),
        user_reports=sum(isinstance(a[2], UserReport) for a in arrivals),
        decisions=decisions,
        truth=truth,
        messages=data.messages,
    )


def _risk_or_zero(scorer: OnlineScorer, conversation_id: object) -> float:
    try:
        return scorer.score_of(conversation_id)
    except KeyError:
        return 0.0


def simulate_moderation(
    queue: ReviewQueue,
    arrivals: list[Arrival],
    truth: dict[object, bool],
    *,
    period: tuple[int, int],
    moderators: ModeratorModel | None = None,
    seed: int = 0,
) -> int:
    """Feed ``arrivals`` (time-sorted) into ``queue`` while simulated moderators work it.

    Returns
    -------
    int
        Number of cases decided.
    """
    m = moderators or ModeratorModel()
    rng = np.random.default_rng(seed)
    start, end = period
    pending = 0  # index of the next arrival not yet queued

    def feed(until: int) -> None:
        nonlocal pending
        while pending < len(arrivals) and arrivals[pending][0] <= until:
            ts, _, item, channel = arrivals[pending]
            if isinstance(item, Alert):
                queue.add_alert(item, channel=channel, at=ts)
            else:
                queue.add_report(item)
            pending += 1

    free = [(_on_shift(start, m), k) for k in range(m.n_moderators)]
    heapq.heapify(free)
    deferred: list[tuple[int, int, Any, list[int], str, str]] = []  # decisions awaiting info
    held: set[int] = set()
    decided = 0

    def settle(until: int) -> None:
        nonlocal decided
        while deferred and deferred[0][0] <= until:
            at, _, adult, ids, outcome, moderator = heapq.heappop(deferred)
            queue.decide(adult, outcome, moderator=moderator, at=at, item_ids=ids)
            held.difference_update(ids)
            decided += 1

    while free:
        t, k = heapq.heappop(free)
        if t >= end:
            continue
        feed(t)
        settle(t)
        case = next(
            (c for c in queue.cases(now=t) if any(i.item_id not in held for i in c.items)), None
        )
        if case is None:
            nxt = arrivals[pending][0] if pending < len(arrivals) else end
            heapq.heappush(free, (_on_shift(max(nxt, t + 60), m), k))
            continue
        moderator = f"moderator-{k + 1}"
        ids = [i.item_id for i in case.items if i.item_id not in held]
        queue.mark_reviewed(case.adult_id, moderator=moderator, at=t, item_ids=ids)
        minutes = m.minutes_per_case * math.exp(m.minutes_sigma * float(rng.standard_normal()))
        done = t + max(int(minutes * 60), 60)
        outcome = _decide(case, truth, m, rng)
        if rng.random() < m.defer_rate:
            later = done + int(rng.exponential(m.defer_hours / math.log(2)) * HOUR_S)
            heapq.heappush(deferred, (later, len(deferred), case.adult_id, ids, outcome, moderator))
            held.update(ids)
        elif done < end:
            queue.decide(case.adult_id, outcome, moderator=moderator, at=done, item_ids=ids)
            decided += 1
        heapq.heappush(free, (_on_shift(done, m), k))
    feed(end - 1)
    settle(end - 1)
    return decided


def _decide(
    case: Case, truth: dict[object, bool], m: ModeratorModel, rng: np.random.Generator
) -> str:
    grooming = any(truth.get(i.conversation_id, False) for i in case.items)
    confirm = rng.random() < (m.sensitivity if grooming else m.false_positive_rate)
    if not confirm:
        return "dismissed"
    young = any(i.child_age < 13 for i in case.items if not math.isnan(i.child_age))
    rate = min(1.0, m.escalation_rate * (2.0 if young else 1.0))
    return "escalated" if rng.random() < rate else "actioned"


def _on_shift(t: int, m: ModeratorModel) -> int:
    """``t`` if it falls in a shift, else the start of the next shift."""
    day = t - t % DAY_S
    s, e = day + m.shift_start_hour * HOUR_S, day + m.shift_end_hour * HOUR_S
    if t < s:
        return s
    if t < e:
        return t
    return s + DAY_S
