"""``riskscore score``: score an events file, write scores and alerts."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from riskscore.commands._progress import steps

NAME = "score"
HELP = "score an events file and write scores and alerts"
EXAMPLE = (
    "examples:\n  riskscore score data/events.parquet --out results/ --top 10\n"
    "  riskscore score events.csv --model models/mine --format csv --out results/"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("events", type=Path, help=".parquet, .csv or .jsonl events (schema v1)")
    parser.add_argument("--model", type=Path, help="model bundle (default: the shipped one)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the outputs")
    parser.add_argument("--format", choices=("parquet", "csv", "jsonl"), default="parquet")
    parser.add_argument(
        "--errors",
        choices=("raise", "quarantine"),
        default="raise",
        help="refuse bad rows (raise) or set them aside with a reason (quarantine)",
    )
    parser.add_argument("--top", type=int, default=5, help="alerts to print (0: none)")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=None,
        help="stream a Parquet file in conversation-complete chunks of about N events "
        "(bounded memory; automatic above 20 million events)",
    )


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    from riskscore.out_of_core import run_streaming, should_stream
    from riskscore.workflows import score_events

    if should_stream(args.events, args.chunk_rows, args.errors):
        return run_streaming(args, show)
    with steps(["read", "model", "score", "write"], enabled=show) as step:
        result = score_events(
            args.events,
            args.out,
            model_dir=args.model,
            fmt=args.format,
            errors=args.errors,
            progress=step,
        )
    return {
        "events": result.n_events,
        "quarantined": result.n_quarantined,
        "conversations": len(result.scores),
        "alerts": len(result.alerts),
        "urgent": sum(a.tier.name == "URGENT" for a in result.alerts),
        "scores": str(result.scores_path),
        "alerts_file": str(result.alerts_path),
        "top": [a.to_dict() for a in result.alerts[: max(args.top, 0)]],
    }


def render(result: dict[str, Any]) -> None:
    print(
        f"scored {result['conversations']} conversations ({result['events']} events, "
        f"{result['quarantined']} rows quarantined): {result['alerts']} alerts, "
        f"{result['urgent']} urgent"
    )
    for rank, alert in enumerate(result["top"], start=1):
        age = alert["child_age"]
        age_text = "unknown" if age is None else f"{age:g}"
        print(
            f"\n#{rank} {alert['tier'].upper():6s} risk {alert['risk']:.3f}  conversation "
            f"{alert['conversation_id']}  adult {alert['adult_id']} -> child "
            f"{alert['child_id']} (age {age_text}, band {alert['age_band']})"
        )
        for reason in alert["reasons"]:
            value = reason["value"]
            shown = "unknown" if value is None or math.isnan(value) else f"{value:.3g}"
            print(f"     - {reason['description']}: {shown} (+{reason['contribution']:.2f})")
    print(f"\nscores: {result['scores']}\nalerts: {result['alerts_file']}")
