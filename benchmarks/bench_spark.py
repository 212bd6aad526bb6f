"""Spark scoring throughput: ``riskscore.integrations.spark.score_events`` on ``local[2]``
against single-machine ``model.score`` on the same 2 cores and the same events, at
several sizes, with the one-off costs apart from the cost per event.

Events are generated (seeded) into one Parquet file per size. Both paths read that file
and produce per-conversation risk and tiers:

* single machine: ``read_messages(path)`` then ``model.score`` then ``policy.tiers``;
* Spark: ``read_events`` + ``score_events`` + a write of the scores to Parquet
  partitioned by date (the job of ``examples/spark_job.py``), and the same job written to
  Spark's ``noop`` sink (everything but the Parquet files), each timed apart from the
  session start and from the first run (JVM, Python workers, imports and compiled
  kernels loading: the one-off costs).

For each size the best of ``--repeat`` runs counts (the machine may be shared: the load
average before and after each timing is recorded). The per-event cost of Spark is the
slope between the smallest and the largest size (the fixed cost of a job cancels out);
cached rows are released after each run (``spark.catalog.clearCache()``). Risks must be
equal to the last bit. Writes ``benchmarks/results/spark_sizes.json``.

``--roots OLD NEW`` runs each checkout in its own process (a session of its own), one
after the other, so that a change is measured before and after in one run; several
``--partitions`` likewise.

Run::

    .venv/bin/python benchmarks/bench_spark.py      # 20,000 and 100,000 conversations
    .venv/bin/python benchmarks/bench_spark.py --conversations 20000 --partitions 8
    .venv/bin/python benchmarks/bench_spark.py --roots /path/to/old/checkout .
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    RESULTS,
    describe_checkout,
    load_average,
    run_in_checkout,
    run_record,
    write_json,
)

DATA = Path(__file__).resolve().parent / ".data" / "spark"


def _events(n_conversations: int, seed: int) -> Path:
    """The seeded events of ``n_conversations`` conversations (generated once, cached)."""
    import riskscore as rs

    directory = DATA / f"{n_conversations}c_seed{seed}"
    path = directory / "events.parquet"
    if not path.exists():
        rs.synthetic.generate(n_conversations, prevalence=0.01, seed=seed).write(directory)
    return path


def tree_cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds (user + system) of process ``pid`` (this one by default) and of all its
    descendants, the reaped ones included: with Spark, the driver, the JVM and the Python
    workers. On a shared machine wall time grows with the load; CPU time much less."""
    root = os.getpid() if pid is None else pid
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        # fields[1] is the parent; utime, stime, cutime, cstime are fields 11 to 14
        stats[int(entry.name)] = (int(fields[1]), sum(float(v) for v in fields[11:15]))
    children: dict[int, list[int]] = {}
    for child, (parent, _) in stats.items():
        children.setdefault(parent, []).append(child)
    todo, ticks = [root], 0.0
    while todo:
        pid_ = todo.pop()
        ticks += stats.get(pid_, (0, 0.0))[1]
        todo += children.get(pid_, [])
    return ticks / os.sysconf("SC_CLK_TCK")


def _timed(fn: Any) -> tuple[float, float, list[float]]:
    """Wall seconds ``fn()`` took, the CPU seconds of this process and its descendants
    meanwhile, and the 1-minute load average before and after."""
    before, cpu = load_average()[:1], tree_cpu_seconds()
    start = time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    return wall, tree_cpu_seconds() - cpu, before + load_average()[:1]


def _best(runs: list[tuple[float, float, list[float]]]) -> dict[str, Any]:
    """The least wall and CPU seconds of ``runs`` (each the least of its own), every run's
    figures and the load averages around them."""
    return {
        "wall_s": min(wall for wall, _, _ in runs),
        "cpu_s": min(cpu for _, cpu, _ in runs),
        "wall_runs": [round(wall, 3) for wall, _, _ in runs],
        "cpu_runs": [round(cpu, 3) for _, cpu, _ in runs],
        "load_1min": [load for _, _, load in runs],
    }


