"""``riskscore queue``: show the review queue (top cases, with reasons) and record a decision."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from riskscore._words import plural, risk_text
from riskscore.cli._paths import path_argument
from riskscore.cli._time import MAX_COUNT, parse_epoch, whole_number
from riskscore.io.given_times import TIME_RANGE
from riskscore.io.shown_ids import shown_id
from riskscore.moderation import QueueError
from riskscore.moderation.cases import MAX_NOTE_CHARS
from riskscore.moderation.earlier_reasons import shown_reason
from riskscore.moderation.item_facts import (
    account_role,
    alert_roles_assumed,
    facts_text,
    report_facts,
    younger_account_text,
)
from riskscore.moderation.queue import ReviewQueue
from riskscore.moderation.ranking import TIER_NAMES

_item_id = whole_number(1)

NAME = "queue"
HELP = "show the top cases of a review queue, or record a moderator's decision"
EXAMPLE = (
    "examples:\n  riskscore queue --db queue.sqlite --top 10\n"
    "  riskscore queue --db queue.sqlite --decide 1042 --token v1:12.1-15.3 --outcome actioned "
    '--moderator "mod-7"\n'
    "  riskscore queue --db queue.sqlite --decide '\"acct-9\"' --items 31,32 --outcome escalated "
    "--moderator m2\n\n"
    "A decision closes only what the moderator was shown: the case's token (printed with each\n"
    "case; refused if the case changed since) or its item ids. Items that arrived since stay\n"
    "open. The decision is dated by the clock. An id written as a whole number is a number\n"
    "(1042; ' 7', '-0' and '1e3' are text), one in double quotes is text ('\"1042\"')."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=path_argument, required=True, help="the queue's SQLite file")
    parser.add_argument(
        "--top", type=whole_number(0), default=10, help="cases to show (0: none; default: 10)"
    )
    parser.add_argument(
        "--now",
        type=parse_epoch,
        help="time to rank at: epoch seconds, YYYY-MM-DD (UTC) or ISO 8601 with offset, "
        f"{TIME_RANGE} (default: now)",
    )
    parser.add_argument("--decide", metavar="ADULT_ID", help="record a decision on this case")
    parser.add_argument("--token", help="the token of the case as shown (decides its items)")
    parser.add_argument(
        "--items",
        type=_parse_items,
        help="comma-separated item ids shown (decides these items; whole numbers from 1)",
        metavar="IDS",
    )
    parser.add_argument(
        "--outcome",
        choices=("actioned", "dismissed", "escalated"),
        help="the decision, with --decide",
    )
    parser.add_argument("--moderator", help="who decided (kept in the audit log)")
    parser.add_argument(
        "--note",
        default="",
        help=(
            "a short factual note for the audit log about the decision, at most "
            f"{MAX_NOTE_CHARS} characters; never quote messages (no text in quotation marks, "
            "nothing after 'wrote:' or 'said:')"
        ),
    )


def _parse_id(text: str) -> Any:
    """An adult id as given: a number only when written as one (``7``; `` 7``, ``-0``,
    ``07`` and ``1e3`` stay text, the first three quoted in the case list), a JSON string
    (``'"7"'``) as its text, anything else as written."""
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return value if isinstance(value, str) else text
    try:
        number = int(text)
    except ValueError:  # not a number, or more digits than Python converts
        return text
    return number if str(number) == text else text


def _as_text(text: str, number: int) -> str:
    """How to name the case of the text id ``text`` that was read as ``number`` (the queue
    screen shows text ids quoted, numbers bare)."""
    return (
        f"--decide {text} was read as the number {number}: give a text id quoted as JSON, "
        f"--decide '{json.dumps(text)}'"
    )


def _parse_items(text: str) -> list[int]:
    try:
        items = [_item_id(part) for part in text.split(",") if part.strip()]
        if not items:  # "," or "": the library's "item_ids is empty" named no option
            raise argparse.ArgumentTypeError
        return items
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not comma-separated item ids (whole numbers from 1 to {MAX_COUNT})"
        ) from None


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    now = int(time.time()) if args.now is None else args.now
    with ReviewQueue(args.db, create=False) as queue:
        decided = None
        if args.decide is not None:
            if args.outcome is None or not args.moderator:
                raise ValueError("--decide needs --outcome and --moderator")
            if args.token is not None and args.items is not None:
                raise ValueError(
                    "--token and --items are exclusive: --decide takes the items shown by "
                    "one of them, --token TOKEN (printed with the case) or --items ID,ID"
                )
            if args.token is None and args.items is None:
                raise ValueError(
                    "--decide needs the items shown: --token TOKEN (printed with the case) "
                    "or --items ID,ID"
                )
            adult = _parse_id(args.decide)
            try:
                n = queue.decide(
                    adult,
                    args.outcome,
                    moderator=args.moderator,
                    token=args.token,
                    item_ids=args.items,
                    note=args.note,
                )
            except QueueError as exc:
                # the hint only when the text id has a case: after a decision by someone
                # else, "give a text id" would send the moderator after a wrong id
                if isinstance(adult, str) or queue.case(args.decide, now=now) is None:
                    raise
                raise QueueError(f"{exc}; {_as_text(args.decide, adult)}") from None
            decided = {"adult_id": adult, "outcome": args.outcome, "items": n}
        cases = queue.cases(now=now)
        return {
            "now": now,
            # the items of the cases shown, at `now`: not those dated after it (a replay
            # with --now, or an item dated ahead of the clock), which no case shows yet
            "open_items": sum(len(c.items) for c in cases),
            "open_cases": len(cases),
            "decided": decided,
            "top": [c.to_dict() for c in cases[: args.top]],
        }


def render(result: dict[str, Any]) -> None:
    if result["decided"] is not None:
        d = result["decided"]
        case = f"case {shown_id(d['adult_id'])} {d['outcome']}"
        print(f"recorded: {case} ({plural(d['items'], 'item')})\n")
    print(
        f"{plural(result['open_cases'], 'open case')} ({plural(result['open_items'], 'open item')})"
    )
    for rank, case in enumerate(result["top"], start=1):
        print(
            f"\n#{rank} priority {case['priority']:.2f}  "
            f"{_role(case)} {shown_id(case['adult_id'])}: "
            f"{plural(len(case['children']), 'child', 'children')}, "
            f"{plural(len(case['conversations']), 'conversation')}, "
            f"{plural(len(case['items']), 'item')}"
        )
        print(f"     token {case['token']}  items {[i['item_id'] for i in case['items']]}")
        for reason in case["reasons"]:
            # as the console shows it: riskscore's earlier wording re-worded and marked
            print(f"     - {shown_reason(reason)}")
        for item in case["items"]:  # which item is which child, for --items
            print(f"     item {_item_text(item)}")
            # the older account's age, when contact began, ended; a report's reported age
            print(f"       {_facts_text(item)}")


def _role(case: dict[str, Any]) -> str:
    """The account of a case's JSON as the console's :func:`case_role` words it: "adult",
    "older account" when the latest alert that knows its age has it under 18, "reported
    account" when only user reports name it (:func:`account_role`)."""
    return account_role(
        (i["kind"], i["last_event_at"], i["updated_at"], i["item_id"], i["adult_age"])
        for i in case["items"]
    )


