"""``riskscore compare``: two model bundles on the same conversations, paired; or the
production and shadow alerts of a shadow run."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from riskscore.batch.shadow import read_conversation_ids, read_shadow_run
from riskscore.cli._future_option import add_max_future_s_option
from riskscore.cli._paths import bundle_dir
from riskscore.cli._policy_option import add_policy_option, load_policy
from riskscore.cli._time import parse_epoch, seed
from riskscore.evaluation.compare import (
    ModelComparison,
    bundle_id,
    compare_alert_sets,
    compare_models,
)
from riskscore.features import extract_features
from riskscore.io import read_messages
from riskscore.io.staging import staged_file
from riskscore.model import align_labels, load_model
from riskscore.moderation import ReviewQueue
from riskscore.moderation.learning import DecisionLabels, labels_from_queue
from riskscore.synthetic import SyntheticData

NAME = "compare"
HELP = (
    "compare two model bundles on the same conversations (paired, with bootstrap CIs), "
    "or the production and shadow alerts of a shadow run"
)
EXAMPLE = (
    "examples:\n"
    "  riskscore generate --conversations 20000 --prevalence 0.01 --seed 11 --out test-data/\n"
    "  riskscore compare default models/mine --data test-data/\n"
    "  riskscore compare default demo-output/from-decisions \\\n"
    "      --events demo-output/month/events.parquet --queue demo-output/month-queue.sqlite\n"
    "  riskscore score month/events.parquet --shadow-model models/mine --out shadow-run/\n"
    "  riskscore compare --shadow-run shadow-run/ --queue queue.sqlite --since 2026-01-01T00:00Z\n"
    "  riskscore compare --alerts alerts.jsonl --shadow-alerts shadow.jsonl --queue queue.sqlite\n"
    "A bundle is a directory, or the word `default`: the bundle the other commands use\n"
    "without --model (the shipped one, or $RISKSCORE_MODEL_DIR; ./default is a directory).\n"
    "Differences are B minus A. With --data (events and labels) PR-AUC, ROC-AUC and recall\n"
    "get 95% bootstrap intervals over adults; with --events only alerts are compared; with\n"
    "--queue each model's alerts are matched with the moderators' decisions (actioned or\n"
    "escalated against dismissed; --since keeps the decisions made from then on). Each bundle\n"
    "is identified by the sha256 of its manifest.json. --shadow-run reads the output of\n"
    "`riskscore score --shadow-model` (A production, B shadow; no scoring), each model\n"
    "identified by the sha256 of its parameters. --shadow-alerts and --alerts read the JSON\n"
    "lines of an online shadow (`riskscore stream --shadow-out`, the Synapse module's shadow\n"
    "log) and of production; the conversations compared are those either alerted."
)


def configure(parser: argparse.ArgumentParser) -> None:
    alone = "not with --shadow-run or --shadow-alerts"
    named = "a directory, or `default` for the shipped one"
    parser.add_argument(
        "model_a",
        type=bundle_dir,
        nargs="?",
        help=f"first bundle ({named}; the reference; {alone})",
    )
    parser.add_argument(
        "model_b",
        type=bundle_dir,
        nargs="?",
        help=f"second bundle ({named}; the candidate; {alone})",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data", type=Path, help="directory with events.parquet and labels.parquet"
    )
    source.add_argument("--events", type=Path, help="events without ground truth")
    source.add_argument(
        "--shadow-run",
        type=Path,
        metavar="DIR",
        help="output directory of `riskscore score --shadow-model` (Parquet or JSON lines)",
    )
    source.add_argument(
        "--shadow-alerts",
        type=Path,
        metavar="FILE",
        help="shadow alerts of an online scorer (JSON lines); needs --alerts",
    )
    parser.add_argument(
        "--alerts",
        type=Path,
        metavar="FILE",
        help="with --shadow-alerts: the production alerts of the same events (JSON lines)",
    )
    parser.add_argument("--queue", type=Path, help="review queue whose decisions to match")
    parser.add_argument(
        "--since",
        type=parse_epoch,
        help="with --queue: count decisions made at or after this time (epoch seconds, "
        "YYYY-MM-DD (UTC) or ISO 8601 with offset, 1970 to 2200; default: every decision)",
    )
    add_policy_option(parser)
    parser.add_argument(
        "--bootstrap", type=int, default=500, help="bootstrap replicates over adults"
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of the bootstrap")
    parser.add_argument("--out", type=Path, help="directory for compare.json (default: none)")
    add_max_future_s_option(parser)


def _labels(args: argparse.Namespace, since: int | None) -> DecisionLabels | None:
    if args.queue is None:
        if since is not None:
            raise ValueError("--since counts decisions: give the review queue with --queue")
        return None
    with ReviewQueue(args.queue, create=False) as queue:
        return labels_from_queue(queue, since=since)


def _bundles(args: argparse.Namespace, labels: DecisionLabels | None) -> ModelComparison:
    if args.model_a is None or args.model_b is None:
        raise ValueError("give two model bundles (MODEL_A MODEL_B), or --shadow-run DIR")
    a, b = load_model(args.model_a), load_model(args.model_b)
    truth = None
    if args.data is not None:
        data = SyntheticData.read(args.data)
        features = extract_features(data.messages)
        truth = np.asarray(align_labels(features, data.labels), dtype=bool)
    else:
        features = extract_features(read_messages(args.events, max_future_s=args.max_future_s))
    return compare_models(
        a,
        b,
        features,
        policy=load_policy(args.policy),
        is_grooming=truth,
        decided_positive=None if labels is None else labels.positive,
        decided_negative=None if labels is None else labels.negative,
        names=(str(args.model_a), str(args.model_b)),
        ids=(bundle_id(args.model_a), bundle_id(args.model_b)),
        n_bootstrap=args.bootstrap,
        seed=args.seed,
    )


def _shadow(args: argparse.Namespace, labels: DecisionLabels | None) -> ModelComparison:
    """Production against shadow alerts already raised: a batch run or two online logs."""
    option = "--shadow-run" if args.shadow_run is not None else "--shadow-alerts"
    if args.model_a is not None or args.model_b is not None:
        raise ValueError(f"{option} compares alerts already raised: give no bundles")
    if args.policy is not None:
        raise ValueError(f"{option} compares alerts already raised: --policy does not apply")
    names: list[dict[str, Any]] = [{"name": "production"}, {"name": "shadow"}]
    if args.shadow_run is not None:
        run = read_shadow_run(args.shadow_run)
        scored, production, shadow = run.scored, run.production, run.shadow
        for model in names:
            model["parameters_sha256"] = run.summary[model["name"]].get("parameters_sha256")
    else:
        if args.alerts is None:
            raise ValueError("--shadow-alerts needs the production alerts: --alerts FILE")
        production = read_conversation_ids(args.alerts)
        shadow = read_conversation_ids(args.shadow_alerts)
        scored = []
    return compare_alert_sets(
        scored,
        production,
        shadow,
        decided_positive=None if labels is None else labels.positive,
        decided_negative=None if labels is None else labels.negative,
        models=(names[0], names[1]),
    )


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    if args.bootstrap < 1:
        raise ValueError(f"--bootstrap must be at least 1, got {args.bootstrap}")
    since = args.since
    labels = _labels(args, since)
    if args.alerts is not None and args.shadow_alerts is None:
        raise ValueError("--alerts goes with --shadow-alerts")
    if args.shadow_run is not None or args.shadow_alerts is not None:
        comparison = _shadow(args, labels)
    else:
        comparison = _bundles(args, labels)
    result = comparison.to_dict()
    if result["decisions"] is not None:
        result["decisions"]["since"] = (
            None if since is None else datetime.fromtimestamp(since, UTC).isoformat()
        )
    if args.out is not None:
        path = args.out / "compare.json"
        with staged_file(path) as staged:  # whole, or the earlier file
            staged.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
        result["file"] = str(path)
    return result


def render(result: dict[str, Any]) -> None:
    a, b = result["models"]
    for label, model in (("A", a), ("B", b)):
        ident = model.get("id") or model.get("parameters_sha256")
        shown = f" ({ident[:12]})" if ident else ""
        print(f"{label} {model['name']}{shown}: {model['n_alerts']} alerts")
    print(
        f"{result['n_conversations']:,} conversations; B alerts "
        f"{result['alerts_gained_by_b']} that A does not and misses {result['alerts_lost_by_b']} "
        "that A alerts"
    )
    for key, d in result["differences_b_minus_a"].items():
        print(
            f"  {key:14s} B - A {d['difference']:+.4f} "
            f"(95% CI {d['ci95_low']:+.4f} to {d['ci95_high']:+.4f})"
        )
    decisions = result["decisions"]
    if decisions:
        since = decisions["since"] or "the start of the queue"
        print(
            f"decisions since {since}: {decisions['positive']} actioned or escalated, "
            f"{decisions['dismissed']} dismissed ({decisions['not_compared']} about other "
            "conversations)"
        )
        for label in ("a", "b"):
            d = decisions[label]
            precision = d["precision_on_decided"]
            print(
                f"  {label.upper()} alerts {d['alerted_positive']} of the actioned or escalated "
                f"and {d['alerted_dismissed']} of the dismissed; precision on decided "
                + ("n/a" if precision is None else f"{100 * precision:.1f}%")
            )
    if "file" in result:
        print(f"wrote {result['file']}")
