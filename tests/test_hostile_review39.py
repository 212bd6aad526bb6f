"""Hostile review 39: files riskscore loads other than event tables (model bundles,
synthetic worlds).

Each test failed on the code before its fix."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs
from riskscore.exceptions import ModelIntegrityError
from riskscore.synthetic import World

# ------------------------------------------------------------------ helpers


def _bundle(tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """The default model saved to ``tmp_path / "bundle"``, its parameters changed by
    ``edit`` and the manifest's sha256 of ``params.json`` written again (a careless
    party's bundle: it verifies, its contents are wrong)."""
    bundle = rs.save_model(rs.load_model(), tmp_path / "bundle", record_versions=False)
    if edit is not None:
        params = json.loads((bundle / "params.json").read_text(encoding="utf-8"))
        edit(params)
        _rewrite(bundle, json.dumps(params))
    return bundle


def _rewrite(bundle: Path, text: str) -> None:
    """``text`` as the bundle's ``params.json``, its hash in the manifest updated."""
    (bundle / "params.json").write_text(text, encoding="utf-8")
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["params.json"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _set(key: str, index: int, value: object) -> Callable[[dict[str, Any]], None]:
    def edit(params: dict[str, Any]) -> None:
        params["trees"][key][index] = value

    return edit


# ---------------------------------------------- 1. a bundle's errors name file and value


def test_a_malformed_params_file_is_named_in_the_error(tmp_path: Path) -> None:
    """Was: ``load_model`` let the errors of the parameters' checks through as they were:
    "tree parameter 'feature'[3] must be an integer, got 'x'" named neither the bundle
    nor ``params.json`` (``riskscore score --model A --shadow-model B`` could not say
    which bundle was at fault)."""
    bundle = _bundle(tmp_path, _set("feature", 3, "x"))
    with pytest.raises(ModelIntegrityError) as info:
        rs.load_model(bundle)
    assert str(info.value).startswith(f"{bundle / 'params.json'}: ")
    assert "'feature'[3]" in str(info.value)


@pytest.mark.parametrize(
    ("key", "index", "value", "expected"),
    [
        ("threshold", 0, float("inf"), r"'threshold'\[0\] must be a finite number, got inf"),
        ("leaf_value", 2, float("nan"), r"'leaf_value'\[2\] must be a finite number, got nan"),
    ],
)
def test_a_non_finite_tree_value_is_named_with_its_position(
    tmp_path: Path, key: str, index: int, value: float, expected: str
) -> None:
    """Was: "tree values or thresholds are not finite numbers": which array, which node
    and what value were not said (a model of 4,350 nodes)."""
    bundle = _bundle(tmp_path)
    params = json.loads((bundle / "params.json").read_text(encoding="utf-8"))
    params["trees"][key][index] = value
    _rewrite(bundle, json.dumps(params))  # NaN and Infinity literals, as json writes them
    with pytest.raises(ModelIntegrityError, match=expected):
        rs.load_model(bundle)


def test_a_feature_name_given_twice_is_named(tmp_path: Path) -> None:
    """Was: "the trees' feature names hold a name twice", without the name."""

    def twice(params: dict[str, Any]) -> None:
        names = params["trees"]["feature_names"]
        names[4] = names[1]

    bundle = _bundle(tmp_path, twice)
    with pytest.raises(ModelIntegrityError, match=r"'adult_age' .*feature_names\[1\] and \[4\]"):
        rs.load_model(bundle)


# ----------------------------------------------- 2. a key given twice in a bundle's JSON


@pytest.mark.parametrize("name", ["params.json", "manifest.json"])
def test_a_bundle_json_with_a_key_given_twice_is_refused(tmp_path: Path, name: str) -> None:
    """Was: Python's parser keeps the last of two equal keys without a word: a
    ``params.json`` holding two ``calibration`` objects (or a manifest two
    ``feature_names``) verified and loaded one of them, where another reader of the same
    signed bytes (a registry's checker, jq, which keeps the last, or a parser keeping
    the first) sees another model."""
    bundle = _bundle(tmp_path)
    if name == "params.json":
        text = (bundle / name).read_text(encoding="utf-8").rstrip()
        twice = text[:-1] + ', "calibration": {"a": -1.0, "b": 0.0, "prevalence": 0.5}}'
        _rewrite(bundle, twice)
        key = "calibration"
    else:
        text = (bundle / name).read_text(encoding="utf-8").rstrip()
        (bundle / name).write_text(text[:-1] + ', "format_version": 2}', encoding="utf-8")
        key = "format_version"
    with pytest.raises(ModelIntegrityError, match=rf"{name}.*'{key}' appears twice"):
        rs.load_model(bundle)


# ------------------------------------------------------ 3. world weights that overflow

_AGES = 16


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("benign_mix", {"family": 1e308, "teen_peers": 1e308}),
        ("grooming_mix", {"grooming_fast": 1e308, "grooming_slow": 1e308}),
        ("tz_mix", {"0": 1e308, "60": 1e308}),
        ("target_age_weights", [1e308] * _AGES),
        ("secure_channel_mix", {"direct": 1e308, "ephemeral": 1e308}),
    ],
)
def test_world_weights_whose_sum_overflows_are_refused_by_name(field: str, value: Any) -> None:
    """Was: each weight finite and >= 0 passed, their sum (inf) divided them all to 0 (or
    was handed to numpy as it was): ``generate`` then ended in numpy's "Probabilities do
    not sum to 1" or "repeats may not contain negative values", naming no field, after
    RuntimeWarnings of overflow."""
    with pytest.raises(ValueError, match=rf"^{field}: .*finite sum"):
        World.default().replace(**{field: value})


