"""``riskscore policy check FILE``: validate a Safe Accounts policy file and show its
workload; ``riskscore policy default``: print the built-in default policy as a file to start
from (an installed riskscore has no ``policies/`` directory); ``riskscore policy tune
EVENTS``: thresholds for the alert volume a team can review, set on the platform's own
traffic (:mod:`riskscore.policy.volume`)."""

from __future__ import annotations

import argparse
import math
import tempfile
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from riskscore import synthetic
from riskscore._words import number_text, plural
from riskscore.batch.out_of_core import DEFAULT_CHUNK_ROWS, score_parquet
from riskscore.cli._chunk_option import add_chunk_rows_option, should_stream
from riskscore.cli._future_option import add_max_future_s_option
from riskscore.cli._groups_option import add_max_room_members_option
from riskscore.cli._paths import MODEL_HELP, bundle_dir, path_argument
from riskscore.cli._progress import steps
from riskscore.cli._quarantine import add_errors_option
from riskscore.cli._scorer_options import add_idle_expiry_option
from riskscore.cli._source_options import check_source_options
from riskscore.cli._time import per_million, seed, share, synthetic_conversations
from riskscore.evaluation.labels import check_and_align
from riskscore.evaluation.online_states import online_peaks, online_traffic
from riskscore.evaluation.policy_check import check_policy
from riskscore.exceptions import SchemaError
from riskscore.features import extract_features
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS
from riskscore.io.messages import MessageTable
from riskscore.io.readers import read_messages
from riskscore.io.shown_ids import shown_id
from riskscore.io.summaries import all_quarantined_text
from riskscore.model import load_model
from riskscore.online.checkpoint_values import finite_or_none
from riskscore.online.options import DEFAULT_IDLE_EXPIRY_S
from riskscore.policy import AlertPolicy, Guards
from riskscore.policy.bands import threshold_text
from riskscore.policy.volume import (
    REVIEW_PER_MILLION,
    URGENT_PER_MILLION,
    Traffic,
    alerts_per_million,
    policy_for_volume,
)

NAME = "policy"
HELP = (
    "validate an alert policy file and show alert volume and precision per age band, "
    "print the default policy, or tune thresholds to an alert volume on your own traffic"
)
EXAMPLE = (
    "examples:\n  riskscore policy default > mine.toml   # the built-in policy, to edit\n"
    "  riskscore policy check mine.toml\n"
    "  riskscore policy check mine.toml --online   # counted as `riskscore stream` alerts\n"
    "  riskscore policy check mine.toml --data data/ --model models/mine --json\n"
    "  riskscore policy tune week.parquet --review-per-million 500 > mine.toml"
)


#: The synthetic sample of ``policy check`` without ``--data``, and its defaults.
_SAMPLE: Final[dict[str, Any]] = {"conversations": 20_000, "prevalence": 0.02, "seed": 11}
#: The data each action reads, with its options: one given to another would be ignored.
_SOURCES: Final[dict[str, dict[str, Any]]] = {
    "policy check (without --data)": _SAMPLE,
    "policy check (with --data)": {"data": None},
    "policy tune": {},
    "policy default": {},
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("check", "default", "tune"),
        help="check: validate FILE and show its workload; default: print the built-in "
        "default policy as TOML; tune: print a policy whose thresholds give the target alert "
        "volumes on the events FILE (your own traffic, unlabelled)",
    )
    parser.add_argument(
        "file",
        type=path_argument,
        nargs="?",
        help="check: the policy TOML file (see docs/policy.md); tune: an events file of "
        "whole conversations (CSV, JSON lines or Parquet)",
    )
    parser.add_argument(
        "--review-per-million",
        type=per_million,
        help="tune: alerts (review or urgent) per million conversations "
        f"(default: {REVIEW_PER_MILLION:g})",
    )
    parser.add_argument(
        "--urgent-per-million",
        type=per_million,
        help=f"tune: urgent alerts per million conversations (default: {URGENT_PER_MILLION:g})",
    )
    parser.add_argument(
        "--from",
        dest="template",
        type=path_argument,
        help="tune: the policy whose bands and guards to keep (default: the built-in one)",
    )
    parser.add_argument(
        "--own-volume",
        action="append",
        metavar="BAND",
        help="tune: set this band (by name, e.g. 'minor, other age unknown') on its own "
        "conversations, at the target alerts per million of them, before the other bands "
        "are set for the whole, as the default policy's unknown_adult band was set; "
        "repeat for more bands (default: every band keeps its ratio to the others)",
    )
    parser.add_argument(
        "--data",
        type=path_argument,
        help="labelled data: a directory with events.parquet and labels.parquet "
        "(default: a fresh synthetic sample)",
    )
    parser.add_argument(
        "--conversations",
        type=synthetic_conversations,
        help="check: synthetic sample size, in conversations (without --data; default: "
        f"{_SAMPLE['conversations']})",
    )
    parser.add_argument(
        "--prevalence",
        type=share,
        help="check: grooming share of the synthetic sample, 0 to 1 (without --data; "
        f"default: {_SAMPLE['prevalence']})",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        help=f"check: synthetic sample seed (without --data; default: {_SAMPLE['seed']})",
    )
    parser.add_argument("--model", type=bundle_dir, help=MODEL_HELP)
    parser.add_argument(
        "--online",
        action="store_true",
        default=None,
        help="tune, check: count alerts as `riskscore stream`/`serve` raise them: the events "
        "replayed one by one, a conversation alerted at the highest tier it reaches at any "
        "event (about twice the alerts of scoring each conversation once, as a whole); the "
        "events are held in memory and replayed in Python: about 80 s and 850 MB for 2 "
        "million events",
    )
    add_chunk_rows_option(parser, what="tune: ")
    add_errors_option(
        parser,
        what="tune: ",
        also="the rows set aside are counted in the policy's header, not tuned on",
        given_only=True,
    )
    add_max_future_s_option(parser)  # check --data, tune
    add_max_room_members_option(parser, what="tune: ", option_of_one_action=True)
    add_idle_expiry_option(parser, what="tune, check, with --online: ")


