"""Score schema v1 events on Spark and write scores and alerts as Parquet partitioned by date.

Run it with spark-submit (see docs/spark.md for cluster settings)::

    PYSPARK_PYTHON=.venv/bin/python .venv/bin/spark-submit --master local[2] \\
        examples/spark_job.py --input demo-output/events.parquet --output spark-output/

It reads ``--input`` (Parquet, any path Spark reads), scores every conversation
with the model bundle in ``--model`` (default: the shipped one) and writes
``OUTPUT/scores/date=YYYY-MM-DD/`` and ``OUTPUT/alerts/date=YYYY-MM-DD/``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pyspark.sql import SparkSession

import riskscore as rs
from riskscore.integrations.spark import (
    DEFAULT_BLOCK_EVENTS,
    alerts,
    read_events,
    score_events,
    write_scores,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, score, write; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, nargs="+", help="Parquet events path(s)")
    parser.add_argument("--output", required=True, help="output directory (scores/, alerts/)")
    parser.add_argument("--model", default=None, help="model bundle directory (default: shipped)")
    parser.add_argument(
        "--partitions",
        type=int,
        default=None,
        help="partitions by conversation_id (default: spark.sql.shuffle.partitions)",
    )
    parser.add_argument(
        "--block-events", type=int, default=DEFAULT_BLOCK_EVENTS, help="events per numpy call"
    )
    args = parser.parse_args(argv)

    spark = SparkSession.builder.appName("riskscore-score").getOrCreate()
    model = rs.load_model(args.model)  # verified on the driver, parameters broadcast once
    events = read_events(spark, args.input)
    scores = score_events(
        events, model, partitions=args.partitions, block_events=args.block_events
    ).cache()  # written twice (all scores, then alerts): score once
    write_scores(scores, f"{args.output.rstrip('/')}/scores")
    write_scores(alerts(scores), f"{args.output.rstrip('/')}/alerts")
    n_scored = scores.count()
    n_alerts = alerts(scores).count()
    print(f"conversations scored: {n_scored}")
    print(f"alerts: {n_alerts}")
    print(f"written to: {args.output}")
    scores.unpersist()
    return 0


if __name__ == "__main__":
    code = main()
    SparkSession.builder.getOrCreate().stop()
    raise SystemExit(code)
