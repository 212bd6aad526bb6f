"""The robustness benchmark's candidate models (riskscore.model.candidates)."""

from __future__ import annotations

import numpy as np
import pytest

import riskscore as rs
from riskscore.evaluation.robustness import evaluate_samples
from riskscore.evaluation.world_samples import WorldSample
from riskscore.model.candidates import CANDIDATES, Candidate

pytest.importorskip("lightgbm")


@pytest.fixture(scope="module")
def sample() -> WorldSample:
    data = rs.synthetic.generate(1_500, prevalence=0.05, seed=1)
    return WorldSample("default", rs.extract_features(data.messages), data.labels)


@pytest.mark.parametrize("candidate", CANDIDATES, ids=lambda c: c.name)
def test_candidate_scores_are_probabilities_the_evaluation_measures(
    candidate: Candidate, sample: WorldSample
) -> None:
    # benchmarks/robustness.py runs every candidate through evaluate_samples, which refuses
    # raw margins (a candidate that returned them stopped the benchmark)
    y = np.asarray(sample.labels.is_grooming_true, dtype=bool)
    scorer = candidate.fit(sample.features, y, None, 0)
    risk = scorer(sample.features)
    assert risk.shape == (len(y),)
    assert np.all((risk >= 0.0) & (risk <= 1.0))
    report = evaluate_samples(scorer, [sample])
    assert 0.0 < report.median("pr_auc") <= 1.0
