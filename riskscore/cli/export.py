"""``riskscore export``: DSA statements of reasons, EU 2024/2835 templates and NCMEC drafts."""

from __future__ import annotations

import argparse
from typing import Any

from riskscore._words import number_text, plural
from riskscore.cli._env_names import add_key_env_option
from riskscore.cli._min_cell_option import add_min_cell_option
from riskscore.cli._paths import check_out_dir, output_path, path_argument
from riskscore.cli._platform_option import add_platform_option, platform_of
from riskscore.cli._policy_option import add_policy_option, load_policy
from riskscore.cli._time import parse_end, parse_epoch
from riskscore.io.given_times import TIME_RANGE
from riskscore.keys import check_pseudonym_key, key_from_environment, key_source
from riskscore.moderation import ReviewQueue
from riskscore.moderation.report_notes import cut_period_text
from riskscore.regulatory import ExportFilter, export_all

NAME = "export"
HELP = (
    "write DSA statements of reasons, EU 2024/2835 template rows and NCMEC CyberTipline "
    "drafts from a review queue's decisions (drafts for a person to check; nothing is submitted)"
)
EXAMPLE = (
    "examples:\n"
    "  RISKSCORE_REPORT_KEY=... riskscore export --db queue.sqlite --out exports/2026-01 \\\n"
    "      --from 2026-01-01 --to 2026-01-31 --platform 'Example chat'\n"
    "  riskscore export --db queue.sqlite --out exports/escalated --decision escalated \\\n"
    "      --band 'under 13'\n\n"
    "--from and --to are UTC days, both included (or ISO 8601 times with an offset, --to\n"
    "excluded); the key pseudonymises the statements' puid (HMAC-SHA256) and is read from\n"
    "the environment variable named by --key-env; see docs/regulatory.md"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=path_argument, required=True, help="the queue's SQLite file")
    parser.add_argument(
        "--out",
        type=output_path,
        required=True,
        help="directory for the exports: new, or without an earlier export's folders "
        "(drafts are never replaced)",
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=parse_epoch,
        help=f"first day (YYYY-MM-DD, UTC), ISO time or epoch seconds, {TIME_RANGE} "
        "(default: no lower bound)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=parse_end,
        help=f"last day (YYYY-MM-DD, UTC, included), ISO time or epoch seconds, {TIME_RANGE} "
        "(default: no upper bound)",
    )
    parser.add_argument(
        "--decision",
        action="append",
        choices=("actioned", "dismissed", "escalated"),
        help="keep only decisions with this outcome (repeatable)",
    )
    parser.add_argument(
        "--band",
        action="append",
        help=(
            "keep only decisions with an item in this age band of the policy, each whole "
            "(every child it concerns), and count only notices and alerts in it (repeatable)"
        ),
    )
    add_platform_option(parser, "platform or service name")
    add_key_env_option(parser)
    add_policy_option(parser)
    add_min_cell_option(parser)


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    args.platform = platform_of(args)
    check_out_dir(args.out)
    key = key_from_environment(args.key_env)
    export_filter = ExportFilter(
        start=args.start,
        end=args.end,
        outcomes=tuple(args.decision) if args.decision else None,
        bands=tuple(args.band) if args.band else None,
    )
    policy = load_policy(args.policy)
    with ReviewQueue(args.db, create=False) as queue:
        check_pseudonym_key(key, synthetic=queue.simulated, source=key_source(args.key_env))
        return export_all(
            queue,
            args.out,
            key=key,
            export_filter=export_filter,
            platform=args.platform,
            policy=policy,
            min_cell=args.min_cell,
        )


def render(result: dict[str, Any]) -> None:
    print(f"exports -> {result['out']} (drafts for a person to check; nothing was submitted)")
    if result.get("requested_end") is not None:
        print(cut_period_text("the --to given", result["requested_end"], "the export"))
    if result["simulated_decisions"]:
        print(
            f"SIMULATED: {number_text(result['simulated_decisions'])} of "
            f"{plural(result['decisions'], 'decision')} exported (every outcome: dismissed "
            "ones get no statement or draft) were made in simulation mode (their times set by "
            "a simulation); do not submit the files"
        )
    print(
        f"DSA statements of reasons: {number_text(result['statements'])} "
        f"(restricting decisions: {number_text(result['restricting_decisions'])})"
    )
    print(
        f"NCMEC CyberTipline drafts: {number_text(result['ncmec_drafts'])} "
        f"(escalated decisions: {number_text(result['escalated_decisions'])})"
    )
    precision = result["precision"]
    print(
        "precision of automated detection from decisions: "
        + (
            "withheld (disclosure control: small counts; --min-cell)"
            if "precision" in result["withheld"]
            else "n/a"
            if precision is None
            else f"{100 * precision:.1f}%"
        )
    )
    print(f"files: {number_text(len(result['files']))}")