def test_a_scenario_channel_weights_sum_that_overflows_is_refused() -> None:
    """Was: the same for a scenario's ``phase1_channel`` weights."""
    weights = [1e308] * len(World.default().scenario("family").phase1_channel)
    with pytest.raises(ValueError, match=r"family.*phase1_channel: .*finite sum"):
        World.default().replace(scenarios={"family": {"phase1_channel": weights}})


# --------------------------------------------------- 4. long world values cut in errors


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("child_age_weights", [1.0] * 100_000),
        ("benign_mix", {f"k{i}": 1 for i in range(100_000)}),
        ("tz_mix", {str(i): "x" * 100_000 for i in range(2)}),
    ],
)
def test_a_long_world_value_is_cut_in_the_error(field: str, value: Any) -> None:
    """Was: quoted whole: a list of 100,000 weights gave an error of 500 kB, 100,000
    unknown keys one of 989 kB."""
    with pytest.raises(ValueError, match=rf"^{field}") as info:
        World.default().replace(**{field: value})
    assert len(str(info.value)) < 400


# ------------------------------------------- 5. a key given twice in a checkpoint's JSON

T0 = 1_767_225_600  # 2026-01-01


def test_a_checkpoint_meta_entry_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    """Was: the checkpoint reader had its own JSON decoder, which keeps the last of two
    equal keys: counters ``{"n_events": 5, ..., "n_events": 1}`` in a checkpoint without
    checksums (one written before they existed is read without them) restored a scorer
    that had seen 1 event, without a word. Files riskscore may not have written are read
    by one rule (``riskscore.io.json_lines.json_loads``), which refuses it."""
    model = rs.load_model()
    scorer = rs.OnlineScorer(model, time_source="events")
    for i in range(5):
        event = {"conversation_id": 1, "sender_id": "a", "recipient_id": "b"}
        scorer.update_one({**event, "timestamp": T0 + i, "channel": "direct"})
    path = tmp_path / "state.sqlite"
    scorer.checkpoint(path)
    scorer.release_checkpoints()
    con = sqlite3.connect(path)
    with con:
        text = con.execute("SELECT value FROM meta WHERE key = 'counters'").fetchone()[0]
        twice = text[:-1] + ',"n_events":1}'
        con.execute("UPDATE meta SET value = ? WHERE key = 'counters'", (twice,))
        con.execute("DELETE FROM meta WHERE key = 'checksums'")
    con.close()
    with pytest.raises(rs.CheckpointError, match=r"meta 'counters' .*'n_events' appears twice"):
        rs.OnlineScorer.restore(path, model)


# ------------------------------------------------ 6. leaf values whose sum overflows


def test_leaf_values_that_can_sum_past_any_fitted_margin_are_refused(tmp_path: Path) -> None:
    """Was: each leaf value was checked to be finite, not their sum: a bundle whose leaves
    were 1e308 loaded, every margin overflowed to infinity, every conversation scored 1.0
    and every reason's contribution was NaN (infinity minus infinity), alerted as such.
    Fitted leaves are a few units (the default model's margins stay within 39)."""

    def huge(params: dict[str, Any]) -> None:
        trees = params["trees"]
        trees["leaf_value"] = [1e308 if f < 0 else 0.0 for f in trees["feature"]]

    bundle = _bundle(tmp_path, huge)
    with pytest.raises(ModelIntegrityError, match=r"params.json: .*leaf_value'\[\d+\] = 1e\+308"):
        rs.load_model(bundle)
