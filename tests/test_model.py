"""The risk model (riskscore/model/): portable trees, exact reasons, calibration, training.

The portable trees are checked against LightGBM itself, and their reasons against a
brute-force Shapley computation over every subset of features; the trained model
against the promises of ``docs/features.md`` (monotone directions, reasons measured
against the "no signal" reference).
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.exceptions import ModelIntegrityError
from riskscore.features import FEATURES, FeatureTable, feature_index
from riskscore.io.threads import limited_threads
from riskscore.model import (
    MODEL_INPUTS,
    Platt,
    RiskModel,
    TreeEnsemble,
    align_labels,
    fit_risk_model,
    save_model,
)
from riskscore.model.scores import top_reasons
from riskscore.model.training import TREE_PARAMS, monotone_constraints
from riskscore.synthetic import Labels

FloatArray = npt.NDArray[np.float64]
SPECS = {spec.name: spec for spec in FEATURES}
NAN = math.nan


def logit(p: FloatArray) -> FloatArray:
    out: FloatArray = np.log(p) - np.log1p(-p)
    return out


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(3000, prevalence=0.05, seed=11)


@pytest.fixture(scope="module")
def features(data: rs.synthetic.SyntheticData) -> FeatureTable:
    return rs.extract_features(data.messages)


@pytest.fixture(scope="module")
def model(data: rs.synthetic.SyntheticData) -> RiskModel:
    return rs.train(data.messages, data.labels, seed=3)


# ---------------------------------------------------------------- small LightGBM models

#: Four features: two risk-raising (monotone), one with missing values, one free.
SMALL_NAMES = ("child_night_share", "adult_media_rate", "child_age", "adult_message_share")
SMALL_REFERENCE = np.array([0.0, 0.0, NAN, 0.5])


def small_training_data(seed: int) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    rng = np.random.default_rng(seed)
    n = 1500
    X = np.column_stack(
        [
            rng.uniform(0, 1, n),
            np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0, 0.5, n)),  # many exact zeros
            np.where(rng.random(n) < 0.25, NAN, rng.integers(5, 60, n).astype(float)),
            rng.uniform(0, 1, n),
        ]
    )
    age = np.nan_to_num(X[:, 2], nan=30.0)
    z = 3 * X[:, 0] + 4 * X[:, 1] + (age < 16) * 1.5 - 2 * np.abs(X[:, 3] - 0.5) - 2.0
    y = rng.random(n) < 1 / (1 + np.exp(-z))
    return X, y


@functools.cache
def small_booster(*, zero_as_missing: bool = False, seed: int = 0) -> lgb.Booster:
    X, y = small_training_data(seed)
    params = {
        "objective": "binary",
        "num_leaves": 8,
        "learning_rate": 0.3,
        "min_data_in_leaf": 10,
        "monotone_constraints": [1, 1, 0, 0],
        "zero_as_missing": zero_as_missing,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "seed": seed,
        "verbose": -1,
    }
    return lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=12)


def small_trees(booster: lgb.Booster) -> TreeEnsemble:
    return TreeEnsemble.from_lightgbm_dump(booster.dump_model(), SMALL_NAMES, SMALL_REFERENCE)


def thresholds(trees: TreeEnsemble, j: int) -> FloatArray:
    return np.unique(trees.threshold[trees.feature == j])


def probe_rows(trees: TreeEnsemble, seed: int) -> FloatArray:
    """Rows that sit on, just below and just above every threshold, with NaNs and zeros."""
    rng = np.random.default_rng(seed)
    columns = []
    for j in range(len(SMALL_NAMES)):
        cuts = thresholds(trees, j)
        special = np.concatenate(
            [cuts, np.nextafter(cuts, -np.inf), np.nextafter(cuts, np.inf), [NAN, 0.0, -1.0, 1e9]]
        )
        columns.append(rng.choice(special, 400))
    return np.column_stack(columns)


@pytest.fixture(scope="module", params=[False, True], ids=["missing-nan", "zero-as-missing"])
def small(request: pytest.FixtureRequest) -> tuple[lgb.Booster, TreeEnsemble]:
    booster = small_booster(zero_as_missing=request.param)
    return booster, small_trees(booster)


def test_tree_ensemble_margins_equal_lightgbm_raw_scores(
    small: tuple[lgb.Booster, TreeEnsemble],
) -> None:
    booster, trees = small
    assert trees.n_trees == booster.num_trees()
    X, _ = small_training_data(1)
    for rows in (X, probe_rows(trees, 2)):
        expected = booster.predict(rows, raw_score=True)
        np.testing.assert_allclose(trees.margins(rows), expected, rtol=0, atol=1e-12)


def test_values_within_lightgbms_zero_threshold_count_as_zero() -> None:
    # LightGBM reads |x| <= 1e-35 (kZeroThreshold) as zero, so with zero_as_missing such a
    # value takes the missing (default) branch, as 0.0 does.
    booster = small_booster(zero_as_missing=True)
    trees = small_trees(booster)
    tiny = np.array([[1e-36, -1e-36, 1e-40, 2.3e-147], [0.0, 0.0, 0.0, 1e-35], [5e-324] * 4])
    np.testing.assert_allclose(
        trees.margins(tiny), booster.predict(tiny, raw_score=True), rtol=0, atol=1e-12
    )


def test_the_missing_value_rules_of_lightgbm_are_all_exercised(
    small: tuple[lgb.Booster, TreeEnsemble],
) -> None:
    # The dump of the model with missing ages has NaN-aware splits (missing type 2), the
    # zero-as-missing one has type 1; both have ordinary ones. Otherwise the margin test
    # above would not cover the three rules.
    _, trees = small
    split = trees.feature >= 0
    assert set(np.unique(trees.missing[split]).tolist()) & {1, 2}


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


# ---------------------------------------------------------------- exact reasons


def brute_force_shapley(trees: TreeEnsemble, x: FloatArray) -> FloatArray:
    """Shapley values of the game v(S) = margin of (x on S, the reference elsewhere), by
    enumerating every subset (the margins themselves are checked against LightGBM above)."""
    n = len(x)
    subsets = np.array([[(mask >> j) & 1 for j in range(n)] for mask in range(2**n)], dtype=bool)
    value = trees.margins(np.where(subsets, x, trees.reference))
    phi = np.zeros(n)
    for j in range(n):
        for mask in range(2**n):
            if (mask >> j) & 1:
                continue
            size = bin(mask).count("1")
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            phi[j] += weight * (value[mask | (1 << j)] - value[mask])
    return phi


def feature_values(j: int) -> st.SearchStrategy[float]:
    base = st.floats(-1.0, 80.0, allow_nan=False)
    specials = st.sampled_from([NAN, 0.0, 0.5, 1.0, 13.0, 15.5])
    return st.one_of(base, specials) if j == 2 else st.one_of(base, st.sampled_from([0.0, 0.5]))


ROWS = st.tuples(*(feature_values(j) for j in range(4))).map(np.array)


@settings(max_examples=80, deadline=None, database=None)
@given(x=ROWS, zero_as_missing=st.booleans())
def test_contributions_equal_brute_force_shapley(x: FloatArray, zero_as_missing: bool) -> None:
    trees = small_trees(small_booster(zero_as_missing=zero_as_missing))
    got = trees.contributions(x[None, :])[0]
    expected = brute_force_shapley(trees, x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    # efficiency: they add up to margin(x) - margin(reference)
    margins = trees.margins(np.vstack([x, SMALL_REFERENCE]))
    assert got.sum() == pytest.approx(margins[0] - margins[1], abs=1e-10)


def test_contributions_of_the_reference_itself_are_zero(
    small: tuple[lgb.Booster, TreeEnsemble],
) -> None:
    _, trees = small
    assert trees.contributions(SMALL_REFERENCE[None, :]).tolist() == [[0.0] * 4]


def test_contributions_on_many_rows_equal_brute_force(
    small: tuple[lgb.Booster, TreeEnsemble],
) -> None:
    _, trees = small
    rows = probe_rows(trees, 5)[:60]
    got = trees.contributions(rows)
    for i, x in enumerate(rows):
        np.testing.assert_allclose(got[i], brute_force_shapley(trees, x), rtol=0, atol=1e-10)


def chain_tree(depth: int, names: tuple[str, ...] = ("child_night_share",)) -> dict[str, Any]:
    """One tree of ``depth`` splits in a chain, in preorder: split i goes left to split
    i + 1 (the next node); the last split's left leaf, then the right leaves, deepest first."""
    n_nodes = 2 * depth + 1
    feature = [-1] * n_nodes
    left = [-1] * n_nodes
    right = [-1] * n_nodes
    threshold = [0.0] * n_nodes
    leaf = [0.0] * n_nodes
    for i in range(depth):
        feature[i] = 0
        threshold[i] = 1.0 - i / (depth + 1)  # decreasing: x <= t goes deeper
        left[i] = i + 1
        right[i] = 2 * depth - i
        leaf[2 * depth - i] = 0.01 * (i + 1)
    leaf[depth] = -1.0
    return {
        "feature_names": list(names),
        "reference": [0.0] * len(names),
        "roots": [0],
        "feature": feature,
        "threshold": threshold,
        "left": left,
        "right": right,
        "default_left": [True] * n_nodes,
        "missing": [0] * n_nodes,
        "leaf_value": leaf,
    }


