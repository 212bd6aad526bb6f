"""``riskscore accounts``: the per-account features of a full history, for scoring its parts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from riskscore.batch.accounts import account_features_file
from riskscore.cli._progress import steps
from riskscore.cli._quarantine import render_quarantine
from riskscore.io.timestamps import iso_utc

NAME = "accounts"
HELP = "count the per-account features of a full history, for `riskscore score --accounts`"
EXAMPLE = (
    "examples:\n  riskscore accounts data/events.parquet --out data/accounts.parquet\n"
    "  riskscore score today.parquet --accounts data/accounts.parquet --out results/\n"
    "\n"
    "Per-account features (an adult's fan-out to minors, refused contact requests, blocks and\n"
    "reports received from minors) count every conversation of an account. Scoring a part of a\n"
    "history alone understates them; build this file once from every event (the history) and\n"
    "pass it to `score --accounts`: each conversation then scores as it does within the whole.\n"
    "\n"
    "output: a Parquet file, one row per account: account_id, contacts, minors,\n"
    "private_minors, requests, accepts, flagged (whole numbers), with the history's time range\n"
    "and event count in its metadata (riskscore.account_features; docs/features.md). `score\n"
    "--accounts` refuses events outside that range or with more activity than it counts. With\n"
    "--errors quarantine, bad rows go to OUT_STEM.quarantine.jsonl beside OUT."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "events", type=Path, help=".parquet, .csv or .jsonl events of the full history (schema v1)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="the .parquet file to write (replaced if it exists)"
    )
    parser.add_argument(
        "--errors",
        choices=("raise", "quarantine"),
        default="raise",
        help="refuse bad rows (raise) or set them aside with a reason (quarantine); use the "
        "same choice when scoring parts of the history",
    )


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    with steps(["read", "count", "write"], enabled=show) as step:
        result = account_features_file(args.events, args.out, errors=args.errors, progress=step)
    accounts = result.accounts
    return {
        "accounts": len(accounts.account_id),
        "events": accounts.n_events,
        "conversations": result.n_conversations,
        "history_start": accounts.history_start,
        "history_end": accounts.history_end,
        "out": str(result.path),
        "quarantined": result.n_quarantined,
        "quarantine_file": None if result.quarantine_path is None else str(result.quarantine_path),
        "quarantine_counts": result.quarantine_counts,
    }


def render(result: dict[str, Any]) -> None:
    print(
        f"counted {result['accounts']} accounts over {result['events']} events "
        f"({result['conversations']} conversations, {result['quarantined']} rows quarantined) "
        f"from {iso_utc(result['history_start'])} to {iso_utc(result['history_end'])}"
    )
    print(f"account features: {result['out']}")
    render_quarantine(result)
