"""``riskscore score``: score an events file, write scores and alerts."""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from tqdm import tqdm

from riskscore._words import number_text, plural, risk_text
from riskscore.batch.out_of_core import DEFAULT_CHUNK_ROWS, OutOfCoreResult, score_parquet
from riskscore.batch.score import ScoreResult, job_files, score_events
from riskscore.cli._chunk_option import add_chunk_rows_option, should_stream
from riskscore.cli._future_option import add_max_future_s_option
from riskscore.cli._groups_option import add_max_room_members_option
from riskscore.cli._paths import MODEL_HELP, bundle_dir, check_out_dir, output_path, path_argument
from riskscore.cli._policy_option import add_policy_option, load_policy
from riskscore.cli._progress import steps
from riskscore.cli._quarantine import add_errors_option, render_quarantine
from riskscore.cli._queue_option import add_queue_option, add_to_queue, open_queue, render_queue
from riskscore.cli._time import whole_number
from riskscore.cli._unread import unread_note
from riskscore.features import AccountFeatures, read_account_features
from riskscore.io.arrow import TABLE_FORMATS
from riskscore.io.files import check_not_inputs
from riskscore.io.shown_ids import shown_id
from riskscore.io.text import parquet_file
from riskscore.model import load_model
from riskscore.model.scores import Reason, ages_tell_roles, reason_texts
from riskscore.moderation.batch_intake import batch_items
from riskscore.moderation.item_facts import alert_facts, older_role, younger_account_text
from riskscore.policy import AlertPolicy

NAME = "score"
HELP = "score an events file and write scores and alerts"
EXAMPLE = (
    "examples:\n  riskscore score data/events.parquet --out results/ --top 10\n"
    "  riskscore score events.csv --model models/mine --format csv --out results/\n"
    "  riskscore score events.parquet --policy policies/mine.toml --out results/\n"
    "  riskscore score today.parquet --accounts accounts.parquet --queue queue.sqlite --out r/\n"
    "  riskscore score events.parquet --shadow-model models/candidate --out results/\n"
    "\n"
    "--policy applies a policy file checked with `riskscore policy check` (default: the\n"
    "built-in policy, printed by `riskscore policy default`); an invalid file stops the\n"
    "command before any scoring.\n"
    "\n"
    "outputs, one schema in every --format: OUT/scores.FMT (conversation_id, adult_id,\n"
    "child_id, child_age, adult_age, risk, tier 0/1/2, age_band, reasons: a list of {feature,\n"
    "value, contribution}) and OUT/alerts.FMT (the\n"
    "fields of a `riskscore stream` alert; reasons a list of {feature, value, contribution,\n"
    "description, text}: an array in jsonl, a list of structs in parquet, that array as JSON text\n"
    "in a csv cell); unknown values are null (empty in csv). With --errors quarantine, bad\n"
    "rows go to OUT/quarantine.jsonl (row, file line, conversation_id, column, value as read,\n"
    "reason; also with --chunk-rows), and the file and the count of each reason are printed.\n"
    "\n"
    "Per-account features (fan-out to minors, refused requests, blocks and reports from\n"
    "minors) count the events given. To score a part of a larger history, pass --accounts\n"
    "FILE from `riskscore accounts HISTORY`; without it a note says they come from the input\n"
    "alone. --queue FILE adds the alerts to a review queue (`riskscore queue --db FILE`).\n"
    "\n"
    "group chats (one row per member a message reached, docs/schema.md): each pair of a\n"
    "room of 3+ accounts is scored as its own conversation (id room|account|account); the\n"
    "rooms split and the events set aside as broadcasts are printed.\n"
    "\n"
    "--shadow-model scores the same features with a candidate bundle under the same policy:\n"
    "its scores and alerts go to OUT/shadow/scores.FMT and OUT/shadow/alerts.FMT (the same\n"
    "schemas) with OUT/shadow/shadow.json (both models' parameter sha256, alert counts,\n"
    "alerts gained and lost). Shadow alerts are never queued (not even with --queue);\n"
    "`riskscore compare --shadow-run OUT --queue DB` matches both with moderators' decisions."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "events", type=path_argument, help=".parquet, .csv or .jsonl events (schema v1)"
    )
    parser.add_argument("--model", type=bundle_dir, help=MODEL_HELP)
    parser.add_argument(
        "--shadow-model",
        type=bundle_dir,
        metavar="DIR",
        help="candidate bundle (a directory, or `default`) scored next to --model; outputs in "
        "OUT/shadow/, never queued (default: none)",
    )
    add_policy_option(parser)
    parser.add_argument("--out", type=output_path, required=True, help="directory for the outputs")
    parser.add_argument(
        "--format",
        choices=TABLE_FORMATS,
        default="parquet",
        help="file format of scores and alerts (one schema in every format; see below)",
    )
    add_errors_option(parser)
    parser.add_argument(
        "--accounts",
        type=path_argument,
        metavar="FILE",
        help="per-account features of the full history that holds EVENTS (from `riskscore "
        "accounts`); default: computed from EVENTS alone",
    )
    add_queue_option(parser)
    parser.add_argument(
        "--top", type=whole_number(0), default=5, help="alerts to print (0: none; default: 5)"
    )
    add_chunk_rows_option(parser)
    add_max_room_members_option(parser)
    add_max_future_s_option(parser, quarantine=True)


