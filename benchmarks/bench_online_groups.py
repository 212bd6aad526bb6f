"""Where the online scorer's slow events come from: each event of a seeded stream timed and
put in one group, by what it did beyond its own conversation.

The groups: opening a conversation, deferring the re-scoring of its adult's other
conversations only, re-scoring others, skipping others (the change moved no split), and
plain (none of these). Every ``update_one_all`` call is timed by this thread's CPU time,
the first tenth as warm-up; per group: its share of events, median, p99 and its share of
all events above 10 us (what keeps the p99 above 10 us). ``--no-gc`` runs with the
garbage collector off, to see what its passes cost. Prints a table and writes
``benchmarks/results/online_groups.json`` (or ``--output``).

Run::

    .venv/bin/python benchmarks/bench_online_groups.py --conversations 5000
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, run_record, write_json
from bench_online import percentiles
from bench_online_rescoring import time_events

GROUPS = ("plain", "opening", "deferring", "re-scoring", "skipping")


def _counters(scorer: Any) -> tuple[int, ...]:
    return (
        scorer.n_conversations, scorer.n_rescore_deferred, scorer.n_rescored,
        scorer.n_rescore_skipped,
    )  # fmt: skip


def _group(before: tuple[int, ...], after: tuple[int, ...]) -> int:
    """The index in :data:`GROUPS` of an event that moved the counters from ``before`` to
    ``after``: re-scoring first, then deferring, opening and skipping."""
    for k, counter in ((3, 2), (2, 1), (1, 0), (4, 3)):
        if after[counter] != before[counter]:
            return k
    return 0


def measure(n_conversations: int, seed: int) -> dict[str, Any]:
    """Time every event of the stream and group it (see the module)."""
    ns, group, _ = time_events(n_conversations, seed, _counters, _group)
    over = float(np.mean(ns > 10_000))
    rows = {"all": {**percentiles(ns), "share": 1.0, "share_of_all_over_10us": over}}
    for k, name in enumerate(GROUPS):
        these = ns[group == k]
        if these.size:
            rows[name] = {
                **percentiles(these),
                "share": these.size / ns.size,
                "share_of_all_over_10us": float(np.sum(these > 10_000)) / ns.size,
            }
    return {"events": int(ns.size), "groups": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-gc", action="store_true", help="garbage collector off")
    parser.add_argument("--output", type=Path, default=RESULTS / "online_groups.json")
    args = parser.parse_args(argv)
    if args.no_gc:
        gc.disable()
    result = measure(args.conversations, args.seed)
    print(f"{result['events']:,} timed events; us of CPU per event")
    print(f"{'events':12s} {'share':>7s} {'median':>8s} {'p99':>8s} {'>10us of all':>13s}")
    for name, g in result["groups"].items():
        print(
            f"{name:12s} {g['share']:7.2%} {g['median_us']:8.2f} {g['p99_us']:8.2f} "
            f"{g['share_of_all_over_10us']:13.2%}"
        )
    record = run_record("online_groups", __file__, argv)
    write_json(args.output, {**record, **vars(args), "output": str(args.output), **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
