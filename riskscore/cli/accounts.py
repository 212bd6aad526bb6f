"""``riskscore accounts``: the per-account features of a full history, for scoring its parts."""

from __future__ import annotations

import argparse
from typing import Any

from riskscore._words import plural
from riskscore.batch.accounts import account_features_file
from riskscore.cli._future_option import add_max_future_s_option
from riskscore.cli._groups_option import add_max_room_members_option
from riskscore.cli._paths import output_path, path_argument
from riskscore.cli._progress import steps
from riskscore.cli._quarantine import add_errors_option, render_quarantine
from riskscore.cli._unread import unread_note
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
    "Group rooms are split into pairs and broadcasts set aside as `score` does: pass the same\n"
    "--max-room-members as when scoring the parts (the file records it; `score --accounts`\n"
    "refuses another).\n"
    "\n"
    "output: a Parquet file, one row per account: account_id, contacts, minors,\n"
    "private_minors, requests, accepts, flagged, minor_events, supervised_minor_events (whole\n"
    "numbers) and the facts of its pairs\n"
    "over all their conversations (pair_other, pair_first_ts, pair_first_channel,\n"
    "pair_private_ts: lists, for pair_met_channel and pair_hours_to_private), with the\n"
    "history's time range and event count in its metadata (riskscore.account_features;\n"
    "docs/features.md). `score --accounts` refuses events outside that range, with more\n"
    "activity than it counts or pairs that met earlier. With --errors quarantine, bad rows go\n"
    "to OUT_STEM.quarantine.jsonl beside OUT."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "events",
        type=path_argument,
        help=".parquet, .csv or .jsonl events of the full history (schema v1)",
    )
    parser.add_argument(
        "--out",
        type=output_path,
        required=True,
        help="the .parquet file to write: a new file, or an account features file to replace "
        "(never an input)",
    )
    add_errors_option(parser, also="use the same choice when scoring parts of the history")
    add_max_room_members_option(parser)
    add_max_future_s_option(parser, quarantine=True)


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    with steps(["read", "count", "write"], enabled=show) as step:
        result = account_features_file(
            args.events,
            args.out,
            errors=args.errors,
            progress=step,
            max_room_members=args.max_room_members,
            max_future_s=args.max_future_s,
        )
    accounts = result.accounts
    return {
        "accounts": len(accounts.account_id),
        "pairs": len(accounts.pairs),
        "events": accounts.n_events,
        "conversations": result.n_conversations,
        "history_start": accounts.history_start,
        "history_end": accounts.history_end,
        "out": str(result.path),
        "quarantined": result.n_quarantined,
        "quarantine_file": None if result.quarantine_path is None else str(result.quarantine_path),
        "quarantine_counts": result.quarantine_counts,
        "unread_columns": list(result.unread_columns),
        "groups": result.groups.describe(),
    }


def render(result: dict[str, Any]) -> None:
    print(
        f"counted {plural(result['accounts'], 'account')} ({plural(result['pairs'], 'pair')}) "
        f"over {plural(result['events'], 'event')} "
        f"({plural(result['conversations'], 'conversation')}, "
        f"{plural(result['quarantined'], 'row')} quarantined) "
        f"from {iso_utc(result['history_start'])} to {iso_utc(result['history_end'])}"
    )
    for line in result["groups"]:  # group rooms split into pairs, broadcasts set aside
        print(f"  {line}")
    if result["unread_columns"]:
        print(unread_note(result["unread_columns"]))
    print(f"account features: {result['out']}")
    render_quarantine(result)
