"""Training, calibrated scoring and reason codes."""

from __future__ import annotations

import numpy as np
import pytest

import riskscore as rs
from riskscore.model import align_labels
from riskscore.synthetic import Labels


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(4000, prevalence=0.05, seed=11)


@pytest.fixture(scope="module")
def model(data: rs.synthetic.SyntheticData) -> rs.RiskModel:
    return rs.train(data.messages, data.labels, seed=3)


def test_portable_parameters_reproduce_sklearn(
    model: rs.RiskModel, data: rs.synthetic.SyntheticData
) -> None:
    X = rs.extract_features(data.messages)
    portable = model.predict_proba(X)
    reference = model.estimator.predict_proba(X.values)[:, 1]
    np.testing.assert_allclose(portable, reference, rtol=0, atol=1e-12)


def test_risk_is_a_probability_that_ranks_grooming_higher(
    model: rs.RiskModel, data: rs.synthetic.SyntheticData
) -> None:
    scores = model.score(data.messages)
    assert np.all((scores.risk >= 0) & (scores.risk <= 1))
    truth = data.labels.is_grooming
    assert scores.risk[truth].mean() > 5 * scores.risk[~truth].mean()


def test_training_is_deterministic(data: rs.synthetic.SyntheticData, model: rs.RiskModel) -> None:
    again = rs.train(data.messages, data.labels, seed=3)
    assert again.params.to_dict() == model.params.to_dict()


def test_contributions_add_up_to_the_calibrated_log_odds(
    model: rs.RiskModel, data: rs.synthetic.SyntheticData
) -> None:
    X = rs.extract_features(data.messages)
    p = model.params
    risk = p.predict_proba(X.values)
    log_odds = np.log(risk) - np.log1p(-risk)
    baseline = -(p.calib_a * p.intercept + p.calib_b)
    np.testing.assert_allclose(
        p.contributions(X.values).sum(axis=1) + baseline, log_odds, atol=1e-8
    )


def test_reasons_are_the_strongest_positive_contributions(
    model: rs.RiskModel, data: rs.synthetic.SyntheticData
) -> None:
    scores = model.score(data.messages, n_reasons=3)
    X = rs.extract_features(data.messages)
    contrib = model.params.contributions(X.values)
    top = int(np.argmax(scores.risk))
    reasons = scores.reasons(top)
    assert 1 <= len(reasons) <= 3
    expected = np.sort(contrib[top][contrib[top] > 0])[::-1][: len(reasons)]
    np.testing.assert_allclose([r.contribution for r in reasons], expected)
    assert all(r.description for r in reasons)
    assert [r.contribution for r in reasons] == sorted(
        (r.contribution for r in reasons), reverse=True
    )


def test_score_table_flattens_to_arrow(
    model: rs.RiskModel, data: rs.synthetic.SyntheticData
) -> None:
    table = model.score(data.messages).to_arrow()
    assert table.num_rows == data.messages.n_conversations
    assert {"conversation_id", "risk", "reason_1", "reason_1_contribution"} <= set(
        table.column_names
    )


def test_labels_must_match_messages(data: rs.synthetic.SyntheticData) -> None:
    X = rs.extract_features(data.messages)
    labels = data.labels
    short = Labels(
        conversation_id=labels.conversation_id[1:],
        is_grooming=labels.is_grooming[1:],
        onset_index=labels.onset_index[1:],
        adult_id=labels.adult_id[1:],
        scenario=labels.scenario[1:],
    )
    with pytest.raises(rs.SchemaError, match="has no label"):
        align_labels(X, short)


def test_duplicate_labels_are_refused(data: rs.synthetic.SyntheticData) -> None:
    X = rs.extract_features(data.messages)

    class Dup:
        conversation_id = np.array([0, 0])
        is_grooming = np.array([True, False])

    with pytest.raises(rs.SchemaError, match="more than once"):
        align_labels(X, Dup())


def test_training_needs_both_classes(data: rs.synthetic.SyntheticData) -> None:
    class AllBenign:
        conversation_id = data.labels.conversation_id
        is_grooming = np.zeros(len(data.labels.conversation_id), dtype=bool)

    with pytest.raises(rs.SchemaError, match="at least 10 grooming"):
        rs.train(data.messages, AllBenign())


def test_wrong_feature_matrix_shape_is_refused(model: rs.RiskModel) -> None:
    with pytest.raises(rs.SchemaError, match="shape"):
        model.predict_proba(np.zeros((2, 3)))