def single_machine(n_conversations: int, repeat: int, seed: int) -> dict[str, Any]:
    """Best seconds of ``read_messages`` + ``model.score`` + ``policy.tiers``."""
    import riskscore as rs

    path = _events(n_conversations, seed)
    model, policy = rs.load_model(), rs.AlertPolicy.default()

    def run() -> None:
        scored = model.score(rs.read_messages(path))
        policy.tiers(scored.risk, scored.child_age, scored.adult_age)

    run()  # the first run loads the compiled kernels, as Spark's first run does
    return {
        "conversations": n_conversations,
        "events": len(rs.read_messages(path)),
        **_best([_timed(run) for _ in range(repeat)]),
    }


def spark_runs(
    sizes: list[int], repeat: int, partitions: int, seed: int, conf: dict[str, str]
) -> dict[str, Any]:
    """One ``local[2]`` session: its start, then per size a first run and the best of
    ``repeat`` runs written as Parquet and to the ``noop`` sink; risks compared with
    ``model.score`` on one machine (largest absolute difference)."""
    import numpy as np
    import pyspark

    import riskscore as rs
    import riskscore.integrations.spark as rs_spark

    model, policy = rs.load_model(), rs.AlertPolicy.default()
    settings = {"spark.sql.shuffle.partitions": str(partitions), **conf}
    holder: list[Any] = []

    def start() -> None:
        holder.append(rs_spark.local_session(2, settings))
        holder[0].range(1).count()  # the JVM, the scheduler and a first job

    session = _best([_timed(start)])
    spark = holder[0]
    spark.sparkContext.setLogLevel("ERROR")
    out: dict[str, Any] = {
        "session_start_s": session["wall_s"],
        "session_start_cpu_s": session["cpu_s"],
        "pyspark": pyspark.__version__,
        "java": _java_version(),
        "settings": settings,
        "sizes": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for n_conversations in sizes:
            path = str(_events(n_conversations, seed))
            sink = Path(tmp) / f"scores_{n_conversations}"

            def job(noop: bool, path: str = path, sink: Path = sink) -> None:
                events = rs_spark.read_events(spark, path)
                scores = rs_spark.score_events(events, model, policy, partitions=partitions)
                if noop:
                    scores.write.format("noop").mode("overwrite").save()
                else:
                    rs_spark.write_scores(scores, str(sink))
                spark.catalog.clearCache()  # the rows score_events cached

            first = _best([_timed(lambda: job(False))])
            parquet = _best([_timed(lambda: job(False)) for _ in range(repeat)])
            noop = _best([_timed(lambda: job(True)) for _ in range(repeat)])
            got = spark.read.parquet(str(sink)).select("conversation_id", "risk").toArrow()
            ref = model.score(rs.read_messages(path))
            risk = got.sort_by("conversation_id")["risk"].to_numpy()
            max_diff = float(np.max(np.abs(risk - ref.risk)))
            assert max_diff == 0.0, max_diff
            out["sizes"].append(
                {
                    "conversations": n_conversations,
                    "events": len(rs.read_messages(path)),
                    "first_run": first,
                    "parquet": parquet,
                    "noop": noop,
                    "max_risk_difference": max_diff,
                }
            )
    spark.stop()
    return out


def _java_version() -> str:
    done = subprocess.run(["java", "-version"], capture_output=True, text=True)
    lines = (done.stderr or done.stdout).splitlines()
    return lines[0] if lines else "unknown"


def measure(sizes: list[int], repeat: int, partitions: int, seed: int) -> dict[str, Any]:
    """Single machine and Spark at each size (the call ``--roots`` runs in each checkout)."""
    single = [single_machine(n, repeat, seed) for n in sizes]
    spark = spark_runs(sizes, repeat, partitions, seed, {})
    return {"single_machine": single, "spark": spark}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Events per second (wall) and per CPU second at each size, and the same for the extra
    events between the smallest and the largest size (the slope: one-off and per-job costs
    cancel out), for the single machine, Spark writing Parquet and Spark to ``noop``; and
    Spark over the single machine (both on the same 2 cores: the ratio of per-core
    throughputs)."""
    paths = {
        "single_machine": [(one["events"], one) for one in result["single_machine"]],
        "spark_parquet": [(s["events"], s["parquet"]) for s in result["spark"]["sizes"]],
        "spark_noop": [(s["events"], s["noop"]) for s in result["spark"]["sizes"]],
    }
    rows: dict[str, Any] = {}
    for name, points in paths.items():
        for n, runs in points:
            row = rows.setdefault(str(n), {})
            row[f"{name}_events_per_s"] = n / runs["wall_s"]
            row[f"{name}_events_per_cpu_s"] = n / runs["cpu_s"] if runs["cpu_s"] else None
        (n0, lo), (n1, hi) = points[0], points[-1]
        if n1 > n0:
            for unit, key in (("s", "wall_s"), ("cpu_s", "cpu_s")):
                extra = hi[key] - lo[key]
                rows.setdefault("slope", {})[f"{name}_events_per_{unit}"] = (
                    (n1 - n0) / extra if extra > 0 else None
                )
    for row in rows.values():
        for path in ("spark_parquet", "spark_noop"):
            for unit in ("s", "cpu_s"):
                spark, single = (
                    row.get(f"{path}_events_per_{unit}"),
                    row.get(f"single_machine_events_per_{unit}"),
                )
                if spark and single:
                    row[f"{path}_over_single_per_{unit}"] = spark / single
    return rows


def _print(label: str, result: dict[str, Any]) -> None:
    spark, summ = result["spark"], summary(result)
    print(
        f"{label}: Spark session start {spark['session_start_s']:.1f} s, pyspark {spark['pyspark']}"
    )
    print(
        f"{'events':>12}{'single s':>10}{'cpu s':>8}{'spark s':>10}{'cpu s':>8}{'noop s':>9}"
        f"{'cpu s':>8}{'1st run s':>11}{'wall ratio':>12}{'cpu ratio':>11}"
    )
    for one, sp in zip(result["single_machine"], spark["sizes"], strict=True):
        row = summ[str(one["events"])]
        print(
            f"{one['events']:>12,}{one['wall_s']:>10.2f}{one['cpu_s']:>8.2f}"
            f"{sp['parquet']['wall_s']:>10.2f}{sp['parquet']['cpu_s']:>8.2f}"
            f"{sp['noop']['wall_s']:>9.2f}{sp['noop']['cpu_s']:>8.2f}"
            f"{sp['first_run']['wall_s']:>11.2f}"
            f"{row.get('spark_parquet_over_single_per_s', 0):>12.3f}"
            f"{row.get('spark_parquet_over_single_per_cpu_s', 0):>11.3f}"
        )
    for key, value in summ.get("slope", {}).items():
        print(f"  slope {key}: {value:,.3f}" if value is not None else f"  slope {key}: n/a")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--partitions",
        type=int,
        nargs="+",
        default=[2],
        help="partitions of the repartitions: one per core by default; several values "
        "run one after the other, each in a session of its own",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--roots", type=Path, nargs="+", help="checkouts to take turns")
    parser.add_argument("--out", type=Path, default=RESULTS / "spark_sizes.json")
    args = parser.parse_args(argv)
    sizes = sorted(args.conversations)
    payload = run_record("spark", __file__, argv)
    payload["note"] = (
        "local[2] against one process on the same 2 cores; best of --repeat runs after a "
        "first run; session start and first run apart; slope = extra events / extra "
        "seconds between the smallest and the largest size"
    )
    checkouts: dict[str, Any] = {}
    for root in args.roots or [Path(__file__).resolve().parents[1]]:
        for partitions in args.partitions:
            call = f"measure({sizes!r}, {args.repeat}, {partitions}, {args.seed})"
            result = run_in_checkout(root.resolve(), "bench_spark", call)
            label = f"{root} ({describe_checkout(root)}), {partitions} partitions"
            _print(label, result)
            checkouts[label] = {**result, "summary": summary(result)}
    payload["runs"] = checkouts
    payload["load_average_after"] = load_average()
    write_json(args.out, payload)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
