"""Random and edge-value edits of a saved bundle's parameters and manifest (hypothesis):
loading gives a model or raises :class:`ModelIntegrityError`, nothing else.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bundle_helpers import (
    read_json,
    write_manifest,
    write_params,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from riskscore.exceptions import ModelIntegrityError
from riskscore.model import RiskModel, load_model

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
#: Values that have broken loaders before: numbers beyond float64, non-finite floats,
#: integers beyond int32, nested lists where numbers belong.
EDGE_VALUES = st.sampled_from(
    [10**400, -(10**400), float("inf"), float("-inf"), float("nan"), 2**40, -1, 1e308, [[0]], [], 0]
)
VALUES = st.one_of(EDGE_VALUES, JSON_VALUES)
TOP_KEYS = ("kind", "trees", "calibration")
TREE_KEYS = (
    "feature_names",
    "reference",
    "roots",
    "feature",
    "threshold",
    "left",
    "right",
    "default_left",
    "missing",
    "leaf_value",
)


def _replace_somewhere(params: dict[str, Any], data: st.DataObject) -> None:
    """Replace one value of the parameters (a top-level entry, a tree array, one of its
    elements or a calibration number) with any JSON value."""
    value = data.draw(VALUES)
    level = data.draw(st.sampled_from(["top", "trees", "calibration", "element"]))
    trees, calibration = params.get("trees"), params.get("calibration")
    if level == "trees" and isinstance(trees, dict):
        trees[data.draw(st.sampled_from(TREE_KEYS))] = value
    elif level == "calibration" and isinstance(calibration, dict):
        calibration[data.draw(st.sampled_from(["a", "b", "prevalence"]))] = value
    elif level == "element" and isinstance(trees, dict):
        items = trees.get(data.draw(st.sampled_from(TREE_KEYS)))
        if isinstance(items, list) and items:
            items[data.draw(st.integers(0, len(items) - 1))] = value
    else:
        params[data.draw(st.sampled_from(TOP_KEYS))] = value


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failing case is shown as found
    derandomize=True,  # the same cases on every run
)
@given(data=st.data())
def test_any_edit_of_the_parameters_loads_or_raises_model_integrity_error(
    small_saved: Path, data: st.DataObject
) -> None:
    saved = small_saved
    params = read_json(saved / "params.json")
    for _ in range(data.draw(st.integers(1, 3))):
        _replace_somewhere(params, data)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(shutil.copytree(saved, Path(tmp) / "bundle"))
        write_params(bundle, json.dumps(params))
        try:
            model = load_model(bundle)
        except ModelIntegrityError:
            return
        # Loaded: then it scores the reference conversation without error.
        risk = model.predict_proba(model.trees.reference[None, :])
        assert risk.shape == (1,)


#: Where a value can be replaced: (level, key); "element" is item 0 of a tree array.
LOCATIONS = (
    [("top", k) for k in TOP_KEYS]
    + [("calibration", k) for k in ("a", "b", "prevalence")]
    + [("trees", k) for k in TREE_KEYS]
    + [("element", k) for k in TREE_KEYS]
)
EDGES = (10**400, -(10**400), float("inf"), float("-inf"), float("nan"), 2**40, -1, 1e308)
EDGES += ([[0]], [], 0, None, "x", {}, True)


def test_every_edge_value_anywhere_in_the_parameters_loads_or_raises_model_integrity_error(
    small_saved: Path,
) -> None:
    base = read_json(small_saved / "params.json")
    escaped = []
    for level, key in LOCATIONS:
        for value in EDGES:
            # a new dict on the way to the replaced value, the rest shared with base (the
            # text below is what is read: the same as a deep copy edited in place)
            params = dict(base)
            if level == "top":
                params[key] = value
            elif level == "element":
                params["trees"] = {**base["trees"], key: [value, *base["trees"][key][1:]]}
            else:
                params[level] = {**base[level], key: value}
            text = json.dumps(params)  # as load_model would read it
            try:
                RiskModel.from_dict(json.loads(text))
            except ModelIntegrityError:
                continue
            except Exception as exc:  # the point: nothing else may escape
                escaped.append(f"{level}.{key} = {str(value)[:12]}: {type(exc).__name__}")
    assert not escaped, "escaped:\n" + "\n".join(escaped)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    manifest=st.dictionaries(
        st.sampled_from(
            ["format_version", "schema_version", "files", "metadata", "feature_names", "x"]
        ),
        VALUES,
    )
)
def test_any_manifest_loads_or_raises_model_integrity_error(
    saved: Path, manifest: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(shutil.copytree(saved, Path(tmp) / "bundle"))
        base = read_json(bundle / "manifest.json")
        write_manifest(bundle, {**base, **manifest})
        with contextlib.suppress(ModelIntegrityError):
            load_model(bundle)
