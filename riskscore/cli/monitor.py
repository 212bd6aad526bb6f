"""``riskscore monitor``: how far a period's conversations drift from the model's reference."""

from __future__ import annotations

import argparse
import json
from typing import Any

from riskscore._words import plural
from riskscore.batch.score import check_some_events
from riskscore.cli._future_option import add_max_future_s_option
from riskscore.cli._paths import MODEL_HELP, bundle_dir, check_out_dir, output_path, path_argument
from riskscore.cli._unread import unread_note
from riskscore.features import extract_features
from riskscore.io import read_messages
from riskscore.io.files import check_not_inputs
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS
from riskscore.io.staging import staged_outputs
from riskscore.model import default_model_dir, load_model
from riskscore.model.drift import MAJOR_SHIFT, MODERATE_SHIFT, check_has_reference, model_drift

NAME = "monitor"
HELP = "population stability of the model's inputs and scores for a period (drift)"
EXAMPLE = (
    "example:\n"
    "  riskscore generate --conversations 5000 --seed 3 --out period/\n"
    "  riskscore monitor period/events.parquet --out monitor/\n\n"
    "Compares the period's model inputs and risks with the distributions stored in the\n"
    f"model bundle: PSI above {MODERATE_SHIFT} is a moderate shift, above {MAJOR_SHIFT} a major\n"
    "one, which flags the period (exit code 0 either way; --fail-on-drift exits 1)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "events", type=path_argument, help="the period's events (Parquet, CSV, JSON lines)"
    )
    parser.add_argument("--model", type=bundle_dir, help=MODEL_HELP)
    parser.add_argument(
        "--out",
        type=output_path,
        help="directory for drift.json and drift.md (default: print only)",
    )
    parser.add_argument(
        "--fail-on-drift", action="store_true", help="exit with code 1 when a shift is major"
    )
    add_max_future_s_option(parser)


#: The files ``--out`` receives.
OUT_FILES = ("drift.json", "drift.md")


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    if args.out is not None:  # before any work; drift.json may be the events (JSON lines)
        check_out_dir(args.out)
        check_not_inputs([args.out / name for name in OUT_FILES], [args.events])
    # the events first: a missing or bad file is said before the model's seconds of loading
    messages = read_messages(args.events, max_future_s=args.max_future_s)
    # an empty file in `score`'s and `accounts`' words, naming it (not "the message table")
    check_some_events(
        len(messages), args.events, messages.groups.n_broadcast, DEFAULT_MAX_ROOM_MEMBERS
    )
    bundle = default_model_dir() if args.model is None else args.model
    model = load_model(bundle)
    check_has_reference(model, bundle)
    report = model_drift(model, extract_features(messages))
    result = report.to_dict()
    result["unread_columns"] = list(messages.unread_columns)
    if args.out is not None:
        with staged_outputs(args.out) as stage:  # both files, or the earlier ones
            text = json.dumps(result, indent=2, allow_nan=False)
            stage(OUT_FILES[0]).write_text(text + "\n", encoding="utf-8")
            stage(OUT_FILES[1]).write_text(report.to_markdown(), encoding="utf-8")
        result["files"] = [str(args.out / name) for name in OUT_FILES]
    result["exit_code"] = 1 if args.fail_on_drift and report.drifted else 0
    return result


def render(result: dict[str, Any]) -> None:
    flagged = [s for s in result["shifts"] if s["level"] == "major"]
    if not result["enough"]:
        verdict = result["verdict"]
    else:
        verdict = f"DRIFT, {plural(len(flagged), 'major shift')}" if flagged else "no major shift"
    print(
        f"{plural(result['n_current'], 'conversation')} against a reference of "
        f"{result['n_reference']:,}: {verdict}"
    )
    for shift in result["shifts"][:8]:
        print(f"  {shift['name']:<34} PSI {shift['psi']:.3f}  {shift['level']}")
    if result["unread_columns"]:  # a column under another name reads as drift
        print(unread_note(result["unread_columns"]))
    for path in result.get("files", []):
        print(f"wrote {path}")
