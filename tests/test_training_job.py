"""The ``riskscore train`` job's held-out metrics (riskscore.evaluation.training_job)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.evaluation.training_job import holdout_metrics


@pytest.fixture(scope="module")
def features() -> rs.FeatureTable:
    return rs.extract_features(rs.synthetic.generate(120, prevalence=0.05, seed=3).messages)


def test_held_out_metrics_a_set_cannot_define_are_none_not_zero(
    features: rs.FeatureTable,
) -> None:
    """Was: no grooming held out gave PR-AUC NaN (the bundle's manifest then refused it:
    "Out of range float values are not JSON compliant") and a recall of 0; no alert gave
    a precision of 0."""
    model, policy = rs.load_model(), rs.AlertPolicy.default()
    benign = holdout_metrics(model, features, np.zeros(len(features), dtype=bool), policy)
    assert benign["pr_auc"] is None
    assert benign["roc_auc"] is None
    assert benign["policy_recall"] is None
    json.dumps(benign, allow_nan=False)  # what the manifest writes
    risk = model.predict_proba(features)
    tiers = policy.tiers(risk, features.column("child_age"), features.column("adult_age"))
    quiet = np.flatnonzero(tiers == 0)  # conversations the policy does not alert
    # all held out as grooming: no alert, so precision is undefined and recall 0
    silent = holdout_metrics(model, features.take(quiet), np.ones(len(quiet), dtype=bool), policy)
    assert silent["policy_precision"] is None
    assert silent["policy_recall"] == 0.0


def test_train_saves_a_bundle_whose_held_out_adults_have_no_grooming(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rs.synthetic.generate(300, prevalence=0.04, seed=5).write(tmp_path / "d")
    argv = ["train", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "m")]
    assert main([*argv, "--seed", "1", "--test-fraction", "0.05"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"pr_auc +n/a", out)
    metrics = rs.load_model(tmp_path / "m").metadata["metrics"]
    assert metrics["n_test_grooming"] == 0.0
    assert metrics["pr_auc"] is None
