"""Alert volume online (at any event, what the thresholds are set on) against the final state.

Online, a conversation is scored at every event and alerts the first time its risk
crosses a threshold, whatever its risk at the end. The shipped thresholds are set for about
800 review and 100 urgent alerts per million benign conversations in the median unseen
world counted that way (``benchmarks/robustness.py``; before stop 49 they were set on
conversations' final states, and alerted about twice that online). This replays unseen
worlds (the robustness benchmark's evaluation seeds) event by event through
:class:`riskscore.OnlineScorer` and prints, per world: benign conversations alerted per
thousand at any event and at their final state, and grooming recall at any event and at
the final state. A model whose risk is higher early in conversations (an input such as the
span of contact, which starts at 0) shows a larger gap between the two.

    .venv/bin/python benchmarks/online_alert_volume.py                       # 3 worlds
    .venv/bin/python benchmarks/online_alert_volume.py --worlds 5 --model DIR --policy FILE

Writes benchmarks/results/online_alert_volume.json (library versions and machine load).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine

import riskscore as rs
from riskscore.evaluation.robustness import unseen_worlds
from riskscore.synthetic import generate


def world_volume(
    model: rs.RiskModel, policy: rs.AlertPolicy, data: Any, truth: dict[Any, bool]
) -> dict[str, float]:
    """Alerts of one world's conversations online (any event) and at their final state."""
    scorer = rs.OnlineScorer(model, policy, time_source="events", max_future_s=float("inf"))
    ever = {alert.conversation_id for alert in scorer.update_many(data.messages.iter_events())}
    scores = model.score(data.messages, reasons_above=2.0)
    tiers = policy.tiers(scores.risk, scores.child_age, scores.adult_age)
    final = {c for c, tier in zip(scores.conversation_id.tolist(), tiers, strict=True) if tier}
    benign = [c for c, grooming in truth.items() if not grooming]
    grooming = [c for c, is_grooming in truth.items() if is_grooming]

    def share(alerted: set[Any], group: list[Any]) -> float:
        return sum(c in alerted for c in group) / max(len(group), 1)

    return {
        "benign_per_1000_any_event": round(1000 * share(ever, benign), 3),
        "benign_per_1000_final_state": round(1000 * share(final, benign), 3),
        "recall_any_event": round(share(ever, grooming), 4),
        "recall_final_state": round(share(final, grooming), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", type=int, default=3, help="unseen worlds (default 3)")
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--model", default=None, help="bundle directory (default: shipped)")
    parser.add_argument("--policy", default=None, help="policy TOML (default: built-in)")
    parser.add_argument("--out", default="online_alert_volume.json")
    args = parser.parse_args(argv)
    model = rs.load_model(args.model)
    policy = rs.AlertPolicy.from_toml(args.policy) if args.policy else rs.AlertPolicy.default()
    load_before, started = os.getloadavg(), time.time()
    rows = []
    print(
        f"{'world':12s} {'benign/1000 any event':>22s} {'final':>7s} {'recall any':>11s} "
        f"{'final':>7s}"
    )
    for i, world in enumerate(unseen_worlds(args.worlds)):
        data = generate(args.conversations, prevalence=0.01, seed=100 + i, world=world)
        labels = data.labels
        truth = dict(
            zip(
                labels.conversation_id.tolist(),
                np.asarray(labels.is_grooming_true).tolist(),
                strict=True,
            )
        )
        row = {"world": world.name, **world_volume(model, policy, data, truth)}
        rows.append(row)
        print(
            f"{world.name:12s} {row['benign_per_1000_any_event']:22.2f} "
            f"{row['benign_per_1000_final_state']:7.2f} {row['recall_any_event']:11.3f} "
            f"{row['recall_final_state']:7.3f}",
            flush=True,
        )
    result = {
        "benchmark": "online_alert_volume",
        "command": "python benchmarks/online_alert_volume.py " + " ".join(argv or sys.argv[1:]),
        "model": args.model or "shipped",
        "policy": args.policy or "built-in",
        "conversations_per_world": args.conversations,
        "machine": {**machine(), "load_before": load_before, "load_after": os.getloadavg()},
        "seconds": round(time.time() - started, 1),
        "worlds": rows,
    }
    (RESULTS / args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS / args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
