"""Shared helpers of the benchmark scripts: seeded workloads and the machine description."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
RESULTS = HERE / "results"
#: Synthetic conversations hold about 40 events each with the default mix.
EVENTS_PER_CONVERSATION = 40
SEED = 2026


def workload(n_messages: int, *, directory: Path = DATA) -> Path:
    """Path of a seeded synthetic Parquet file of about ``n_messages`` events (cached)."""
    from riskscore.synthetic import generate_parquet

    n_conversations = max(n_messages // EVENTS_PER_CONVERSATION, 1)
    path = directory / f"events_{n_conversations}c_seed{SEED}.parquet"
    if not path.exists():
        generate_parquet(
            path, n_conversations, prevalence=0.01, seed=SEED, chunk_conversations=100_000
        )
    return path


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (empty where the platform has none): on a
    shared machine, what else ran beside a timing."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _git_commit() -> str | None:
    """The commit of the working tree the benchmark ran from (None outside git)."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


def describe_checkout(root: Path) -> str:
    """The commit of checkout ``root``, with "-dirty" when it has uncommitted changes."""
    import subprocess

    done = subprocess.run(
        ["git", "-C", str(root), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "unknown"


def run_in_checkout(root: Path, module: str, call: str) -> dict[str, Any]:
    """The JSON result of ``module.call`` (a call written as Python, such as
    ``"measure(1000)"``) run in a new process that imports riskscore from checkout ``root``
    and ``module`` from these benchmarks: so that two checkouts can take turns in one run."""
    import subprocess
    import sys

    code = (
        f"import sys; sys.path[:0] = [{str(root)!r}, {str(HERE)!r}]; "
        f"import json, {module}; print(json.dumps({module}.{call}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result


def machine() -> dict[str, Any]:
    """CPU, core count, memory and library versions of this machine."""
    import numba
    import numpy
    import pyarrow

    import riskscore

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem_gb = round(pages / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
        "numba": numba.__version__,
        "riskscore": riskscore.__version__,
        "platform": platform.platform(),
    }


def memory_bandwidth(n_bytes: int = 1 << 29, repeats: int = 5) -> float:
    """Bytes moved per second by a large numpy copy (read + write), best of ``repeats``."""
    src = np.ones(n_bytes // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best


def best_of(fn: Any, repeats: int) -> tuple[float, list[float], Any]:
    """Run ``fn`` ``repeats`` times; the best wall time, all times and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), times, result


def run_record(benchmark: str, script: str, argv: list[str] | None) -> dict[str, Any]:
    """What every results file starts with: the benchmark, the command that wrote it
    (``script`` is the script's ``__file__``), the commit, the UTC time, the load
    average when it is written and the machine (library versions included)."""
    import sys

    args = " ".join(sys.argv[1:] if argv is None else argv)
    return {
        "benchmark": benchmark,
        "command": f"python benchmarks/{Path(script).name} {args}".rstrip(),
        "commit": _git_commit(),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_1_5_15_min": load_average(),
        "machine": machine(),
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
