"""Hostile review hr68e: model bundles and alert policies as hostile files.

A bundle edited by hand (its sha256 recorded again, as a careless editor does) whose
reference conversation is not the features' "no signal" values, or whose leaf thresholds
are not finite; policy mappings built with YAML aliases (a "billion laughs" block in the
Synapse module's configuration). All data is synthetic.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest
from bundle_helpers import read_json, refused, write_params

import riskscore as rs
from riskscore.model import load_model, save_model


@pytest.fixture
def bundle(small_saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small_saved, tmp_path / "bundle"))


def _edit_trees(bundle: Path, key: str, index: int, value: object) -> None:
    params = read_json(bundle / "params.json")
    params["trees"][key][index] = value
    write_params(bundle, json.dumps(params))


@pytest.mark.parametrize("value", [1e6, -1.0, 0.25])
def test_a_reference_other_than_no_signal_is_refused(bundle: Path, value: float) -> None:
    """Was: loaded; reasons were then measured against another conversation (references
    raised to 1e6 gave the shipped model's alerts the ages as reasons, or none at all,
    for the same risks)."""
    names = read_json(bundle / "params.json")["trees"]["feature_names"]
    i = names.index("adult_message_share")
    _edit_trees(bundle, "reference", i, value)
    expected = (
        f"params.json: tree parameter 'reference'[{i}] (adult_message_share) is {value:g}, "
        "but the value of adult_message_share that means no signal is 0.5"
    )
    refused(bundle, re.escape(expected))


def test_an_age_reference_must_stay_unknown(bundle: Path) -> None:
    names = read_json(bundle / "params.json")["trees"]["feature_names"]
    _edit_trees(bundle, "reference", names.index("child_age"), 12.0)
    refused(bundle, r"\(child_age\) is 12, but .* no signal is nan")


def test_the_shipped_and_a_saved_bundle_load() -> None:
    model = load_model()
    model.check_reference()
    assert all(
        math.isnan(v) or v == rs.FEATURES[rs.FEATURE_NAMES.index(n)].reference
        for n, v in zip(model.feature_names, model.trees.reference, strict=True)
    )


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_leaf_threshold_that_is_not_finite_is_refused(
    bundle: Path, tmp_path: Path, value: str
) -> None:
    """Was: a leaf's threshold is never read, so NaN there loaded and scored, and then
    save_model (and train --from-queue, which saves what it loaded) failed with
    ValueError: Out of range float values are not JSON compliant."""
    params = read_json(bundle / "params.json")
    leaf = params["trees"]["feature"].index(-1)
    params["trees"]["threshold"][leaf] = float(value)
    write_params(bundle, json.dumps(params))
    refused(bundle, rf"tree parameter 'threshold'\[{leaf}\] must be a finite number")


def test_a_saved_bundle_saves_again(small_saved: Path, tmp_path: Path) -> None:
    again = save_model(load_model(small_saved), tmp_path / "again")
    assert load_model(again).parameters_sha256() == load_model(small_saved).parameters_sha256()
