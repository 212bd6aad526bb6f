"""Load on ``riskscore serve`` over HTTP on 127.0.0.1: single events, batches of 1,000, and
a SIGTERM and restart in the middle of the stream.

Bounded: a fixed number of events (``--singles`` one by one, then ``--batched`` in batches
of ``--batch-size``), and a wall-clock cap (``--max-seconds``) after which each phase stops
by itself. Only 127.0.0.1 is contacted. One client connection (HTTP/1.1 keep-alive), one
request at a time, so the latency is a request's full round trip and events/s is what one
sequential client gets; the client and the server share the machine's 2 cores.

Steps:

1. start ``riskscore serve`` (a subprocess, temporary queue and checkpoint, a free port);
2. post ``--singles`` events one by one: latency per request (p50, p90, p99) and events/s;
3. post the first half of ``--batched`` events in batches: latency per batch and events/s;
4. SIGTERM (the server finishes its requests and writes its checkpoint), restart, check
   ``/healthz`` counts every event applied before, post the second half;
5. check that no event was lost (``/healthz`` events equal the events posted) and that
   the alerts returned over both runs equal an in-process ``OnlineScorer`` fed the same
   events; that scorer's events/s is recorded too, as the machine's capacity at the time.

Writes ``benchmarks/results/serve.json`` with the figures, library versions and the
machine's load average before and after (the machine is shared and noisy: compare runs
only with their load). Run::

    .venv/bin/python benchmarks/bench_serve.py                 # about a minute
    .venv/bin/python benchmarks/bench_serve.py --quick         # a smoke run
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, machine

import riskscore as rs

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Served:
    """``riskscore serve`` on 127.0.0.1, reached through one keep-alive connection."""

    def __init__(self, tmp: Path, log: Any) -> None:
        self.port = _free_port()
        args = [sys.executable, "-m", "riskscore.cli", "serve", "--db", str(tmp / "q.sqlite"),
                "--checkpoint", str(tmp / "state.sqlite"), "--host", HOST,
                "--port", str(self.port), "--log-level", "warning"]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while True:
            try:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
                self.get("/healthz")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("riskscore serve did not start (see the log)") from None
                time.sleep(0.2)

    def get(self, path: str) -> Any:
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        return json.loads(response.read())

    def post(self, body: bytes) -> tuple[int, Any]:
        self.conn.request(
            "POST", "/v1/events", body=body, headers={"Content-Type": "application/json"}
        )
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def stop(self) -> int:
        self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=120)


def _phase(
    server: Served, bodies: list[tuple[bytes, int]], deadline: float
) -> tuple[dict[str, Any], list[Any]]:
    """Post each body in turn until the deadline; latency and throughput, alerts."""
    latencies = []
    alerts: list[Any] = []
    events = 0
    start = time.perf_counter()
    for body, n in bodies:
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        status, answer = server.post(body)
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError(f"status {status}: {str(answer)[:300]}")
        events += n
        alerts += answer["alerts"]
    wall = time.perf_counter() - start
    ms = np.array(latencies) * 1000.0
    return {
        "requests": len(latencies),
        "events": events,
        "seconds": round(wall, 3),
        "events_per_s": round(events / wall) if wall else None,
        "latency_ms": {
            "p50": round(float(np.percentile(ms, 50)), 3),
            "p90": round(float(np.percentile(ms, 90)), 3),
            "p99": round(float(np.percentile(ms, 99)), 3),
            "max": round(float(ms.max()), 3),
        },
    }, alerts


def _versions() -> dict[str, str]:
    out = {}
    for name in ("riskscore-metadata", "fastapi", "starlette", "uvicorn", "httptools", "uvloop",
                 "h11", "numba"):  # fmt: skip
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--singles", type=int, default=5_000, help="events posted one by one")
    parser.add_argument("--batched", type=int, default=100_000, help="events posted in batches")
    parser.add_argument("--batch-size", type=int, default=1_000, help="events per batch")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="cap per phase, s")
    parser.add_argument("--seed", type=int, default=2026, help="synthetic data seed")
    parser.add_argument("--quick", action="store_true", help="500 singles, 20,000 batched")
    parser.add_argument("--out", type=Path, default=RESULTS / "serve.json", help="result file")
    args = parser.parse_args()
    if args.quick:
        args.singles, args.batched = 500, 20_000
    need = args.singles + args.batched
    n_conv = max(need // 35, 10)
    data = rs.synthetic.generate(n_conv, prevalence=0.01, seed=args.seed)
    events = list(data.messages.iter_events())[:need]
    if len(events) < need:
        raise SystemExit(f"the synthetic stream has {len(events)} events, fewer than {need}")
    singles = [(json.dumps(e).encode(), 1) for e in events[: args.singles]]
    rest = events[args.singles :]
    half = (len(rest) // 2 // args.batch_size) * args.batch_size
    batches = [
        (json.dumps(rest[i : i + args.batch_size]).encode(), len(rest[i : i + args.batch_size]))
        for i in range(0, len(rest), args.batch_size)
    ]
    first, second = batches[: half // args.batch_size], batches[half // args.batch_size :]

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "serve.log", "w+b") as log:
        server = Served(Path(tmp), log)
        try:
            single, alerts = _phase(server, singles, time.perf_counter() + args.max_seconds)
            batch1, more = _phase(server, first, time.perf_counter() + args.max_seconds)
            alerts += more
            posted = single["events"] + batch1["events"]
        finally:
            exit_status = server.stop()
        t0 = time.perf_counter()
        server = Served(Path(tmp), log)
        restart_s = time.perf_counter() - t0
        try:
            restored = server.get("/healthz")["events"]
            batch2, more = _phase(server, second, time.perf_counter() + args.max_seconds)
            alerts += more
            posted += batch2["events"]
            applied = server.get("/healthz")["events"]
        finally:
            server.stop()
    load_after = os.getloadavg()
    # The same events through an in-process scorer: the alerts to compare with, and what
    # the machine gives the scorer alone right now (the HTTP figures read against it).
    scorer = rs.OnlineScorer(rs.load_model())
    t0 = time.perf_counter()
    reference = scorer.update_many(events[:posted])
    scorer_alone = posted / (time.perf_counter() - t0)
    same_alerts = [a.to_dict() for a in reference] == [
        {k: v for k, v in a.items() if k != "index"} for a in alerts
    ]
    batches_all = batch1["events"] + batch2["events"]
    batch_s = batch1["seconds"] + batch2["seconds"]
    result = {
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "versions": _versions(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "note": "shared 2-core machine, client and server on it; one sequential client",
        "single_events": single,
        "batches_before_sigterm": batch1,
        "batches_after_restart": batch2,
        "batch_events_per_s": round(batches_all / batch_s) if batch_s else None,
        "scorer_alone_events_per_s": round(scorer_alone),
        "sigterm_exit_status": exit_status,
        "restart_seconds": round(restart_s, 1),
        "events_posted": posted,
        "events_restored_after_restart": restored,
        "events_applied": applied,
        "no_event_lost": applied == posted and restored == single["events"] + batch1["events"],
        "alerts": len(alerts),
        "alerts_equal_in_process_scorer": same_alerts,
        "aims": {"batch_events_per_s": 20_000, "single_event_p99_ms": 5.0},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 cores)")
    print("| phase | requests | events | events/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in (("single events", single), ("batches (before SIGTERM)", batch1),
                    ("batches (after restart)", batch2)):  # fmt: skip
        lat = r["latency_ms"]
        print(f"| {name} | {r['requests']} | {r['events']} | {r['events_per_s']} | "
              f"{lat['p50']} | {lat['p99']} |")  # fmt: skip
    alone = result["scorer_alone_events_per_s"]
    print(f"batches overall: {result['batch_events_per_s']} events/s; the scorer alone in "
          f"process, same events, same run: {alone} events/s")  # fmt: skip
    print(f"SIGTERM exit {exit_status}; restored {restored} events; applied {applied} of {posted}"
          f"; no event lost: {result['no_event_lost']}; alerts {len(alerts)}, equal to the "
          f"in-process scorer: {same_alerts}")  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
