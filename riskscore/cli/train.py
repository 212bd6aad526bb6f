"""``riskscore train``: train a model bundle and measure it on held-out adults."""

from __future__ import annotations

import argparse
from typing import Any, Final

from riskscore._words import number_text
from riskscore.cli._future_option import add_max_future_s_option
from riskscore.cli._paths import (
    bundle_dir,
    bundle_output,
    check_not_in_bundle,
    check_out_dir,
    path_argument,
)
from riskscore.cli._progress import steps
from riskscore.cli._source_options import check_source_options
from riskscore.cli._time import (
    open_fraction,
    seed,
    share,
    synthetic_conversations,
    whole_number,
)
from riskscore.evaluation.training_job import train_model
from riskscore.io import read_messages
from riskscore.io.files import check_not_inputs
from riskscore.model import load_model, save_model
from riskscore.model.bundle import (
    MANIFEST,
    MODEL_CARD,
    PARAMS,
    SIGNATURE,
    check_replaceable,
    default_model_dir,
)
from riskscore.model.recipe import DEFAULT_N_WORLDS, TRAINING_WORLD_SEEDS
from riskscore.moderation.learning import MIN_RETRAIN_POSITIVES, learn_from_decisions
from riskscore.moderation.queue_db import check_exists

NAME = "train"
HELP = "train a model bundle and measure it on held-out adults"
EXAMPLE = (
    "examples:\n  riskscore train --worlds 192 --seed 2026 --out models/mine   # synthetic worlds\n"
    "  riskscore train --data data/ --out models/mine             # your labelled data\n"
    "  riskscore train --from-queue queue.sqlite --events month/events.parquet \\\n"
    "      --out models/from-decisions                              # moderators' decisions\n\n"
    "With --from-queue the labels are the queue's decisions (actioned and escalated positive,\n"
    "dismissed negative, open left out, every other conversation presumed negative); the\n"
    "candidate is compared with --model (the shipped one by default) on the same adult-grouped\n"
    f"folds, and below {MIN_RETRAIN_POSITIVES} positive conversations only the calibration is\n"
    "refitted."
)