def _run_streaming(
    args: argparse.Namespace,
    policy: AlertPolicy,
    accounts: AccountFeatures | None,
    show: bool,
) -> tuple[OutOfCoreResult, dict[str, Any]]:
    """Streaming mode, with a progress bar over events."""
    with parquet_file(args.events) as parquet:
        total = parquet.metadata.num_rows
    # Rows read and validated (step 2), then the same rows scored (step 3).
    bar = tqdm(total=total, disable=not show, unit="row", unit_scale=True, leave=False)
    bar.set_description("read")

    def read(n_rows: int) -> None:
        if n_rows < bar.n:  # a file found not sorted: read again, partitioned
            bar.reset(total)
        bar.update(n_rows - bar.n)

    scoring = False

    def scored(n_rows: int) -> None:
        nonlocal scoring
        if not scoring:
            scoring = True
            bar.reset(total)
            bar.set_description("score")
        bar.update(n_rows - bar.n)

    try:
        result = score_parquet(
            args.events,
            args.out,
            model=load_model(args.model),
            policy=policy,
            chunk_rows=args.chunk_rows or DEFAULT_CHUNK_ROWS,
            fmt=args.format,
            errors=args.errors,
            progress=scored,
            read_progress=read,
            account_features=accounts,
            max_room_members=args.max_room_members,
            max_future_s=args.max_future_s,
            collect_reports=args.queue is not None,  # what --queue files
            shadow_model=None if args.shadow_model is None else load_model(args.shadow_model),
        )
    finally:
        bar.close()
    return result, _summary(args, result, result.n_conversations)


def _summary(
    args: argparse.Namespace, result: ScoreResult | OutOfCoreResult, n_conversations: int
) -> dict[str, Any]:
    """What :func:`render` prints, alike for the in-memory and the streaming path."""
    alerts, shadow = result.alerts, result.shadow
    scored_at = int(time.time())
    return {
        "events": result.n_events,
        "quarantined": result.n_quarantined,
        "conversations": n_conversations,
        "alerts": len(alerts),
        "urgent": sum(a.tier.name == "URGENT" for a in alerts),
        "scores": str(result.scores_path),
        "alerts_file": str(result.alerts_path),
        "quarantine_file": None if result.quarantine_path is None else str(result.quarantine_path),
        "quarantine_counts": result.quarantine_counts,
        "account_features": None if args.accounts is None else str(args.accounts),
        "queue": None,  # what --queue added (see run)
        "groups": result.groups.describe(),
        "unread_columns": list(result.unread_columns),
        # each with its facts in the review queue's words, against the time of scoring
        # (what --queue records as the alert's time)
        "top": [
            {**a.to_dict(), "facts": alert_facts(a, scored_at)} for a in alerts[: max(args.top, 0)]
        ],
        "shadow": None
        if shadow is None
        else {**shadow.summary, "summary_file": str(shadow.summary_path)},
    }


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    check_out_dir(args.out)
    inputs = [args.events, args.accounts, args.policy, args.queue]  # the queue is written too
    check_not_inputs(job_files(args.out, args.format), inputs)
    policy = load_policy(args.policy)
    accounts = None if args.accounts is None else read_account_features(args.accounts)
    queue = open_queue(args.queue, policy)  # before any work: a file that is not a queue stops
    try:
        result, summary = _score(args, policy, accounts, show)
        if queue is not None:  # the alerts, and each report event as a user report
            alerts, reports = batch_items(result.alerts, result.reports, result.decimal_id_columns)
            summary["queue"] = add_to_queue(queue, alerts, reports)
    finally:
        if queue is not None:
            queue.close()
    return summary


