"""Online scoring speed and memory: ``OnlineScorer.update_one`` against the batch API per event.

Three measurements, all on seeded synthetic events (``riskscore.synthetic.generate``):

1. **Latency** of ``update_one``: ``time.perf_counter_ns`` around every call after a
   warm-up, over about a million events, each event dict built just before its call (as
   after decoding it); median, p90, p99, p99.9 and events per second (a separate untimed
   pass through ``update_many``, building the dicts included).
2. **Against the batch API called per event**: for a subsample of events,
   ``RiskModel.predict_proba`` on the 1-row feature vector (the features come from the
   online state, so this path is *cheaper* than a real per-event batch recompute). Its
   latency, the ratio to ``update_one``, and the largest score difference (asserted 0).
3. **Account re-scoring** (``--coach``): one adult with 200 open conversations with minors
   (a coach and a team), 100,000 events among them, timed through ``update_one_all``. An
   event that changes the coach's per-account features (a block or report from a pupil, a
   contact request the pupils have not all accepted yet, an accept of a pending one)
   re-scores the coach's 199 other conversations; a plain message re-scores none. Latency
   of both kinds, and re-scores per event. The synthetic stream of (1) also records how
   many re-scores its events cause.
4. **Memory** over a long stream (10 million events by default): chunks of synthetic
   conversations, each chunk a later 30-day period with fresh ids, fed through one scorer
   with idle expiry; resident memory printed every million events.

The machine may be shared: every comparison is a ratio measured within one run.
Prints tables and writes ``benchmarks/results/online.json`` (and ``online_memory.json``).

Run::

    .venv/bin/python benchmarks/bench_online.py                  # full (about 10 minutes)
    .venv/bin/python benchmarks/bench_online.py --quick          # a smoke run
    .venv/bin/python benchmarks/bench_online.py --coach-only     # re-scoring case only
    .venv/bin/python benchmarks/bench_online.py --quick --clock cpu --out NAME.json
        # each call timed by the thread's CPU time (comparing code on a busy machine)
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numba
import numpy as np

import riskscore as rs

RESULTS = Path(__file__).parent / "results"
#: The clock around each timed call: wall time, or with ``--clock cpu`` this thread's CPU
#: time, which leaves out the time other processes of a shared machine take the core.
CLOCK = [time.perf_counter_ns]
DAY_S = 86_400


def _sklearn_version() -> str:
    import sklearn

    return str(sklearn.__version__)


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1e6 if sys.platform == "darwin" else 1e3)


def percentiles(ns: np.ndarray[Any, Any]) -> dict[str, float]:
    us = ns / 1e3
    q = np.percentile(us, [50, 90, 99, 99.9])
    return {
        "median_us": float(q[0]),
        "p90_us": float(q[1]),
        "p99_us": float(q[2]),
        "p999_us": float(q[3]),
        "mean_us": float(us.mean()),
    }


def latency(
    model: rs.RiskModel, n_conversations: int, warmup: int, sk_every: int, seed: int
) -> dict[str, Any]:
    data = rs.synthetic.generate(n_conversations, prevalence=0.02, seed=seed)
    events = list(data.messages.iter_events())
    n = len(events)
    print(f"{n:,} events, {n_conversations:,} conversations (seed {seed})")

    # events per second: one untimed pass (building each event dict included)
    scorer = rs.OnlineScorer(model)
    t0 = time.perf_counter()
    n_alerts = len(scorer.update_many(data.messages.iter_events()))
    throughput = n / (time.perf_counter() - t0)
    n_rescored = scorer.n_rescored
    n_skipped = scorer.n_rescore_skipped
    n_deferred = scorer.n_rescore_deferred

    # per-call latency, after a warm-up of `warmup` events. Each event dict is built by
    # iter_events just before its call, as after decoding a message; a pre-built list of a
    # million dicts would add the cache misses of reading cold input to every call.
    scorer = rs.OnlineScorer(model)
    stream = data.messages.iter_events()
    scorer.update_many(itertools.islice(stream, warmup))
    timed = events[warmup:]
    ns = np.empty(len(timed), dtype=np.int64)
    rescored = np.empty(len(timed), dtype=np.int64)  # other conversations each event re-scored
    alerted = np.zeros(len(timed), dtype=bool)  # events that return their own alert
    clock = CLOCK[0]
    update = scorer.update_one
    for i, event in enumerate(stream):
        before = scorer.n_rescored
        t = clock()
        alert = update(event)
        ns[i] = clock() - t
        rescored[i] = scorer.n_rescored - before
        alerted[i] = alert is not None
    online = percentiles(ns)
    some = rescored > 0

    # the batch API, one row per event, on the same (online) feature rows
    columns = [rs.FEATURE_NAMES.index(name) for name in model.feature_names]
    sample = range(0, len(timed), sk_every)
    sk_ns = np.empty(len(sample), dtype=np.int64)
    on_ns = np.empty(len(sample), dtype=np.int64)
    worst = 0.0
    replay = rs.OnlineScorer(model)
    replay.update_many(events[:warmup])
    position = 0
    for k, i in enumerate(sample):
        replay.update_many(timed[position:i])
        event = timed[i]
        t = clock()
        replay.update_one(event)
        on_ns[k] = clock() - t
        cid = event["conversation_id"]
        t = clock()
        row = replay.features_of(cid)[columns].reshape(1, -1)
        sk_risk = float(model.predict_proba(row)[0])
        sk_ns[k] = clock() - t
        worst = max(worst, abs(sk_risk - replay.score_of(cid)))
        position = i + 1
    assert worst < 1e-12, f"online and batch scores differ by {worst}"
    sk = percentiles(sk_ns)
    on_sub = percentiles(on_ns)
    return {
        "n_events": n,
        "n_timed": len(timed),
        "n_alerts": n_alerts,
        "events_per_s": throughput,
        "update_one": online,
        "rescored_total": n_rescored,
        # re-scores skipped: the account change moved no split (risk unchanged, exact)
        "rescore_skipped_total": n_skipped,
        "rescore_deferred_total": n_deferred,
        "rescored_per_event": n_rescored / n,
        "share_of_events_rescoring": float(some.mean()),
        "rescored_per_rescoring_event_max": int(rescored.max()),
        "update_one_rescoring_events": percentiles(ns[some]) if some.any() else None,
        "update_one_other_events": percentiles(ns[~some]),
        # an alert carries its exact reasons, computed for that one conversation
        "update_one_alerting_events": percentiles(ns[alerted]) if alerted.any() else None,
        "batch_subsample": len(sample),
        "update_one_on_subsample": on_sub,
        "batch_predict_proba_per_event": sk,
        "batch_events_per_s": 1e6 / sk["mean_us"],
        "speedup_median": sk["median_us"] / online["median_us"],
        "speedup_p99": sk["p99_us"] / online["p99_us"],
        "speedup_mean": sk["mean_us"] / online["mean_us"],
        "max_abs_score_diff": worst,
    }


def coach(
    model: rs.RiskModel, n_pupils: int, n_events: int, warmup: int, seed: int
) -> dict[str, Any]:
    """One adult with ``n_pupils`` open conversations with minors; time every event among them.

    Event mix per event (seeded): 94% messages and media both ways, 2% contact requests from
    the coach, 2% accepts from a pupil, 1% blocks and 1% reports from a pupil. Requests are
    pending until as many accepts arrive, so a request changes the coach's unaccepted count
    only while none are pending in excess, and an accept only while some are.
    """
    rng = np.random.default_rng(seed)
    ages = rng.integers(10, 18, size=n_pupils).astype(float).tolist()
    start = 1_767_225_600

    def event(i: int, t: int, kind: str, from_coach: bool) -> dict[str, Any]:
        coach_side = ("coach", 34.0)
        pupil_side = (f"pupil{i}", ages[i])
        (sender, sender_age), (recipient, recipient_age) = (
            (coach_side, pupil_side) if from_coach else (pupil_side, coach_side)
        )
        return {
            "conversation_id": f"team-{i}",
            "timestamp": start + t,
            "sender_id": sender,
            "recipient_id": recipient,
            "sender_age": sender_age,
            "recipient_age": recipient_age,
            "channel": "direct",
            "event": kind,
            "recipient_tz_offset_min": 60,
        }

    scorer = rs.OnlineScorer(model, idle_expiry_s=math.inf)
    for i in range(n_pupils):  # the team: a request and an accept each
        scorer.update_one_all(event(i, 2 * i, "contact_request", True))
        scorer.update_one_all(event(i, 2 * i + 1, "contact_accept", False))
    opened_rescored = scorer.n_rescored
    kinds = rng.choice(
        ["message", "media", "contact_request", "contact_accept", "block", "report"],
        size=warmup + n_events,
        p=[0.90, 0.04, 0.02, 0.02, 0.01, 0.01],
    ).tolist()
    who = rng.integers(0, n_pupils, size=warmup + n_events).tolist()
    from_coach = (rng.random(warmup + n_events) < 0.5).tolist()
    gaps = rng.integers(1, 120, size=warmup + n_events).cumsum().tolist()
    t0 = 2 * n_pupils
    ns = np.empty(n_events, dtype=np.int64)
    rescored = np.empty(n_events, dtype=np.int64)
    n_alerts = 0
    clock = CLOCK[0]
    update = scorer.update_one_all
    for k in range(warmup + n_events):
        kind = kinds[k]
        sent_by_coach = kind == "contact_request" or (
            kind in ("message", "media") and from_coach[k]
        )
        e = event(who[k], t0 + gaps[k], kind, sent_by_coach)
        before = scorer.n_rescored
        t = clock()
        alerts = update(e)
        elapsed = clock() - t
        if k >= warmup:
            ns[k - warmup] = elapsed
            rescored[k - warmup] = scorer.n_rescored - before
            n_alerts += len(alerts)
    some = rescored > 0
    per_rescore_us = float(np.median(ns[some] / rescored[some])) / 1e3 if some.any() else math.nan
    return {
        "n_pupils": n_pupils,
        "n_events": n_events,
        "opening_rescored": opened_rescored,
        "rescore_skipped_total": scorer.n_rescore_skipped,
        "rescore_deferred_total": scorer.n_rescore_deferred,
        "n_alerts": n_alerts,
        "update_one_all": percentiles(ns),
        "rescored_per_event": float(rescored.mean()),
        "share_of_events_rescoring": float(some.mean()),
        "rescored_per_rescoring_event": float(np.median(rescored[some])) if some.any() else 0.0,
        "rescoring_events": percentiles(ns[some]) if some.any() else None,
        "other_events": percentiles(ns[~some]),
        "per_rescore_us_median": per_rescore_us,
    }


def print_coach(c: dict[str, Any]) -> None:
    print(
        f"\ncoach with {c['n_pupils']} open conversations, {c['n_events']:,} events "
        f"({c['share_of_events_rescoring']:.1%} re-score the others, "
        f"{c['rescored_per_event']:.1f} re-scores per event on average)"
    )
    print(f"{'events':42s} {'median':>9s} {'p90':>9s} {'p99':>9s} {'p99.9':>9s} {'mean':>9s}")
    rows = [
        ("all (update_one_all)", c["update_one_all"]),
        (
            f"re-scoring ({c['rescored_per_rescoring_event']:.0f} others each)",
            c["rescoring_events"],
        ),
        ("the rest", c["other_events"]),
    ]
    for name, q in rows:
        if q is None:
            continue
        print(
            f"{name:42s} {q['median_us']:>7.2f}us {q['p90_us']:>7.2f}us {q['p99_us']:>7.2f}us "
            f"{q['p999_us']:>7.2f}us {q['mean_us']:>7.2f}us"
        )
    print(f"about {c['per_rescore_us_median']:.2f} us per conversation re-scored (median)")


def chunked_stream(
    n_events: int, conversations_per_chunk: int, seed: int
) -> Iterator[dict[str, Any]]:
    """Synthetic events, one 30-day period after another, ids offset per period."""
    start = 1_767_225_600
    produced = 0
    chunk = 0
    while produced < n_events:
        data = rs.synthetic.generate(
            conversations_per_chunk,
            prevalence=0.01,
            seed=seed + chunk,
            start=start + chunk * 30 * DAY_S,
            days=30,
        )
        conv_offset = chunk * 10_000_000
        account_offset = chunk * 100_000_000
        for event in data.messages.iter_events():
            event["conversation_id"] += conv_offset
            event["sender_id"] += account_offset
            event["recipient_id"] += account_offset
            yield event
            produced += 1
            if produced >= n_events:
                return
        chunk += 1


def memory(model: rs.RiskModel, n_events: int, report_every: int, seed: int) -> dict[str, Any]:
    # replayed history: its later periods are dated after today, so the clock is the events'
    scorer = rs.OnlineScorer(model, idle_expiry_s=7 * DAY_S, time_source="events")
    rows = []
    t0 = time.perf_counter()
    update = scorer.update_one
    for i, event in enumerate(chunked_stream(n_events, 5_000, seed), start=1):
        update(event)
        if i % report_every == 0:
            gc.collect()
            row = {
                "events": i,
                "rss_mb": rss_mb(),
                "conversations": scorer.n_conversations,
                "accounts": scorer.n_accounts,
                "expired": scorer.n_expired,
                "elapsed_s": time.perf_counter() - t0,
            }
            rows.append(row)
            print(
                f"{i:>12,} {row['rss_mb']:>9.1f} {row['conversations']:>14,} "
                f"{row['accounts']:>10,} {row['expired']:>12,} {row['elapsed_s']:>9.1f}",
                flush=True,
            )
    half = [r["rss_mb"] for r in rows[len(rows) // 2 :]]
    return {
        "n_events": n_events,
        "idle_expiry_s": scorer.idle_expiry_s,
        "rows": rows,
        "rss_second_half_min_mb": min(half) if half else math.nan,
        "rss_second_half_max_mb": max(half) if half else math.nan,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--conversations", type=int, default=26_000, help="about 40 events each")
    parser.add_argument("--memory-events", type=int, default=10_000_000)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--coach-pupils", type=int, default=200)
    parser.add_argument("--coach-events", type=int, default=100_000)
    parser.add_argument(
        "--coach-only", action="store_true", help="only the account re-scoring case"
    )
    parser.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="time each call by the wall clock (default) or by this thread's CPU time "
        "(preemption by other processes left out: for comparing code on a loaded machine)",
    )
    parser.add_argument(
        "--out", help="results file name in benchmarks/results/ (default online[_quick].json)"
    )
    args = parser.parse_args(argv)
    if args.clock == "cpu":
        CLOCK[0] = time.thread_time_ns
    if args.quick:
        args.conversations, args.memory_events = 2_000, 300_000
        args.coach_events = 10_000
    model = rs.load_model()
    if args.memory_only:  # run by main() in a fresh process, so RSS is the scorer's alone
        mem = memory(model, args.memory_events, max(args.memory_events // 10, 1), args.seed)
        print(json.dumps(mem), flush=True)
        return 0
    env = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "cpus": os.cpu_count(),
        "riskscore": rs.__version__,
        # the checkout imported (a comparison runs an export of the commit before with
        # PYTHONPATH), and the compiler whose code is timed
        "riskscore_path": str(Path(rs.__file__).parent.parent),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scikit_learn": _sklearn_version(),
        "load_averages_at_start": list(os.getloadavg()),
        "quick": args.quick,
        "load_average_1min_at_start": os.getloadavg()[0],
        "clock": args.clock,
    }
    print(
        f"riskscore {rs.__version__}, Python {env['python']}, {env['cpus']} CPUs, "
        f"load average {env['load_average_1min_at_start']:.2f}\n"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = args.out or ("online_quick.json" if args.quick else "online.json")
    coach_run = coach(
        model, args.coach_pupils, args.coach_events, warmup=args.coach_events // 10, seed=args.seed
    )
    print_coach(coach_run)
    if args.coach_only:
        # Keep the rest of an existing results file; replace only this case.
        path = RESULTS / name
        previous = json.loads(path.read_text()) if path.exists() else {}
        env["load_average_1min_at_end"] = os.getloadavg()[0]
        previous["coach"] = {"env": env, **coach_run}
        path.write_text(json.dumps(previous, indent=2) + "\n")
        print(f"wrote {path}")
        return 0
    print()
    lat = latency(
        model,
        args.conversations,
        warmup=min(100_000, args.conversations * 4),
        sk_every=200 if not args.quick else 20,
        seed=args.seed,
    )
    u, s = lat["update_one"], lat["batch_predict_proba_per_event"]
    print()
    print(f"{'path':42s} {'median':>9s} {'p90':>9s} {'p99':>9s} {'p99.9':>9s} {'events/s':>10s}")
    print(
        f"{'OnlineScorer.update_one':42s} {u['median_us']:>7.2f}us {u['p90_us']:>7.2f}us "
        f"{u['p99_us']:>7.2f}us {u['p999_us']:>7.2f}us {lat['events_per_s']:>10,.0f}"
    )
    print(
        f"{'RiskModel.predict_proba, 1 row per event':42s} {s['median_us']:>7.1f}us "
        f"{s['p90_us']:>7.1f}us {s['p99_us']:>7.1f}us {s['p999_us']:>7.1f}us "
        f"{lat['batch_events_per_s']:>10,.0f}"
    )
    print(
        f"\nspeed-up: {lat['speedup_median']:.0f}x at the median, "
        f"{lat['speedup_p99']:.0f}x at p99; "
        f"max |score difference| {lat['max_abs_score_diff']:.1e} over "
        f"{lat['batch_subsample']:,} events"
    )
    r = lat["update_one_rescoring_events"]
    print(
        f"re-scores: {lat['rescored_per_event']:.3f} per event, "
        f"{lat['share_of_events_rescoring']:.2%} of events re-score another conversation "
        f"(at most {lat['rescored_per_rescoring_event_max']})"
        + (f"; those take {r['median_us']:.1f} us at the median" if r else "")
    )
    a = lat["update_one_alerting_events"]
    if a:
        print(f"events that return an alert (with its reasons): {a['median_us']:.1f} us median")
    env["load_average_1min_at_end"] = os.getloadavg()[0]
    (RESULTS / name).write_text(
        json.dumps({"env": env, "latency": lat, "coach": coach_run}, indent=2) + "\n"
    )
    print(f"wrote {RESULTS / name}")
    if not args.no_memory:
        print(
            f"\nmemory over {args.memory_events:,} events (idle expiry 7 days, "
            "a new 30-day period of 5,000 conversations every ~200k events)"
        )
        print(
            f"{'events':>12s} {'RSS MB':>9s} {'conversations':>14s} {'accounts':>10s} "
            f"{'expired':>12s} {'seconds':>9s}"
        )
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-only",
                "--memory-events",
                str(args.memory_events),
                "--seed",
                str(args.seed),
            ],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        *table, last = child.stdout.rstrip().splitlines()
        print("\n".join(table))
        mem = json.loads(last)
        print(
            f"RSS over the second half: {mem['rss_second_half_min_mb']:.0f} to "
            f"{mem['rss_second_half_max_mb']:.0f} MB"
        )
        name = "online_memory_quick.json" if args.quick else "online_memory.json"
        (RESULTS / name).write_text(json.dumps({"env": env, "memory": mem}, indent=2) + "\n")
        print(f"wrote {RESULTS / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
