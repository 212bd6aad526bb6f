"""Inputs read up to a cap (``INPUT_CAPS``): trained capped, scored alike above the cap."""

from __future__ import annotations

import math

import numpy as np
import pytest

import riskscore as rs
from riskscore.model.training import INPUT_CAPS, capped


def test_capped_caps_only_the_listed_inputs_and_keeps_nan() -> None:
    X = np.array([[13.0, 13.0], [0.0, math.nan], [math.nan, 2.0]])
    out = capped(X, ["adult_external_events", "adult_max_unanswered_run"])
    np.testing.assert_array_equal(out, [[1.0, 13.0], [0.0, math.nan], [math.nan, 2.0]])
    assert X[0, 0] == 13.0  # a copy


def test_the_shipped_model_was_trained_with_the_caps() -> None:
    assert rs.load_model().metadata["input_caps"] == INPUT_CAPS


@pytest.mark.parametrize("name", sorted(INPUT_CAPS))
def test_a_count_above_its_cap_scores_as_the_cap(name: str) -> None:
    # the trees never split above the cap they were trained with: every scoring path
    # (batch, online, Spark walk the same trees) treats 13 links as 1, with no transform
    model = rs.load_model()
    data = rs.synthetic.generate(300, prevalence=0.2, seed=3)
    X = model.inputs(rs.extract_features(data.messages))
    j = model.feature_names.index(name)
    at_cap, above = X.copy(), X.copy()
    at_cap[:, j] = INPUT_CAPS[name]
    above[:, j] = INPUT_CAPS[name] + 12.0
    np.testing.assert_array_equal(model.predict_proba(at_cap), model.predict_proba(above))
    assert model.predict_proba(at_cap).std() > 0  # the rows differ in everything else