def _traffic(args: argparse.Namespace, policy: AlertPolicy | None) -> tuple[Traffic, int]:
    """The events file's conversations scored, and the rows set aside (``--errors
    quarantine``): in memory, or (a Parquet file above ``AUTO_STREAM_ROWS`` events, or
    ``--chunk-rows``) streamed as ``riskscore score`` streams it, reading back only the
    risk and the two ages of its scores."""
    model = load_model(args.model)
    if args.online:
        if args.chunk_rows is not None:
            raise ValueError(
                "--online replays the events in memory, --chunk-rows streams them: give one"
            )
        messages = _read(args)
        traffic = online_traffic(
            model,
            messages,
            max_room_members=args.max_room_members,
            idle_expiry_s=args.idle_expiry_s,
        )
        return traffic, len(messages.quarantined)
    if not should_stream(args.file, args.chunk_rows):
        messages = _read(args)
        features = extract_features(messages)
        return Traffic.of(features, model.predict_proba(features)), len(messages.quarantined)
    with tempfile.TemporaryDirectory(prefix="riskscore-tune-") as scratch:
        result = score_parquet(
            args.file,
            scratch,
            model=model,
            policy=policy,
            chunk_rows=args.chunk_rows or DEFAULT_CHUNK_ROWS,
            errors=args.errors,
            max_future_s=args.max_future_s,
            max_room_members=args.max_room_members,
            collect_reports=False,  # only the scores are read
        )
        scores = pq.read_table(result.scores_path, columns=["risk", "child_age", "adult_age"])
    ages = {
        name: pc.fill_null(scores[name].cast(pa.float64()), math.nan).to_numpy()
        for name in ("child_age", "adult_age")
    }
    return Traffic(scores["risk"].to_numpy(), **ages), result.n_quarantined


def _read(args: argparse.Namespace) -> MessageTable:
    """The events FILE read whole, as ``riskscore score`` and ``stream`` read it; refused,
    with the reasons, when every row was quarantined."""
    messages = read_messages(
        args.file,
        errors=args.errors,
        max_future_s=args.max_future_s,
        max_room_members=args.max_room_members,
    )
    quarantined = messages.quarantined
    if not len(messages) and len(quarantined):
        raise SchemaError(
            f"{all_quarantined_text(len(quarantined), quarantined.reason_counts())}: "
            f"`riskscore score {args.file} --out DIR --errors quarantine` writes each with its "
            "row and reason to DIR/quarantine.jsonl"
        )
    return messages


