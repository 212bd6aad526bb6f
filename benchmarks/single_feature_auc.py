"""Single-feature ROC AUCs and simple rules on synthetic data (the table in docs/synthetic.md).

Generates ``riskscore.synthetic.generate(N, prevalence=P, seed=S)``, extracts every
registered feature with ``riskscore.extract_features`` and reports, for each feature alone,
the ROC AUC between grooming and benign conversations (unknown values, NaN, set to the
feature's median), in the default world and as the median over ``--worlds`` drawn worlds
(``draw_world(1000 + i)``, the worlds ``tests/test_synthetic.py`` checks); then how a few
hand-written rules and a cross-validated logistic regression on all features do in the
default world. Prints Markdown tables and writes
``benchmarks/results/single_feature_auc.json``.

Usage::

    .venv/bin/python benchmarks/single_feature_auc.py [--conversations 50000]
        [--prevalence 0.02] [--seed 2026] [--worlds 5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import riskscore as rs
from riskscore.io.schema import Channel

RESULTS = Path(__file__).parent / "results" / "single_feature_auc.json"


def single_feature_aucs(
    values: npt.NDArray[np.float64], y: npt.NDArray[np.bool_], names: tuple[str, ...]
) -> list[dict[str, Any]]:
    rows = []
    for i, name in enumerate(names):
        column = values[:, i]
        known = ~np.isnan(column)
        filled = np.where(known, column, np.median(column[known]) if known.any() else 0.0)
        auc = float(roc_auc_score(y, filled))
        rows.append({"feature": name, "auc": auc, "separation": max(auc, 1.0 - auc)})
    return sorted(rows, key=lambda r: -r["separation"])


def drawn_world_separation(
    n_worlds: int, n_conversations: int, prevalence: float
) -> dict[str, list[float]]:
    """Each feature's ``max(AUC, 1 - AUC)`` in each of ``n_worlds`` drawn worlds."""
    separation: dict[str, list[float]] = {}
    for seed in range(1000, 1000 + n_worlds):
        data = rs.synthetic.generate(
            n_conversations, prevalence=prevalence, seed=seed, world=rs.synthetic.draw_world(seed)
        )
        features = rs.extract_features(data.messages)
        for row in single_feature_aucs(
            features.values, data.labels.is_grooming_true, features.names
        ):
            separation.setdefault(row["feature"], []).append(row["separation"])
    return separation


def rules(x: dict[str, npt.NDArray[np.float64]], y: npt.NDArray[np.bool_]) -> list[dict[str, Any]]:
    gap = np.nan_to_num(x["age_gap"], nan=0.0)
    candidates = {
        "age gap > 5 and night share > 0.3 and channel >= direct": (gap > 5)
        & (x["child_night_share"] > 0.3)
        & (x["max_channel"] >= Channel.DIRECT),
        "child is a minor and channel >= ephemeral": (x["child_is_minor"] > 0)
        & (x["max_channel"] >= Channel.EPHEMERAL),
        "adult contacted >= 3 minors": x["adult_minor_fanout"] >= 3,
        "adult contacted >= 2 minors on private channels": x["adult_private_minor_fanout"] >= 2,
        "adult shared an external handle": x["adult_external_events"] > 0,
        "any of the above": np.zeros(len(y), dtype=bool),
    }
    any_rule = np.zeros(len(y), dtype=bool)
    for flag in list(candidates.values())[:-1]:
        any_rule |= flag
    candidates["any of the above"] = any_rule
    out = []
    for name, flag in candidates.items():
        tp = int((flag & y).sum())
        fp = int((flag & ~y).sum())
        out.append(
            {
                "rule": name,
                "recall": tp / max(int(y.sum()), 1),
                "false_positive_rate": fp / max(int((~y).sum()), 1),
                "precision": tp / max(tp + fp, 1),
            }
        )
    return out


