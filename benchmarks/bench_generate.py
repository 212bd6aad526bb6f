"""Benchmark: generate about 10 million synthetic events and write them to Parquet in chunks.

Runs ``riskscore.synthetic.generate_parquet`` twice with the same seed into a temporary
directory, times each run (generation and writing together, wall clock), checks that the two
runs wrote byte-identical files (sha256), prints a table and writes
``benchmarks/results/generate.json`` with the machine's details.

Usage::

    .venv/bin/python benchmarks/bench_generate.py [--conversations 250000]
        [--chunk-conversations 100000] [--seed 0] [--repeats 2]

250,000 conversations is about 10.06 million events with the default scenario mix.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from riskscore.model.bundle import sha256_of
from riskscore.synthetic import generate_parquet

RESULTS = Path(__file__).parent / "results" / "generate.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=250_000)
    parser.add_argument("--chunk-conversations", type=int, default=100_000)
    parser.add_argument("--prevalence", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            out = Path(tmp) / f"run{i}"
            start = time.perf_counter()
            events, labels = generate_parquet(
                out / "events.parquet",
                args.conversations,
                prevalence=args.prevalence,
                seed=args.seed,
                chunk_conversations=args.chunk_conversations,
            )
            seconds = time.perf_counter() - start
            meta = pq.ParquetFile(events).metadata
            runs.append(
                {
                    "seconds": seconds,
                    "events": meta.num_rows,
                    "row_groups": meta.num_row_groups,
                    "events_bytes": events.stat().st_size,
                    "events_sha256": sha256_of(events),
                    "labels_sha256": sha256_of(labels),
                }
            )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    identical = len({(r["events_sha256"], r["labels_sha256"]) for r in runs}) == 1
    n_events = runs[0]["events"]

    print(
        f"generate_parquet({args.conversations:,} conversations, "
        f"chunk_conversations={args.chunk_conversations:,}, seed={args.seed}) "
        f"on {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print("\n| run | events | seconds | events/s | file MB |\n|---|---|---|---|---|")
    for i, r in enumerate(runs):
        print(
            f"| {i + 1} | {r['events']:,} | {r['seconds']:.1f} | "
            f"{r['events'] / r['seconds']:,.0f} | {r['events_bytes'] / 1e6:.0f} |"
        )
    print(f"\npeak resident memory: {peak_mb:,.0f} MB")
    print(f"byte-identical files across runs: {identical}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "command": "python benchmarks/bench_generate.py "
                f"--conversations {args.conversations} "
                f"--chunk-conversations {args.chunk_conversations} "
                f"--prevalence {args.prevalence} --seed {args.seed} --repeats {args.repeats}",
                "n_events": n_events,
                "runs": runs,
                "best_seconds": min(r["seconds"] for r in runs),
                "peak_rss_mb": round(peak_mb),
                "byte_identical": identical,
                "machine": {
                    "cpu_count": os.cpu_count(),
                    "platform": platform.platform(),
                    "processor": platform.processor(),
                    "python": sys.version.split()[0],
                    "numpy": np.__version__,
                    "pyarrow": pa.__version__,
                    "load_average_at_end": os.getloadavg(),
                },
            },
            indent=2,
        )
        + "\n"
    )
    if not identical:
        raise SystemExit("files differ between runs with the same seed")


if __name__ == "__main__":
    main()
