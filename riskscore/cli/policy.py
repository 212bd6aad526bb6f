"""``riskscore policy check FILE``: validate a Safe Accounts policy file and show its
workload; ``riskscore policy default``: print the built-in default policy as a file to start
from (an installed riskscore has no ``policies/`` directory)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from riskscore import synthetic
from riskscore.cli._paths import MODEL_HELP, bundle_dir
from riskscore.cli._progress import steps
from riskscore.cli._time import seed, share, synthetic_conversations
from riskscore.evaluation.policy_check import check_policy
from riskscore.model import load_model
from riskscore.policy import AlertPolicy

NAME = "policy"
HELP = (
    "validate an alert policy file and show alert volume and precision per age band, or "
    "print the default policy"
)
EXAMPLE = (
    "examples:\n  riskscore policy default > mine.toml   # the built-in policy, to edit\n"
    "  riskscore policy check mine.toml\n"
    "  riskscore policy check mine.toml --data data/ --model models/mine --json"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("check", "default"),
        help="check: validate FILE and show its workload; default: print the built-in "
        "default policy as TOML",
    )
    parser.add_argument(
        "file", type=Path, nargs="?", help="policy TOML file to check (see docs/policy.md)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="labelled data: a directory with events.parquet and labels.parquet "
        "(default: a fresh synthetic sample)",
    )
    parser.add_argument(
        "--conversations",
        type=synthetic_conversations,
        default=20_000,
        help="synthetic sample size, in conversations (without --data)",
    )
    parser.add_argument(
        "--prevalence",
        type=share,
        default=0.02,
        help="grooming share of the synthetic sample, 0 to 1",
    )
    parser.add_argument("--seed", type=seed, default=11, help="synthetic sample seed")
    parser.add_argument("--model", type=bundle_dir, help=MODEL_HELP)


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    if args.action == "default":
        if args.file is not None:
            raise ValueError("policy default takes no FILE: it prints the built-in policy")
        return {"action": "default", "toml": AlertPolicy.default().to_toml(name="default")}
    if args.file is None:
        raise ValueError("policy check needs the policy FILE to check")
    with steps(["validate", "data", "score", "check"], enabled=show) as step:
        step("validate")
        policy = AlertPolicy.from_toml(args.file)
        step("data")
        if args.data is None:
            data = synthetic.generate(
                args.conversations, prevalence=args.prevalence, seed=args.seed
            )
            messages, labels = data.messages, data.labels
            source = (
                f"synthetic.generate({args.conversations}, prevalence={args.prevalence}, "
                f"seed={args.seed})"
            )
        else:
            stored = synthetic.SyntheticData.read(args.data)
            messages, labels = stored.messages, stored.labels
            source = str(args.data)
        step("score")
        scores = load_model(args.model).score(messages)
        step("check")
        check = check_policy(policy, scores, labels.conversation_id, labels.is_grooming)
    guards = policy.to_mapping()["guards"]
    return {
        "action": "check",
        "file": str(args.file),
        "valid": True,
        "guards": guards,
        "data": source,
        **check.to_dict(),
    }


def _pct(value: float | None) -> str:
    return "   n/a" if value is None or math.isnan(value) else f"{100 * value:5.1f}%"


def render(result: dict[str, Any]) -> None:
    if result["action"] == "default":
        print(result["toml"], end="")
        return
    print(f"{result['file']}: valid policy")
    guards = result["guards"]
    print(
        "guards: two known adults "
        + ("may alert" if guards["adult_pairs_alert"] else "never alert")
        + f"; two known minors at most {guards['minor_peer_max_gap_years']:g} years apart "
        "are never urgent"
    )
    print(
        f"on {result['data']}: {result['n_conversations']} conversations, "
        f"{result['n_grooming']} grooming\n"
    )
    print("at the policy's thresholds:")
    print(
        f"  {'band':10s} {'review':>6s} {'urgent':>6s} {'convs':>7s} {'grooming':>8s} "
        f"{'guarded':>7s} {'alerts':>6s} {'urgent':>6s} {'/10k':>6s} {'precision':>9s} "
        f"{'recall':>7s}"
    )
    for b in result["bands"]:
        print(
            f"  {b['band']:10s} {b['review']:6.2f} {b['urgent']:6.2f} {b['n_conversations']:7d} "
            f"{b['n_grooming']:8d} {b['guarded']:7d} {b['alerts']:6d} {b['urgent_alerts']:6d} "
            f"{b['alerts_per_10k']:6.1f} {_pct(b['precision']):>9s} {_pct(b['recall']):>7s}"
        )
    print("(guarded: conversations a guard caps, between two known adults or two close minors)")
    print("\nthreshold versus workload (review threshold swept per band, guards applied; /10k =")
    print("alerts per 10,000 conversations of the whole sample):")
    bands = list(dict.fromkeys(r["band"] for r in result["sweep"]))
    thresholds = list(dict.fromkeys(r["threshold"] for r in result["sweep"]))
    rows = {(r["band"], r["threshold"]): r for r in result["sweep"]}
    print("  " + f"{'threshold':>9s} " + " ".join(f"{b:>22s}" for b in bands))
    print("  " + " " * 10 + " ".join(f"{'/10k  prec   recall':>22s}" for _ in bands))
    for t in thresholds:
        cells = []
        for b in bands:
            r = rows[(b, t)]
            cells.append(f"{r['alerts_per_10k']:6.1f} {_pct(r['precision'])} {_pct(r['recall'])}")
        print("  " + f"{t:9.2f} " + " ".join(f"{c:>22s}" for c in cells))
