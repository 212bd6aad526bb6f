"""``riskscore train``: train a model bundle and measure it on held-out adults."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from riskscore.cli._paths import check_out_dir
from riskscore.cli._progress import steps
from riskscore.evaluation.training_job import train_model

NAME = "train"
HELP = "train a model bundle and measure it on held-out adults"
EXAMPLE = (
    "examples:\n  riskscore train --worlds 48 --seed 2026 --out models/mine   # synthetic worlds\n"
    "  riskscore train --data data/ --out models/mine             # your labelled data"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        help="directory with events.parquet and labels.parquet (generated when omitted)",
    )
    parser.add_argument(
        "--worlds", type=int, default=48, help="drawn synthetic worlds to train on (without --data)"
    )
    parser.add_argument(
        "--conversations", type=int, default=4_000, help="conversations per world (without --data)"
    )
    parser.add_argument(
        "--prevalence",
        type=float,
        default=0.04,
        help="grooming share per world, 0 to 1 (without --data)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="root seed of the data, the split and the fit"
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=0.25,
        help="share of adults held out for the stored metrics, 0 to 1",
    )
    parser.add_argument("--out", type=Path, required=True, help="bundle directory to write")


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    check_out_dir(args.out)
    with steps(["data", "fit", "evaluate", "save"], enabled=show) as step:
        result = train_model(
            args.out,
            data_dir=args.data,
            n_worlds=args.worlds,
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
