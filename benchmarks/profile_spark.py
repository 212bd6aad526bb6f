"""Where a Spark scoring run spends its time: the jobs and stages of
``score_events`` + ``write_scores`` on ``local[2]``, from Spark's event log (no web UI
needed).

One session, a first run (the one-off costs), then ``--repeat`` runs; for the last run
each job's wall time (with the part of the work that started it: ``score_events``, its
checks, or the write) and each stage's tasks, summed task time, the JVM task threads' CPU
time (the Python workers' CPU is not in it) and shuffle bytes. Then the floor of any job
that brings each conversation's events together in Python, timed in the same session
(wall and CPU seconds of the driver, JVM and Python workers, best of ``--repeat``):
reading the Parquet file, that plus the shuffle and sort by conversation and input order,
and that plus handing every event to Python as Arrow (a ``mapInArrow`` that only counts
rows). Writes
``benchmarks/results/profile_spark_<conversations>.json``.

Run::

    .venv/bin/python benchmarks/profile_spark.py --conversations 100000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, run_record, write_json
from bench_spark import _best, _events, _timed


def _event_log(directory: Path) -> list[dict[str, Any]]:
    """The events of the one application logged under ``directory`` (uncompressed)."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and "events" in p.name)
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]


def stages_of(events: list[dict[str, Any]], jobs: set[int]) -> dict[str, Any]:
    """Wall time of ``jobs`` (with their descriptions) and of their stages, with tasks,
    summed task run time, JVM CPU time and shuffle bytes."""
    job_rows: dict[int, dict[str, Any]] = {}
    stage_rows: dict[int, dict[str, Any]] = {}
    owner: dict[int, int] = {}
    for event in events:
        kind = event["Event"]
        if kind == "SparkListenerJobStart" and event["Job ID"] in jobs:
            props = event.get("Properties") or {}
            job_rows[event["Job ID"]] = {
                "job": event["Job ID"],
                "part": props.get("spark.job.description", ""),
                "start_ms": event["Submission Time"],
            }
            for stage in event["Stage IDs"]:
                owner[stage] = event["Job ID"]
        elif kind == "SparkListenerJobEnd" and event["Job ID"] in job_rows:
            row = job_rows[event["Job ID"]]
            row["wall_s"] = (event["Completion Time"] - row.pop("start_ms")) / 1000
        elif kind == "SparkListenerStageCompleted":
            info = event["Stage Info"]
            if info["Stage ID"] in owner and "Submission Time" in info:
                stage_rows.setdefault(info["Stage ID"], {}).update(
                    stage=info["Stage ID"],
                    job=owner[info["Stage ID"]],
                    tasks=info["Number of Tasks"],
                    wall_s=(info["Completion Time"] - info["Submission Time"]) / 1000,
                )
        elif kind == "SparkListenerTaskEnd" and event["Stage ID"] in owner:
            metrics = event.get("Task Metrics") or {}
            row = stage_rows.setdefault(event["Stage ID"], {})
            shuffle_in = metrics.get("Shuffle Read Metrics", {})
            for key, value in (
                ("task_run_s", metrics.get("Executor Run Time", 0) / 1000),
                ("jvm_cpu_s", metrics.get("Executor CPU Time", 0) / 1e9),
                (
                    "shuffle_write_mb",
                    metrics.get("Shuffle Write Metrics", {}).get("Shuffle Bytes Written", 0) / 1e6,
                ),
                (
                    "shuffle_read_mb",
                    (shuffle_in.get("Local Bytes Read", 0) + shuffle_in.get("Remote Bytes Read", 0))
                    / 1e6,
                ),
            ):
                row[key] = row.get(key, 0.0) + value
    return {
        "jobs": sorted(job_rows.values(), key=lambda r: r["job"]),
        "stages": sorted(stage_rows.values(), key=lambda r: r.get("stage", -1)),
    }


