"""``riskscore stream``: score JSON-lines events from stdin, write alerts as JSON lines."""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from riskscore._words import number_text, plural
from riskscore.cli._paths import MODEL_HELP, bundle_dir, output_path
from riskscore.cli._policy_option import add_policy_option, load_policy
from riskscore.cli._queue_option import add_queue_option, open_queue, queue_summary, render_queue
from riskscore.cli._scorer_options import add_scorer_options, scorer_from_args
from riskscore.cli._stream_input import (
    MAX_LINE_CHARS,
    bounded_lines,
    check_not_standard_streams,
    cut_short_text,
    file_format_hint,
    marked_unfinished,
    parse_line,
    utf8_stdin,
)
from riskscore.cli._stream_resume import (
    FINGERPRINT_KEY,
    SHADOW_BYTES_KEY,
    LineFingerprint,
    name_counts,
    resumed_counts,
    resumed_lines,
    shadow_length,
    stored_fingerprint,
    trim_shadow,
)
from riskscore.cli._stream_stop import at_event_boundaries
from riskscore.cli._time import integer
from riskscore.exceptions import one_line
from riskscore.io.events import (
    count_ignored,
)
from riskscore.io.files import check_own_files
from riskscore.io.jsonl import (
    is_blank_line,
    line_chars,
    not_json,
    without_byte_order_mark,
)
from riskscore.io.private import open_private_append
from riskscore.io.schema import EventType
from riskscore.io.sqlite import unusable_text
from riskscore.model import RiskModel, load_model
from riskscore.moderation import QueueError, ReviewQueue, UserReport
from riskscore.moderation.intake import MAX_AHEAD_S
from riskscore.moderation.user_reports import report_of_event
from riskscore.online import OnlineScorer
from riskscore.online.lock import claim
from riskscore.policy import Alert, AlertPolicy

#: Longest problem message written to stderr per line.
_MAX_MESSAGE_CHARS = 300
_REPORT = int(EventType.REPORT)

NAME = "stream"
HELP = "score JSON-lines events from stdin and write alerts as JSON lines to stdout"
EXAMPLE = (
    "examples:\n  riskscore stream --model models/mine < events.jsonl > alerts.jsonl\n"
    "  tail -n +1 -f events.jsonl | riskscore stream --checkpoint state.sqlite "
    "--checkpoint-every 10000\n"
    "  riskscore stream --policy policies/mine.toml < events.jsonl > alerts.jsonl\n"
    "  riskscore stream --queue queue.sqlite < events.jsonl > alerts.jsonl\n"
    "  riskscore stream --shadow-model models/candidate --shadow-out shadow.jsonl \\\n"
    "      < events.jsonl > alerts.jsonl\n"
    "\n"
    "Each input line is one schema v1 event (a JSON object). Each output line is one alert,\n"
    'with "line": the 1-based input line whose event raised it (an event can raise alerts on\n'
    "the same adult's other conversations; null for alerts raised by the re-scoring at end\n"
    "of input, normally none). Malformed lines are reported on stderr with their line\n"
    "number and counted by reason (the exception type, 'line_too_long' beyond\n"
    f"{MAX_LINE_CHARS} characters, 'future_timestamp' for an event dated more than\n"
    "--max-future-s ahead of the clock); whatever a line holds, the stream goes on. With\n"
    "--checkpoint, the state is saved every N lines and at end of input; a restarted stream\n"
    "resumes from FILE and skips the lines it has already processed: feed it the same input\n"
    "from the start (it checks them against the checkpoint's SHA-256 of those lines and stops\n"
    "before applying anything when they differ). A checkpoint keeps the policy's SHA-256:\n"
    "resuming under another --policy is refused. With --queue, each alert is also added to the\n"
    "review queue as it is written, and each report event as a user report (a child's report\n"
    "comes first in the queue); an alert or report already queued, as after a re-run of the\n"
    "same input, is not queued again.\n"
    "--shadow-model scores a candidate bundle on the same state under the same policy; its\n"
    'alerts (the same fields, with "shadow": true) are appended to --shadow-out, never to\n'
    "stdout nor to --queue."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=bundle_dir, help=MODEL_HELP)
    parser.add_argument(
        "--shadow-model",
        type=bundle_dir,
        metavar="DIR",
        help="candidate bundle (a directory, or `default`) scored next to --model; needs "
        "--shadow-out (default: none)",
    )
    parser.add_argument(
        "--shadow-out",
        type=output_path,
        metavar="FILE",
        help="JSON lines file the shadow alerts are appended to (default: none)",
    )
    add_policy_option(parser)
    add_queue_option(parser)
    parser.add_argument(
        "--checkpoint",
        type=output_path,
        help="SQLite checkpoint file (resumed from if it exists)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=integer,
        default=100_000,
        help="input lines between two checkpoints",
    )
    add_scorer_options(parser)


