"""Online cost of re-scoring an adult's other conversations, between checkouts.

The same seeded synthetic stream (``--conversations``, about 40 events each) goes through
``OnlineScorer.update_one_all`` in each checkout given with ``--roots``, each in its own
process, the checkouts taking turns (``--rounds``). Every call is timed by this thread's
CPU time (other processes of a shared machine left out), the first tenth as warm-up. Per
checkout: the median, p90, p99 and p99.9 of all events, the share above 10 us, and the
events that re-scored another conversation (or, where the checkout defers re-scoring,
deferred one only) apart; the re-scores, skips and deferrals counted. The risks of every
live conversation at the end are hashed and must be the same in every checkout. Prints a
table and writes ``benchmarks/results/online_rescoring.json`` (or ``--output``).

Run::

    .venv/bin/python benchmarks/bench_online_rescoring.py --roots /path/to/old/checkout .
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, describe_checkout, run_in_checkout, run_record, write_json
from bench_online import percentiles


def time_events(
    n_conversations: int,
    seed: int,
    counters: Callable[[Any], tuple[int, ...]],
    group: Callable[[tuple[int, ...], tuple[int, ...]], int],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], Any]:
    """Every event of the seeded stream through ``update_one_all`` of a new scorer, timed by
    this thread's CPU time; ``group(before, after)`` of the scorer's ``counters`` read around
    the call numbers each event's group. Returns the times in ns and the groups (the first
    tenth, the warm-up, left out) and the scorer."""
    import riskscore as rs

    data = rs.synthetic.generate(n_conversations, prevalence=0.02, seed=seed)
    scorer = rs.OnlineScorer(rs.load_model())
    update = scorer.update_one_all
    clock = time.thread_time_ns
    n = len(data.messages)
    ns = np.empty(n, dtype=np.int64)
    kind = np.zeros(n, dtype=np.int8)
    for i, event in enumerate(data.messages.iter_events()):
        before = counters(scorer)
        start = clock()
        update(event)
        ns[i] = clock() - start
        kind[i] = group(before, counters(scorer))
    return ns[n // 10 :], kind[n // 10 :], scorer


def _rescoring_counters(scorer: Any) -> tuple[int, ...]:
    return scorer.n_rescored, getattr(scorer, "n_rescore_deferred", 0)


def _rescoring_group(before: tuple[int, ...], after: tuple[int, ...]) -> int:
    """0 plain, 1 re-scored another, 2 deferred only."""
    if after[0] != before[0]:
        return 1
    return 2 if after[1] != before[1] else 0


def measure(n_conversations: int, seed: int) -> dict[str, Any]:
    """Time every event of the stream in this process's riskscore (see the module)."""
    ns, kind, scorer = time_events(n_conversations, seed, _rescoring_counters, _rescoring_group)
    risks = [scorer.score_of(c) for c in scorer.conversation_ids]

    def stats(these: np.ndarray[Any, Any]) -> dict[str, float]:
        """:func:`bench_online.percentiles` of the events ``these`` selects, and their share."""
        if not these.any():
            return {}
        return {**percentiles(ns[these]), "share": float(these.mean())}

    return {
        "events": scorer.n_events,
        "all": {**stats(kind >= 0), "share_over_10us": float(np.mean(ns > 10_000))},
        "rescoring_events": stats(kind == 1),
        "deferring_only_events": stats(kind == 2),
        "other_events": stats(kind == 0),
        "n_rescored": scorer.n_rescored,
        "n_rescore_skipped": scorer.n_rescore_skipped,
        "n_rescore_deferred": getattr(scorer, "n_rescore_deferred", None),
        "risks_sha256": hashlib.sha256(json.dumps(risks).encode()).hexdigest(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=26_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--roots", nargs="+", default=["."], help="checkouts to compare")
    parser.add_argument("--rounds", type=int, default=2, help="turns each checkout takes")
    parser.add_argument("--output", type=Path, default=RESULTS / "online_rescoring.json")
    args = parser.parse_args(argv)

    roots = [Path(r).resolve() for r in args.roots]
    call = f"measure({args.conversations}, {args.seed})"
    print(
        f"{'checkout':24s} {'round':>5s} {'median':>7s} {'p90':>7s} {'p99':>7s} {'p99.9':>7s} "
        f"{'>10us':>6s} {'re-scored':>9s} {'deferred':>9s} {'skipped':>8s} {'rescoring p50':>13s}"
    )
    rows = []
    for turn in range(args.rounds):
        for root in roots:
            r = {"root": str(root), "git": describe_checkout(root), "round": turn + 1}
            r.update(run_in_checkout(root, "bench_online_rescoring", call))
            rows.append(r)
            a = r["all"]
            print(
                f"{r['git'][:24]:24s} {turn + 1:5d} {a['median_us']:7.2f} {a['p90_us']:7.2f} "
                f"{a['p99_us']:7.2f} {a['p999_us']:7.1f} {a['share_over_10us']:6.1%} "
                f"{r['n_rescored']:9,d} {r['n_rescore_deferred'] or 0:9,d} "
                f"{r['n_rescore_skipped']:8,d} "
                f"{r['rescoring_events'].get('median_us', 0):13.2f}"
            )
    same = len({row["risks_sha256"] for row in rows}) == 1
    print("times in us of CPU per event; risks:", "identical" if same else "DIFFER")
    record = {**run_record("online_rescoring", __file__, argv), "seed": args.seed}
    write_json(args.output, {**record, "conversations": args.conversations, "rows": rows})
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
