"""The trained risk model (riskscore/model/): its trees equal LightGBM's, its reasons keep
the promises of ``docs/features.md`` (monotone directions, measured against the "no
signal" reference, worded in each feature's unit), and its calibration.

The portable trees and their exact reasons are checked on small LightGBM models in
``test_model_trees.py``; training and the portable parameters in
``test_model_training.py``.
"""

from __future__ import annotations

import math

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_helpers import (
    NAN,
    SMALL_NAMES,
    SPECS,
    FloatArray,
    logit,
    trained_model,
    training_data,
)

import riskscore as rs
from riskscore.exceptions import ModelIntegrityError
from riskscore.features import FeatureTable, feature_index
from riskscore.io.threads import limited_threads
from riskscore.model import (
    Platt,
    RiskModel,
    align_labels,
    fit_risk_model,
)
from riskscore.model.scores import top_reasons
from riskscore.model.training import TREE_PARAMS, monotone_constraints


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return training_data()


@pytest.fixture(scope="module")
def features(data: rs.synthetic.SyntheticData) -> FeatureTable:
    return rs.extract_features(data.messages)


@pytest.fixture(scope="module")
def model(data: rs.synthetic.SyntheticData) -> RiskModel:
    return trained_model(data)


def test_the_trained_model_trees_equal_lightgbm(
    data: rs.synthetic.SyntheticData, features: FeatureTable
) -> None:
    # The same trees as fit_risk_model fits on all the data, refitted here with LightGBM's
    # public API, give the margins of the portable trees to the last bit or so.
    model = fit_risk_model(
        features, align_labels(features, data.labels), seed=3, n_splits=2, inputs=SMALL_NAMES
    )
    X = features.values[:, [feature_index(n) for n in SMALL_NAMES]]
    classifier = lgb.LGBMClassifier(
        monotone_constraints=monotone_constraints(SMALL_NAMES),
        random_state=3,
        **TREE_PARAMS,
    ).fit(X, align_labels(features, data.labels))
    np.testing.assert_allclose(
        model.trees.margins(X), classifier.predict(X, raw_score=True), rtol=0, atol=1e-9
    )


# ---------------------------------------------------------------- the trained model's reasons


def test_contributions_add_up_to_the_calibrated_log_odds(
    model: RiskModel, features: FeatureTable
) -> None:
    risk = model.predict_proba(features)
    reference_risk = model.predict_proba(model.trees.reference[None, :])[0]
    contributions = model.contributions(features)
    assert contributions.shape == (len(features), len(model.feature_names))
    np.testing.assert_allclose(
        contributions.sum(axis=1), logit(risk) - logit(np.float64(reference_risk)), atol=1e-8
    )


def test_reference_is_the_registry_no_signal_value(model: RiskModel) -> None:
    expected = np.array([SPECS[name].reference for name in model.feature_names])
    np.testing.assert_array_equal(model.trees.reference, expected)


def test_a_risk_raising_feature_above_its_reference_never_lowers_risk(
    model: RiskModel, features: FeatureTable
) -> None:
    inputs = model.inputs(features)
    contributions = model.contributions(features)
    reference = model.trees.reference
    checked = 0
    shown = model.reason_contributions(inputs)
    for j, name in enumerate(model.feature_names):
        direction = SPECS[name].direction
        if direction == 0:
            continue
        away = direction * (inputs[:, j] - reference[j]) > 0
        # a feature is shown as a reason only on its risk side, constrained or not
        assert np.all(shown[~away, j] == 0.0), name
        if not SPECS[name].constrained:
            continue
        checked += int(away.sum())
        assert np.all(direction * contributions[away, j] >= -1e-12), name
        # at its reference a feature is no reason at all, in either direction
        at = inputs[:, j] == reference[j]
        assert np.all(contributions[at, j] == 0.0), name
    assert checked > 1000


@st.composite
def model_rows(draw: st.DrawFn, names: tuple[str, ...]) -> FloatArray:
    values = []
    for name in names:
        spec = SPECS[name]
        if spec.nullable:
            values.append(draw(st.one_of(st.just(NAN), st.floats(0, 90))))
        elif spec.unit in (
            "fraction",
            "share of evidence",
            "recent share",
            "share toward half",
            "exp(-days)",
            "0/1",
        ):
            values.append(draw(st.floats(0, 1)))
        else:
            values.append(draw(st.floats(0, 30)))
    return np.array(values)


@settings(max_examples=40, deadline=None, database=None)
@given(data=st.data())
def test_monotone_directions_hold_for_any_row(model: RiskModel, data: st.DataObject) -> None:
    x = data.draw(model_rows(model.feature_names))
    contributions = model.trees.contributions(x[None, :])[0]
    for j, name in enumerate(model.feature_names):
        direction = SPECS[name].direction
        if direction == 0 or not SPECS[name].constrained:
            continue
        if direction * (x[j] - model.trees.reference[j]) > 0:
            assert direction * contributions[j] >= -1e-12, name
        # and the margin itself only moves the stated way when the feature is raised
        higher = x.copy()
        higher[j] = x[j] + data.draw(st.floats(0.0, 5.0))
        margins = model.trees.margins(np.vstack([x, higher]))
        assert direction * (margins[1] - margins[0]) >= -1e-12, name