def floor(spark: Any, path: str, partitions: int, repeat: int) -> dict[str, Any]:
    """Seconds of the steps every scoring job on Spark takes, without riskscore's work."""
    import pyarrow as pa
    from pyspark.sql import functions as sf

    def events() -> Any:
        return spark.read.parquet(path)

    def by_conversation() -> Any:
        ev = events().withColumn("_row", sf.monotonically_increasing_id())
        ev = ev.repartition(partitions, "conversation_id")
        return ev.sortWithinPartitions("conversation_id", "_row")

    def counted(batches: Any) -> Any:
        for batch in batches:
            yield pa.RecordBatch.from_arrays([pa.array([batch.num_rows], pa.int64())], ["n"])

    frames = {
        "read Parquet": events,
        "+ shuffle and sort by conversation": by_conversation,
        "+ every event to Python as Arrow": lambda: by_conversation().mapInArrow(counted, "n long"),
    }
    out = {}
    for name, frame in frames.items():

        def job(frame: Any = frame) -> None:
            frame().write.format("noop").mode("overwrite").save()

        job()  # compiles the plan's code once
        out[name] = _best([_timed(job) for _ in range(repeat)])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    import riskscore as rs
    import riskscore.integrations.spark as rs_spark

    path = str(_events(args.conversations, args.seed))
    model, policy = rs.load_model(), rs.AlertPolicy.default()
    payload = run_record("profile_spark", __file__, argv)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log"
        log.mkdir()
        conf = {
            "spark.sql.shuffle.partitions": str(args.partitions),
            "spark.eventLog.enabled": "true",
            "spark.eventLog.compress": "false",
            "spark.eventLog.dir": str(log),
        }
        spark = rs_spark.local_session(2, conf)
        spark.sparkContext.setLogLevel("ERROR")
        tracker = spark.sparkContext.statusTracker()
        walls: list[float] = []
        last: set[int] = set()
        for i in range(args.repeat + 1):
            before = set(tracker.getJobIdsForGroup(None))
            start = time.perf_counter()
            spark.sparkContext.setJobDescription("score_events")
            scores = rs_spark.score_events(
                rs_spark.read_events(spark, path), model, policy, partitions=args.partitions
            )
            spark.sparkContext.setJobDescription("write_scores")
            rs_spark.write_scores(scores, str(Path(tmp) / f"scores_{i}"))
            walls.append(time.perf_counter() - start)
            last = set(tracker.getJobIdsForGroup(None)) - before
            spark.catalog.clearCache()
        steps = floor(spark, path, args.partitions, args.repeat)
        spark.stop()
        breakdown = stages_of(_event_log(log), last)
    payload.update(
        conversations=args.conversations,
        partitions=args.partitions,
        run_wall_s=walls,
        last_run=breakdown,
        floor=steps,
    )
    print(f"runs (first is the warm-up): {[round(w, 2) for w in walls]} s")
    print(f"{'job':>5}{'wall s':>8}  part")
    for job in breakdown["jobs"]:
        print(f"{job['job']:>5}{job.get('wall_s', 0):>8.2f}  {job['part']}")
    print(
        f"{'stage':>6}{'job':>5}{'tasks':>6}{'wall s':>8}{'task s':>8}{'jvm cpu':>8}{'shw MB':>8}"
    )
    for st in breakdown["stages"]:
        print(
            f"{st.get('stage', -1):>6}{st.get('job', -1):>5}{st.get('tasks', 0):>6}"
            f"{st.get('wall_s', 0):>8.2f}{st.get('task_run_s', 0):>8.2f}"
            f"{st.get('jvm_cpu_s', 0):>8.2f}{st.get('shuffle_write_mb', 0):>8.1f}"
        )
    for name, runs in steps.items():
        print(f"floor: {name:<36}{runs['wall_s']:>7.2f} s{runs['cpu_s']:>7.2f} CPU s")
    out = args.out or RESULTS / f"profile_spark_{args.conversations}.json"
    write_json(out, payload)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
