"""Throughput of riskscore's batch path against polars, pandas and a plain Python loop.

Every pipeline starts from the same in-memory :class:`pyarrow.Table` (the Parquet file
read once, untimed) and ends with calibrated risk scores from the same model, so the
timed work is: validation (riskscore only), features and scores. Each peer's features
are compared with riskscore's (largest absolute difference printed) before any time is
reported. Run from the repository root::

    .venv/bin/python benchmarks/bench_throughput.py            # 1 million messages
    .venv/bin/python benchmarks/bench_throughput.py --messages 10000000

Prints a table and writes ``benchmarks/results/throughput_<n>.json``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import RESULTS, best_of, memory_bandwidth, run_record, workload, write_json
from bench_stages import time_stages

Pipeline = Callable[[Any], tuple[np.ndarray, np.ndarray]]


def riskscore_pipeline(table: Any) -> tuple[np.ndarray, np.ndarray]:
    import riskscore as rs

    X = rs.extract_features(rs.read_messages(table))
    return X.conversation_id, X.values


def max_abs_diff(ref: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]) -> float:
    """Largest absolute difference of two feature matrices; inf if ids or NaNs disagree."""
    if not np.array_equal(ref[0], other[0]) or ref[1].shape != other[1].shape:
        return float("inf")
    a, b = ref[1], other[1]
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return float("inf")
    both = ~np.isnan(a)
    return float(np.max(np.abs(a[both] - b[both]), initial=0.0))


def _label(n: int) -> str:
    return f"{round(n / 1e6)}m" if n >= 1_000_000 else str(n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="workload size")
    parser.add_argument("--repeats", type=int, default=3, help="runs per pipeline (best kept)")
    parser.add_argument(
        "--python-loop-max",
        type=int,
        default=2_000_000,
        help="run the plain Python loop only up to this many messages (it is slow)",
    )
    parser.add_argument("--skip", nargs="*", default=[], help="peers to leave out")
    args = parser.parse_args(argv)

    import pyarrow.parquet as pq

    import riskscore as rs

    path = workload(args.messages)
    table = pq.read_table(path)
    n_messages = table.num_rows
    input_bytes = table.nbytes
    model = rs.load_model()
    print(f"workload: {path.name}: {n_messages:,} messages, {input_bytes / 1e6:.0f} MB in memory")

    bandwidth = memory_bandwidth()
    print(f"memory bandwidth (numpy copy, read + write): {bandwidth / 1e9:.1f} GB/s")

    pipelines: dict[str, Pipeline] = {"riskscore": riskscore_pipeline}
    peers_available: dict[str, str] = {}
    for name, module in (("polars", "polars_peer"), ("pandas", "pandas_peer")):
        if name in args.skip:
            continue
        try:
            mod = __import__(f"peers.{module}", fromlist=["features"])
        except ImportError as exc:
            print(f"skipping {name}: {exc} (pip install -e '.[bench]')", file=sys.stderr)
            continue
        pipelines[name] = mod.features
        peers_available[name] = module
    if "python" not in args.skip and n_messages <= args.python_loop_max:
        from peers import python_peer

        pipelines["python loop"] = python_peer.features

    rows: list[dict[str, Any]] = []
    reference = None
    for name, features in pipelines.items():
        repeats = 1 if name == "python loop" else args.repeats

        def job(features: Pipeline = features) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            ids, values = features(table)
            return ids, values, model.predict_proba(values)

        best, times, (ids, values, risk) = best_of(job, repeats)
        if reference is None:
            reference = (ids, values)
            ref_risk = risk
        diff = max_abs_diff(reference, (ids, values))
        risk_diff = float(np.max(np.abs(risk - ref_risk))) if diff != float("inf") else diff
        rows.append(
            {
                "pipeline": name,
                "seconds": best,
                "all_seconds": times,
                "messages_per_second": n_messages / best,
                "max_abs_feature_diff": diff,
                "max_abs_risk_diff": risk_diff,
            }
        )
        print(f"  {name:12s} best {best:7.3f} s of {[round(t, 3) for t in times]}", flush=True)

    base = rows[0]
    print()
    header = (
        f"{'pipeline':12s} {'msgs/s':>12s} {'seconds':>8s} {'riskscore x':>11s} "
        f"{'max|dX|':>9s} {'max|dp|':>9s}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        row["riskscore_speedup"] = row["seconds"] / base["seconds"]
        print(
            f"{row['pipeline']:12s} {row['messages_per_second']:12,.0f} {row['seconds']:8.3f} "
            f"{row['riskscore_speedup']:11.1f} {row['max_abs_feature_diff']:9.1e} "
            f"{row['max_abs_risk_diff']:9.1e}"
        )
    fraction = input_bytes / base["seconds"] / bandwidth
    print(
        f"\nriskscore processes {input_bytes / base['seconds'] / 1e9:.2f} GB/s of input "
        f"= {100 * fraction:.1f}% of memory bandwidth"
    )
    ok = all(r["max_abs_feature_diff"] < 1e-6 for r in rows)
    print("agreement:", "all peers agree with riskscore" if ok else "DISAGREEMENT")

    # where riskscore's time goes, for the README
    stages = time_stages(str(path), repeats=1)["best_seconds"]
    print(
        f"riskscore stages: validate+sort {stages['validate_sort']:.3f} s, "
        f"features {stages['features']:.3f} s, "
        f"scores with reasons {stages['scores_with_reasons']:.3f} s"
    )

    write_json(
        RESULTS / f"throughput_{_label(args.messages)}.json",
        {
            **run_record("throughput", __file__, argv),
            "workload": {"file": path.name, "messages": n_messages, "input_bytes": input_bytes},
            "memory_bandwidth_bytes_per_s": bandwidth,
            "riskscore_input_bytes_per_s": input_bytes / base["seconds"],
            "riskscore_bandwidth_fraction": fraction,
            "riskscore_stages_seconds": stages,
            "pipelines": rows,
            "agreement_ok": ok,
            "note": "shared 2-core machine; best of --repeats runs, all runs listed",
        },
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