@dataclass(frozen=True, slots=True)
class StreamResult:
    """Counts of one ``riskscore stream`` run."""

    lines: int
    skipped: int
    events: int
    rejected: int
    alerts: int
    reasons: dict[str, int]
    #: What ``--queue`` added (:func:`~riskscore.cli._queue_option.queue_summary`), or None.
    queue: dict[str, Any] | None = None
    #: events to rooms above --max-room-members, set aside (not conversations)
    broadcast: int = 0
    #: fields of applied events that are not schema v1 (not read), counted by name
    ignored_fields: dict[str, int] = field(default_factory=dict)
    #: lines the checkpoint had processed that the input did not hold (a restart fed a
    #: shorter input than before; 0 normally)
    missing: int = 0
    #: conversations (and group rooms) forgotten in this run after ``--idle-expiry-s`` idle
    #: by the scorer's clock; with ``--time-source events`` the events move that clock
    expired: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stream_lines(
    scorer: OnlineScorer,
    lines: Iterable[str],
    out: TextIO,
    err: TextIO,
    *,
    checkpoint: Path | None = None,
    checkpoint_every: int = 100_000,
    skip: int = 0,
    queue: ReviewQueue | None = None,
    shadow_out: TextIO | None = None,
) -> StreamResult:
    """Apply JSON-lines events to ``scorer``; write alerts to ``out``, bad lines to ``err``.

    Parameters
    ----------
    scorer : OnlineScorer
        The scorer, fresh or restored.
    lines : iterable of str
        The input, from its first line (the first ``skip`` lines are not applied), each
        with its line break as read; with ``checkpoint``, a last line without one is left
        to the resumed stream (neither applied nor counted).
    out, err : text streams
        Alerts as JSON lines (flushed one by one); problems, one per line.
    checkpoint : Path, optional
        Where to save the state every ``checkpoint_every`` lines and at the end.
    checkpoint_every : int, default 100000
        Lines between checkpoints.
    skip : int, default 0
        Lines already processed before the checkpoint the scorer was restored from.
    queue : ReviewQueue, optional
        Where every alert written is also added (:meth:`ReviewQueue.add_alert`), as
        it is written, and every ``report`` event as a user report
        (:meth:`ReviewQueue.add_report`, dated by the event), as ``riskscore serve`` does.
    shadow_out : text stream, optional
        Where the shadow model's alerts go (``"shadow": true`` added), for a scorer
        with a shadow model; never ``out`` nor ``queue``.

    Returns
    -------
    StreamResult
        Counts of lines, events applied, lines rejected (``reasons``: by exception
        type, ``line_too_long`` and ``future_timestamp``; counted across restarts),
        alerts written and the fields of applied events that are not schema v1 and so
        not read (``ignored_fields``, by name, across restarts; a misspelt schema field
        such as ``recipent_age`` is refused, not ignored).

    Notes
    -----
    No line stops the stream: every ``Exception`` a line raises while it is parsed
    or applied is counted and the line skipped (the scorer changes no state on a
    refused event), and an alert or report the queue refuses (an open item of its
    conversation id between two other accounts, or dated after the clock's time by over
    ``--max-future-s`` or a day, :data:`~riskscore.moderation.intake.MAX_AHEAD_S`, whichever
    is longer) is said with its line and counted (``queue["refused"]``), the alert still
    written to ``out``.
    """

    _check_every(checkpoint_every)
    n_lines = n_events = n_rejected = n_alerts = n_reports = 0
    source = "the restored checkpoint" if checkpoint is None else checkpoint
    rejected_before, reasons = resumed_counts(scorer.checkpoint_extra, source)
    ignored = name_counts(scorer.checkpoint_extra, "ignored_fields", source)
    restored_fingerprint = stored_fingerprint(scorer.checkpoint_extra, source)
    fingerprint = LineFingerprint()  # of the lines processed, kept in each checkpoint
    broadcast_before = scorer.n_broadcast
    expired_before = scorer.n_expired

    open_before = 0 if queue is None else len(queue)
    refused_by_queue = 0

    def to_queue(add: Callable[[], object], line: int | None) -> None:
        """``add()`` to the queue; when the queue refuses it (an open item of its
        conversation id between two other accounts: never merged; a time far ahead),
        said on ``err`` with the line that raised it and counted, as ``riskscore serve``
        refuses it alone; the stream goes on."""
        nonlocal refused_by_queue
        try:
            add()
        except QueueError as exc:
            refused_by_queue += 1
            where = "end of input" if line is None else f"line {line}"
            err.write(f"{where}: {one_line(str(exc), _MAX_MESSAGE_CHARS)}\n")
        except sqlite3.OperationalError as exc:  # the queue's file, not the checkpoint: stop
            assert queue is not None
            raise QueueError(unusable_text(queue.path, exc)) from None

    def emit(alert: Alert, line: int | None) -> None:
        out.write(alert.to_json(line=line) + "\n")
        out.flush()
        if queue is not None:
            to_queue(partial(queue.add_alert, alert), line)

    def record_shadow(line: int | None) -> None:
        shadow = scorer.pop_shadow_alerts()
        if shadow and shadow_out is not None:
            for alert in shadow:
                shadow_out.write(alert.to_json(shadow=True, line=line) + "\n")
            shadow_out.flush()

    def save(at: int, digest: str | None) -> None:
        if checkpoint is not None:
            out.flush()  # alerts before the checkpoint are out before it is committed
            extra = {
                "lines": at,
                "rejected": rejected_before + n_rejected,
                "reasons": reasons,
                "ignored_fields": ignored,
            }
            if digest is not None:
                extra[FINGERPRINT_KEY] = digest
            if shadow_out is not None:  # cut back to this on resume (a regular file)
                extra[SHADOW_BYTES_KEY] = shadow_length(shadow_out)
            scorer.checkpoint(checkpoint, extra=extra)

    def stopped() -> None:
        """SIGTERM or SIGINT between two lines (all read applied whole): saved, as at the
        end of input (the lines a resumed stream skips checked first)."""
        if checkpoint is not None and n_lines > skip:
            save(n_lines, fingerprint.hexdigest())
            err.write(f"riskscore stream: stopped; saved {checkpoint} after line {n_lines}\n")

    if shadow_out is not None and checkpoint is not None and not checkpoint.exists():
        save(0, None)  # the shadow file's length now: a stream killed before its next save
        # resumes here, and cuts off the shadow alerts it wrote (it writes them again)
    # Every alert an event raised: its own conversation's and those of its adult's
    # other conversations, re-scored when the event changed the adult's account features.
    update = scorer.update_one_all
    marked = at_event_boundaries(marked_unfinished(lines), stopped)
    for lineno, (line, last_unfinished) in enumerate(marked, start=1):
        n_lines = lineno
        raw = line  # as read: the fingerprint's, whatever is made of it below
        if lineno <= skip:
            fingerprint.add(raw)
            if lineno == skip:  # before anything is applied
                fingerprint.check(restored_fingerprint, skip, source)
            continue
        if checkpoint is not None and last_unfinished:  # its writer may finish it: later
            n_lines = lineno - 1  # not counted: a resumed stream reads it, whole
            err.write(f"line {lineno}: {cut_short_text(checkpoint)}\n")
            continue  # the last line
        if lineno == 1:  # a byte order mark, as read_messages and the service skip it
            line = without_byte_order_mark(line)
            hint = file_format_hint(line)
            if hint is not None:  # said once, before the lines' own errors
                err.write(f"riskscore stream: {hint}\n")
        if len(line) > MAX_LINE_CHARS and line_chars(line) > MAX_LINE_CHARS:
            n_rejected += 1
            reasons["line_too_long"] = reasons.get("line_too_long", 0) + 1
            err.write(f"line {lineno}: more than {MAX_LINE_CHARS} characters\n")
        elif not is_blank_line(line):
            refused_future = scorer.n_refused_future
            try:
                event = parse_line(line)
                alerts = update(event, row=lineno)  # a refusal names the event by its line
            except Exception as exc:
                json_error = isinstance(exc, json.JSONDecodeError)  # as parse_line's others
                text = f"the line {not_json(exc)}" if json_error else str(exc)
                message = one_line(text, _MAX_MESSAGE_CHARS)
                n_rejected += 1
                if scorer.n_refused_future != refused_future:
                    reason = "future_timestamp"
                else:
                    reason = type(exc).__name__
                reasons[reason] = reasons.get(reason, 0) + 1
                err.write(f"line {lineno}: {message}\n")
            else:
                n_events += 1
                count_ignored(event, ignored)
                for alert in alerts:
                    n_alerts += 1
                    emit(alert, lineno)
                if queue is not None and (report := _report(scorer)) is not None:
                    n_reports += 1  # given, as alerts are: those refused are counted apart
                    to_queue(partial(queue.add_report, report), lineno)
                record_shadow(lineno)
        fingerprint.add(raw)
        if lineno % checkpoint_every == 0:
            save(lineno, fingerprint.hexdigest())
    missing = max(skip - n_lines, 0)
    if missing:
        err.write(
            f"riskscore stream: input ended at line {n_lines}, before line {skip} where "
            f"{source} resumes: this input lacks {plural(missing, 'line')} it had processed "
            "(feed the same input from its start); nothing was applied, the checkpoint still "
            f"counts {plural(skip, 'line')}\n"
        )
    for alert in scorer.refresh():
        n_alerts += 1
        emit(alert, None)
    record_shadow(None)
    # never fewer lines than the state holds: a shorter input must not lower the count, or
    # the next restart would apply the lines between the two counts a second time
    digest = restored_fingerprint if missing else fingerprint.hexdigest()
    save(max(n_lines, skip), digest)
    return StreamResult(
        lines=n_lines,
        skipped=min(skip, n_lines),
        events=n_events,
        rejected=n_rejected,
        alerts=n_alerts,
        reasons=dict(sorted(reasons.items())),
        queue=None
        if queue is None
        else {
            **queue_summary(queue, n_alerts, open_before, n_reports),
            "refused": refused_by_queue,
        },
        broadcast=scorer.n_broadcast - broadcast_before,
        ignored_fields=dict(sorted(ignored.items())),
        missing=missing,
        expired=scorer.n_expired - expired_before,
    )