#: The options of each source of training data, with their defaults: one given with another
#: source would be ignored without a word, so it is refused.
_WORLDS: Final[dict[str, Any]] = {
    "worlds": DEFAULT_N_WORLDS,
    "conversations": 4_000,
    "prevalence": 0.04,
}
_DATA: Final[dict[str, Any]] = {"test_fraction": 0.25}
_QUEUE: Final[dict[str, Any]] = {"events": None, "model": None}
_SOURCES: Final = {
    "training on synthetic worlds (no --data)": _WORLDS,
    "--data": {"data": None, **_DATA},
    "--from-queue": {"from_queue": None, **_QUEUE},
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=path_argument,
        help="directory with events.parquet and labels.parquet (generated when omitted)",
    )
    parser.add_argument(
        "--worlds",
        type=whole_number(1, len(TRAINING_WORLD_SEEDS)),
        help=f"drawn synthetic worlds to train on, 1 to {len(TRAINING_WORLD_SEEDS)} "
        f"(without --data; default: {DEFAULT_N_WORLDS})",
    )
    parser.add_argument(
        "--conversations",
        type=synthetic_conversations,
        help=f"conversations per world (without --data; default: {_WORLDS['conversations']})",
    )
    parser.add_argument(
        "--prevalence",
        type=share,
        help=f"grooming share per world, 0 to 1 (without --data; default: {_WORLDS['prevalence']})",
    )
    parser.add_argument(
        "--seed", type=seed, default=0, help="root seed of the data, the split and the fit"
    )
    parser.add_argument(
        "--test-fraction",
        type=open_fraction,
        help="share of adults held out for the stored metrics, between 0 and 1 (with --data; "
        f"default: {_DATA['test_fraction']})",
    )
    parser.add_argument(
        "--out",
        type=bundle_output,
        required=True,
        help="bundle directory to write (not the --model bundle); a bundle an earlier run "
        "wrote there is replaced",
    )
    parser.add_argument(
        "--from-queue", type=path_argument, help="review queue whose decisions are the labels"
    )
    parser.add_argument(
        "--events", type=path_argument, help="with --from-queue: every event of the queue's period"
    )
    parser.add_argument(
        "--model",
        type=bundle_dir,
        help="with --from-queue: the current model bundle, or `default` for the shipped one "
        "(default: the shipped one)",
    )
    parser.add_argument(
        "--replace-shipped-model",
        action="store_true",
        help="allow --out to be the model shipped in the package (`make model`); refused "
        "otherwise, as is the model $RISKSCORE_MODEL_DIR names (train a new directory and "
        "point the variable at it)",
    )
    add_max_future_s_option(parser)


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    used = "--data" if args.data is not None else "training on synthetic worlds (no --data)"
    used = "--from-queue" if args.from_queue is not None else used
    check_source_options(args, _SOURCES, used, fill_all=True)  # train_model checks all numbers
    check_out_dir(args.out)
    check_not_in_bundle(  # before any work
        args.out,
        option="--out",
        escape="--replace-shipped-model",
        replace_shipped=args.replace_shipped_model,
    )
    # the bundle's files replace none it reads (``--from-queue out/manifest.json``)
    bundle_files = [args.out / name for name in (PARAMS, MODEL_CARD, MANIFEST, SIGNATURE)]
    check_not_inputs(bundle_files, [args.from_queue, args.events])
    check_replaceable(args.out)  # nor a file of another kind
    if args.from_queue is not None:
        return _from_queue(args)
    with steps(["data", "fit", "evaluate", "save"], enabled=show) as step:
        result = train_model(
            args.out,
            data_dir=args.data,
            n_worlds=args.worlds,
            n_conversations=args.conversations,
            prevalence=args.prevalence,
            seed=args.seed,
            test_fraction=args.test_fraction,
            max_future_s=args.max_future_s,
            progress=step,
            replace_shipped=args.replace_shipped_model,
        )
    # None for a worlds recipe: each world is measured against its truth
    label = result.model.metadata["training"].get("metrics_label")
    return {"model": str(result.directory), "metrics": result.metrics, "metrics_label": label}


def _from_queue(args: argparse.Namespace) -> dict[str, Any]:
    if args.events is None:
        raise ValueError("--from-queue needs --events: every event of the queue's period")
    check_exists(args.from_queue)  # before the events are read
    current = default_model_dir() if args.model is None else args.model
    result = learn_from_decisions(
        read_messages(args.events, max_future_s=args.max_future_s),
        args.from_queue,
        load_model(current),
        seed=args.seed,
        events_file=args.events,
        current_bundle=current,
    )
    save_model(result.model, args.out, replace_shipped=args.replace_shipped_model)
    return {
        "model": str(args.out),
        "method": result.method,
        "labels": result.labels,
        "comparison": result.comparison,
    }


def render(result: dict[str, Any]) -> None:
    print(f"wrote model bundle {result['model']}")
    if "comparison" in result:
        labels, comparison = result["labels"], result["comparison"]
        print(
            f"  {result['method']} on {number_text(labels['positive'])} positive, "
            f"{number_text(labels['negative'])} dismissed and "
            f"{number_text(labels['presumed_negative'])} presumed-negative conversations "
            f"({number_text(labels['excluded_open'])} open left out)"
        )
        print(f"  {comparison['folds']} folds grouped by adult: candidate vs current")
        for key in ("pr_auc", "roc_auc", "brier"):
            print(
                f"  {key:8s} {comparison['candidate'][key]:.4f} vs {comparison['current'][key]:.4f}"
            )
        print(f"  note: {labels['selection_bias']}")
        return
    if result["metrics_label"] is not None:
        print(f"  held-out metrics against {result['metrics_label']}")
    for key, value in result["metrics"].items():
        # None: undefined on the held-out set (no grooming conversation, no alert)
        print(f"  {key:34s} {'n/a' if value is None else format(value, '.4g')}")
