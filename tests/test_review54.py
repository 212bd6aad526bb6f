"""Hostile review of the day's changes (review54): each test failed before its fix."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import riskscore as rs
from riskscore.model.training import fit_risk_model

# ---------------------------------------------- a feature table is read by name everywhere


@pytest.fixture(scope="module")
def labelled() -> tuple[rs.FeatureTable, np.ndarray]:
    data = rs.synthetic.generate(n_conversations=600, prevalence=0.1, seed=1)
    table = rs.extract_features(data.messages)
    grooming = data.labels.conversation_id[data.labels.is_grooming]
    return table, np.isin(table.conversation_id, grooming)


def _reversed(table: rs.FeatureTable) -> rs.FeatureTable:
    return dataclasses.replace(
        table, names=tuple(reversed(table.names)), values=table.values[:, ::-1].copy()
    )


def test_training_on_a_reordered_feature_table_reads_it_by_name(
    labelled: tuple[rs.FeatureTable, np.ndarray],
) -> None:
    """Was: ``fit_risk_model`` (and ``riskscore.train`` given a FeatureTable, and the
    candidate models) took the inputs from the columns of FEATURE_NAMES order whatever the
    table's names said: a table reordered through pandas trained a model on the wrong
    features, silently (risks up to 0.99 apart from the same data in order)."""
    table, y = labelled
    in_order = fit_risk_model(table, y, seed=0)
    reordered = fit_risk_model(_reversed(table), y, seed=0)
    assert np.array_equal(in_order.predict_proba(table), reordered.predict_proba(table))


def test_training_on_a_table_without_an_input_is_refused(
    labelled: tuple[rs.FeatureTable, np.ndarray],
) -> None:
    """Was: trained on whatever column sat at the missing input's position."""
    table, y = labelled
    missing = rs.load_model().feature_names[0]
    keep = [i for i, name in enumerate(table.names) if name != missing]
    lacking = dataclasses.replace(
        table, names=tuple(table.names[i] for i in keep), values=table.values[:, keep].copy()
    )
    with pytest.raises(rs.SchemaError, match=f"lacks features the model reads: .*{missing}"):
        fit_risk_model(lacking, y, seed=0)


@pytest.mark.parametrize("reverse", [False, True])
def test_a_feature_the_model_reads_held_twice_is_refused(
    labelled: tuple[rs.FeatureTable, np.ndarray], reverse: bool
) -> None:
    """Was: scored on one of the two columns, silently (the first in a table of
    FEATURE_NAMES order with one appended, whichever ``names.index`` found otherwise)."""
    table = _reversed(labelled[0]) if reverse else labelled[0]
    model = rs.load_model()
    name = model.feature_names[0]
    twice = dataclasses.replace(
        table,
        names=(*table.names, name),
        values=np.column_stack([table.values, np.zeros(len(table))]),
    )
    with pytest.raises(rs.SchemaError, match=f"in two columns each: .*{name}"):
        model.score_features(twice)
