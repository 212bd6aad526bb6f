"""``riskscore stream``: score JSON-lines events from stdin, write alerts as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from riskscore.cli._policy_option import add_policy_option, load_policy
from riskscore.exceptions import SchemaError
from riskscore.model import load_model
from riskscore.online import OnlineScorer

NAME = "stream"
HELP = "score JSON-lines events from stdin and write alerts as JSON lines to stdout"
EXAMPLE = (
    "examples:\n  riskscore stream --model models/mine < events.jsonl > alerts.jsonl\n"
    "  tail -f events.jsonl | riskscore stream --checkpoint state.sqlite --checkpoint-every 10000\n"
    "  riskscore stream --policy policies/mine.toml < events.jsonl > alerts.jsonl\n"
    "\n"
    "Each input line is one schema v1 event (a JSON object). Each output line is one alert,\n"
    'with "line": the 1-based input line whose event raised it (an event can raise alerts on\n'
    "the same adult's other conversations; null for alerts raised by the re-scoring at end\n"
    "of input, normally none). Malformed lines are reported on stderr with their line\n"
    "number and counted; the stream goes on. With --checkpoint, the state is saved every N\n"
    "lines and at end of input; a restarted stream resumes from FILE and skips the lines it\n"
    "has already processed (feed it the same input from the start). The policy is not part of\n"
    "a checkpoint: give the same --policy when resuming."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help="model bundle (default: the shipped one)")
    add_policy_option(parser)
    parser.add_argument(
        "--checkpoint", type=Path, help="SQLite checkpoint file (resumed from if it exists)"
    )
    parser.add_argument(
        "--checkpoint-every", type=int, default=100_000, help="input lines between two checkpoints"
    )
    parser.add_argument(
        "--idle-expiry-s",
        type=float,
        default=30 * 86_400.0,
        help="forget conversations and accounts with no event for this many seconds of event "
        "time (default: 2592000 s, 30 days; inf keeps everything)",
    )
    parser.add_argument(
        "--cooldown-s",
        type=float,
        default=0.0,
        help="minimum event time between two alerts of one conversation, in seconds",
    )
    parser.add_argument(
        "--reorder-tolerance-s",
        type=float,
        default=300.0,
        help="events up to this many seconds late are clamped, later ones refused",
    )


@dataclass(frozen=True, slots=True)
class StreamResult:
    """Counts of one ``riskscore stream`` run."""

    lines: int
    skipped: int
    events: int
    rejected: int
    alerts: int

    def to_dict(self) -> dict[str, int]:
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
) -> StreamResult:
    """Apply JSON-lines events to ``scorer``; write alerts to ``out``, bad lines to ``err``.

    Parameters
    ----------
    scorer : OnlineScorer
        The scorer, fresh or restored.
    lines : iterable of str
        The input, from its first line (the first ``skip`` lines are not applied).
    out, err : text streams
        Alerts as JSON lines (flushed one by one); problems, one per line.
    checkpoint : Path, optional
        Where to save the state every ``checkpoint_every`` lines and at the end.
    checkpoint_every : int, default 100000
        Lines between checkpoints.
    skip : int, default 0
        Lines already processed before the checkpoint the scorer was restored from.

    Returns
    -------
    StreamResult
        Counts of lines, events applied, lines rejected and alerts written.
    """

    if checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every must be at least 1, got {checkpoint_every}")
    n_lines = n_events = n_rejected = n_alerts = 0
    rejected_before = int(scorer.checkpoint_extra.get("rejected", 0))

    def emit(payload: dict[str, Any]) -> None:
        out.write(json.dumps(payload, allow_nan=False) + "\n")
        out.flush()

    def save(at: int) -> None:
        if checkpoint is not None:
            out.flush()  # alerts before the checkpoint are out before it is committed
            scorer.checkpoint(
                checkpoint, extra={"lines": at, "rejected": rejected_before + n_rejected}
            )

    # Every alert an event raised: its own conversation's and those of its adult's
    # other conversations, re-scored when the event changed the adult's account features.
    update = scorer.update_one_all
    for lineno, line in enumerate(lines, start=1):
        n_lines = lineno
        if lineno <= skip:
            continue
        if line.strip():
            try:
                event = json.loads(line)
                if not isinstance(event, dict):
                    raise SchemaError(f"expected a JSON object (one event), got {line.strip()!r}")
                alerts = update(event)
            except (ValueError, TypeError) as exc:  # JSONDecodeError and SchemaError
                n_rejected += 1
                err.write(f"line {lineno}: {exc}\n")
            else:
                n_events += 1
                for alert in alerts:
                    n_alerts += 1
                    emit({**alert.to_dict(), "line": lineno})
        if lineno % checkpoint_every == 0:
            save(lineno)
    for alert in scorer.refresh():
        n_alerts += 1
        emit({**alert.to_dict(), "line": None})
    save(n_lines)
    return StreamResult(
        lines=n_lines,
        skipped=min(skip, n_lines),
        events=n_events,
        rejected=n_rejected,
        alerts=n_alerts,
    )


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    policy = load_policy(args.policy)
    model = load_model(args.model)
    skip = 0
    if args.checkpoint is not None and args.checkpoint.exists():
        scorer = OnlineScorer.restore(args.checkpoint, model, policy)
        skip = int(scorer.checkpoint_extra.get("lines", 0))
        print(
            f"riskscore stream: resuming from {args.checkpoint} after input line {skip}",
            file=sys.stderr,
        )
    else:
        scorer = OnlineScorer(
            model,
            policy,
            idle_expiry_s=args.idle_expiry_s,
            cooldown_s=args.cooldown_s,
            reorder_tolerance_s=args.reorder_tolerance_s,
        )
    result = stream_lines(
        scorer,
        sys.stdin,
        sys.stdout,
        sys.stderr,
        checkpoint=args.checkpoint,
        checkpoint_every=args.checkpoint_every,
        skip=skip,
    )
    return {"summary": result.to_dict()}


def render(result: dict[str, Any]) -> None:
    s = result["summary"]
    print(
        f"riskscore stream: {s['lines']} lines ({s['skipped']} skipped as already processed), "
        f"{s['events']} events, {s['rejected']} rejected, {s['alerts']} alerts",
        file=sys.stderr,
    )
