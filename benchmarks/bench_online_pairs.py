"""Online cost of an account in touch with many others, as the facts of its pairs move.

One account writes to ``n`` others on a public surface (``n`` conversations), then each of
them answers it in direct messages: each answer moves its pair's facts (when the two went
private), and the scorer re-scores the pair's other live conversations. The time per
answer should not grow with ``n``: the pair's other conversations are looked up, not
searched for among every conversation of the account (a campaign account, a spam bot or a
large creator). A plain direct message after all of them is timed as the reference.

Each checkout given with ``--roots`` runs in its own process, the checkouts taking turns
(``--rounds``); the best time per event is kept. The risks of every live conversation at
the end are hashed, and must be the same in every checkout. Prints a table and writes
``benchmarks/results/online_pairs.json`` (or ``--output``).

Run::

    .venv/bin/python benchmarks/bench_online_pairs.py
    .venv/bin/python benchmarks/bench_online_pairs.py --roots /path/to/old/checkout .
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, describe_checkout, run_in_checkout, run_record, write_json

T0 = 1_700_000_000


def _event(cid: str, ts: int, sender: str, recipient: str, channel: str) -> dict[str, Any]:
    ages = {"acct": 30}
    return {
        "conversation_id": cid,
        "timestamp": ts,
        "sender_id": sender,
        "recipient_id": recipient,
        "channel": channel,
        "sender_age": ages.get(sender, 25),
        "recipient_age": ages.get(recipient, 25),
    }


def measure(n: int) -> dict[str, Any]:
    """Microseconds per answer that moves a pair's facts, and per plain message after them,
    with one account in ``n`` conversations; the sha256 of every risk at the end."""
    import riskscore as rs

    scorer = rs.OnlineScorer(rs.load_model(), time_source="events", idle_expiry_s=float("inf"))
    ts = T0
    for i in range(n):
        scorer.update_one(_event(f"c{i}", ts, "acct", f"u{i}", "public"))
        ts += 1
    answers = [_event(f"c{i}", ts + i, f"u{i}", "acct", "direct") for i in range(n)]
    ts += n
    start = time.perf_counter()
    for event in answers:
        scorer.update_one(event)
    moves = time.perf_counter() - start
    plain = [_event(f"c{i}", ts + i, "acct", f"u{i}", "direct") for i in range(n)]
    start = time.perf_counter()
    for event in plain:
        scorer.update_one(event)
    messages = time.perf_counter() - start
    risks = [scorer.score_of(f"c{i}") for i in range(n)]
    return {
        "n": n,
        "pair_move_us": moves / n * 1e6,
        "plain_message_us": messages / n * 1e6,
        "risks_sha256": hashlib.sha256(json.dumps(risks).encode()).hexdigest(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000, 20_000])
    parser.add_argument("--roots", nargs="+", default=["."], help="checkouts to compare")
    parser.add_argument("--rounds", type=int, default=2, help="turns each checkout takes")
    parser.add_argument("--output", type=Path, default=RESULTS / "online_pairs.json")
    args = parser.parse_args(argv)

    roots = [Path(r).resolve() for r in args.roots]
    rows = []
    print(f"{'checkout':24s} {'conversations':>13s} {'pair move us':>13s} {'message us':>11s}")
    for n in args.sizes:
        runs: dict[Path, list[dict[str, Any]]] = {root: [] for root in roots}
        for _ in range(args.rounds):
            for root in roots:
                runs[root].append(run_in_checkout(root, "bench_online_pairs", f"measure({n})"))
        for root in roots:
            best = {
                key: min(r[key] for r in runs[root]) for key in ("pair_move_us", "plain_message_us")
            }
            row = {"root": str(root), "git": describe_checkout(root), "n": n, **best}
            row["risks_sha256"] = runs[root][0]["risks_sha256"]
            rows.append(row)
            print(
                f"{row['git'][:24]:24s} {n:13,d} {best['pair_move_us']:13.1f} "
                f"{best['plain_message_us']:11.1f}"
            )
    same = len({(row["n"], row["risks_sha256"]) for row in rows}) == len(args.sizes)
    print("risks:", "identical in every checkout" if same else "DIFFER")
    write_json(args.output, {**run_record("online_pairs", __file__, argv), "rows": rows})
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