def _report(scorer: OnlineScorer) -> UserReport | None:
    """The user report to queue of the event just applied when it is a ``report``, as
    ``riskscore serve`` queues it (which dates it by its clock), dated by the event: a
    child's report jumps the queue, and a re-run of the same input stores it once (a
    report is kept once per conversation, reporter and time)."""
    event = scorer.last_event
    if event is None or event[7] != _REPORT:
        return None
    return report_of_event(scorer, event, scorer.conversation_id_of(event), event[1])


def _check_every(checkpoint_every: int) -> None:
    if checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every must be at least 1, got {checkpoint_every}")


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    _check_every(args.checkpoint_every)  # before the checkpoint is claimed: no lock file left
    if (args.shadow_model is None) != (args.shadow_out is None):
        raise ValueError("--shadow-model and --shadow-out go together")
    check_own_files(
        {
            "--checkpoint": args.checkpoint,
            "--queue": args.queue,
            "--shadow-out": args.shadow_out,
            "--policy": args.policy,
        }
    )
    written = {
        "--checkpoint": args.checkpoint,
        "--queue": args.queue,
        "--shadow-out": args.shadow_out,
    }
    check_not_standard_streams(written, sys.stdin, sys.stdout)
    with contextlib.ExitStack() as stack:
        if args.checkpoint is not None:
            # first: a checkpoint another process owns stops before anything is opened
            stack.enter_context(claim(args.checkpoint))
        policy = load_policy(args.policy)
        model = load_model(args.model)
        # before any work: a file that is not a queue stops
        queue = open_queue(args.queue, policy)
        if queue is not None:
            stack.callback(queue.close)
        return _run(args, policy, model, queue)