def _item_text(item: dict[str, Any]) -> str:
    """One item of a case, as the console's case page lists it: an alert's tier and child,
    a user report's reporter (a child, or an adult such as a parent), age and band (or
    unknown), conversation and risk."""
    alert = item["kind"] != "user_report"
    assumed = alert and alert_roles_assumed(
        item["child_age"], item["adult_age"], item["first_event_at"], item["last_event_at"]
    )
    ages = younger_account_text(
        item["child_age"], item["adult_age"], item["age_band"], assumed=assumed
    )
    who = f"{shown_id(item['child_id'])} ({ages})"
    what = f"{TIER_NAMES[item['tier']]} alert, child {who}" if alert else f"user report by {who}"
    return (
        f"{item['item_id']}: {what}, conversation {shown_id(item['conversation_id'])}, "
        f"risk {risk_text(item['risk'])}"
    )


def _facts_text(item: dict[str, Any]) -> str:
    """The facts of an item of a case's JSON, as the console's case page words them
    (:func:`~riskscore.moderation.item_facts.item_facts`)."""
    if item["kind"] != "alert":
        return report_facts(item["adult_age"])
    return facts_text(
        item["adult_age"],
        item["first_event_at"],
        item["last_event_at"],
        item["updated_at"],
        item["n_signals"],
    )
