"""``riskscore report``: a transparency report (JSON, Markdown, HTML, PNG charts) from a queue,
with the period's drift when its events are given."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from riskscore._optional import import_extra
from riskscore._units import HOUR_S
from riskscore._words import duration_text, number_text
from riskscore.cli._env_names import add_key_env_option
from riskscore.cli._future_option import add_max_future_s_option
from riskscore.cli._min_cell_option import add_min_cell_option
from riskscore.cli._paths import (
    bundle_dir,
    check_not_in_bundle,
    check_out_dir,
    output_path,
    path_argument,
)
from riskscore.cli._platform_option import add_platform_option, platform_of
from riskscore.cli._progress import steps
from riskscore.cli._time import (
    parse_end,
    parse_epoch,
    seed,
    share,
    synthetic_conversations,
)
from riskscore.io import read_messages
from riskscore.io.files import check_not_inputs, check_regular_file
from riskscore.io.given_times import TIME_RANGE
from riskscore.io.json_lines import json_loads
from riskscore.io.raw import show
from riskscore.io.timestamps import iso_utc
from riskscore.keys import check_pseudonym_key, key_from_environment, key_source
from riskscore.model import default_model_dir, load_model
from riskscore.model.drift import check_has_reference, period_drift
from riskscore.moderation.cases import check_period
from riskscore.moderation.disclosure import SUPPRESSED
from riskscore.moderation.queue import ReviewQueue
from riskscore.moderation.report_notes import (
    cut_period_text,
    disclosure_note,
    simulation_banner,
)
from riskscore.moderation.simulation import simulate_month
from riskscore.moderation.transparency import REPORT_FILES, transparency_report

NAME = "report"
#: Largest ``report.json`` read with ``--published`` (a report's is some kilobytes).
MAX_PUBLISHED_BYTES = 16 << 20
HELP = "write a transparency report (report.json, report.md, report.html, charts) from a queue"
EXAMPLE = (
    "examples:\n"
    "  RISKSCORE_REPORT_KEY=... riskscore report --db queue.sqlite --out reports/2026-01 \\\n"
    "      --start 2026-01-01T00:00:00Z --end 2026-02-01T00:00:00Z\n"
    "  RISKSCORE_REPORT_KEY=... riskscore report --db queue.sqlite --out reports/2026-01 \\\n"
    "      --events 2026-01/events.parquet --model models/production\n"
    "  RISKSCORE_REPORT_KEY=riskscore-synthetic-demo-key-NOT-A-SECRET-v1 \\\n"
    "  riskscore report --synthetic-month --conversations 20000 \\\n"
    "      --seed 2026 --db month.sqlite --out reports/transparency\n\n"
    "The key pseudonymises account ids (HMAC-SHA256); it is read from the environment\n"
    "variable named by --key-env and never written into the report. With --events (or\n"
    "--synthetic-month) the report has a drift section: population stability of the model's\n"
    "inputs and score in the period's conversations against the reference distributions\n"
    "stored with --model (docs/learning.md)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=path_argument, required=True, help="the queue's SQLite file")
    parser.add_argument("--out", type=output_path, required=True, help="directory for the report")
    parser.add_argument(
        "--start",
        type=parse_epoch,
        help="period start: epoch seconds, YYYY-MM-DD (UTC) or ISO 8601 with offset, "
        f"{TIME_RANGE} (default: the day the queue received its first item)",
    )
    parser.add_argument(
        "--end",
        type=parse_end,
        help=f"period end (excluded; a day YYYY-MM-DD is included), {TIME_RANGE} (default: now)",
    )
    add_platform_option(parser, "platform name shown on the report")
    add_key_env_option(parser)
    parser.add_argument(
        "--synthetic-month",
        action="store_true",
        help="first simulate a synthetic month (events, alerts, queue, moderators) into --db",
    )
    parser.add_argument(
        "--conversations",
        type=synthetic_conversations,
        default=20_000,
        help="conversations of the synthetic month (with --synthetic-month)",
    )
    parser.add_argument(
        "--prevalence",
        type=share,
        default=0.01,
        help="grooming share of the synthetic month, 0 to 1 (with --synthetic-month)",
    )
    parser.add_argument(
        "--seed", type=seed, default=0, help="seed of the synthetic month (with --synthetic-month)"
    )
    parser.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    parser.add_argument(
        "--events",
        type=path_argument,
        help="the period's events (Parquet, CSV, JSON lines), for the drift section "
        "(default: none, no drift section)",
    )
    parser.add_argument(
        "--model",
        type=bundle_dir,
        help="the production bundle (a directory, or `default`): reference of the drift "
        "section, and the scorer of a --synthetic-month (default: the shipped one)",
    )
    add_min_cell_option(parser)
    parser.add_argument(
        "--published",
        type=path_argument,
        action="append",
        metavar="REPORT_JSON",
        help="the report.json of a report already published from this queue (repeatable): a "
        "period overlapping its period is refused, since two overlapping reports subtract to "
        "counts that neither report's disclosure control saw",
    )
    add_max_future_s_option(parser)


def published_periods(paths: list[Path] | None) -> list[tuple[int, int]]:
    """The periods of the published reports ``paths`` (``report.json`` files), or a
    ``ValueError`` naming the file that is not one (a ``FileNotFoundError`` for one that
    is missing)."""
    periods = []
    for path in paths or []:
        # not a FIFO (its read waits for a writer): refused in one sentence of its own
        check_regular_file(path, "report.json of --published")
        try:
            # not a file read whole however large; JSON nested too deeply is malformed
            # JSON, not a RecursionError
            with path.open("rb") as fh:
                data = fh.read(MAX_PUBLISHED_BYTES + 1)
            if len(data) > MAX_PUBLISHED_BYTES:
                raise ValueError(f"larger than {MAX_PUBLISHED_BYTES} bytes")
            period = json_loads(data)["period"]
            start, end = period["start_epoch"], period["end_epoch"]
            if not (type(start) is int and type(end) is int):
                raise TypeError(f"epochs {show(start)} and {show(end)} are not whole seconds")
            check_period(start, end)  # here, where the file is named: reversed, empty, ...
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"--published {str(path)!r} is not a transparency report's report.json "
                f"(period.start_epoch and period.end_epoch): {type(exc).__name__}: {exc}"
            ) from None
        periods.append((start, end))
    return periods


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    args.platform = platform_of(args)
    check_out_dir(args.out)
    # the record of published periods too: overwritten, it guards against no overlap
    check_not_inputs(
        [args.out / name for name in REPORT_FILES], [args.db, args.events, *(args.published or [])]
    )
    if args.synthetic_month:  # --db is then written: the one rule of outputs (no bundle)
        given = {} if args.model is None else {"--model": args.model}
        check_not_in_bundle(args.db, option="--db", given_bundles=given)
    published = published_periods(args.published)
    if not args.no_charts:  # fail now, not after the report (or a simulated month)
        import_extra("matplotlib.figure", "plots", needed_by="plotting", hint="or pass --no-charts")
    key = key_from_environment(args.key_env)
    if not args.synthetic_month:  # a documented key: only for a simulated queue
        with ReviewQueue(args.db, create=False) as queue:
            check_pseudonym_key(key, synthetic=queue.simulated, source=key_source(args.key_env))
    if args.synthetic_month and args.events is not None:
        raise ValueError("--synthetic-month reports on its own events: give no --events")
    if args.model is not None and args.events is None and not args.synthetic_month:
        raise ValueError("--model is the reference of the drift section: give --events")
    if args.start is not None:  # a reversed period is refused before a month is simulated
        check_period(args.start, int(time.time()) if args.end is None else args.end)
    bundle = default_model_dir() if args.model is None else args.model
    model = load_model(bundle)
    if args.events is not None or args.synthetic_month:  # the drift section needs one
        check_has_reference(model, bundle)
    period: tuple[int, int] | None = None
    simulated: dict[str, Any] | None = None
    messages = (
        None if args.events is None else read_messages(args.events, max_future_s=args.max_future_s)
    )
    with steps(["simulate", "report", "write"], enabled=show) as step:
        step("simulate")
        if args.synthetic_month:
            month = simulate_month(
                args.db,
                n_conversations=args.conversations,
                prevalence=args.prevalence,
                seed=args.seed,
                model=model,
            )
            period, messages = month.period, month.messages
            simulated = {
                "events": month.n_events,
                "conversations": month.n_conversations,
                "grooming": month.n_grooming,
                "decisions": month.decisions,
            }
        step("report")
        with ReviewQueue(args.db, create=False) as queue:
            if period is None or args.start is not None or args.end is not None:
                # the day the queue received its first item (items are counted by receipt)
                items = queue.items(received=True)
                first = min((i.received_time for i in items), default=int(time.time()))
                start = first - first % 86_400 if args.start is None else args.start
                end = int(time.time()) if args.end is None else args.end
                if args.start is None and end <= start:  # a start the user did not give
                    raise ValueError(
                        f"--end {iso_utc(end)} (excluded) is not after "
                        f"{iso_utc(start)}, the day the queue received its first item (today for "
                        "an empty queue), which starts the period when --start is not given: "
                        "give --start"
                    )
                period = (start, end)
            drift = None if messages is None else period_drift(model, messages, period)
            report = transparency_report(
                queue,
                period,
                key=key,
                platform=args.platform,
                drift=drift,
                min_cell=args.min_cell,
                published=published,
            )
        step("write")
        files = report.write(args.out, charts=not args.no_charts)
    d = report.data
    return {
        "out": str(args.out),
        "files": sorted(files),
        "period": d["period"],
        "simulated": simulated,
        "simulation": simulation_banner(d),
        **{k: d[k] for k in _COUNTS},
        "reports": {
            "from_children": d["user_reports_from_children"],
            **d["user_report_outcomes"],
        },
        "precision": d["automated_detection"]["precision"],
        "time_to_decision_hours": d["time_to_decision_hours"]["all"],
        "time_to_first_review_hours": d["time_to_first_review_hours"]["all"],
        "disclosure_control": d["disclosure_control"],
        "disclosure": disclosure_note(d),
        "drift": None
        if d["drift"] is None
        else {
            "drifted": d["drift"]["drifted"],
            "major": [s["name"] for s in d["drift"]["shifts"] if s["level"] == "major"],
        },
    }


def render(result: dict[str, Any]) -> None:
    p = result["period"]
    print(f"transparency report {p['start']} to {p['end']} -> {result['out']}")
    if "requested_end" in p:
        print(cut_period_text("the --end given", p["requested_end"], "the report"))
    if result["simulation"]:
        print(result["simulation"])
    n = {
        k: SUPPRESSED if result[k] is None else number_text(result[k]) for k in _COUNTS
    }  # None: withheld
    print(
        f"alerts raised {n['alerts_raised']}: actioned {n['actioned']}, dismissed "
        f"{n['dismissed']}, escalated {n['escalated']}, open {n['open']}"
    )
    r = {k: SUPPRESSED if v is None else number_text(v) for k, v in result["reports"].items()}
    print(
        f"user reports received {n['user_reports']} ({r['from_children']} from children): "
        f"actioned {r['actioned']}, dismissed {r['dismissed']}, escalated {r['escalated']}, "
        f"open {r['open']}"
    )
    precision = result["precision"]
    withheld = ["automated_detection", "precision"] in result["disclosure_control"]["suppressed"]
    print(
        "precision of automated detection (from decisions): "
        + (SUPPRESSED if withheld else "n/a" if precision is None else f"{100 * precision:.1f}%")
    )
    for name in ("time_to_first_review_hours", "time_to_decision_hours"):
        t = result[name]
        of = SUPPRESSED if t["n"] is None else number_text(t["n"])
        simulated = (  # withheld (None) beside a withheld n, whose value it could give
            f" ({SUPPRESSED if t['n_simulated'] is None else number_text(t['n_simulated'])} "
            f"of {of} simulated)"
            if t["n_simulated"] != 0
            else ""
        )
        figures = (
            "none in the period"  # no median to print (None)
            if t["median"] is None
            else f"median {duration_text(t['median'] * HOUR_S)}, 90th percentile "
            f"{duration_text(t['p90'] * HOUR_S)}"
        )
        print(f"{name.removesuffix('_hours').replace('_', ' ')}: {figures}{simulated}")
    drift = result["drift"]
    if drift is not None:
        shifts = ", ".join(drift["major"]) or "none"
        print(f"drift against the model's reference: major shifts: {shifts}")
    print(result["disclosure"])
    print("files: " + ", ".join(result["files"]))


_COUNTS = ("alerts_raised", "user_reports", "actioned", "dismissed", "escalated", "open")
