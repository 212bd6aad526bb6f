"""What a refused event costs: ``OnlineScorer.update_one`` and ``riskscore stream`` on bad events.

A valid event costs a few microseconds in ``update_one``. A refused one (an unknown channel,
an age of -3, a time before 2000, NaN, a content-like field, a missing field, ...) used to
build a one-row table for the batch validator to word its message: about a millisecond, so
that a broken or hostile producer slowed the scorer some 250-fold per event. Each column's
rule now checks one value of the plain kinds (:func:`riskscore.io.validate.quick_refusal`),
in the same words.

Two measurements, on a fixed list of hostile events (no randomness, no data files):

1. **update_one**: ``time.perf_counter_ns`` around each call, ``--repeats`` calls per kind of
   refusal (timestamps as text and numpy numbers among them) and of valid events (for
   scale, with fields riskscore does not read: the same names each time, whose verdicts are
   kept, or a new name each time; and with times and numbers as platforms send them: ISO
   text, digits, whole decimals) on a scorer with ``time_source="events"``;
   median and mean in microseconds.
2. **riskscore stream** on a file of ``--lines`` bad lines (the kinds above, in turn):
   wall time of the command, and of the same command on an empty input (its start-up),
   best of ``--stream-repeats``.

With ``--before DIR`` (a checkout of another commit: ``git archive main | tar -x -C DIR``)
both are measured in that checkout too, in turns within one run, so the ratio holds on a
shared machine; ``--rounds`` times each checkout's calls in turns, keeping each kind's round
of lowest median. Prints a table and writes ``benchmarks/results/online_refusals.json``.

Run::

    .venv/bin/python benchmarks/bench_online_refusals.py
    .venv/bin/python benchmarks/bench_online_refusals.py --before /tmp/main-export
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, load_average, run_in_checkout, run_record, write_json

ROOT = Path(__file__).resolve().parent.parent

T0 = 1_767_225_600
VALID: dict[str, Any] = {
    "conversation_id": 1,
    "timestamp": T0,
    "sender_id": "adult-1",
    "recipient_id": "child-1",
    "channel": "direct",
    "sender_age": 34,
    "recipient_age": 12,
}


def _bad(**fields: Any) -> dict[str, Any]:
    return {**VALID, **fields}


#: One hostile event of each kind (all plain JSON, so the same lines feed the command).
REFUSED: dict[str, dict[str, Any]] = {
    "unknown channel": _bad(channel="whatsapp"),
    "age -3": _bad(sender_age=-3),
    "timestamp before 2000": _bad(timestamp=900_000_000),
    "timestamp in ms": _bad(timestamp=T0 * 1000),
    "timestamp null": _bad(timestamp=None),
    "unknown event": _bad(event="wink"),
    "tz offset 90.5": _bad(recipient_tz_offset_min=90.5),
    "room of one": _bad(room_size=1),
    "id with a newline": _bad(sender_id="adult\n1"),
    "sender is recipient": _bad(recipient_id="adult-1"),
    "int and text ids": _bad(sender_id=5, recipient_id="6"),
    "content-like field": _bad(caption="x"),
    "missing channel": {k: v for k, v in VALID.items() if k != "channel"},
    "timestamp text, a date": _bad(timestamp="2024-05-01"),
    "timestamp text, a word": _bad(timestamp="yesterday"),
    "timestamp text, before 2000": _bad(timestamp="1999-12-31T23:59:59+00:00"),
}
#: Kinds update_one is given that JSON lines cannot carry.
REFUSED_IN_MEMORY: dict[str, dict[str, Any]] = {
    "timestamp NaN": _bad(timestamp=math.nan),
    "timestamp numpy int64": _bad(timestamp=np.int64(5)),
}
#: Valid events with fields riskscore does not read: the same names on every event (their
#: verdicts kept), and a new name on every event (a hostile producer: each name read).
NOT_READ: dict[str, Any] = {
    "valid event": lambda i: {},
    "valid, a field not read": lambda i: {"colour": "red"},
    "valid, 3 fields not read": lambda i: {"colour": "red", "client_version": "1.2", "app": 7},
    "valid, a new field name each": lambda i: {f"field_{i}": 1},
}


#: Valid events whose numbers come as platforms send them: times as ISO 8601 text (JSON
#: producers, webhooks) or as digits, numbers as whole decimals (a database cursor's
#: ``NUMERIC``): each given its event's time.
AS_SENT: dict[str, Any] = {
    "valid, ISO text time": lambda ts: {
        "timestamp": datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    },
    "valid, seconds as text": lambda ts: {"timestamp": str(ts)},
    "valid, whole decimals": lambda ts: {
        "timestamp": Decimal(ts),
        "sender_age": Decimal(34),
        "recipient_age": Decimal(12),
    },
}


def measure(repeats: int) -> dict[str, Any]:
    """Microseconds per ``update_one`` call of each kind of event, in this process's
    riskscore (the checkout on ``sys.path``)."""
    import riskscore as rs

    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    scorer.update_one(VALID)
    out: dict[str, Any] = {"riskscore_path": str(Path(rs.__file__).parent.parent)}
    ns = np.empty(repeats, dtype=np.int64)
    for name, extra in NOT_READ.items():
        start = scorer.clock + 1
        valid = [
            _bad(timestamp=start + i, conversation_id=i % 100, **extra(i)) for i in range(repeats)
        ]
        for i, event in enumerate(valid):
            t = time.perf_counter_ns()
            scorer.update_one(event)
            ns[i] = time.perf_counter_ns() - t
        out[name] = _summary(ns)
    for name, fields in AS_SENT.items():
        start = scorer.clock + 1
        valid = [_bad(conversation_id=i % 100, **fields(start + i)) for i in range(repeats)]
        for i, event in enumerate(valid):
            t = time.perf_counter_ns()
            scorer.update_one(event)
            ns[i] = time.perf_counter_ns() - t
        out[name] = _summary(ns)
    for name, event in {**REFUSED, **REFUSED_IN_MEMORY}.items():
        update = scorer.update_one
        for i in range(repeats):
            t = time.perf_counter_ns()
            try:
                update(event, row=i)
            except rs.SchemaError:
                pass
            else:
                raise AssertionError(f"{name}: not refused")
            ns[i] = time.perf_counter_ns() - t
        out[name] = _summary(ns)
    return out


def _best(kept: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """Per kind of event, the round of ``kept`` or ``found`` with the lower median."""
    return {
        kind: value
        if not isinstance(value, dict) or kind not in kept
        else min(kept[kind], value, key=lambda c: c["median_us"])
        for kind, value in found.items()
    }


def _summary(ns: np.ndarray[Any, Any]) -> dict[str, float]:
    return {"median_us": float(np.median(ns)) / 1e3, "mean_us": float(ns.mean()) / 1e3}


def stream_seconds(root: Path, path: Path, repeats: int) -> dict[str, float]:
    """Best wall seconds of ``riskscore stream`` (checkout ``root``) over the lines of
    ``path`` and over an empty input (its start-up)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "riskscore", "stream", "--time-source", "events"]

    def run(source: Path) -> float:
        with source.open("rb") as stdin:
            t = time.perf_counter()
            done = subprocess.run(
                command, stdin=stdin, capture_output=True, env=env, cwd=root, check=False
            )
            seconds = time.perf_counter() - t
        if done.returncode not in (0, 1):
            raise RuntimeError(done.stderr.decode()[-2000:])
        return seconds

    empty = path.with_name("empty.jsonl")
    empty.write_text("")
    run(empty)  # compiled kernels loaded once into the cache
    startup = min(run(empty) for _ in range(repeats))
    total = min(run(path) for _ in range(repeats))
    return {"seconds": total, "startup_seconds": startup, "net_seconds": total - startup}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2_000, help="update_one calls per kind")
    parser.add_argument("--lines", type=int, default=5_000, help="bad lines fed to stream")
    parser.add_argument("--stream-repeats", type=int, default=3)
    parser.add_argument(
        "--rounds", type=int, default=3, help="update_one rounds per checkout, in turns (best kept)"
    )
    parser.add_argument("--before", type=Path, help="a checkout to compare against")
    parser.add_argument("--out", default="online_refusals.json")
    args = parser.parse_args(argv)

    load_at_start = load_average()
    checkouts = {"after": ROOT}
    if args.before is not None:
        checkouts = {"before": args.before.resolve(), **checkouts}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bad.jsonl"
        kinds = list(REFUSED.values())
        path.write_text(
            "".join(json.dumps(kinds[i % len(kinds)]) + "\n" for i in range(args.lines))
        )
        results: dict[str, Any] = {label: {"update_one": {}} for label in checkouts}
        for _ in range(args.rounds):  # the checkouts in turns: the load changes meanwhile
            for label, root in checkouts.items():
                found = run_in_checkout(root, "bench_online_refusals", f"measure({args.repeats})")
                results[label]["update_one"] = _best(results[label]["update_one"], found)
        for label, root in checkouts.items():
            results[label]["stream"] = stream_seconds(root, path, args.stream_repeats)
    _print(results, args.lines)
    payload = {
        **run_record("online_refusals", __file__, argv),
        "load_average_at_start": load_at_start,
        "repeats": args.repeats,
        "lines": args.lines,
        "rounds": args.rounds,
        "checkouts": {label: str(root) for label, root in checkouts.items()},
        "results": results,
    }
    write_json(RESULTS / args.out, payload)
    print(f"wrote {RESULTS / args.out}")
    return 0


def _print(results: dict[str, Any], lines: int) -> None:
    labels = list(results)
    kinds = [k for k in results[labels[-1]]["update_one"] if k != "riskscore_path"]
    header = f"{'update_one, median us (mean)':32}" + "".join(f"{label:>20}" for label in labels)
    print(header)
    for kind in kinds:
        cells = [results[label]["update_one"][kind] for label in labels]
        print(
            f"{kind:32}" + "".join(f"{c['median_us']:>11.1f} ({c['mean_us']:>6.1f})" for c in cells)
        )
    print(f"\nriskscore stream, {lines:,} bad lines, best wall s")
    for label in labels:
        s = results[label]["stream"]
        print(
            f"  {label:8} {s['seconds']:6.2f} s (start-up {s['startup_seconds']:.2f} s, "
            f"lines {s['net_seconds']:.2f} s)"
        )


if __name__ == "__main__":
    sys.exit(main())