def _score(
    args: argparse.Namespace, policy: AlertPolicy, accounts: AccountFeatures | None, show: bool
) -> tuple[ScoreResult | OutOfCoreResult, dict[str, Any]]:
    """Score in memory or streaming; the result and the summary :func:`render` prints."""
    if should_stream(args.events, args.chunk_rows):
        return _run_streaming(args, policy, accounts, show)
    with steps(["read", "model", "score", "write"], enabled=show) as step:
        result = score_events(
            args.events,
            args.out,
            model_dir=args.model,
            policy=policy,
            fmt=args.format,
            errors=args.errors,
            progress=step,
            account_features=accounts,
            max_room_members=args.max_room_members,
            max_future_s=args.max_future_s,
            collect_reports=args.queue is not None,  # what --queue files
            shadow_model_dir=args.shadow_model,
        )
    return result, _summary(args, result, len(result.scores))


#: Printed when per-account features were computed from the input alone (no --accounts).
FROM_INPUT_NOTE = (
    "note: per-account features (fan-out to minors, refused contact requests, blocks and "
    "reports from minors) were computed from the input alone and may be understated if it "
    "is a part of a larger history; pass --accounts FILE from `riskscore accounts HISTORY`"
)


def render(result: dict[str, Any]) -> None:
    print(
        f"scored {plural(result['conversations'], 'conversation')} "
        f"({plural(result['events'], 'event')}, {plural(result['quarantined'], 'row')} "
        f"quarantined): {plural(result['alerts'], 'alert')}, {number_text(result['urgent'])} urgent"
    )
    for line in result["groups"]:  # group rooms split into pairs, broadcasts set aside
        print(f"  {line}")
    if result["unread_columns"]:  # a column under another name would be missed in silence
        print(unread_note(result["unread_columns"]))
    if result["account_features"] is None:
        print(FROM_INPUT_NOTE)
    else:
        print(f"per-account features from {result['account_features']}")
    for rank, alert in enumerate(result["top"], start=1):
        print(  # the child's age here, the older account's in the facts below: each once
            f"\n#{rank} {alert['tier'].upper():6s} risk {risk_text(alert['risk'])}  conversation "
            f"{shown_id(alert['conversation_id'])}  {older_role(alert['adult_age'])} "
            f"{shown_id(alert['adult_id'])} -> child {shown_id(alert['child_id'])} "
            f"({younger_account_text(alert['child_age'], alert['adult_age'], alert['age_band'])})"
        )
        print(f"     {alert['facts']}")  # the older account's age, the conversation's span
        ages_tell = ages_tell_roles(alert["child_age"], alert["adult_age"])
        reasons = [  # worded by the one rule (reason_texts), why included
            Reason.of(
                r["feature"],
                math.nan if r["value"] is None else r["value"],
                r["contribution"],
                ages_tell=ages_tell,
            )
            for r in alert["reasons"]
        ]
        for text in reason_texts(reasons):
            print(f"     - {text}")
    print(f"\nscores: {result['scores']}\nalerts: {result['alerts_file']}")
    shadow = result["shadow"]
    if shadow is not None:
        print(
            f"shadow model: {plural(shadow['shadow']['alerts'], 'alert')} "
            f"({number_text(shadow['shadow']['urgent'])} urgent); "
            f"{number_text(shadow['alerts_gained'])} gained and "
            f"{number_text(shadow['alerts_lost'])} lost against "
            f"production; never queued. summary: {shadow['summary_file']}"
        )
    render_quarantine(result)
    if result["queue"] is not None:
        print(render_queue(result["queue"]))
