"""The ``riskscore`` command line: ``generate``, ``train``, ``score``.

Each subcommand parses its arguments and calls one plain function of
:mod:`riskscore.workflows`; tests call :func:`main` with a list of arguments.
Progress bars appear only on a terminal; ``--json`` prints machine-readable
results.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from riskscore.exceptions import RiskscoreError

__all__ = ["main"]

_EXAMPLES = {
    "generate": "example:\n  riskscore generate --conversations 20000 --prevalence 0.01 --seed 7 "
    "--out data/",
    "train": "examples:\n  riskscore train --conversations 60000 --seed 2026 --out models/mine\n"
    "  riskscore train --data data/ --out models/mine",
    "score": "example:\n  riskscore score data/events.parquet --out results/ --top 10\n"
    "  riskscore score events.csv --model models/mine --format csv --out results/",
}


@contextmanager
def _progress(steps: Sequence[str], *, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A step-by-step progress bar on stderr when it is a terminal."""
    from tqdm import tqdm

    bar = tqdm(total=len(steps), disable=not enabled, unit="step", leave=False)

    def advance(name: str) -> None:
        if bar.n or name != steps[0]:
            bar.update(1)
        bar.set_description(name)

    try:
        yield advance
    finally:
        bar.update(bar.total - bar.n)
        bar.close()


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskscore",
        description="Metadata-only grooming-risk scoring of conversations, with alerts for "
        "human review. Reads no message content.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    raw = argparse.RawDescriptionHelpFormatter

    gen = sub.add_parser(
        "generate",
        help="generate synthetic events and labels",
        epilog=_EXAMPLES["generate"],
        formatter_class=raw,
    )
    gen.add_argument("--conversations", type=int, default=10_000)
    gen.add_argument("--prevalence", type=float, default=0.01)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument(
        "--out", type=Path, required=True, help="directory for events.parquet and labels.parquet"
    )

    trn = sub.add_parser(
        "train",
        help="train a model bundle and measure it on held-out adults",
        epilog=_EXAMPLES["train"],
        formatter_class=raw,
    )
    trn.add_argument(
        "--data",
        type=Path,
        help="directory with events.parquet and labels.parquet "
        "(synthetic data is generated when omitted)",
    )
    trn.add_argument("--conversations", type=int, default=50_000)
    trn.add_argument("--prevalence", type=float, default=0.02)
    trn.add_argument("--seed", type=int, default=0)
    trn.add_argument("--test-fraction", type=float, default=0.25)
    trn.add_argument("--out", type=Path, required=True, help="bundle directory to write")

    sco = sub.add_parser(
        "score",
        help="score an events file and write scores and alerts",
        epilog=_EXAMPLES["score"],
        formatter_class=raw,
    )
    sco.add_argument("events", type=Path, help=".parquet, .csv or .jsonl events (schema v1)")
    sco.add_argument("--model", type=Path, help="model bundle (default: the shipped one)")
    sco.add_argument("--out", type=Path, required=True, help="directory for the outputs")
    sco.add_argument("--format", choices=("parquet", "csv", "jsonl"), default="parquet")
    sco.add_argument(
        "--errors",
        choices=("raise", "quarantine"),
        default="raise",
        help="refuse bad rows (raise) or set them aside with a reason (quarantine)",
    )
    sco.add_argument("--top", type=int, default=5, help="alerts to print (0: none)")

    for p in (gen, trn, sco):
        p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    return parser


def _cmd_generate(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    from riskscore.workflows import generate_dataset

    with _progress(["generate"], enabled=show) as step:
        step("generate")
        events, labels = generate_dataset(
            args.out,
            n_conversations=args.conversations,
            prevalence=args.prevalence,
            seed=args.seed,
        )
    return {"events": str(events), "labels": str(labels)}


def _cmd_train(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    from riskscore.workflows import train_model

    steps = ["data", "features", "fit", "evaluate", "save"]
    with _progress(steps, enabled=show) as step:
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


def _cmd_score(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    from riskscore.workflows import score_events

    with _progress(["read", "model", "score", "write"], enabled=show) as step:
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


def _print_human(command: str, result: dict[str, Any]) -> None:
    if command == "generate":
        print(f"wrote {result['events']} and {result['labels']}")
    elif command == "train":
        print(f"wrote model bundle {result['model']}")
        for key, value in result["metrics"].items():
            print(f"  {key:34s} {value:.4g}")
    elif command == "score":
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


_COMMANDS = {"generate": _cmd_generate, "train": _cmd_train, "score": _cmd_score}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``riskscore`` command line; return the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0 on success, 2 on bad input (the error is printed to stderr).
    """
    args = _build_parser().parse_args(argv)
    show = sys.stderr.isatty() and not args.json
    try:
        result = _COMMANDS[args.command](args, show)
    except (RiskscoreError, FileNotFoundError, ValueError) as exc:
        print(f"riskscore {args.command}: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, default=str))
    else:
        _print_human(args.command, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