def test_trees_as_deep_as_allowed_score_and_explain() -> None:
    trees = TreeEnsemble.from_dict(chain_tree(64))
    assert trees.depth() == 64
    x = np.array([[0.999]])  # passes the first split's threshold 1.0, leaves at the second
    margins = trees.margins(np.vstack([x, [[0.0]]]))
    np.testing.assert_allclose(trees.contributions(x)[0], [margins[0] - margins[1]], atol=1e-12)


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
        elif spec.unit in ("fraction", "exp(-days)", "0/1"):
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


# ---------------------------------------------------------------- training


def test_risk_is_a_probability_that_ranks_grooming_higher(
    model: RiskModel, data: rs.synthetic.SyntheticData
) -> None:
    scores = model.score(data.messages)
    assert np.all((scores.risk >= 0) & (scores.risk <= 1))
    truth = data.labels.is_grooming
    assert scores.risk[truth].mean() > 5 * scores.risk[~truth].mean()


def test_trained_model_reads_the_documented_inputs(model: RiskModel) -> None:
    assert model.feature_names == MODEL_INPUTS
    assert not {"n_events", "span_hours", "recent_rate_per_day"} & set(model.feature_names)
    assert model.metadata["training"]["seed"] == 3
    assert model.metadata["training"]["n_conversations"] == 3000


