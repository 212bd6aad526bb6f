"""Thresholds from the platform's own traffic against the shipped ones, world by world.

The shipped thresholds were set for about 800 review and 100 urgent alerts per million
benign conversations in the *median* unseen world: in a world whose scores run higher
(a coach with 200 pupils) they alert many times that, and in one whose platform records
little (no contact requests, media, blocks or time zones) they alert almost nothing.
``riskscore policy tune`` sets them on a platform's own traffic instead
(:func:`riskscore.policy.volume.policy_for_volume` on one :class:`Traffic`).

For each of the robustness benchmark's worlds (the same 30 unseen worlds and the stress
worlds, same seeds, at 1 % grooming; 60,000 conversations each, so that 100 urgent alerts
per million are at least 5 benign conversations) this prints, at the shipped
policy and at thresholds tuned on the world itself for the same targets: recall (review,
urgent) and benign alerts per million. The tuning counts the world's benign conversations,
as a platform's unlabelled traffic at a realistic prevalence (about 1 in 10,000) does.

    .venv/bin/python benchmarks/policy_tune.py            # about 10 minutes on 2 cores

Writes benchmarks/results/policy_tune.json (library versions and machine load recorded).
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
from riskscore.evaluation.world_samples import WorldSample, world_samples
from riskscore.policy.volume import (
    REVIEW_PER_MILLION,
    URGENT_PER_MILLION,
    alerts_per_million,
    policy_for_volume,
)
from riskscore.synthetic import STRESS_WORLDS


def measure(sample: WorldSample, risk: np.ndarray, policy: rs.AlertPolicy) -> dict[str, float]:
    traffic = sample.traffic(risk)
    y = np.asarray(sample.labels.is_grooming_true, dtype=bool)
    tiers = policy.tiers(risk, traffic.child_age, traffic.adult_age)
    review, urgent = alerts_per_million(policy, traffic)
    return {
        "recall_review": float(np.mean(tiers[y] >= 1)),
        "recall_urgent": float(np.mean(tiers[y] >= 2)),
        "benign_review_per_million": review,
        "benign_urgent_per_million": urgent,
    }


def summary(rows: list[dict[str, Any]], side: str) -> dict[str, float]:
    def col(key: str) -> np.ndarray:
        return np.array([r[side][key] for r in rows])

    return {
        "recall_review_median": float(np.median(col("recall_review"))),
        "recall_review_worst": float(col("recall_review").min()),
        "recall_urgent_median": float(np.median(col("recall_urgent"))),
        "review_per_million_median": float(np.median(col("benign_review_per_million"))),
        "review_per_million_max": float(col("benign_review_per_million").max()),
        "urgent_per_million_max": float(col("benign_urgent_per_million").max()),
        "worlds_over_twice_the_review_target": int(
            np.sum(col("benign_review_per_million") > 2 * REVIEW_PER_MILLION)
        ),
        "worlds_without_alerts": int(np.sum(col("benign_review_per_million") == 0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", type=int, default=30, help="unseen worlds")
    parser.add_argument("--conversations", type=int, default=60_000)
    args = parser.parse_args()
    load_before = os.getloadavg()
    started = time.time()
    samples = world_samples(unseen_worlds(args.worlds), n_conversations=args.conversations, seed=1)
    samples += world_samples(dict(STRESS_WORLDS), n_conversations=args.conversations, seed=2)
    model = rs.load_model()
    shipped = rs.AlertPolicy.default()
    rows = []
    print(
        f"{'world':24s} {'shipped: recall':>16s} {'benign/M':>13s}   "
        f"{'own traffic: recall':>20s} {'benign/M':>13s}"
    )
    for sample in samples:
        risk = model.predict_proba(sample.features)
        tuned = policy_for_volume(
            sample.traffic(risk),
            review_per_million=REVIEW_PER_MILLION,
            urgent_per_million=URGENT_PER_MILLION,
        )
        row = {
            "world": sample.name,
            "shipped": measure(sample, risk, shipped),
            "own_traffic": measure(sample, risk, tuned),
        }
        rows.append(row)
        a, b = row["shipped"], row["own_traffic"]
        print(
            f"{sample.name:24s} {a['recall_review']:7.2f} / {a['recall_urgent']:4.2f}"
            f" {a['benign_review_per_million']:6.0f} / {a['benign_urgent_per_million']:4.0f}   "
            f"{b['recall_review']:11.2f} / {b['recall_urgent']:4.2f}"
            f" {b['benign_review_per_million']:6.0f} / {b['benign_urgent_per_million']:4.0f}"
        )
    result = {
        "benchmark": "policy_tune",
        "command": "python benchmarks/policy_tune.py",
        "targets_per_million": {"review": REVIEW_PER_MILLION, "urgent": URGENT_PER_MILLION},
        "samples": {
            "unseen_worlds": args.worlds,
            "stress_worlds": len(STRESS_WORLDS),
            "conversations_per_world": args.conversations,
            "prevalence": 0.01,
        },
        "machine": {**machine(), "load_before": load_before, "load_after": os.getloadavg()},
        "summary": {side: summary(rows, side) for side in ("shipped", "own_traffic")},
        "worlds": rows,
        "seconds": round(time.time() - started, 1),
    }
    for side, s in result["summary"].items():
        print(f"{side}: " + ", ".join(f"{k} {v:.3g}" for k, v in s.items()))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "policy_tune.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
