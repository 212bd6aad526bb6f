"""Time and peak memory of ``riskscore score`` streaming 1, 10 and 100 million messages.

Each size is a seeded synthetic Parquet file generated in chunks
(:func:`riskscore.synthetic.generate_parquet`, cached in ``benchmarks/.data``); each
run is a separate ``riskscore score --chunk-rows`` process measured with
``/usr/bin/time -v`` (or, without it, ``resource.getrusage(RUSAGE_CHILDREN)``).
Run from the repository root::

    .venv/bin/python benchmarks/bench_out_of_core.py --sizes 1 10 100

Prints a table and writes ``benchmarks/results/out_of_core.json``. The 100-million
file takes about 3 minutes to generate and 1 GB of disk; ``--delete`` removes the
generated files afterwards.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, run_record, workload, write_json

TIME = Path("/usr/bin/time")


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (bytes) of a child process."""
    if TIME.exists():
        start = time.perf_counter()
        done = subprocess.run([str(TIME), "-v", *cmd], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        if match:
            return wall, int(match.group(1)) * 1024.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:  # an earlier, bigger child masks this one: say so rather than guess
        return wall, float("nan")
    return wall, peak * 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10], help="millions")
    parser.add_argument("--chunk-rows", type=int, default=2_000_000)
    parser.add_argument("--delete", action="store_true", help="delete generated files after")
    args = parser.parse_args(argv)

    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    riskscore = str(Path(sys.executable).with_name("riskscore"))
    for millions in sorted(args.sizes):
        start = time.perf_counter()
        path = workload(millions * 1_000_000)
        generated = time.perf_counter() - start
        n = pq.ParquetFile(path).metadata.num_rows
        with tempfile.TemporaryDirectory() as out:
            cmd = [riskscore, "score", str(path), "--out", out, "--top", "0"]
            wall, peak = measure([*cmd, "--chunk-rows", str(args.chunk_rows)])
        row = {
            "millions": millions,
            "messages": n,
            "file_bytes": path.stat().st_size,
            "generate_seconds_if_not_cached": generated,
            "seconds": wall,
            "peak_rss_bytes": peak,
            "messages_per_second": n / wall,
            "seconds_per_million": wall / (n / 1e6),
        }
        rows.append(row)
        print(
            f"{millions:4d} M  {n:>12,} msgs  {wall:8.1f} s  {row['seconds_per_million']:6.2f} s/M"
            f"  peak {peak / 2**30:5.2f} GiB",
            flush=True,
        )
        if args.delete and millions >= 10:
            for leftover in path.parent.glob(path.stem + "*"):
                leftover.unlink()
    write_json(
        RESULTS / "out_of_core.json",
        {
            **run_record("out_of_core", __file__, argv),
            "chunk_rows": args.chunk_rows,
            "peak_memory_tool": "/usr/bin/time -v" if TIME.exists() else "getrusage",
            "runs": rows,
            "note": "shared 2-core machine; one run per size",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