def test_inputs_are_picked_by_name_from_a_feature_table(
    model: RiskModel, features: FeatureTable
) -> None:
    expected = features.values[:, [feature_index(n) for n in model.feature_names]]
    np.testing.assert_array_equal(model.inputs(features), expected)
    np.testing.assert_array_equal(model.predict_proba(expected), model.predict_proba(features))


def test_training_is_deterministic(
    data: rs.synthetic.SyntheticData, model: RiskModel, tmp_path: Path
) -> None:
    again = rs.train(data.messages, data.labels, seed=3)
    first = save_model(model, tmp_path / "a", record_versions=False)
    second = save_model(again, tmp_path / "b", record_versions=False)
    for name in ("params.json", "manifest.json", "MODEL_CARD.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_prevalence_argument_calibrates_for_it(
    data: rs.synthetic.SyntheticData, features: FeatureTable, model: RiskModel
) -> None:
    rare = rs.train(features, data.labels, seed=3, prevalence=0.001)
    assert rare.calibration.prevalence == 0.001
    np.testing.assert_allclose(
        rare.predict_proba(features), model.at_prevalence(0.001).predict_proba(features)
    )


def test_score_table_to_arrow_has_reasons_as_a_list(
    model: RiskModel, data: rs.synthetic.SyntheticData
) -> None:
    scores = model.score(data.messages)
    table = scores.to_arrow()
    assert table.num_rows == data.messages.n_conversations
    assert table.column_names == [
        "conversation_id", "adult_id", "child_id", "child_age", "adult_age", "risk", "reasons",
    ]  # fmt: skip
    reasons = table["reasons"].to_pylist()
    for i in range(len(scores)):
        want = [
            {"feature": r.feature, "value": r.value, "contribution": r.contribution}
            for r in scores.reasons(i)
        ]
        assert reasons[i] == want
    assert any(reasons)
    assert not all(reasons)