def _run(
    args: argparse.Namespace, policy: AlertPolicy, model: RiskModel, queue: ReviewQueue | None
) -> dict[str, Any]:
    resumed = args.checkpoint is not None and args.checkpoint.exists()
    shadow = None if args.shadow_model is None else load_model(args.shadow_model)
    scorer = scorer_from_args(args, model, policy, args.checkpoint, shadow_model=shadow)
    if queue is not None:  # it takes the alerts of every event the scorer takes (restored too)
        queue.max_ahead_s = max(scorer.max_future_s, MAX_AHEAD_S)
    skip = 0
    if resumed:
        skip = resumed_lines(scorer, args.checkpoint)
        print(
            f"riskscore stream: resuming from {args.checkpoint} after input line {skip}",
            file=sys.stderr,
        )
    with contextlib.ExitStack() as stack:
        shadow_out = None
        if args.shadow_out is not None:
            shadow_out = stack.enter_context(open_private_append(args.shadow_out))
            if resumed:  # the shadow alerts of lines after the checkpoint: written again
                trim_shadow(shadow_out, scorer.checkpoint_extra, args.shadow_out, args.checkpoint)
        result = stream_lines(
            scorer,
            bounded_lines(utf8_stdin(sys.stdin)),
            sys.stdout,
            sys.stderr,
            checkpoint=args.checkpoint,
            checkpoint_every=args.checkpoint_every,
            skip=skip,
            queue=queue,
            shadow_out=shadow_out,
        )
    return {"summary": result.to_dict(), "shadow_alerts": scorer.n_shadow_alerts}


