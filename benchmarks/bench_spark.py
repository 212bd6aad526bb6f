"""Spark scoring throughput: ``riskscore.integrations.spark.score_events`` on ``local[2]`` against
single-machine ``model.score`` on the same 2 cores and the same events.

Events are generated (seeded) into one Parquet file. Both paths read that file and
produce per-conversation risk and tiers:

* single machine: ``read_messages(path)`` then ``model.score`` then ``policy.tiers``;
* Spark: ``read_events`` + ``score_events`` + a write of the scores to Parquet
  partitioned by date (the job of ``examples/spark_job.py``), after one warm-up run
  so that the JVM and the Python workers are started.

Each is timed ``--repeat`` times; the best run counts (the machine may be shared: the
load average is recorded). Risks are checked equal to 1e-9. Writes
``benchmarks/results/spark.json``.

Run::

    .venv/bin/python benchmarks/bench_spark.py                     # 20,000 conversations
    .venv/bin/python benchmarks/bench_spark.py --conversations 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import riskscore as rs
import riskscore.integrations.spark as rs_spark

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=RESULTS / "spark.json")
    args = parser.parse_args(argv)

    model = rs.load_model()
    policy = rs.AlertPolicy.default()
    with tempfile.TemporaryDirectory() as tmp:
        events_path, _ = rs.synthetic.generate(
            args.conversations, prevalence=0.01, seed=args.seed
        ).write(tmp)
        single = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            msgs = rs.read_messages(events_path)
            ref = model.score(msgs)
            policy.tiers(ref.risk, ref.child_age, ref.adult_age)
            single.append(time.perf_counter() - t0)
        n_events = len(msgs)

        spark = rs_spark.local_session(2, {"spark.sql.shuffle.partitions": str(args.partitions)})
        runs = []
        for i in range(args.repeat + 1):  # the first run warms the JVM and the workers up
            out = Path(tmp) / f"scores_{i}"
            t0 = time.perf_counter()
            events = rs_spark.read_events(spark, str(events_path))
            scores = rs_spark.score_events(events, model, policy, partitions=args.partitions)
            rs_spark.write_scores(scores, str(out))
            elapsed = time.perf_counter() - t0
            if i:
                runs.append(elapsed)
        got = spark.read.parquet(str(out)).select("conversation_id", "risk").toArrow()
        got = got.sort_by("conversation_id")
        max_diff = float(np.max(np.abs(got["risk"].to_numpy() - ref.risk)))
        assert max_diff < 1e-9, max_diff
        spark.stop()

    result = {
        "conversations": args.conversations,
        "events": n_events,
        "partitions": args.partitions,
        "single_machine_s": min(single),
        "spark_local2_s": min(runs),
        "single_machine_msgs_per_s": n_events / min(single),
        "spark_local2_msgs_per_s": n_events / min(runs),
        "spark_over_single": min(single) / min(runs),
        "max_risk_difference": max_diff,
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "pyspark": __import__("pyspark").__version__,
        "note": "best of --repeat runs; Spark includes reading Parquet and writing scores",
    }
    print(f"{'path':<24}{'seconds':>10}{'events/s':>14}")
    print(f"{'single machine':<24}{min(single):>10.2f}{n_events / min(single):>14,.0f}")
    print(f"{'spark local[2]':<24}{min(runs):>10.2f}{n_events / min(runs):>14,.0f}")
    print(f"events: {n_events:,}  max |risk difference|: {max_diff:.2e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
