"""Rule baseline, model comparison, and the comparison in the model card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

import riskscore as rs
from riskscore._model_card import render_model_card
from riskscore.baselines import ModelComparison, RuleBaseline, compare_models
from riskscore.feature_specs import FEATURE_NAMES
from riskscore.features import FeatureTable
from riskscore.splits import split_by_adult


def _table(age_gap: list[float], night: list[float], channel: list[float]) -> FeatureTable:
    n = len(age_gap)
    values = np.zeros((n, len(FEATURE_NAMES)))
    for name, column in (
        ("age_gap", age_gap),
        ("child_night_share", night),
        ("max_channel", channel),
    ):
        values[:, FEATURE_NAMES.index(name)] = column
    ids = np.arange(n)
    return FeatureTable(ids, values, FEATURE_NAMES, adult_id=ids, child_id=ids + 100)


def test_rule_counts_conditions_and_unknown_gaps_never_meet_them() -> None:
    X = _table(
        age_gap=[20.0, 20.0, np.nan, 3.0, 20.0],
        night=[0.5, 0.5, 0.5, 0.1, 0.1],
        channel=[3, 1, 4, 0, 5],
    )
    rule = RuleBaseline()
    met = rule.conditions(X)
    assert met.sum(axis=1).tolist() == [3, 2, 2, 0, 2]
    assert rule.predict(X).tolist() == [True, False, False, False, False]
    assert not met[2, 0]  # unknown age gap


def test_rule_learns_a_rate_per_count_and_ranks_by_it() -> None:
    X = _table([20.0] * 4 + [1.0] * 4, [0.5] * 4 + [0.0] * 4, [4] * 4 + [0] * 4)
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
    rule = RuleBaseline().fit(X, y)
    prior = 3 / 8
    assert rule.rate_[3] == pytest.approx((3 + prior) / 5)
    assert rule.rate_[0] == pytest.approx(prior / 5)
    assert rule.rate_[1] == pytest.approx(prior)  # no data: the prior
    risk = rule.predict_proba(X)
    assert np.all(risk[:4] > risk[4:])


def test_rule_refuses_misuse() -> None:
    X = _table([10.0], [0.5], [4])
    with pytest.raises(rs.NotFittedError):
        RuleBaseline().predict_proba(X)
    with pytest.raises(ValueError, match="min_channel"):
        RuleBaseline(min_channel="carrier pigeon").conditions(X)
    with pytest.raises(rs.SchemaError, match="shape"):
        RuleBaseline().fit(X, [True, False])


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(3000, prevalence=0.05, seed=31)


@pytest.fixture(scope="module")
def comparison(data: rs.synthetic.SyntheticData) -> ModelComparison:
    return compare_models(data.messages, data.labels, seed=4, n_bootstrap=50)


def test_comparison_measures_three_models_on_held_out_adults(
    comparison: ModelComparison, data: rs.synthetic.SyntheticData
) -> None:
    assert [r.name for r in comparison.rows] == ["logistic_regression", "gradient_boosting", "rule"]
    assert comparison.n_train + comparison.n_test == 3000
    reference = comparison.row("logistic_regression")
    assert reference.pr_auc_diff == 0.0
    assert reference.pr_auc_diff_ci == (0.0, 0.0)
    for row in comparison.rows:
        assert 0.0 <= row.pr_auc_ci[0] <= row.pr_auc_ci[1] <= 1.0
        assert row.pr_auc_diff == pytest.approx(row.pr_auc - reference.pr_auc)
    # The learned models beat the rule by a wide margin on this generator.
    assert comparison.row("rule").pr_auc_diff_ci[1] < 0


def test_comparison_reference_equals_a_direct_evaluation(
    comparison: ModelComparison, data: rs.synthetic.SyntheticData
) -> None:
    X = rs.extract_features(data.messages)
    y = data.labels.is_grooming
    train, test = split_by_adult(X.adult_id, test_fraction=0.25, seed=4)
    model = rs.train(X.take(train), y[train], seed=4)
    expected = average_precision_score(y[test], model.predict_proba(X.take(test)))
    assert comparison.row("logistic_regression").pr_auc == pytest.approx(expected, abs=1e-12)
    assert comparison.n_test == len(test)


def test_comparison_refuses_a_split_that_shares_adults(data: rs.synthetic.SyntheticData) -> None:
    X = rs.extract_features(data.messages)
    index = np.arange(len(X))
    with pytest.raises(rs.SchemaError, match="on both sides"):
        compare_models(X, data.labels, train_index=index[:2000], test_index=index[1500:])
    with pytest.raises(ValueError, match="both"):
        compare_models(X, data.labels, train_index=index[:2000])


def test_comparison_round_trips_through_json_into_the_model_card(
    comparison: ModelComparison,
) -> None:
    stored = json.loads(json.dumps(comparison.to_dict(), allow_nan=False))
    again = ModelComparison.from_dict(stored)
    assert again == comparison
    card = render_model_card({"comparison": stored, "metrics": {"pr_auc": 0.9}})
    assert "## Model comparison" in card
    assert "| gradient-boosted trees |" in card
    assert f"{comparison.row('rule').pr_auc:.3f}" in card
    assert "No model comparison was recorded" in render_model_card({})


def test_train_model_stores_the_comparison(tmp_path: Path) -> None:
    from riskscore.workflows import train_model

    result = train_model(tmp_path / "m", n_conversations=1500, prevalence=0.05, seed=6)
    stored = result.model.metadata["comparison"]
    names = [r["name"] for r in stored["rows"]]
    assert names == ["logistic_regression", "gradient_boosting", "rule"]
    assert "## Model comparison" in (tmp_path / "m" / "MODEL_CARD.md").read_text()
    assert rs.load_model(tmp_path / "m").metadata["comparison"] == stored
