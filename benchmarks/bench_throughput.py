"""Throughput of riskscore's batch path against expert polars and pandas peers and a Python loop.

Every pipeline starts from the same in-memory :class:`pyarrow.Table` (the Parquet file
read once, untimed) and ends with calibrated risk scores from the same model, so the
timed work is: validation (riskscore only), the 34 features and the scores. The peers
(``benchmarks/peers/``) are independent implementations written as experts of polars and
pandas would write them; ``tests/test_peers.py`` keeps them equal to riskscore, and each
peer's features are compared with riskscore's here too (largest absolute difference
printed) before any time is reported.

Two tables come out of the same runs. The first times the whole pipeline (read + validate +
features + scores), the measurement issue 14 sets its goals on (riskscore 3x the polars peer
and 10x the pandas peer). The second times read + features only: riskscore's validated read
(:func:`riskscore.read_messages`) and :func:`riskscore.extract_features`, each peer's
feature matrix; the clock stops before scoring, so no model time is in that table.

The pipelines take turns: each of ``--repeats`` rounds runs every pipeline once (the
slow Python loop only in the first round), in an order that rotates from round to round,
after an untimed warm-up of each and a garbage collection before each run, so that load
from other processes and what one run leaves behind weigh on all of them alike; the best
time of each is kept, all times are listed, and the load average is recorded before,
during and after. The CPU time of each run (all threads) is listed too: on a shared
machine it moves less with other processes' load than wall time.
Run from the repository root::

    .venv/bin/python benchmarks/bench_throughput.py            # 1 million messages
    .venv/bin/python benchmarks/bench_throughput.py --messages 10000000

Prints a table and writes ``benchmarks/results/throughput_<n>.json`` (or ``--output``).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, load_average, memory_bandwidth, run_record, workload, write_json
from bench_stages import time_stages

Pipeline = Callable[[Any], tuple[np.ndarray, np.ndarray]]
#: Largest absolute feature difference accepted as agreement (as in tests/test_peers.py).
TOLERANCE = 1e-9
PEERS = {"polars": "polars_peer", "pandas": "pandas_peer", "python loop": "python_peer"}
#: Issue 14's goals for read + validate + features + scores: riskscore at least this many
#: times faster.
GOALS = {"polars": 3.0, "pandas": 10.0}


def riskscore_pipeline(table: Any) -> tuple[np.ndarray, np.ndarray]:
    """All of riskscore's features; the columns the peers also compute are returned, in
    their order (``peers._codes.PEER_FEATURES``): riskscore computes four more."""
    from peers._codes import PEER_FEATURES

    import riskscore as rs

    X = rs.extract_features(rs.read_messages(table))
    return X.conversation_id, X.values[:, [X.names.index(n) for n in PEER_FEATURES]]


def max_abs_diff(ref: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]) -> float:
    """Largest absolute difference of two feature matrices; inf if ids or NaNs disagree."""
    if not np.array_equal(ref[0], other[0]) or ref[1].shape != other[1].shape:
        return float("inf")
    a, b = ref[1], other[1]
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return float("inf")
    both = ~np.isnan(a)
    return float(np.max(np.abs(a[both] - b[both]), initial=0.0))


def libraries() -> dict[str, str]:
    """Versions of the libraries the pipelines run on."""
    found = {}
    for name in ("riskscore", "numba", "numpy", "pyarrow", "polars", "pandas"):
        try:
            # riskscore is distributed as riskscore-metadata
            found[name] = version("riskscore-metadata" if name == "riskscore" else name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def threads() -> dict[str, int]:
    """Worker threads each library may use (``RISKSCORE_NUM_THREADS``,
    ``POLARS_MAX_THREADS``); pandas runs on one."""
    from riskscore.io.threads import worker_threads

    found = {"riskscore": worker_threads(), "pandas": 1}
    try:
        import polars as pl

        found["polars"] = pl.thread_pool_size()
    except ImportError:
        pass
    return found


def _label(n: int) -> str:
    return f"{round(n / 1e6)}m" if n >= 1_000_000 else str(n)


def _pipelines(skip: list[str], n_messages: int, python_loop_max: int) -> dict[str, Pipeline]:
    pipelines: dict[str, Pipeline] = {"riskscore": riskscore_pipeline}
    for name, module in PEERS.items():
        if name in skip or name.split()[0] in skip:
            continue
        if name == "python loop" and n_messages > python_loop_max:
            print(f"skipping {name}: more than --python-loop-max messages", file=sys.stderr)
            continue
        try:
            pipelines[name] = importlib.import_module(f"peers.{module}").features
        except ImportError as exc:
            print(f"skipping {name}: {exc} (pip install -e '.[bench]')", file=sys.stderr)
    return pipelines


#: The two tables of one run: its key in the results, and its title.
TABLES = {
    "full": "read + features + scores (the same model scores every pipeline's features)",
    "features": "read + features only (issue 14's measurement; no scoring)",
}


def _table_rows(
    times: dict[str, list[float]],
    cpu_times: dict[str, list[float]],
    diffs: dict[str, dict[str, float]],
    n_messages: int,
) -> list[dict[str, Any]]:
    """One row per pipeline: best wall and CPU time, all times, agreement; riskscore first,
    and how many times faster riskscore is than each."""
    rows: list[dict[str, Any]] = []
    for name, seconds in times.items():
        best = min(seconds)
        rows.append(
            {
                "pipeline": name,
                "seconds": best,
                "all_seconds": seconds,
                # CPU time of the process (all threads), less sensitive to other load
                "cpu_seconds": min(cpu_times[name]),
                "all_cpu_seconds": cpu_times[name],
                "messages_per_second": n_messages / best,
                **diffs[name],
            }
        )
    base = rows[0]
    for row in rows:
        row["riskscore_speedup"] = row["seconds"] / base["seconds"]
        row["riskscore_cpu_ratio"] = row["cpu_seconds"] / base["cpu_seconds"]
    return rows


def _print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'pipeline':12s} {'msgs/s':>12s} {'seconds':>8s} {'riskscore x':>11s} "
        f"{'CPU s':>7s} {'CPU x':>6s} {'max|dX|':>9s} {'max|dp|':>9s}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['pipeline']:12s} {row['messages_per_second']:12,.0f} {row['seconds']:8.3f} "
            f"{row['riskscore_speedup']:11.2f} {row['cpu_seconds']:7.3f} "
            f"{row['riskscore_cpu_ratio']:6.2f} {row['max_abs_feature_diff']:9.1e} "
            f"{row['max_abs_risk_diff']:9.1e}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="workload size")
    parser.add_argument(
        "--repeats", type=int, default=3, help="rounds; each runs every pipeline once (best kept)"
    )
    parser.add_argument(
        "--python-loop-max",
        type=int,
        default=2_000_000,
        help="run the plain Python loop only up to this many messages (it is slow)",
    )
    parser.add_argument(
        "--skip", nargs="*", default=[], help="peers to leave out: polars, pandas, python"
    )
    parser.add_argument("--output", type=Path, help="results file (default benchmarks/results/)")
    args = parser.parse_args(argv)

    import pyarrow.parquet as pq

    import riskscore as rs

    path = workload(args.messages)
    table = pq.read_table(path)
    n_messages = table.num_rows
    input_bytes = table.nbytes
    model = rs.load_model()
    from peers._codes import PEER_FEATURES

    inputs = [PEER_FEATURES.index(name) for name in model.feature_names]
    print(f"workload: {path.name}: {n_messages:,} messages, {input_bytes / 1e6:.0f} MB in memory")
    print("libraries:", ", ".join(f"{k} {v}" for k, v in libraries().items()))
    print("threads:", ", ".join(f"{k} {v}" for k, v in threads().items()))

    bandwidth = memory_bandwidth()
    print(f"memory bandwidth (numpy copy, read + write): {bandwidth / 1e9:.1f} GB/s")

    pipelines = _pipelines(args.skip, n_messages, args.python_loop_max)
    # warm-up of every pipeline (numba's compiled cache, polars' thread pool, pandas' and
    # numpy's first calls, imports), untimed: no pipeline pays first-call costs in a round
    warm = table.slice(0, 10_000)
    for features in pipelines.values():
        model.predict_proba(features(warm)[1][:, inputs])

    load_before, load_rounds = load_average(), []
    print(f"load average before (1, 5, 15 min): {load_before}")
    # per pipeline and table ("full": features + scores, "features": read + features only)
    times: dict[str, dict[str, list[float]]] = {t: {n: [] for n in pipelines} for t in TABLES}
    cpu_times: dict[str, dict[str, list[float]]] = {t: {n: [] for n in pipelines} for t in TABLES}
    results: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    names = list(pipelines)
    for round_ in range(args.repeats):
        ran = []
        # the order rotates each round: what one run leaves behind (allocator state,
        # caches, a garbage collection due) falls on a different pipeline each time
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            features = pipelines[name]
            if name == "python loop" and round_ > 0:
                continue
            gc.collect()  # untimed: no run collects the garbage of the one before
            ran.append(name)
            # one run, two clocks: read + features, then the scores of those features
            cpu_start, start = time.process_time(), time.perf_counter()
            ids, values = features(table)
            cpu_featurized, featurized = time.process_time(), time.perf_counter()
            risk = model.predict_proba(values[:, inputs])
            cpu_end, end = time.process_time(), time.perf_counter()
            results[name] = ids, values, risk
            times["features"][name].append(featurized - start)
            cpu_times["features"][name].append(cpu_featurized - cpu_start)
            times["full"][name].append(end - start)
            cpu_times["full"][name].append(cpu_end - cpu_start)
        load_rounds.append(load_average())
        print(
            f"  round {round_ + 1}: "
            + ", ".join(
                f"{name} {times['full'][name][-1]:.3f} s "
                f"(read + features {times['features'][name][-1]:.3f} s)"
                for name in ran
            )
            + f"; load {load_rounds[-1][0]}",
            flush=True,
        )
    load: dict[str, Any] = {
        "before": load_before,
        "after_each_round": load_rounds,
        "after": load_average(),
    }

    ref_ids, ref_values, ref_risk = results["riskscore"]
    diffs = {}
    for name in pipelines:
        ids, values, risk = results[name]
        diff = max_abs_diff((ref_ids, ref_values), (ids, values))
        risk_diff = float(np.max(np.abs(risk - ref_risk))) if diff != float("inf") else diff
        diffs[name] = {"max_abs_feature_diff": diff, "max_abs_risk_diff": risk_diff}
    tables = {
        table_name: _table_rows(times[table_name], cpu_times[table_name], diffs, n_messages)
        for table_name in TABLES
    }
    for table_name, title in TABLES.items():
        print(f"\n{title}")
        _print_table(tables[table_name])
    rows, feature_rows = tables["full"], tables["features"]
    base = rows[0]
    goals = {
        peer: {
            "goal": goal,
            "measured": row["riskscore_speedup"],
            "met": row["riskscore_speedup"] >= goal,
        }
        for peer, goal in GOALS.items()
        for row in rows
        if row["pipeline"] == peer
    }
    print(
        "\ngoals, read + validate + features + scores (issue 14): "
        + ", ".join(
            f"{g['goal']:g}x {peer}: {g['measured']:.2f}x {'met' if g['met'] else 'NOT met'}"
            for peer, g in goals.items()
        )
    )
    fraction = input_bytes / base["seconds"] / bandwidth
    print(
        f"\nriskscore processes {input_bytes / base['seconds'] / 1e9:.2f} GB/s of input "
        f"= {100 * fraction:.1f}% of memory bandwidth"
    )
    print(
        f"load average (1 min): before {load_before[0]}, after each round "
        f"{[r[0] for r in load_rounds]}, after {load['after'][0]} on {os.cpu_count()} cores"
    )
    ok = all(r["max_abs_feature_diff"] <= TOLERANCE for r in rows)
    print("agreement:", "all peers agree with riskscore" if ok else "DISAGREEMENT")

    # where riskscore's time goes, for the README
    stages = time_stages(str(path), repeats=3)["best_seconds"]  # the first may compile
    print(
        f"riskscore stages: validate+sort {stages['validate_sort']:.3f} s, "
        f"features {stages['features']:.3f} s, "
        f"scores with reasons {stages['scores_with_reasons']:.3f} s"
    )

    write_json(
        args.output or RESULTS / f"throughput_{_label(args.messages)}.json",
        {
            **run_record("throughput", __file__, argv),
            "libraries": libraries(),
            "threads": threads(),
            "load_average": load,
            "workload": {"file": path.name, "messages": n_messages, "input_bytes": input_bytes},
            "memory_bandwidth_bytes_per_s": bandwidth,
            "riskscore_input_bytes_per_s": input_bytes / base["seconds"],
            "riskscore_bandwidth_fraction": fraction,
            "riskscore_stages_seconds": stages,
            "pipelines": rows,
            "read_features_pipelines": feature_rows,
            "read_features_goals": goals,
            "agreement_ok": ok,
            "note": (
                "shared 2-core machine; pipelines take turns, one run each per round; "
                "best of the rounds kept, all runs listed; pipelines: read + features + "
                "scores, read_features_pipelines: read + features of the same runs, "
                "clock stopped before scoring"
            ),
        },
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