def test_an_unknown_age_is_never_a_reason(model: RiskModel, features: FeatureTable) -> None:
    inputs = model.inputs(features)
    contributions = model.contributions(features)
    ages = [model.feature_names.index(n) for n in ("child_age", "adult_age", "age_gap")]
    checked = 0
    for j in ages:
        assert math.isnan(model.trees.reference[j])
        unknown = np.isnan(inputs[:, j])
        checked += int(unknown.sum())
        assert np.all(contributions[unknown, j] == 0.0)
    assert checked > 100
    # and for any other values of the rest of the row
    rng = np.random.default_rng(0)
    rows = inputs[rng.choice(len(inputs), 200)]
    rows[:, ages] = NAN
    assert np.all(model.contributions(rows)[:, ages] == 0.0)


def test_reasons_never_name_a_feature_at_its_reference(
    model: RiskModel, features: FeatureTable
) -> None:
    scores = model.score_features(features, n_reasons=5, reasons_above=0.0)
    reference = dict(zip(model.feature_names, model.trees.reference, strict=True))
    contributions = model.contributions(features)
    n_reasons = 0
    for i in range(len(scores)):
        reasons = scores.reasons(i)
        n_reasons += len(reasons)
        for reason in reasons:
            ref = reference[reason.feature]
            assert reason.value != ref, reason
            assert not (math.isnan(reason.value) and math.isnan(ref)), reason
            assert reason.contribution > 0
            assert reason.description
            assert reason.why
        got = [r.contribution for r in reasons]
        assert got == sorted(got, reverse=True)
        positive = np.sort(contributions[i][contributions[i] > 0])[::-1][: len(reasons)]
        np.testing.assert_allclose(got, positive)
    assert n_reasons > len(scores)


def test_a_conversation_at_the_reference_has_no_reasons(
    model: RiskModel, features: FeatureTable
) -> None:
    values = features.values[:3].copy()
    for name, ref in zip(model.feature_names, model.trees.reference, strict=True):
        values[:, feature_index(name)] = ref
    quiet = FeatureTable(
        conversation_id=features.conversation_id[:3],
        values=values,
        names=features.names,
        adult_id=features.adult_id[:3],
        child_id=features.child_id[:3],
    )
    scores = model.score_features(quiet, reasons_above=0.0)
    assert [scores.reasons(i) for i in range(3)] == [(), (), ()]
    assert np.all(scores.reason_feature == -1)
    np.testing.assert_allclose(scores.risk, model.predict_proba(model.trees.reference[None, :])[0])


def test_low_risk_rows_get_no_reasons_computed(model: RiskModel, features: FeatureTable) -> None:
    scores = model.score_features(features)  # reasons from risk 0.01 up
    low = scores.risk < 0.01
    assert low.any()
    assert np.all(scores.reason_feature[low] == -1)
    assert np.all(np.isnan(scores.reason_contribution[low]))
    assert any(scores.reasons(i) for i in np.flatnonzero(~low))


