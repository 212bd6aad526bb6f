"""``riskscore compare``: two model bundles on the same conversations, paired."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from riskscore.cli._policy_option import add_policy_option, load_policy
from riskscore.evaluation.compare import bundle_id, compare_models
from riskscore.features import extract_features
from riskscore.io import read_messages
from riskscore.model import align_labels, load_model
from riskscore.moderation import ReviewQueue
from riskscore.moderation.learning import labels_from_queue
from riskscore.synthetic import SyntheticData

NAME = "compare"
HELP = "compare two model bundles on the same conversations (paired, with bootstrap CIs)"
EXAMPLE = (
    "examples:\n"
    "  riskscore generate --conversations 20000 --prevalence 0.01 --seed 11 --out test-data/\n"
    "  riskscore compare riskscore/model/default models/mine --data test-data/\n"
    "  riskscore compare riskscore/model/default demo-output/from-decisions \\\n"
    "      --events demo-output/month/events.parquet --queue demo-output/month-queue.sqlite\n"
    "Differences are B minus A. With --data (events and labels) PR-AUC, ROC-AUC and recall\n"
    "get 95% bootstrap intervals over adults; with --events only alerts are compared; with\n"
    "--queue each model's alerts are matched with the moderators' decisions. Each bundle is\n"
    "identified by the sha256 of its manifest.json."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_a", type=Path, help="first bundle (the reference)")
    parser.add_argument("model_b", type=Path, help="second bundle (the candidate)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data", type=Path, help="directory with events.parquet and labels.parquet"
    )
    source.add_argument("--events", type=Path, help="events without ground truth")
    parser.add_argument("--queue", type=Path, help="review queue whose decisions to match")
    add_policy_option(parser)
    parser.add_argument(
        "--bootstrap", type=int, default=500, help="bootstrap replicates over adults"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    parser.add_argument("--out", type=Path, help="directory for compare.json (default: none)")


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    if args.bootstrap < 1:
        raise ValueError(f"--bootstrap must be at least 1, got {args.bootstrap}")
    a, b = load_model(args.model_a), load_model(args.model_b)
    truth = None
    if args.data is not None:
        data = SyntheticData.read(args.data)
        features = extract_features(data.messages)
        truth = np.asarray(align_labels(features, data.labels), dtype=bool)
    else:
        features = extract_features(read_messages(args.events))
    positive: frozenset[Any] = frozenset()
    negative: frozenset[Any] = frozenset()
    if args.queue is not None:
        if not args.queue.is_file():
            raise FileNotFoundError(f"no review queue at {args.queue}")
        with ReviewQueue(args.queue) as queue:
            labels = labels_from_queue(queue)
        positive, negative = labels.positive, labels.negative
    comparison = compare_models(
        a,
        b,
        features,
        policy=load_policy(args.policy),
        is_grooming=truth,
        decided_positive=positive,
        decided_negative=negative,
        names=(str(args.model_a), str(args.model_b)),
        ids=(bundle_id(args.model_a), bundle_id(args.model_b)),
        n_bootstrap=args.bootstrap,
        seed=args.seed,
    )
    result = comparison.to_dict()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "compare.json"
        path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
        result["file"] = str(path)
    return result


def render(result: dict[str, Any]) -> None:
    a, b = result["models"]
    print(f"A {a['name']} ({a['id'][:12]}): {a['n_alerts']} alerts")
    print(f"B {b['name']} ({b['id'][:12]}): {b['n_alerts']} alerts")
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
    if result["decisions"]:
        print(f"  decisions: {json.dumps(result['decisions'])}")
    if "file" in result:
        print(f"wrote {result['file']}")