def test_labels_must_match_messages(
    data: rs.synthetic.SyntheticData, features: FeatureTable
) -> None:
    labels = data.labels
    short = Labels(
        conversation_id=labels.conversation_id[1:],
        is_grooming=labels.is_grooming[1:],
        onset_index=labels.onset_index[1:],
        adult_id=labels.adult_id[1:],
        scenario=labels.scenario[1:],
    )
    with pytest.raises(rs.SchemaError, match="has no label"):
        align_labels(features, short)


def test_duplicate_labels_are_refused(features: FeatureTable) -> None:
    class Dup:
        conversation_id = np.array([0, 0])
        is_grooming = np.array([True, False])

    with pytest.raises(rs.SchemaError, match="more than once"):
        align_labels(features, Dup())


def test_labels_as_an_array_must_be_boolean_in_order(features: FeatureTable) -> None:
    with pytest.raises(rs.SchemaError, match="boolean of shape"):
        align_labels(features, np.zeros(len(features)))
    truth = np.zeros(len(features), dtype=bool)
    np.testing.assert_array_equal(align_labels(features, truth), truth)


def test_training_needs_both_classes(data: rs.synthetic.SyntheticData) -> None:
    class AllBenign:
        conversation_id = data.labels.conversation_id
        is_grooming = np.zeros(len(data.labels.conversation_id), dtype=bool)

    with pytest.raises(rs.SchemaError, match="at least 10 grooming"):
        rs.train(data.messages, AllBenign())


def test_unknown_inputs_are_refused(
    data: rs.synthetic.SyntheticData, features: FeatureTable
) -> None:
    y = align_labels(features, data.labels)
    with pytest.raises(rs.SchemaError, match="unknown model inputs"):
        fit_risk_model(features, y, inputs=("child_age", "message_length"))


def test_wrong_feature_matrix_shape_is_refused(model: RiskModel) -> None:
    with pytest.raises(rs.SchemaError, match="shape"):
        model.predict_proba(np.zeros((2, 3)))


# ---------------------------------------------------------------- portable parameters


def test_parameters_round_trip_through_json(model: RiskModel, features: FeatureTable) -> None:
    text = json.dumps(model.to_dict())
    assert "NaN" not in text  # unknown references are null, not a JSON extension
    back = RiskModel.from_dict(json.loads(text))
    assert back.to_dict() == model.to_dict()
    np.testing.assert_array_equal(back.predict_proba(features), model.predict_proba(features))
    np.testing.assert_array_equal(back.contributions(features), model.contributions(features))


Mutation = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Mutation:
    """Set ``trees.leaf_value[3]``-style paths to ``value``."""

    def mutate(d: dict[str, Any]) -> Any:
        *parents, last = path.split(".")
        target: Any = d
        for key in parents:
            target = target[key]
        if "[" in last:
            name, index = last[:-1].split("[")
            target[name][int(index)] = value
        else:
            target[last] = value
        return d

    return mutate


def _split(d: dict[str, Any], which: int) -> int:
    """The ``which``-th split node (0: the first tree's root)."""
    return [i for i, f in enumerate(d["trees"]["feature"]) if f >= 0][which]


def _first_leaf(d: dict[str, Any]) -> int:
    return next(i for i, f in enumerate(d["trees"]["feature"]) if f < 0)


def _on_split(key: str, value: Callable[[dict[str, Any], int], Any], which: int = 1) -> Mutation:
    def mutate(d: dict[str, Any]) -> Any:
        node = _split(d, which)
        d["trees"][key][node] = value(d, node)
        return d

    return mutate


