"""``riskscore compare``: two model bundles on the same conversations, paired; or the
production and shadow alerts of a shadow run."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any, Final

from riskscore._words import number_text, plural
from riskscore.batch.shadow import read_alerts, read_shadow_run
from riskscore.cli._future_option import add_max_future_s_option
from riskscore.cli._paths import (
    NamedBundle,
    check_out_dir,
    named_bundle,
    output_path,
    path_argument,
)
from riskscore.cli._policy_option import add_policy_option, load_policy
from riskscore.cli._source_options import check_source_options
from riskscore.cli._time import parse_epoch, seed, whole_number
from riskscore.cli._unread import unread_note
from riskscore.evaluation.compare import (
    ModelComparison,
    bundle_id,
    compare_alert_sets,
    compare_models,
)
from riskscore.evaluation.labels import adult_accounts, check_and_align
from riskscore.evaluation.metrics import MAX_BOOTSTRAP
from riskscore.evaluation.slices import MIN_GROOMING_FOR_INTERVAL, interval_replicates
from riskscore.exceptions import SchemaError
from riskscore.features import extract_features
from riskscore.io import read_messages
from riskscore.io.files import check_not_inputs, check_own_files
from riskscore.io.given_ids import given_conversation_ids
from riskscore.io.given_times import TIME_RANGE
from riskscore.io.staging import staged_file
from riskscore.model import load_model
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
    "\n"
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


#: The options of the bootstrap over adults (``--data`` only), with their defaults.
_BOOTSTRAP: Final[dict[str, Any]] = {"bootstrap": 500, "seed": 0}


def configure(parser: argparse.ArgumentParser) -> None:
    alone = "not with --shadow-run or --shadow-alerts"
    named = "a directory, or `default` for the shipped one"
    parser.add_argument(
        "model_a",
        type=named_bundle,
        nargs="?",
        help=f"first bundle ({named}; the reference; {alone})",
    )
    parser.add_argument(
        "model_b",
        type=named_bundle,
        nargs="?",
        help=f"second bundle ({named}; the candidate; {alone})",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data", type=path_argument, help="directory with events.parquet and labels.parquet"
    )
    source.add_argument("--events", type=path_argument, help="events without ground truth")
    source.add_argument(
        "--shadow-run",
        type=path_argument,
        metavar="DIR",
        help="output directory of `riskscore score --shadow-model` (Parquet or JSON lines)",
    )
    source.add_argument(
        "--shadow-alerts",
        type=path_argument,
        metavar="FILE",
        help="shadow alerts (an alerts file: JSON lines of an online scorer, or the "
        "alerts.parquet or .jsonl of `riskscore score`); needs --alerts",
    )
    parser.add_argument(
        "--alerts",
        type=path_argument,
        metavar="FILE",
        help="with --shadow-alerts: the production alerts of the same events (an alerts file)",
    )
    parser.add_argument("--queue", type=path_argument, help="review queue whose decisions to match")
    parser.add_argument(
        "--since",
        type=parse_epoch,
        help="with --queue: count decisions made at or after this time (epoch seconds, "
        f"YYYY-MM-DD (UTC) or ISO 8601 with offset, {TIME_RANGE}; default: every decision)",
    )
    add_policy_option(parser)
    parser.add_argument(
        "--bootstrap",
        type=whole_number(40, MAX_BOOTSTRAP),
        help=f"with --data, bootstrap replicates over adults (40, so that each tail of a 95%% "
        f"interval holds one, to {MAX_BOOTSTRAP:,}; "
        f"default: {_BOOTSTRAP['bootstrap']})",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        help=f"with --data, seed of the bootstrap (default: {_BOOTSTRAP['seed']})",
    )
    parser.add_argument(
        "--out", type=output_path, help="directory for compare.json (default: none)"
    )
    add_max_future_s_option(parser)


def _labels(args: argparse.Namespace, since: int | None) -> DecisionLabels | None:
    if args.queue is None:
        if since is not None:
            raise ValueError("--since counts decisions: give the review queue with --queue")
        return None
    with ReviewQueue(args.queue, create=False) as queue:
        return labels_from_queue(queue, since=since)


def _bundles(
    args: argparse.Namespace, labels: DecisionLabels | None
) -> tuple[ModelComparison, tuple[str, ...], str | None]:
    """Both bundles on the same events, the columns of the events not read, and the label
    scored against (None without --data)."""
    if args.model_a is None or args.model_b is None:
        raise ValueError("give two model bundles (MODEL_A MODEL_B), or --shadow-run DIR")
    bundles: tuple[NamedBundle, NamedBundle] = (args.model_a, args.model_b)
    a, b = (load_model(bundle.path) for bundle in bundles)
    truth = label = adults = None
    if args.data is not None:
        data = SyntheticData.read(args.data, max_future_s=args.max_future_s)
        messages = data.messages
        features = extract_features(messages)
        # the truth, as `riskscore evaluate` scores (riskscore.evaluation.labels)
        aligned = check_and_align(data.labels, features, messages)
        # resampled by the labels' adults, as `riskscore evaluate` resamples
        truth, label = aligned.is_grooming, aligned.label
        adults = adult_accounts(features, aligned)
    else:
        messages = read_messages(args.events, max_future_s=args.max_future_s)
        features = extract_features(messages)
    if labels is not None:  # a room's case under its pair's id, as batch names it
        given = given_conversation_ids(features.conversation_id)
        labels = labels.on(given)
        labels.check_accounts(given, features.adult_id.tolist(), features.child_id.tolist())
    comparison = compare_models(
        a,
        b,
        features,
        policy=load_policy(args.policy),
        is_grooming=truth,
        adult_id=adults,
        decided_positive=None if labels is None else labels.positive,
        decided_negative=None if labels is None else labels.negative,
        names=(bundles[0].name, bundles[1].name),  # as named: `default` stays `default`
        ids=(bundle_id(bundles[0].path), bundle_id(bundles[1].path)),
        n_bootstrap=args.bootstrap,
        seed=args.seed,
    )
    return comparison, messages.unread_columns, label


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
        accounts = run.accounts
        for model in names:
            model["parameters_sha256"] = run.summary[model["name"]].get("parameters_sha256")
    else:
        if args.alerts is None:
            raise ValueError("--shadow-alerts needs the production alerts: --alerts FILE")
        # a file compared with itself (by any path) gains and loses nothing, whatever it holds
        check_own_files({"--alerts": args.alerts, "--shadow-alerts": args.shadow_alerts})
        files = read_alerts(args.alerts), read_alerts(args.shadow_alerts)
        # one name per conversation: a room's id online, its pair's id in batch
        production, shadow = files[0].conversation_id, files[1].named_as(files[0])
        _check_one_id_kind({"--alerts": production, "--shadow-alerts": shadow})
        scored, accounts = [], files[0] + files[1]
    if labels is not None:  # a room's case under its pair's id, as batch names it
        labels = labels.on([*scored, *production, *shadow])
        # decisions on other accounts' conversations of the same ids are not these alerts'
        labels.check_accounts(
            accounts.conversation_id, accounts.adult_id, accounts.child_id, "alerts files"
        )
    return compare_alert_sets(
        scored,
        production,
        shadow,
        decided_positive=None if labels is None else labels.positive,
        decided_negative=None if labels is None else labels.negative,
        models=(names[0], names[1]),
    )


def _check_one_id_kind(files: dict[str, list[Any]]) -> None:
    """Refuse two alerts files whose ids share no type (integers in one, text in the
    other): 1 and "1" are two ids, so every alert would count as gained and lost, none
    matched. A file of an online scorer's alerts may hold both types; one of batch
    scoring holds integer ids as decimal text where one is beyond int64."""
    kinds = {
        option: {"text" if isinstance(i, str) else "integers" for i in ids}
        for option, ids in files.items()
        if ids
    }
    if len(kinds) == 2 and set.isdisjoint(*kinds.values()):
        said = " but ".join(f"{min(kind)} in {option}" for option, kind in kinds.items())
        raise SchemaError(
            f'conversation ids are {said}: 1 and "1" are two ids, so no alert would '
            "match; give both files from the same events, and both of `riskscore score` or "
            "both of an online scorer (`riskscore score` of events with an integer id "
            "beyond int64 writes every integer id as decimal text, where an online scorer "
            "keeps integers)"
        )


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    # the bootstrap needs labels: with any other source its options would be ignored
    sources = {"--data": _BOOTSTRAP, "--events": {}, "--shadow-run": {}, "--shadow-alerts": {}}
    used = next(s for s in sources if getattr(args, s[2:].replace("-", "_")) is not None)
    check_source_options(args, sources, used, fill_all=True)  # compare_models checks them
    if args.out is not None:  # before any work: compare.json never replaces what is read
        check_out_dir(args.out)
        inputs = (args.events, args.alerts, args.shadow_alerts, args.queue, args.policy)
        check_not_inputs([args.out / "compare.json"], inputs)
    since = args.since
    labels = _labels(args, since)
    if args.alerts is not None and args.shadow_alerts is None:
        raise ValueError("--alerts goes with --shadow-alerts")
    if args.shadow_run is not None or args.shadow_alerts is not None:
        result = _shadow(args, labels).to_dict()
        result["unread_columns"] = []
        result["label"] = None
    else:
        comparison, unread, label = _bundles(args, labels)
        result = comparison.to_dict()
        result["unread_columns"] = list(unread)
        result["label"] = label
        for model, bundle in zip(result["models"], (args.model_a, args.model_b), strict=True):
            model["path"] = str(bundle.path)  # the name as given, and where it resolved
    if result["decisions"] is not None and labels is not None:
        result["decisions"]["since"] = (
            None if since is None else datetime.fromtimestamp(since, UTC).isoformat()
        )
        # actioned or escalated before --since: never counted as dismissed, left out
        result["decisions"]["excluded_positive_before_since"] = len(labels.positive_before)
    if args.out is not None:
        path = args.out / "compare.json"
        # whole, or the earlier file; it lists alerted conversations, as alerts files do
        with staged_file(path, private=True) as staged:
            text = json.dumps(result, indent=2, default=str, allow_nan=False)
            staged.write_text(text + "\n", encoding="utf-8")
        result["file"] = str(path)
    return result


def render(result: dict[str, Any]) -> None:
    a, b = result["models"]
    for label, model in (("A", a), ("B", b)):
        # a bundle by its manifest, a shadow run's model by its parameters: say which
        if model.get("id"):
            shown = f" (manifest sha256 {model['id'][:12]})"
        elif model.get("parameters_sha256"):
            shown = f" (parameters sha256 {model['parameters_sha256'][:12]})"
        else:
            shown = ""
        # conversations: an online log alerts one at review, then again at urgent
        alerted = f"{plural(model['n_alerts'], 'conversation')} alerted"
        print(f"{label} {model['name']}{shown}: {alerted}")
    print(
        f"{plural(result['n_conversations'], 'conversation')}; B alerts "
        f"{number_text(result['alerts_gained_by_b'])} that A does not and misses "
        f"{number_text(result['alerts_lost_by_b'])} "
        "that A alerts"
    )
    if result["label"] is not None:
        print(f"  metrics against {result['label']}")
    few = result.get("n_grooming_adults")
    if few is not None and interval_replicates(few, 1) == 0:
        print(
            f"  no intervals: the grooming conversations come from "
            f"{plural(few, 'adult account')}, fewer than {MIN_GROOMING_FOR_INTERVAL}"
        )
    for key, d in result["differences_b_minus_a"].items():
        if d["difference"] is None:  # undefined on these conversations (no positive)
            print(f"  {key:14s} B - A n/a (undefined on these conversations)")
            continue
        ci = (
            ""
            if d["ci95_low"] is None
            else f" (95% CI {_signed(d['ci95_low'])} to {_signed(d['ci95_high'])})"
        )
        print(f"  {key:14s} B - A {d['difference']:+.4f}{ci}")
    decisions = result["decisions"]
    if decisions:
        since = decisions["since"] or "the start of the queue"
        print(
            f"decisions since {since}: {number_text(decisions['positive'])} actioned or "
            f"escalated, {number_text(decisions['dismissed'])} dismissed "
            f"({number_text(decisions['not_compared'])} about other "
            "conversations)"
        )
        if decisions.get("excluded_positive_before_since"):
            print(
                f"  {plural(decisions['excluded_positive_before_since'], 'conversation')} "
                "actioned or escalated before then and decided again since left out (never "
                "counted as dismissed)"
            )
        for label in ("a", "b"):
            d = decisions[label]
            precision = d["precision_on_decided"]
            print(
                f"  {label.upper()} alerts {number_text(d['alerted_positive'])} of the actioned or "
                f"escalated and {number_text(d['alerted_dismissed'])} of the dismissed; "
                "precision on decided "
                + ("n/a" if precision is None else f"{100 * precision:.1f}%")
            )
    if result["unread_columns"]:
        print(unread_note(result["unread_columns"]))
    if "file" in result:
        print(f"wrote {result['file']}")


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"