def render(result: dict[str, Any]) -> None:
    s = result["summary"]
    print(
        f"riskscore stream: {plural(s['lines'], 'line')} ({number_text(s['skipped'])} skipped "
        f"as already processed), {plural(s['events'], 'event')}, "
        f"{number_text(s['rejected'])} rejected, "
        f"{plural(s['alerts'], 'alert')}",
        file=sys.stderr,
    )
    if s["reasons"]:
        text = ", ".join(f"{reason} {number_text(n)}" for reason, n in s["reasons"].items())
        print(f"riskscore stream: rejected lines by reason: {text}", file=sys.stderr)
    if s["queue"] is not None:
        print(f"riskscore stream: {render_queue(s['queue'])}", file=sys.stderr)
    if s["broadcast"]:
        print(
            f"riskscore stream: {plural(s['broadcast'], 'event')} to rooms above "
            "--max-room-members set aside as broadcasts (not conversations)",
            file=sys.stderr,
        )
    if s["missing"]:
        print(
            f"riskscore stream: input ended {plural(s['missing'], 'line')} before the "
            "checkpoint's count of lines processed: those lines were not fed again",
            file=sys.stderr,
        )
    if s["expired"]:
        print(
            f"riskscore stream: {plural(s['expired'], 'conversation')} idle for longer than "
            "--idle-expiry-s by the scorer's clock forgotten (their state dropped; a later "
            "event starts afresh)",
            file=sys.stderr,
        )
    if s["ignored_fields"]:
        text = ", ".join(f"{name} {number_text(n)}" for name, n in s["ignored_fields"].items())
        print(f"riskscore stream: fields not in schema v1, not read: {text}", file=sys.stderr)
    if result.get("shadow_alerts"):
        print(
            f"riskscore stream: {plural(result['shadow_alerts'], 'shadow alert')} recorded "
            "(not emitted)",
            file=sys.stderr,
        )
