"""``riskscore generate``: synthetic events and labels."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from riskscore.commands._progress import steps

NAME = "generate"
HELP = "generate synthetic events and labels"
EXAMPLE = (
    "example:\n  riskscore generate --conversations 20000 --prevalence 0.01 --seed 7 --out data/"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--prevalence", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, required=True, help="directory for events.parquet and labels.parquet"
    )


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    from riskscore.workflows import generate_dataset

    with steps(["generate"], enabled=show) as step:
        step("generate")
        events, labels = generate_dataset(
            args.out,
            n_conversations=args.conversations,
            prevalence=args.prevalence,
            seed=args.seed,
        )
    return {"events": str(events), "labels": str(labels)}


def render(result: dict[str, Any]) -> None:
    print(f"wrote {result['events']} and {result['labels']}")