def _delete(key: str) -> Mutation:
    def mutate(d: dict[str, Any]) -> Any:
        del d[key]
        return d

    return mutate


def _leaf(value: float) -> Mutation:
    def mutate(d: dict[str, Any]) -> Any:
        d["trees"]["leaf_value"][_first_leaf(d)] = value
        return d

    return mutate


def _shorter(key: str) -> Mutation:
    def mutate(d: dict[str, Any]) -> Any:
        d["trees"][key] = d["trees"][key][:-1]
        return d

    return mutate


def _shared_child(d: dict[str, Any]) -> Any:
    """A node with two parents: a split's right child set to its left child's left child
    (inside the left subtree), so the arrays describe a graph, not a tree."""
    trees = d["trees"]
    feature = trees["feature"]
    node = next(i for i in range(len(feature) - 1) if feature[i] >= 0 and feature[i + 1] >= 0)
    trees["right"][node] = trees["left"][node + 1]
    return d


MALFORMED: list[Any] = [
    pytest.param(lambda d: [d], id="a-list"),
    pytest.param(lambda d: None, id="null"),
    pytest.param(lambda d: "monotone_boosted_trees_platt", id="a-string"),
    pytest.param(_set("kind", "linear_logistic"), id="unknown-kind"),
    pytest.param(_set("kind", ["monotone_boosted_trees_platt"]), id="kind-a-list"),
    pytest.param(_delete("kind"), id="no-kind"),
    pytest.param(_delete("trees"), id="no-trees"),
    pytest.param(_delete("calibration"), id="no-calibration"),
    pytest.param(_set("trees", []), id="trees-a-list"),
    pytest.param(_set("calibration", [1.0, 2.0]), id="calibration-a-list"),
    pytest.param(_set("calibration.a", "steep"), id="calibration-a-text"),
    pytest.param(_set("calibration.a", None), id="calibration-a-null"),
    pytest.param(_set("trees.feature_names", None), id="names-null"),
    pytest.param(_set("trees.feature_names[0]", "message_length"), id="unknown-feature"),
    pytest.param(_set("trees.feature_names[1]", "child_age"), id="feature-named-twice"),
    pytest.param(_set("trees.reference", ["none"] * len(MODEL_INPUTS)), id="reference-text"),
    pytest.param(_set("trees.reference", [0.0]), id="reference-too-short"),
    pytest.param(_shorter("threshold"), id="threshold-too-short"),
    pytest.param(_shorter("leaf_value"), id="leaf-values-too-short"),
    pytest.param(_set("trees.feature", "0"), id="feature-not-a-list"),
    pytest.param(_set("trees.default_left", None), id="default-left-null"),
    pytest.param(_set("trees.feature", [{"a": 1}]), id="feature-objects"),
]
NON_FINITE: list[Any] = [
    pytest.param(_set("calibration.a", NAN), id="calibration-a-nan"),
    pytest.param(_set("calibration.b", math.inf), id="calibration-b-inf"),
    pytest.param(_set("calibration.b", -math.inf), id="calibration-b-minus-inf"),
    pytest.param(_set("calibration.prevalence", 0.0), id="prevalence-0"),
    pytest.param(_set("calibration.prevalence", 1.0), id="prevalence-1"),
    pytest.param(_set("calibration.prevalence", NAN), id="prevalence-nan"),
    pytest.param(_set("calibration.a", 10**400), id="calibration-a-huge-integer"),
    pytest.param(_leaf(NAN), id="leaf-nan"),
    pytest.param(_leaf(math.inf), id="leaf-inf"),
    pytest.param(_leaf(-math.inf), id="leaf-minus-inf"),
    pytest.param(_leaf(10**400), id="leaf-huge-integer"),
    pytest.param(_on_split("threshold", lambda d, n: NAN), id="threshold-nan"),
    pytest.param(_on_split("threshold", lambda d, n: math.inf), id="threshold-inf"),
    pytest.param(_on_split("threshold", lambda d, n: -math.inf), id="threshold-minus-inf"),
    pytest.param(_set("trees.reference[5]", math.inf), id="reference-inf"),
]
BAD_NODES: list[Any] = [
    pytest.param(_on_split("left", lambda d, n: n), id="left-to-itself"),
    pytest.param(_on_split("right", lambda d, n: n - 1), id="right-to-an-earlier-node"),
    pytest.param(
        _on_split("right", lambda d, n: len(d["trees"]["feature"])), id="right-beyond-the-end"
    ),
    pytest.param(_on_split("left", lambda d, n: -1), id="left-negative"),
    pytest.param(
        _on_split("feature", lambda d, n: len(d["trees"]["feature_names"])),
        id="feature-beyond-the-inputs",
    ),
    pytest.param(_on_split("feature", lambda d, n: -5), id="feature-negative"),
    pytest.param(_on_split("missing", lambda d, n: 3), id="unknown-missing-rule"),
    pytest.param(_on_split("feature", lambda d, n: 2**40), id="feature-overflow"),
    pytest.param(_on_split("right", lambda d, n: d["trees"]["left"][n]), id="right-is-left"),
    pytest.param(_shared_child, id="shared-child"),
    pytest.param(_set("trees.roots[0]", -1), id="root-negative"),
    pytest.param(lambda d: _set("trees.roots[0]", len(d["trees"]["feature"]))(d), id="root-beyond"),
    pytest.param(_set("trees.roots", [[0]]), id="roots-nested"),
    pytest.param(_set("trees.roots", 0), id="roots-a-number"),
]


