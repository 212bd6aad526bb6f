"""``riskscore train``: train a model bundle and measure it on held-out adults."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from riskscore.commands._progress import steps

NAME = "train"
HELP = "train a model bundle and measure it on held-out adults"
EXAMPLE = (
    "examples:\n  riskscore train --conversations 60000 --seed 2026 --out models/mine\n"
    "  riskscore train --data data/ --out models/mine"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        help="directory with events.parquet and labels.parquet (generated when omitted)",
    )
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--prevalence", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--out", type=Path, required=True, help="bundle directory to write")


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    from riskscore.workflows import train_model

    with steps(["data", "features", "fit", "evaluate", "save"], enabled=show) as step:
        result = train_model(
            args.out,
            data_dir=args.data,
            n_conversations=args.conversations,
            prevalence=args.prevalence,
            seed=args.seed,
            test_fraction=args.test_fraction,
            progress=step,
        )
    return {"model": str(result.directory), "metrics": result.metrics}


def render(result: dict[str, Any]) -> None:
    print(f"wrote model bundle {result['model']}")
    for key, value in result["metrics"].items():
        print(f"  {key:34s} {value:.4g}")
