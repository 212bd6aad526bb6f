"""``riskscore evaluate``: measure a model bundle on labelled events, write a report."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Final

from riskscore._optional import import_extra
from riskscore._words import number_text, plural
from riskscore.cli._future_option import add_max_future_s_option
from riskscore.cli._paths import MODEL_HELP, bundle_dir, check_out_dir, output_path, path_argument
from riskscore.cli._policy_option import add_policy_option, load_policy
from riskscore.cli._progress import steps
from riskscore.cli._source_options import check_source_options
from riskscore.cli._time import seed, synthetic_conversations, whole_number
from riskscore.cli._unread import unread_note
from riskscore.evaluation import evaluate
from riskscore.evaluation.in_sample import in_sample_warning
from riskscore.evaluation.labels import LABEL_COLUMNS
from riskscore.evaluation.markdown import num, with_ci
from riskscore.evaluation.metrics import MAX_BOOTSTRAP, check_replicates
from riskscore.evaluation.report import REPORT_FILES
from riskscore.evaluation.robustness import EVALUATION_WORLD_SEEDS, evaluate_worlds, unseen_worlds
from riskscore.io.files import check_not_inputs
from riskscore.io.staging import staged_outputs
from riskscore.model import load_model
from riskscore.synthetic import STRESS_WORLDS, SyntheticData

NAME = "evaluate"
HELP = "evaluate a model on labelled events: report.json, report.md and plots"
EXAMPLE = (
    "example:\n"
    "  riskscore generate --conversations 50000 --prevalence 0.01 --seed 11 --out test-data/\n"
    "  riskscore evaluate --data test-data/ --out evaluation/\n"
    "  riskscore evaluate --data test-data/ --policy policies/mine.toml --out evaluation/\n"
    "  riskscore evaluate --worlds 30 --out robustness/   # unseen and stress worlds\n\n"
    "Evaluate on data the model was not trained on (another seed, or held-out adults): a\n"
    "bundle that records the events it was fitted on (`train --data`, `train --from-queue`)\n"
    "is warned about on stderr and in the result's `warnings` when evaluated on them.\n"
    "Operating points (review and urgent tiers) and early detection use --policy (default:\n"
    "the built-in policy, `riskscore policy default`). With --worlds the model is measured\n"
    "on that many synthetic worlds it was never trained on and on every stress world\n"
    "(robustness.json, robustness.md)."
)


#: The options of each source, with their defaults: one given with the other source would be
#: ignored without a word, so it is refused (riskscore.cli._source_options).
_DATA: Final[dict[str, Any]] = {"bootstrap": 200, "replay_events": 300_000}
_WORLDS: Final[dict[str, Any]] = {"conversations": 20_000, "first_world": 0}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=bundle_dir, help=MODEL_HELP)
    add_policy_option(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data",
        type=path_argument,
        help="directory with events.parquet and labels.parquet (as `riskscore generate` writes)",
    )
    source.add_argument(
        "--worlds",
        type=whole_number(1, len(EVALUATION_WORLD_SEEDS)),
        help="measure on this many unseen synthetic worlds (1 to "
        f"{len(EVALUATION_WORLD_SEEDS)}, with --first-world) and every stress world instead",
    )
    parser.add_argument(
        "--conversations",
        type=synthetic_conversations,
        help="conversations per world with --worlds (at 1 %% prevalence; default: "
        f"{_WORLDS['conversations']})",
    )
    parser.add_argument(
        "--first-world",
        type=whole_number(0, len(EVALUATION_WORLD_SEEDS) - 1),
        help="with --worlds, skip this many evaluation worlds first (default 0: seeds 1000 on, the "
        "worlds the default model was chosen on; 30: seeds 1030 on, used for no choice)",
    )
    parser.add_argument("--out", type=output_path, required=True, help="directory for the report")
    parser.add_argument(
        "--bootstrap",
        type=whole_number(0, MAX_BOOTSTRAP),
        help=f"with --data, bootstrap replicates of the 95%% intervals (0: none, or 40, so "
        f"that each tail holds one, to {MAX_BOOTSTRAP:,}; default: {_DATA['bootstrap']})",
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of bootstrap and replay sample")
    parser.add_argument(
        "--replay-events",
        type=whole_number(0),
        help="with --data, event budget of the early-detection replay (adults sampled above "
        f"it; 0: off; default: {_DATA['replay_events']})",
    )
    parser.add_argument(
        "--label",
        choices=LABEL_COLUMNS,
        default=None,
        help="with --data, the label to score against (default: the ground truth "
        "is_grooming_true when labels.parquet has it, else the observed is_grooming)",
    )
    parser.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    add_max_future_s_option(parser)


#: The files of ``--worlds``.
ROBUSTNESS_FILES = ("robustness.json", "robustness.md")


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    used = "--data" if args.worlds is None else "--worlds"
    check_source_options(args, {"--data": _DATA, "--worlds": _WORLDS}, used)
    if args.worlds is None:  # the 95 % intervals of rs.evaluate, refused before reading
        check_replicates(args.bootstrap, 0.95, name="--bootstrap")
    check_out_dir(args.out)
    written = REPORT_FILES if args.worlds is None else ROBUSTNESS_FILES
    # --data and --model are directories of other file names; a policy file may be named so
    check_not_inputs([args.out / name for name in written], [args.policy])
    if args.worlds is None and not args.no_plots:  # fail now, not after the evaluation
        import_extra("matplotlib.figure", "plots", needed_by="plotting", hint="or pass --no-plots")
    if args.worlds is not None:
        return run_worlds(args, show)

    policy = load_policy(args.policy)
    with steps(["read", "evaluate", "write"], enabled=show) as step:
        step("read")
        data = SyntheticData.read(args.data, max_future_s=args.max_future_s)
        model = load_model(args.model)
        # in-sample metrics look like evidence: said on stderr and in the result
        warning = in_sample_warning(model.metadata, args.data / "events.parquet")
        if warning is not None:
            print(f"riskscore evaluate: warning: {warning}", file=sys.stderr)
        step("evaluate")
        report = evaluate(
            model,
            data.messages,
            data.labels,
            policy=policy,
            n_bootstrap=args.bootstrap,
            seed=args.seed,
            replay_events=args.replay_events,
            label=args.label,
        )
        step("write")
        files = report.save(args.out, plots=not args.no_plots)
    ed = report.early_detection
    review = report.operating_point("review")
    return {
        "files": [str(p) for p in files],
        "n_conversations": report.n_conversations,
        "label": report.label,
        "n_label_differs": report.n_label_differs,
        "prevalence": report.prevalence,
        "pr_auc": report.pr_auc,
        "pr_auc_ci": list(report.pr_auc_ci),
        "roc_auc": report.roc_auc,
        "roc_auc_ci": list(report.roc_auc_ci),
        "recall_at_precision_90": report.recall_at_precision_90,
        "review_precision": review.precision,
        "review_recall": review.recall,
        "review_f05": review.f05,
        "adult_f05": review.adult_f05,
        "alerts_per_million": review.alerts_per_million,
        "brier": report.brier,
        "ece": report.ece,
        "latency_weighted_f1": None if ed is None else ed.latency_weighted_f1,
        "median_latency_messages": None if ed is None else ed.median_latency_messages,
        "unread_columns": list(data.messages.unread_columns),
        "warnings": [] if warning is None else [warning],
    }


def run_worlds(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    """``--worlds N``: the robustness report of one model."""
    if args.label is not None:
        raise ValueError(
            f"--label {args.label}: --worlds always scores against the ground truth of the "
            "worlds it generates; --label is for --data"
        )
    total = len(EVALUATION_WORLD_SEEDS)
    if args.first_world + args.worlds > total:
        raise ValueError(
            f"--worlds {args.worlds} --first-world {args.first_world}: there are {total} "
            f"evaluation worlds; ask for at most {total - args.first_world}"
        )
    policy = load_policy(args.policy)
    with steps(["worlds", "write"], enabled=show) as step:
        step("worlds")
        model = load_model(args.model)
        unseen = unseen_worlds(args.worlds, first=args.first_world)
        worlds = {w.name: w for w in unseen} | dict(STRESS_WORLDS)
        report = evaluate_worlds(
            model.predict_proba,
            worlds,
            policy=policy,
            n_conversations=args.conversations,
            seed=args.seed,
        )
        step("write")
        with staged_outputs(args.out) as stage:  # both files, or the earlier ones
            json_path, md_path = (stage(name) for name in ROBUSTNESS_FILES)
            json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
            md_path.write_text(report.to_markdown(), encoding="utf-8")
        files = [args.out / name for name in ROBUSTNESS_FILES]
    summary = report.summary()
    # every world's sample has both classes (world_samples), so PR-AUC has a worst world
    worst = next(r for r in report.results if r.world == summary["pr_auc"]["worst_world"])
    return {
        "files": [str(p) for p in files],
        "worlds": len(report.results),
        "median_pr_auc": summary["pr_auc"]["median"],
        "worst_pr_auc": summary["pr_auc"]["worst"],
        "worst_world": worst.world,
        # PR-AUC on few grooming conversations is noisy: the worst world's sample size
        "worst_world_conversations": worst.n_conversations,
        "worst_world_grooming": worst.n_grooming,
    }


def render(result: dict[str, Any]) -> None:
    if "worlds" in result:
        print(
            f"{plural(result['worlds'], 'world')}: median PR-AUC "
            f"{result['median_pr_auc']:.3f}, worst {result['worst_pr_auc']:.3f} "
            f"({result['worst_world']}: {number_text(result['worst_world_grooming'])} grooming "
            f"of {plural(result['worst_world_conversations'], 'conversation')})"
        )
        for path in result["files"]:
            print(f"wrote {path}")
        return
    print(
        f"evaluated {plural(result['n_conversations'], 'conversation')} against "
        f"{result['label']} "
        f"(prevalence {result['prevalence']:.4f})"
    )
    if result["n_label_differs"]:
        differs = "differs" if result["n_label_differs"] == 1 else "differ"
        print(
            f"  {plural(result['n_label_differs'], 'observed label')} (is_grooming) {differs} "
            "from the truth"
        )
    # JSON has no NaN: an interval without bootstrap replicates comes back as nulls
    for name, key in (("PR-AUC ", "pr_auc"), ("ROC-AUC", "roc_auc")):
        low, high = (math.nan if v is None else v for v in result[f"{key}_ci"])
        print(f"  {name}  {with_ci(result[key], (low, high))}")
    # a dash where a figure is undefined (precision without an alert), as report.md has it
    print(
        f"  review tier: precision {num(result['review_precision'])}, recall "
        f"{num(result['review_recall'])}, F0.5 {num(result['review_f05'])}, adult F0.5 "
        f"{num(result['adult_f05'])}, {result['alerts_per_million']:,.0f} alerts per million"
    )
    if result["latency_weighted_f1"] is not None:
        print(f"  latency-weighted F1 {num(result['latency_weighted_f1'])}")
    for path in result["files"]:
        print(f"wrote {path}")
    if result["unread_columns"]:  # a column under another name would be missed in silence
        print(unread_note(result["unread_columns"]))