def calibration(data: rs.synthetic.SyntheticData) -> dict[str, Any]:
    """The generated figures that docs/synthetic.md compares with published ones."""
    msgs, labels = data.messages, data.labels
    n, conv = msgs.n_conversations, msgs.conversation_code
    first_time = msgs.timestamp[msgs.segment_starts]
    never = np.iinfo(np.int64).max

    def first_delay(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        first = np.full(n, never)
        np.minimum.at(first, conv[mask], msgs.timestamp[mask])
        return np.where(first == never, np.nan, first - first_time).astype(np.float64)

    adult = np.searchsorted(msgs.accounts, labels.adult_id)
    from_adult = msgs.sender_code == adult[conv]
    external = first_delay(msgs.channel == Channel.EXTERNAL)
    media = first_delay((msgs.event == rs.EventType.MEDIA) & from_adult)
    grooming = labels.is_grooming_true
    child = np.where(
        msgs.sender_code[msgs.segment_starts] == adult,
        msgs.recipient_code[msgs.segment_starts],
        msgs.sender_code[msgs.segment_starts],
    )
    age = np.full(len(msgs.accounts), np.nan)
    age[msgs.sender_code] = msgs.sender_age
    age[msgs.recipient_code] = msgs.recipient_age
    target_age = age[child][grooming & (labels.scenario != "grooming_refused")]
    target_age = target_age[~np.isnan(target_age)]
    out: dict[str, Any] = {
        "grooming_with_external_share": float(np.mean(~np.isnan(external[grooming]))),
        "target_age_share_11_or_under": float(np.mean(target_age <= 11)),
        "target_age_share_12_to_15": float(np.mean((target_age >= 12) & (target_age <= 15))),
        "target_age_min": float(target_age.min()),
    }
    for scenario in ("grooming_fast", "grooming_slow", "grooming_refused"):
        rows = labels.scenario == scenario
        ext = external[rows]
        med = media[rows]
        out[scenario] = {
            "external_share": float(np.mean(~np.isnan(ext))),
            "external_within_1h_share": float(np.mean(ext < 3600)),
            "first_external_hours_quartiles": [
                round(float(q) / 3600, 2) for q in np.nanquantile(ext, [0.25, 0.5, 0.75])
            ]
            if np.any(~np.isnan(ext))
            else [],
            "adult_media_share": float(np.mean(~np.isnan(med))),
            "first_adult_media_hours_quartiles": [
                round(float(q) / 3600, 2) for q in np.nanquantile(med, [0.25, 0.5, 0.75])
            ]
            if np.any(~np.isnan(med))
            else [],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--prevalence", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--worlds", type=int, default=5)
    args = parser.parse_args()

    start = time.perf_counter()
    data = rs.synthetic.generate(args.conversations, prevalence=args.prevalence, seed=args.seed)
    features = rs.extract_features(data.messages)
    y = data.labels.is_grooming_true
    assert np.array_equal(features.conversation_id, data.labels.conversation_id)
    table = single_feature_aucs(features.values, y, features.names)
    by_name = {n: features.values[:, i] for i, n in enumerate(features.names)}
    rule_rows = rules(by_name, y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    filled = np.where(
        np.isnan(features.values), np.nanmedian(features.values, axis=0), features.values
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=args.seed)
    proba = cross_val_predict(model, filled, y, cv=folds, method="predict_proba")[:, 1]
    combined_auc = float(roc_auc_score(y, proba))
    calibrated = calibration(data)
    across = drawn_world_separation(args.worlds, args.conversations // 2, args.prevalence)
    for row in table:
        row["drawn_worlds_median_separation"] = float(np.median(across[row["feature"]]))
        row["drawn_worlds_max_separation"] = float(np.max(across[row["feature"]]))
    elapsed = time.perf_counter() - start

    print(
        f"generate({args.conversations}, prevalence={args.prevalence}, seed={args.seed}): "
        f"{len(data.messages):,} events, {int(y.sum())} grooming conversations"
    )
    print(
        f"\n| feature | ROC AUC | max(AUC, 1 - AUC) | median over {args.worlds} drawn worlds "
        "| max over them |\n|---|---|---|---|---|"
    )
    for row in table:
        print(
            f"| `{row['feature']}` | {row['auc']:.3f} | {row['separation']:.3f} "
            f"| {row['drawn_worlds_median_separation']:.3f} "
            f"| {row['drawn_worlds_max_separation']:.3f} |"
        )
    print("\n| rule | recall | false-positive rate | precision |\n|---|---|---|---|")
    for row in rule_rows:
        print(
            f"| {row['rule']} | {row['recall']:.3f} | {row['false_positive_rate']:.3f} "
            f"| {row['precision']:.3f} |"
        )
    print(
        f"\nlogistic regression on all {len(features.names)} features, 5-fold CV"
        f": ROC AUC {combined_auc:.3f}"
    )
    print("\ncalibration checks:")
    for key, value in calibrated.items():
        print(f"  {key}: {value}")
    print(f"({elapsed:.1f} s)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "command": "python benchmarks/single_feature_auc.py "
                f"--conversations {args.conversations} --prevalence {args.prevalence} "
                f"--seed {args.seed} --worlds {args.worlds}",
                "n_events": len(data.messages),
                "n_grooming": int(y.sum()),
                "single_feature": table,
                "rules": rule_rows,
                "logistic_regression_cv_auc": combined_auc,
                "calibration": calibrated,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
