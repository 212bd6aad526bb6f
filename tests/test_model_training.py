"""Training the risk model (deterministic, calibrated for a prevalence, labels checked
against the messages) and its portable parameters (a JSON round trip; malformed,
non-finite or too deep parameters refused with ``ModelIntegrityError``).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model_helpers import (
    NAN,
    chain_tree,
    trained_model,
    training_data,
)

import riskscore as rs
from riskscore.exceptions import ModelIntegrityError
from riskscore.features import FeatureTable, feature_index
from riskscore.model import (
    MODEL_INPUTS,
    RiskModel,
    TreeEnsemble,
    align_labels,
    fit_risk_model,
    save_model,
)
from riskscore.synthetic import Labels


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return training_data()


@pytest.fixture(scope="module")
def features(data: rs.synthetic.SyntheticData) -> FeatureTable:
    return rs.extract_features(data.messages)


@pytest.fixture(scope="module")
def model(data: rs.synthetic.SyntheticData) -> RiskModel:
    return trained_model(data)


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
    assert not {"n_events", "recent_rate_per_day"} & set(model.feature_names)
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