def _tune(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    if args.file is None:
        raise ValueError("policy tune needs the events FILE to tune on")
    with steps(["read and score", "tune"], enabled=show) as step:
        template = None if args.template is None else AlertPolicy.from_toml(args.template)
        step("read and score")
        traffic, set_aside = _traffic(args, template)
        step("tune")
        policy = policy_for_volume(
            traffic,
            review_per_million=args.review_per_million,
            urgent_per_million=args.urgent_per_million,
            template=template,
            own_volume=args.own_volume or (),
        )
    review, urgent = alerts_per_million(policy, traffic)
    counted = "conversations, every event online" if args.online else "conversations"
    # paths as shown_id shows them: a line break in a name ended the comment, and the
    # rest of the name was read as TOML
    model = "default" if args.model is None else shown_id(str(args.model))
    header = (
        f"# Thresholds set by `riskscore policy tune` on {shown_id(str(args.file))} "
        f"({traffic.n_counted:,} {counted}),\n"
        f"# model {model}, for {args.review_per_million:g} alerts and "
        f"{args.urgent_per_million:g} urgent alerts per million conversations;\n"
        f"# on that file: {review:,.0f} and {urgent:,.0f} per million. Check them again on "
        "new traffic.\n"
    )
    if urgent < 0.9 * args.urgent_per_million:  # the tiers' odds ratio held, not the target
        header += (
            f"# urgent falls short of its target: urgent thresholds are kept at 1.5 times "
            f"the review thresholds' odds or more, and {args.urgent_per_million:g} urgent of "
            f"{args.review_per_million:g} alerts per million leaves too little room; ask for "
            "fewer urgent alerts, or more alerts\n"
        )
    if args.own_volume:
        header += (
            f"# set on its own conversations (--own-volume): "
            f"{', '.join(repr(name) for name in args.own_volume)}\n"
        )
    if args.online:
        header += f"# replayed online {_idle_expiry(args.idle_expiry_s)}\n"
    if set_aside:
        header += (
            f"# {plural(set_aside, 'bad row')} of that file set aside "
            "(--errors quarantine), not tuned on: `riskscore score FILE --errors quarantine` "
            "lists them.\n"
        )
    return {
        "action": "tune",
        "events": str(args.file),
        "n_conversations": traffic.n_counted,
        "online": args.online,
        **_replayed_with(args),
        "target_per_million": {
            "review": args.review_per_million,
            "urgent": args.urgent_per_million,
        },
        "alerts_per_million": {"review": review, "urgent": urgent},
        "own_volume": list(args.own_volume or ()),
        "quarantined": set_aside,
        "toml": header + policy.to_toml(name="tuned"),
    }


#: Options of ``policy tune`` alone, and their defaults there.
TUNE_OPTIONS = {
    "review_per_million": REVIEW_PER_MILLION,
    "urgent_per_million": URGENT_PER_MILLION,
    "template": None,
    "own_volume": None,
    "chunk_rows": None,
    "errors": "raise",
    "online": False,
    "max_room_members": DEFAULT_MAX_ROOM_MEMBERS,
}


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    used = f"policy {args.action}"
    if args.action == "check":
        used += " (with --data)" if args.data is not None else " (without --data)"
    check_source_options(args, _SOURCES, used)
    if args.idle_expiry_s is None:
        args.idle_expiry_s = DEFAULT_IDLE_EXPIRY_S
    elif args.action == "default":  # "give it with --online" would send to another refusal
        raise ValueError(
            "--idle-expiry-s is an option of policy tune and policy check (with --online), "
            "not of policy default"
        )
    elif not args.online:
        raise ValueError("--idle-expiry-s is the online scorer's: give it with --online")
    if args.action == "tune":
        for name, default in TUNE_OPTIONS.items():
            if getattr(args, name) is None:
                setattr(args, name, default)
        return _tune(args, show)
    if args.online and args.action == "default":
        raise ValueError(
            "--online is an option of policy tune and policy check, not of policy default"
        )
    given = [n for n in TUNE_OPTIONS if n != "online" and getattr(args, n) is not None]
    if given:
        option = "--from" if given[0] == "template" else "--" + given[0].replace("_", "-")
        raise ValueError(f"{option} is an option of policy tune, not of policy {args.action}")
    if args.action == "default":
        if args.file is not None:
            raise ValueError("policy default takes no FILE: it prints the built-in policy")
        return {"action": "default", "toml": AlertPolicy.default().to_toml(name="default")}
    if args.file is None:
        raise ValueError("policy check needs the policy FILE to check")
    online = bool(args.online)
    stages = ["validate", "data", "score", *(["replay"] if online else []), "check"]
    with steps(stages, enabled=show) as step:
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
            stored = synthetic.SyntheticData.read(args.data, max_future_s=args.max_future_s)
            messages, labels = stored.messages, stored.labels
            source = str(args.data)
        step("score")
        features = extract_features(messages)
        # labels of these events (ids, adults, onsets), as `evaluate` and `compare` check
        # them: labels of another events file would give wrong figures without a word
        aligned = check_and_align(labels, features, messages)
        model = load_model(args.model)
        scores = model.score(features)
        replayed = None
        if online:  # the sample's events through the online scorer, as `policy tune --online`
            step("replay")
            replayed = online_peaks(model, messages, idle_expiry_s=args.idle_expiry_s)
        step("check")
        label = aligned.label  # the truth, as `riskscore evaluate` scores
        check = check_policy(
            policy, scores, features.conversation_id, aligned.is_grooming, online=replayed
        )
    guards = policy.to_mapping()["guards"]
    return {
        "action": "check",
        "file": str(args.file),
        "valid": True,
        "guards": guards,
        "data": source,
        "label": label,
        **check.to_dict(),
        **_replayed_with(args),
    }


def _replayed_with(args: argparse.Namespace) -> dict[str, float | None]:
    """With ``--online``, the scorer option the replay ran with (null for inf), so two
    replays' figures say why they differ; nothing without it."""
    return {"idle_expiry_s": finite_or_none(args.idle_expiry_s)} if args.online else {}


def _idle_expiry(seconds: float) -> str:
    """The idle expiry of an online replay, as the output says it."""
    if math.isinf(seconds):
        return "(--idle-expiry-s inf: no idle conversation forgotten)"
    shown = f"{seconds:,.0f}" if seconds.is_integer() and seconds < 1e15 else f"{seconds:g}"
    return f"(a conversation idle {shown} s is forgotten: --idle-expiry-s)"


def _pct(value: float | None) -> str:
    return "   n/a" if value is None or math.isnan(value) else f"{100 * value:5.1f}%"


def render(result: dict[str, Any]) -> None:
    if result["action"] in ("default", "tune"):
        print(result["toml"], end="")
        return
    print(f"{result['file']}: valid policy")
    print(f"guards: {Guards(**result['guards']).describe()}")
    print(
        f"on {result['data']}: {plural(result['n_conversations'], 'conversation')}, "
        f"{number_text(result['n_grooming'])} grooming (by {result['label']})\n"
    )
    if result["online"]:
        print("counted online: each conversation at the highest tier it reached at any event")
        print(_idle_expiry(result["idle_expiry_s"] or math.inf))
    print("at the policy's thresholds:")
    # as wide as the longest band name ("minor, other age unknown"), so the columns line up
    width = max([10, *(len(b["band"]) for b in result["bands"])])
    print(
        f"  {'band':{width}s} {'review':>6s} {'urgent':>6s} {'convs':>7s} {'grooming':>8s} "
        f"{'guarded':>7s} {'alerts':>6s} {'urgent':>6s} {'/10k':>6s} {'precision':>9s} "
        f"{'recall':>7s}"
    )
    for b in result["bands"]:
        print(
            f"  {b['band']:{width}s} "
            f"{threshold_text(b['review']):>6s} {threshold_text(b['urgent']):>6s} "
            f"{b['n_conversations']:7,d} "
            f"{b['n_grooming']:8,d} {b['guarded']:7,d} {b['alerts']:6,d} {b['urgent_alerts']:6,d} "
            f"{b['alerts_per_10k']:6.1f} {_pct(b['precision']):>9s} {_pct(b['recall']):>7s}"
        )
    print("(guarded: conversations a guard caps, between two known adults or two close minors)")
    print("\nthreshold versus workload (review threshold swept per band, guards applied; /10k =")
    print("alerts per 10,000 conversations of the whole sample):")
    if result["online"]:
        print(
            "(online: a conversation in every band it was scored in, hit when its peak risk "
            "there reaches the threshold)"
        )
    bands = list(dict.fromkeys(r["band"] for r in result["sweep"]))
    thresholds = list(dict.fromkeys(r["threshold"] for r in result["sweep"]))
    rows = {(r["band"], r["threshold"]): r for r in result["sweep"]}
    widths = [max(22, len(b)) for b in bands]
    print(
        "  "
        + f"{'threshold':>9s} "
        + " ".join(f"{b:>{w}s}" for b, w in zip(bands, widths, strict=True))
    )
    print("  " + " " * 10 + " ".join(f"{'/10k  prec   recall':>{w}s}" for w in widths))
    for t in thresholds:
        cells = []
        for b in bands:
            r = rows[(b, t)]
            cells.append(f"{r['alerts_per_10k']:6.1f} {_pct(r['precision'])} {_pct(r['recall'])}")
        print(
            "  " + f"{t:9.2f} " + " ".join(f"{c:>{w}s}" for c, w in zip(cells, widths, strict=True))
        )