@pytest.mark.parametrize("mutate", MALFORMED + NON_FINITE + BAD_NODES)
def test_from_dict_refuses_bad_parameters_with_model_integrity_error(
    model: RiskModel, mutate: Mutation
) -> None:
    params = mutate(copy.deepcopy(model.to_dict()))
    with pytest.raises(ModelIntegrityError):
        RiskModel.from_dict(params)


def test_from_dict_names_an_unknown_kind(model: RiskModel) -> None:
    params = model.to_dict()
    params["kind"] = "linear_logistic"
    with pytest.raises(ModelIntegrityError, match="unknown model kind 'linear_logistic'"):
        RiskModel.from_dict(params)


def test_trees_deeper_than_allowed_are_refused() -> None:
    with pytest.raises(ModelIntegrityError, match="deeper than 64"):
        TreeEnsemble.from_dict(chain_tree(65))


def test_lightgbm_dump_with_a_categorical_split_is_refused() -> None:
    dump = {
        "tree_info": [
            {
                "tree_structure": {
                    "split_feature": 0,
                    "threshold": "1||2",
                    "decision_type": "==",
                    "default_left": True,
                    "missing_type": "None",
                    "left_child": {"leaf_value": 0.1},
                    "right_child": {"leaf_value": -0.1},
                }
            }
        ]
    }
    with pytest.raises(ModelIntegrityError, match="only numeric"):
        TreeEnsemble.from_lightgbm_dump(dump, ["max_channel"], np.array([0.0]))


# ---------------------------------------------------------------- reasons in words


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("adult_sent_request", 1.0, "yes"),
        ("child_night_share", 0.62, "62 %"),
        ("age_gap", 21.0, "21 years"),
        ("max_channel", 4.0, "encrypted"),
        ("adult_external_events", 8.0, "8 events"),
        ("span_hours", 36.5, "36.5 hours"),
        ("recent_rate_per_day", 12.0, "12 events a day"),
        ("adult_flagged_per_minor", 0.4, "0.4"),
        ("secure_move_speed", math.exp(-1.5 / 24), "after 1.5 hours"),
        ("secure_move_speed", math.exp(-7.0), "after 7 days"),
        ("secure_move_speed", 1.0, "within the first minute"),
        ("child_age", math.nan, "unknown"),
    ],
)
def test_every_unit_is_worded_for_a_moderator(feature: str, value: float, text: str) -> None:
    """A reason's value reads in the feature's unit (``docs/features.md``), by one rule
    that the views of a reason use (the CLI's top alerts, the review queue and its console)."""
    assert rs.model.scores.Reason.of(feature, value, 1.0).value_text == text
