"""How much of each unseen world's signal a model could learn inside that world.

For each of the robustness benchmark's unseen worlds (seeds 1000-1029, the same samples as
``benchmarks/robustness.py``: 20,000 conversations at 1 % prevalence), LightGBM is trained
on a second, independent sample of the *same* world (40,000 conversations at 5 %) and scored
on the benchmark's sample; the shipped model, trained on other worlds only, is scored on the
same sample. Two in-world models:

- ``every feature, free``: every feature of the registry, volume included, no constraint;
  what the features can tell apart in that world;
- ``shipped inputs, monotone``: the shipped model's inputs with its constraints and tree
  parameters: what the shipped recipe could reach were it trained on that world.

The gap between them and the shipped model is what moving between worlds costs, not what
the features lack. It is an upper bound no deployed model has: a platform does not have its
own labelled grooming conversations. Writes ``benchmarks/results/world_ceiling.json``;
run with ``.venv/bin/python benchmarks/world_ceiling.py`` (``--worlds N`` for fewer).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, run_record, write_json

import riskscore as rs
from riskscore.evaluation.robustness import unseen_worlds
from riskscore.evaluation.world_samples import world_data, world_samples
from riskscore.features import FEATURE_NAMES, FeatureTable, extract_features
from riskscore.model.training import (
    MODEL_INPUTS,
    TREE_PARAMS,
    capped,
    lightgbm_classifier,
    monotone_constraints,
)

TRAIN_CONVERSATIONS = 40_000
TRAIN_PREVALENCE = 0.05
TRAIN_SEED = 2  # the benchmark's samples use seed 1 (benchmarks/robustness.py)


def _design(table: FeatureTable, names: list[str]) -> np.ndarray:
    return capped(np.ascontiguousarray(table.values[:, table.positions(names)]), names)


def _fit_score(train: FeatureTable, y: np.ndarray, test: FeatureTable, monotone: bool) -> Any:
    names = list(MODEL_INPUTS) if monotone else list(FEATURE_NAMES)
    params = dict(TREE_PARAMS)
    if monotone:
        params["monotone_constraints"] = monotone_constraints(names)
    else:
        params.pop("monotone_constraints_method")
    clf = lightgbm_classifier()(random_state=1, **params).fit(_design(train, names), y)
    return clf.predict(_design(test, names), raw_score=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=30, help="unseen worlds (default 30)")
    args = parser.parse_args(argv)
    from sklearn.metrics import average_precision_score

    started = time.perf_counter()
    worlds = unseen_worlds(args.worlds)
    samples = world_samples(worlds, seed=1)
    model = rs.load_model()
    rows = []
    training = world_data(
        worlds, n_conversations=TRAIN_CONVERSATIONS, prevalence=TRAIN_PREVALENCE, seed=TRAIN_SEED
    )
    print(f"{'world':12s} {'shipped':>8s} {'in-world, shipped inputs':>25s} {'in-world, all':>14s}")
    for sample, (name, data) in zip(samples, training, strict=True):
        y_test = np.asarray(sample.labels.is_grooming_true, dtype=bool)
        y_train = np.asarray(data.labels.is_grooming_true, dtype=bool)
        train = extract_features(data.messages)
        row = {
            "world": name,
            "shipped": float(average_precision_score(y_test, model.predict_proba(sample.features))),
            "in_world_shipped_inputs_monotone": float(
                average_precision_score(y_test, _fit_score(train, y_train, sample.features, True))
            ),
            "in_world_every_feature_free": float(
                average_precision_score(y_test, _fit_score(train, y_train, sample.features, False))
            ),
        }
        rows.append(row)
        print(
            f"{name:12s} {row['shipped']:8.3f} {row['in_world_shipped_inputs_monotone']:25.3f} "
            f"{row['in_world_every_feature_free']:14.3f}",
            flush=True,
        )
    summary = {
        key: {
            "median": float(np.median([r[key] for r in rows])),
            "worst": min(r[key] for r in rows),
        }
        for key in ("shipped", "in_world_shipped_inputs_monotone", "in_world_every_feature_free")
    }
    for key, value in summary.items():
        print(f"{key:34s} median {value['median']:.3f}  worst {value['worst']:.3f}")
    write_json(
        RESULTS / "world_ceiling.json",
        {
            **run_record("world_ceiling", __file__, argv),
            "train_conversations": TRAIN_CONVERSATIONS,
            "train_prevalence": TRAIN_PREVALENCE,
            "seconds": time.perf_counter() - started,
            "summary": summary,
            "worlds": rows,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
