"""Performance impact of the riskscore Synapse module.

Two measurements:

1. **In process** (no server): the real :class:`RiskscoreModule` with a minimal stand-in
   for Synapse's ``ModuleApi``, fed real Synapse ``EventBase`` objects
   (``m.room.encrypted`` in 2-member encrypted direct rooms, ``--rooms`` distinct pairs).
   Times the ``on_new_event`` callback that Synapse awaits on the delivery path (it only
   queues), and the background work per event (map to schema v1 + ``OnlineScorer.update_one``)
   as events per second.
2. **End to end**: two real homeservers (subprocesses, SQLite, 127.0.0.1) side by side, one
   without and one with the module; in each, one client sends ``--messages`` encrypted
   messages into a direct room, one request at a time, alternating between the servers
   message by message so that both see the same load on a shared machine. Client-observed
   latency of ``PUT /send`` (median, p95) and the median of the paired differences: the
   latency the module adds per event, including the room-state lookup Synapse does before
   calling any ``on_new_event`` callback. Afterwards the module must have scored every message.

Prints a table and writes ``benchmarks/results/synapse.json``.

Run::

    .venv/bin/python benchmarks/bench_synapse.py            # about a minute
    .venv/bin/python benchmarks/bench_synapse.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synapse.api.room_versions import RoomVersions
from synapse.events import EventBase, make_event_from_dict

import riskscore as rs
from riskscore.integrations._synapse_harness import Homeserver
from riskscore.integrations.synapse import RiskscoreModule

RESULTS = Path(__file__).parent / "results" / "synapse.json"
SERVER = "bench.example"
CIPHERTEXT = {
    "algorithm": "m.megolm.v1.aes-sha2",
    "ciphertext": "synthetic-ciphertext",
    "sender_key": "synthetic-key",
    "session_id": "synthetic-session",
    "device_id": "SYNTHETIC",
}


class _StandInApi:
    """What ``RiskscoreModule.__init__`` calls on ``ModuleApi``; background work is not run."""

    def __init__(self) -> None:
        self.started = 0

    def register_third_party_rules_callbacks(self, **_: Any) -> None: ...
    def register_account_data_callbacks(self, **_: Any) -> None: ...
    def looping_background_call(self, *_: Any, **__: Any) -> None: ...

    def get_qualified_user_id(self, localpart: str) -> str:
        return f"@{localpart}:{SERVER}"

    def run_as_background_process(self, desc: str, func: Callable[[], Any]) -> None:
        self.started += 1


def _event(room: int, sender: str, kind: str, content: dict[str, Any], **extra: Any) -> EventBase:
    return make_event_from_dict(
        {
            "type": kind,
            "room_id": f"!room{room}:{SERVER}",
            "sender": sender,
            "content": content,
            "origin_server_ts": 1_790_000_000_000 + extra.pop("ts", 0),
            "auth_events": [],
            "prev_events": [],
            "depth": 1,
            "hashes": {"sha256": "synthetic"},
            "signatures": {},
            **extra,
        },
        RoomVersions.V10,
    )


def in_process(n_events: int, n_rooms: int) -> dict[str, Any]:
    """Callback cost and background throughput of the real module on real event objects."""
    tmp = tempfile.TemporaryDirectory(prefix="riskscore-bench-")
    with tmp:
        config = RiskscoreModule.parse_config(
            {
                "state_dir": tmp.name,
                "alerts": {"jsonl": os.path.join(tmp.name, "a.jsonl")},
                "max_queue": n_events,  # all queued first, then scored: two separate timings
            }
        )
        module = RiskscoreModule(config, _StandInApi())  # type: ignore[arg-type]
        rooms = []
        for r in range(n_rooms):
            a, b = f"@adult{r}:{SERVER}", f"@child{r}:{SERVER}"
            state = {
                ("m.room.join_rules", ""): _event(
                    r, a, "m.room.join_rules", {"join_rule": "invite"}, state_key=""
                ),
                ("m.room.encryption", ""): _event(
                    r, a, "m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}, state_key=""
                ),
                ("m.room.member", a): _event(
                    r, a, "m.room.member", {"membership": "join"}, state_key=a
                ),
                ("m.room.member", b): _event(
                    r, b, "m.room.member", {"membership": "join"}, state_key=b
                ),
            }
            rooms.append((a, b, state))
        events = []
        for i in range(n_events):
            a, b, state = rooms[i % n_rooms]
            sender = a if (i // n_rooms) % 3 else b
            events.append(
                (
                    _event(i % n_rooms, sender, "m.room.encrypted", CIPHERTEXT, ts=i * 1000, n=i),
                    state,
                )
            )

        callback_ns = []
        for event, state in events:
            coro = module.on_new_event(event, state)
            t0 = time.perf_counter_ns()
            with contextlib.suppress(StopIteration):
                coro.send(None)
            callback_ns.append(time.perf_counter_ns() - t0)
        assert len(module._pending) == n_events
        t0 = time.perf_counter()
        module._process(n_events)
        elapsed = time.perf_counter() - t0
        assert module.n_scored == n_events, module.stats()
        module._store.close()
    callback_ns.sort()
    return {
        "events": n_events,
        "rooms": n_rooms,
        "callback_median_us": callback_ns[len(callback_ns) // 2] / 1e3,
        "callback_p99_us": callback_ns[int(len(callback_ns) * 0.99)] / 1e3,
        "background_events_per_s": n_events / elapsed,
        "background_us_per_event": elapsed / n_events * 1e6,
    }


def _start(workdir: Path, with_module: bool) -> tuple[Homeserver, Any, str, Path]:
    """A homeserver (with or without the module), two accounts and an encrypted DM room."""
    workdir.mkdir()
    events_log = workdir / "events.jsonl"
    modules = []
    if with_module:
        modules = [
            {
                "module": "riskscore.integrations.synapse.RiskscoreModule",
                "config": {
                    "state_dir": str(workdir / "rs"),
                    "events_log": str(events_log),
                    "alerts": {"jsonl": str(workdir / "alerts.jsonl")},
                },
            }
        ]
    server = Homeserver(workdir, modules)
    server.start()
    alice, bob = server.register("alice"), server.register("bob")
    room = alice.create_room(preset="trusted_private_chat", is_direct=True, invite=[bob.user_id])
    bob.join(room)
    alice.set_state(room, "m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"})
    for _ in range(20):  # warm-up
        alice.send(room, "m.room.encrypted", CIPHERTEXT)
    return server, alice, room, events_log


def end_to_end(n_messages: int) -> dict[str, Any]:
    """Two homeservers side by side, without and with the module; sends alternate between them.

    On a shared machine load changes by the second; alternating message by message (and
    which server goes first) exposes both servers to the same load, and the median of the
    paired differences estimates the latency the module adds.
    """
    with tempfile.TemporaryDirectory(prefix="riskscore-bench-hs-") as tmp:
        servers: list[Homeserver] = []
        try:
            plain = _start(Path(tmp) / "without", False)
            servers.append(plain[0])
            scored = _start(Path(tmp) / "with", True)
            servers.append(scored[0])
            latencies: dict[bool, list[float]] = {False: [], True: []}
            for i in range(n_messages):
                order = (False, True) if i % 2 else (True, False)
                for with_module in order:
                    _, client, room, _ = scored if with_module else plain
                    t0 = time.perf_counter()
                    client.send(room, "m.room.encrypted", CIPHERTEXT)
                    latencies[with_module].append(time.perf_counter() - t0)
            events_log = scored[3]
            deadline = time.monotonic() + 10
            n_scored = 0
            while time.monotonic() < deadline:
                lines = events_log.read_text().splitlines()
                n_scored = sum(1 for line in lines if json.loads(line)["channel"] == "encrypted")
                if n_scored >= n_messages + 20:
                    break
                time.sleep(0.05)
        finally:
            for server in servers:
                server.stop()
    assert n_scored == n_messages + 20, n_scored
    diffs = sorted(w - o for w, o in zip(latencies[True], latencies[False], strict=True))

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "median_ms": statistics.median(ordered) * 1e3,
            "p95_ms": ordered[int(len(ordered) * 0.95)] * 1e3,
        }

    return {
        "messages": n_messages,
        "without": summary(latencies[False]),
        "with": summary(latencies[True]),
        "paired_difference_median_ms": statistics.median(diffs) * 1e3,
        "paired_difference_iqr_ms": [
            diffs[len(diffs) // 4] * 1e3,
            diffs[(3 * len(diffs)) // 4] * 1e3,
        ],
        "scored_by_module": n_scored,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rooms", type=int, default=2_000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.events, args.rooms, args.messages = 5_000, 100, 30

    import synapse

    local = in_process(args.events, args.rooms)
    e2e = end_to_end(args.messages)
    lo = local
    print(f"in process ({lo['events']:,} m.room.encrypted events, {lo['rooms']:,} rooms)")
    print(
        f"  on_new_event callback   median {lo['callback_median_us']:.2f} us, "
        f"p99 {lo['callback_p99_us']:.2f} us"
    )
    print(
        f"  background map + score  {lo['background_events_per_s']:,.0f} events/s "
        f"({lo['background_us_per_event']:.1f} us/event)"
    )
    print(f"end to end (two real homeservers side by side, {args.messages} sends each)")
    print(f"  {'':22} {'without':>10} {'with':>10}")
    for label, key in (("PUT /send median ms", "median_ms"), ("PUT /send p95 ms", "p95_ms")):
        print(f"  {label:22} {e2e['without'][key]:10.2f} {e2e['with'][key]:10.2f}")
    lo_iqr, hi_iqr = e2e["paired_difference_iqr_ms"]
    print(
        f"  added latency (median of paired differences): "
        f"{e2e['paired_difference_median_ms']:+.2f} ms (IQR {lo_iqr:+.2f} to {hi_iqr:+.2f})"
    )
    result = {
        "benchmark": "bench_synapse",
        "args": vars(args),
        "synapse_version": synapse.__version__.split(" ")[0],
        "riskscore_version": rs.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "in_process": local,
        "end_to_end": e2e,
    }
    out = RESULTS.with_name("synapse_quick.json") if args.quick else RESULTS
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