def test_threaded_reasons_and_margins_equal_one_row_at_a_time(
    model: RiskModel, features: FeatureTable
) -> None:
    """Reasons of many rows are split over the worker threads in one compiled call per
    part, and the trees read whole feature-table rows through columns packed for them:
    both give, bit for bit, what one row at a time on the model's inputs gives."""
    inputs = model.inputs(features)
    rows = np.repeat(inputs, -(-600 // len(inputs)), axis=0)[:600]
    with limited_threads(2):
        together = model.trees.contributions(rows)
    one_by_one = np.vstack([model.trees.contributions(row[None, :]) for row in rows])
    np.testing.assert_array_equal(together, one_by_one)
    scores = model.score_features(features, reasons_above=0.0)
    np.testing.assert_array_equal(scores.risk, model.predict_proba(inputs))
    top, _, _ = top_reasons(model.reason_contributions(inputs), inputs, 3)
    np.testing.assert_array_equal(scores.reason_feature, top)


def test_score_of_messages_equals_score_of_their_features(
    model: RiskModel, data: rs.synthetic.SyntheticData, features: FeatureTable
) -> None:
    from_messages = model.score(data.messages)
    from_features = model.score(features)
    np.testing.assert_array_equal(from_messages.risk, from_features.risk)
    np.testing.assert_array_equal(from_messages.reason_feature, from_features.reason_feature)
    np.testing.assert_array_equal(from_messages.conversation_id, features.conversation_id)
    np.testing.assert_array_equal(from_messages.child_age, features.column("child_age"))


# ---------------------------------------------------------------- calibration


def test_risk_is_the_platt_curve_of_the_margin(model: RiskModel, features: FeatureTable) -> None:
    margin = model.trees.margins(model.inputs(features))
    a, b = model.calibration.a, model.calibration.b
    np.testing.assert_allclose(model.predict_proba(features), 1 / (1 + np.exp(a * margin + b)))
    assert a < 0  # a higher margin is a higher risk


@pytest.mark.parametrize("prevalence", [1e-4, 0.01, 0.3])
def test_at_prevalence_shifts_the_log_odds(
    model: RiskModel, features: FeatureTable, prevalence: float
) -> None:
    base = model.calibration.prevalence
    moved = model.at_prevalence(prevalence)
    assert moved.calibration.prevalence == prevalence
    assert model.calibration.prevalence == base  # the original is unchanged
    before, after = model.predict_proba(features), moved.predict_proba(features)
    usable = (before > 1e-12) & (before < 1 - 1e-12) & (after > 1e-12) & (after < 1 - 1e-12)
    shift = math.log(prevalence / (1 - prevalence)) - math.log(base / (1 - base))
    np.testing.assert_allclose(logit(after[usable]) - logit(before[usable]), shift, atol=1e-8)
    # reasons measure pushes on the log-odds: a constant shift leaves them alone
    np.testing.assert_array_equal(moved.contributions(features), model.contributions(features))
    # and it goes back
    back = moved.at_prevalence(base)
    np.testing.assert_allclose(back.predict_proba(features), before, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("prevalence", [0.0, 1.0, -0.1, 1.5, NAN])
def test_at_prevalence_refuses_what_is_not_a_prevalence(
    model: RiskModel, prevalence: float
) -> None:
    with pytest.raises(ValueError, match="prevalence must be a number from 1e-12 to"):
        model.at_prevalence(prevalence)


def test_platt_at_prevalence_by_hand() -> None:
    platt = Platt(a=-2.0, b=1.0, prevalence=0.5)
    moved = platt.at_prevalence(0.2)
    # logit(0.2) - logit(0.5) = log(0.25): b - shift
    assert moved.b == pytest.approx(1.0 - math.log(0.25))
    assert moved.risk_one(0.5) == pytest.approx(1 / (1 + math.exp(-1.0 + 1.0 - math.log(0.25))))
    assert platt.risk(np.array([0.5]))[0] == platt.risk_one(0.5) == 0.5


def test_a_steep_calibration_scores_without_overflow_and_an_absurd_one_is_refused() -> None:
    # risk() keeps exp() from overflowing (z is capped at 700).
    steep = Platt(a=-1e5, b=0.0, prevalence=0.5)
    np.testing.assert_allclose(
        steep.risk(np.array([10.0, -10.0, 0.0])), [1.0, 0.0, 0.5], atol=1e-300
    )
    assert steep.risk_one(10.0) == 1.0
    # Fitted slopes are a few units; one whose product with a margin can overflow is corrupt.
    for a, b in ((-1e308, 0.0), (-1.0, 1e300), (math.inf, 0.0)):
        with pytest.raises(ModelIntegrityError):
            Platt(a=a, b=b, prevalence=0.5)
    # A prevalence no calibration can be moved to or from (a tampered params.json) is corrupt
    # too: the same range as check_prevalence.
    for prevalence in (1e-320, 1e-13, 1.0 - 1e-13, 0.0, 1.0):
        with pytest.raises(ModelIntegrityError, match="prevalence from 1e-12"):
            Platt(a=-1.0, b=0.0, prevalence=prevalence)
    assert Platt(a=-1.0, b=0.0, prevalence=1e-12).prevalence == 1e-12


# ---------------------------------------------------------------- reasons in words


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("adult_sent_request", 1.0, "yes"),
        ("child_night_share", 0.62, "at least 62 %"),
        ("age_gap", 21.0, "21 years"),
        ("max_channel", 4.0, "encrypted"),
        ("adult_external_events", 8.0, "8 links or handles"),
        ("span_hours", 36.5, "36.5 hours"),
        ("recent_rate_per_day", 12.0, "12 events a day"),
        ("adult_flagged_per_minor", 0.4, "0.4 per minor contacted"),
        ("secure_move_speed", math.exp(-1.5 / 24), "1.5 hours"),
        ("secure_move_speed", math.exp(-7.0), "7 days"),
        ("secure_move_speed", 1.0, "under a minute"),
        ("child_age", math.nan, "unknown"),
    ],
)
def test_every_unit_is_worded_for_a_moderator(feature: str, value: float, text: str) -> None:
    """A reason's value reads in the feature's unit (``docs/features.md``), by one rule
    that the views of a reason use (the CLI's top alerts, the review queue and its console)."""
    assert rs.model.scores.Reason.of(feature, value, 1.0).value_text == text
