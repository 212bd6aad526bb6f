"""Time and peak memory of ``riskscore score`` streaming 1, 10 and 100 million messages.

Each size is a seeded synthetic Parquet file generated in chunks
(:func:`riskscore.synthetic.generate_parquet`, cached in ``benchmarks/.data``); each
run is a separate ``riskscore score --chunk-rows`` process measured with
``/usr/bin/time -v`` (or, without it, ``resource.getrusage(RUSAGE_CHILDREN)``): wall
seconds, CPU seconds (user + system: the work, which other processes on a shared machine
inflate less than the wall time) and peak resident memory, with the load average just
before and after each run. Run from the repository root::

    .venv/bin/python benchmarks/bench_out_of_core.py --sizes 1 10 100 --repeat 2

Prints a table and writes ``benchmarks/results/out_of_core.json`` (or ``--output``). The
100-million file takes about 3 minutes to generate and 1 GB of disk; ``--delete`` removes
the generated files afterwards.

With several ``--roots`` (checkouts, e.g. a ``git worktree`` of an earlier commit, and
``.``), each run of a size runs every checkout in turn (its package first on
``PYTHONPATH``), so their times share the machine's load: compare them as ratios::

    .venv/bin/python benchmarks/bench_out_of_core.py --sizes 100 --repeat 3 --roots /tmp/before .
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, load_average, run_record, workload, write_json

TIME = Path("/usr/bin/time")


def _time_field(report: str, label: str) -> float | None:
    match = re.search(rf"{re.escape(label)}: ([0-9.]+)", report)
    return float(match.group(1)) if match else None


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak resident memory (bytes) of a
    child process."""
    if TIME.exists():
        start = time.perf_counter()
        done = subprocess.run(
            [str(TIME), "-v", *cmd], capture_output=True, text=True, check=True, env=env
        )
        wall = time.perf_counter() - start
        peak = _time_field(done.stderr, "Maximum resident set size (kbytes)")
        user = _time_field(done.stderr, "User time (seconds)")
        system = _time_field(done.stderr, "System time (seconds)")
        if peak is not None and user is not None and system is not None:
            return wall, user + system, peak * 1024.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if after.ru_maxrss <= before.ru_maxrss:  # an earlier, bigger child masks this one: say so
        return wall, cpu, float("nan")
    return wall, cpu, after.ru_maxrss * 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10], help="millions")
    parser.add_argument("--chunk-rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (each recorded)")
    parser.add_argument("--delete", action="store_true", help="delete generated files after")
    parser.add_argument("--roots", nargs="+", default=["."], help="checkouts to compare")
    parser.add_argument("--output", type=Path, help="results file (default benchmarks/results/)")
    args = parser.parse_args(argv)

    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    roots = [Path(r).resolve() for r in args.roots]
    # `python -m riskscore`: the same command in checkouts of any age
    riskscore = [sys.executable, "-m", "riskscore"]
    # As `make` runs it: bytecode kept even where the environment sets
    # PYTHONDONTWRITEBYTECODE (otherwise each run compiles ~900 modules again, 2.5 s); and
    # one untimed run per checkout first, so that its bytecode and numba cache are written.
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    warm = workload(20_000)
    for root in roots:
        with tempfile.TemporaryDirectory() as out:
            warm_up = [*riskscore, "score", str(warm), "--out", out, "--top", "0"]
            subprocess.run(
                [*warm_up, "--chunk-rows", "5000"],
                capture_output=True, check=True, env={**base_env, "PYTHONPATH": str(root)},
            )  # fmt: skip
    for millions in sorted(args.sizes):
        start = time.perf_counter()
        path = workload(millions * 1_000_000)
        generated = time.perf_counter() - start
        n = pq.ParquetFile(path).metadata.num_rows
        for _ in range(args.repeat):
            for root in roots:
                env = {**base_env, "PYTHONPATH": str(root)}
                load_before = load_average()
                with tempfile.TemporaryDirectory() as out:
                    cmd = [*riskscore, "score", str(path), "--out", out, "--top", "0"]
                    wall, cpu, peak = measure([*cmd, "--chunk-rows", str(args.chunk_rows)], env)
                row = {
                    "root": str(root),
                    "millions": millions,
                    "messages": n,
                    "file_bytes": path.stat().st_size,
                    "generate_seconds_if_not_cached": generated,
                    "seconds": wall,
                    "cpu_seconds": cpu,
                    "peak_rss_bytes": peak,
                    "messages_per_second": n / wall,
                    "seconds_per_million": wall / (n / 1e6),
                    "load_average_before": load_before,
                    "load_average_after": load_average(),
                }
                rows.append(row)
                print(
                    f"{millions:4d} M  {n:>12,} msgs  {wall:8.1f} s"
                    f"  {row['seconds_per_million']:6.2f} s/M  cpu {cpu:7.1f} s"
                    f"  peak {peak / 2**30:5.2f} GiB  load {load_before[:1]} ->"
                    f" {row['load_average_after'][:1]}  {root}",
                    flush=True,
                )
        if args.delete and millions >= 10:
            for leftover in path.parent.glob(path.stem + "*"):
                leftover.unlink()
    write_json(
        args.output or RESULTS / "out_of_core.json",
        {
            **run_record("out_of_core", __file__, argv),
            "chunk_rows": args.chunk_rows,
            "peak_memory_tool": "/usr/bin/time -v" if TIME.exists() else "getrusage",
            "runs": rows,
            "repeat": args.repeat,
            "roots": [str(r) for r in roots],
            "note": "shared 2-core machine: compare seconds with the load averages beside them; "
            "each checkout warmed once (bytecode and numba cache written) before the runs",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
