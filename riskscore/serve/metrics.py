"""The service's Prometheus metrics (``GET /metrics``, text exposition format).

Built on ``prometheus_client`` with a registry per application (tests and several apps
in one process do not share counters). Metrics of one process: run one scrape target
per process.

=======================================  =======  ==========================================
name                                     type     meaning
=======================================  =======  ==========================================
``riskscore_events_total``               counter  events applied by the scorer
``riskscore_events_refused_total``       counter  events refused, by ``reason`` (the error's
                                                  type, ``future_timestamp``, ``not_json``,
                                                  ``not_tried``; whole requests:
                                                  ``media_type``, ``batch_size``)
``riskscore_alerts_total``               counter  alerts raised, by ``tier``
``riskscore_scoring_seconds``            histo.   time to score one request, by ``kind``
                                                  (``single``: one event; ``batch``)
``riskscore_queue_open_items``           gauge    open review items by child ``age_band``
                                                  and ``tier`` (read at scrape time)
``riskscore_queue_open_by_wait``         gauge    open review items by time waiting
                                                  (``wait``: <1h, 1-24h, 1-7d, >7d)
``riskscore_live_conversations``         gauge    conversations held by the scorer
=======================================  =======  ==========================================
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from riskscore.moderation.queue import ReviewQueue

__all__ = ["ServeMetrics"]

_TIER_LABELS = {0: "user_report", 1: "review", 2: "urgent"}
#: Upper bounds (seconds) and names of the waiting-time bands of open items.
WAIT_BANDS: tuple[tuple[float, str], ...] = (
    (3600.0, "<1h"),
    (86_400.0, "1-24h"),
    (7 * 86_400.0, "1-7d"),
    (float("inf"), ">7d"),
)
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _QueueCollector(Collector):
    """Queue depth, read from the queue when scraped."""

    def __init__(self, queue: Callable[[], ReviewQueue | None], live: Callable[[], int]) -> None:
        self._queue = queue
        self._live = live

    def collect(self) -> Iterator[Metric]:
        live = GaugeMetricFamily(
            "riskscore_live_conversations", "Conversations held by the online scorer"
        )
        live.add_metric([], float(self._live()))
        yield live
        queue = self._queue()
        if queue is None:
            return
        depth = GaugeMetricFamily(
            "riskscore_queue_open_items",
            "Open review items by child age band and tier",
            labels=["age_band", "tier"],
        )
        for (band, tier), n in sorted(queue.open_counts().items()):
            depth.add_metric([band, _TIER_LABELS.get(tier, str(tier))], float(n))
        yield depth
        waits = GaugeMetricFamily(
            "riskscore_queue_open_by_wait",
            "Open review items by time waiting since they were raised",
            labels=["wait"],
        )
        counts = dict.fromkeys((name for _, name in WAIT_BANDS), 0)
        now = time.time()
        for created in queue.open_created_at():
            wait = now - created
            name = next(name for bound, name in WAIT_BANDS if wait < bound)
            counts[name] += 1
        for name, n in counts.items():
            waits.add_metric([name], float(n))
        yield waits


class ServeMetrics:
    """Counters and histograms of one application, and their exposition.

    Parameters
    ----------
    queue : callable
        Returns the review queue (or None while there is none) at scrape time.
    live : callable
        Returns the number of live conversations at scrape time.
    """

    def __init__(self, queue: Callable[[], ReviewQueue | None], live: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "riskscore_events", "Events applied by the online scorer", registry=self.registry
        )
        self.refused = Counter(
            "riskscore_events_refused",
            "Events refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "riskscore_alerts", "Alerts raised, by tier", ["tier"], registry=self.registry
        )
        self.latency = Histogram(
            "riskscore_scoring_seconds",
            "Time to score one POST /v1/events request, by kind (single event or batch)",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_QueueCollector(queue, live))

    def exposition(self) -> bytes:
        """All metrics in the Prometheus text format."""
        return generate_latest(self.registry)
