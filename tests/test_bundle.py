"""The model bundle on disk (riskscore/model/bundle.py): round trip, verification, and
refusal of anything that is not a verified, plain-JSON bundle.

Whatever is wrong with a bundle, loading it raises :class:`ModelIntegrityError` and
nothing else: a changed byte, a file name that leaves the directory, a link, a
manifest that is not an object, non-finite numbers, huge or deeply nested JSON. Random
edits of a bundle are in ``test_bundle_fuzz.py``; the shipped model and signed
manifests in ``test_bundle_shipped.py``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bundle_helpers import (
    BUNDLE_FILES,
    read_json,
    refused,
    write_manifest,
    write_params,
)

import riskscore as rs
from riskscore.exceptions import ModelIntegrityError
from riskscore.model import RiskModel, default_model_dir, load_model, save_model, verify_bundle
from riskscore.model.bundle import FORMAT_VERSION, rewrite_model_card, sha256_of


def test_the_small_bundle_has_the_fields_of_a_trained_one(saved: Path, small_saved: Path) -> None:
    def fields(value: Any, at: str = "") -> set[str]:
        if not isinstance(value, dict):
            return set()
        return {f"{at}.{k}" for k in value} | {
            name for k, v in value.items() for name in fields(v, f"{at}.{k}")
        }

    small, trained = (read_json(b / "params.json") for b in (small_saved, saved))
    assert fields(small) == fields(trained)


@pytest.fixture
def bundle(tmp_path: Path, saved: Path) -> Path:
    """A fresh copy of a saved bundle that a test may break."""
    return Path(shutil.copytree(saved, tmp_path / "bundle"))


# ---------------------------------------------------------------- round trip


def test_round_trip_scores_identically(
    bundle: Path, trained: tuple[RiskModel, rs.FeatureTable]
) -> None:
    model, features = trained
    loaded = load_model(bundle)
    assert loaded.feature_names == model.feature_names
    assert loaded.to_dict() == model.to_dict()
    np.testing.assert_array_equal(loaded.predict_proba(features), model.predict_proba(features))
    np.testing.assert_array_equal(loaded.contributions(features), model.contributions(features))
    a, b = loaded.score_features(features), model.score_features(features)
    np.testing.assert_array_equal(a.reason_feature, b.reason_feature)
    assert loaded.metadata == model.metadata  # library versions stay in the manifest
    assert "numpy" in read_json(bundle / "manifest.json")["libraries"]


def test_manifest_lists_every_file_with_its_hash(
    bundle: Path, trained: tuple[RiskModel, rs.FeatureTable]
) -> None:
    manifest = read_json(bundle / "manifest.json")
    assert manifest["format_version"] == FORMAT_VERSION == 2
    assert manifest["schema_version"] == rs.SCHEMA_VERSION
    assert set(manifest["files"]) == {"params.json", "MODEL_CARD.md"}
    for name, digest in manifest["files"].items():
        assert digest == sha256_of(bundle / name)
        assert len(digest) == 64
    assert manifest["feature_names"] == list(trained[0].feature_names)
    assert {"numpy", "numba", "lightgbm", "scikit-learn", "riskscore", "python"} <= set(
        manifest["libraries"]
    )
    assert verify_bundle(bundle) == manifest


def test_no_file_in_a_saved_bundle_is_a_pickle(bundle: Path) -> None:
    assert {p.name for p in bundle.iterdir()} == BUNDLE_FILES
    for path in bundle.iterdir():
        raw = path.read_bytes()
        assert not raw.startswith(b"\x80"), path.name  # pickle protocols 2 and up
        text = raw.decode("utf-8")  # a pickle is not UTF-8 text
        if path.suffix == ".json":
            json.loads(text)


def test_the_same_model_saves_to_the_same_bytes(
    tmp_path: Path, trained: tuple[RiskModel, rs.FeatureTable]
) -> None:
    first = save_model(trained[0], tmp_path / "a", record_versions=False)
    second = save_model(trained[0], tmp_path / "b", record_versions=False)
    for name in BUNDLE_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_loaded_bundle_saves_back_to_the_same_bytes(
    tmp_path: Path, trained: tuple[RiskModel, rs.FeatureTable]
) -> None:
    # Load then save is the identity: loading adds nothing to the model that saving would
    # write back (e.g. the manifest's library versions into the model's metadata).
    first = save_model(trained[0], tmp_path / "a", record_versions=False)
    second = save_model(load_model(first), tmp_path / "b", record_versions=False)
    for name in sorted(BUNDLE_FILES):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_saving_over_a_bundle_replaces_it(
    bundle: Path, trained: tuple[RiskModel, rs.FeatureTable]
) -> None:
    save_model(trained[0].at_prevalence(0.001), bundle)
    assert load_model(bundle).calibration.prevalence == 0.001


def test_rewrite_model_card_keeps_the_bundle_valid(bundle: Path) -> None:
    rewrite_model_card(bundle, "# A new card\n")
    assert (bundle / "MODEL_CARD.md").read_text(encoding="utf-8") == "# A new card\n"
    load_model(bundle)


def test_rewrite_model_card_refuses_a_broken_bundle(bundle: Path) -> None:
    (bundle / "params.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        rewrite_model_card(bundle, "# A new card\n")


def test_model_dir_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, bundle: Path, trained: tuple[RiskModel, rs.FeatureTable]
) -> None:
    monkeypatch.setenv("RISKSCORE_MODEL_DIR", str(bundle))
    assert default_model_dir() == bundle
    assert load_model().to_dict() == trained[0].to_dict()


# ---------------------------------------------------------------- changed and missing files


@pytest.mark.parametrize("name", ["params.json", "MODEL_CARD.md"])
@pytest.mark.parametrize("where", [0, 0.5, -1])
def test_a_file_changed_by_one_byte_is_refused(bundle: Path, name: str, where: float) -> None:
    path = bundle / name
    data = bytearray(path.read_bytes())
    data[int(where * (len(data) - 1)) if where >= 0 else -1] ^= 0x01
    path.write_bytes(bytes(data))
    refused(bundle, "sha256")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        verify_bundle(bundle)


def test_every_load_verifies_again(bundle: Path) -> None:
    # A bundle that loaded once is not trusted afterwards: the next load refuses a swapped
    # parameter file.
    load_model(bundle)
    (bundle / "params.json").write_text("{}", encoding="utf-8")
    refused(bundle, "sha256")


def test_missing_manifest_and_missing_file(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match=r"manifest\.json"):
        load_model(tmp_path / "empty-dir-that-does-not-exist")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelIntegrityError, match=r"no manifest\.json"):
        load_model(tmp_path / "empty")
    (bundle / "params.json").unlink()
    refused(bundle, "missing")


def test_a_bundle_path_that_is_no_directory_says_so(bundle: Path, tmp_path: Path) -> None:
    """Was: ``no manifest.json in models/mine/manifest.json`` for the manifest given as
    the bundle, and ``no manifest.json in modles/mine`` for a typo: neither said that the
    path itself was wrong."""
    with pytest.raises(ModelIntegrityError, match=r"modles does not exist: a model bundle is"):
        load_model(tmp_path / "modles")
    with pytest.raises(ModelIntegrityError, match=r"manifest\.json is not a directory: a model"):
        load_model(bundle / "manifest.json")


def test_a_listed_card_that_is_missing_is_refused(bundle: Path) -> None:
    (bundle / "MODEL_CARD.md").unlink()
    refused(bundle, "missing")


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("format_version", 1, "format_version 1 is not supported"),
        ("format_version", 99, "format_version 99"),
        ("format_version", None, "format_version"),
        ("schema_version", 99, "schema v99"),
        ("files", [], r"lists no params\.json"),
        ("files", {"MODEL_CARD.md": "0" * 64}, r"lists no params\.json"),
        ("metadata", [1, 2], "'metadata' must be a JSON object"),
        ("feature_names", ["child_age"], "feature names differ"),
    ],
)
def test_a_bad_manifest_field_is_refused(bundle: Path, field: str, value: Any, match: str) -> None:
    manifest = read_json(bundle / "manifest.json")
    manifest[field] = value
    write_manifest(bundle, manifest)
    refused(bundle, match)


# ---------------------------------------------------------------- names, links, shapes


@pytest.mark.parametrize(
    "name",
    [
        "sub/params.json",
        "../params.json",
        "..",
        ".",
        "",
        "/etc/passwd",
        "/tmp/params.json",
        "a\\b.json",
        "params.json/",
        "./params.json",
    ],
)
def test_manifest_file_names_must_be_plain_names_in_the_bundle(bundle: Path, name: str) -> None:
    manifest = read_json(bundle / "manifest.json")
    manifest["files"][name] = "0" * 64
    write_manifest(bundle, manifest)
    refused(bundle, "not a plain file name")


@pytest.mark.parametrize(
    "entry", [{"params.json": 1}, {"params.json": None}, {"params.json": ["a"]}]
)
def test_manifest_hashes_must_be_text(bundle: Path, entry: dict[str, Any]) -> None:
    manifest = read_json(bundle / "manifest.json")
    manifest["files"].update(entry)
    write_manifest(bundle, manifest)
    refused(bundle)


@pytest.mark.parametrize("name", ["params.json", "MODEL_CARD.md"])
def test_a_symlinked_bundle_file_is_refused(bundle: Path, tmp_path: Path, name: str) -> None:
    # The link points to the very same bytes, so the hash would match: the link itself is
    # what is refused, by verification as well as by loading.
    target = tmp_path / f"elsewhere-{name}"
    shutil.copyfile(bundle / name, target)
    (bundle / name).unlink()
    os.symlink(target, bundle / name)
    with pytest.raises(ModelIntegrityError, match="link"):
        verify_bundle(bundle)
    refused(bundle, "link")


def test_a_symlinked_manifest_is_refused(bundle: Path, tmp_path: Path) -> None:
    target = tmp_path / "manifest-elsewhere.json"
    shutil.copyfile(bundle / "manifest.json", target)
    (bundle / "manifest.json").unlink()
    os.symlink(target, bundle / "manifest.json")
    refused(bundle, "not a regular file")


def test_a_directory_in_place_of_params_is_refused(bundle: Path) -> None:
    (bundle / "params.json").unlink()
    (bundle / "params.json").mkdir()
    refused(bundle, "missing or a link")


@pytest.mark.parametrize(
    "manifest", [[], [{"format_version": 2}], "manifest", 2, None, True], ids=repr
)
def test_a_manifest_that_is_not_an_object_is_refused(bundle: Path, manifest: Any) -> None:
    write_manifest(bundle, manifest)
    refused(bundle, "must be a JSON object")


@pytest.mark.parametrize(
    "text",
    ["", "{", "not json", '{"format_version": 2,}', "\ufeff{}", "{} {}"],
    ids=["empty", "truncated", "text", "trailing-comma", "bom", "two-values"],
)
def test_a_manifest_that_is_not_json_is_refused(bundle: Path, text: str) -> None:
    (bundle / "manifest.json").write_text(text, encoding="utf-8")
    refused(bundle, "not valid JSON")


def test_a_manifest_that_is_not_utf8_is_refused(bundle: Path) -> None:
    (bundle / "manifest.json").write_bytes(b'{"format_version": 2, "x": "\xff"}')
    refused(bundle, "not valid JSON")


# ---------------------------------------------------------------- parameters


def test_params_for_unknown_features_are_refused(bundle: Path) -> None:
    params = read_json(bundle / "params.json")
    params["trees"]["feature_names"][0] = "message_length"
    write_params(bundle, json.dumps(params))
    refused(bundle, "does not compute")


def test_params_of_an_old_kind_are_refused(bundle: Path) -> None:
    write_params(bundle, json.dumps({"coef": [0.1], "intercept": 0.0}))
    refused(bundle, "unknown model kind")


@pytest.mark.parametrize("params", [[], "params", 1.5, None], ids=repr)
def test_params_that_are_not_an_object_are_refused(bundle: Path, params: Any) -> None:
    write_params(bundle, json.dumps(params))
    refused(bundle)


def _leaf_index(params: dict[str, Any]) -> int:
    return next(i for i, f in enumerate(params["trees"]["feature"]) if f < 0)


@pytest.mark.parametrize(
    ("where", "literal"),
    [
        ("leaf", "NaN"),
        ("leaf", "Infinity"),
        ("leaf", "-Infinity"),
        ("leaf", "1e400"),
        ("calibration.a", "NaN"),
        ("calibration.b", "Infinity"),
        ("calibration.b", "-1e999"),
        ("calibration.prevalence", "NaN"),
        ("threshold", "NaN"),
    ],
)
def test_non_finite_parameters_are_refused(bundle: Path, where: str, literal: str) -> None:
    # Python's json reads NaN and Infinity (an extension of JSON) and 1e400 as inf.
    params = read_json(bundle / "params.json")
    marker = 123456.789
    if where == "leaf":
        params["trees"]["leaf_value"][_leaf_index(params)] = marker
    elif where == "threshold":
        split = next(i for i, f in enumerate(params["trees"]["feature"]) if f >= 0)
        params["trees"]["threshold"][split] = marker
    else:
        params["calibration"][where.split(".")[1]] = marker
    text = json.dumps(params)
    assert text.count(repr(marker)) == 1
    write_params(bundle, text.replace(repr(marker), literal))
    refused(bundle)


@pytest.mark.parametrize("a", [1.1361, 0.0, -0.0])
def test_a_calibration_slope_that_is_not_negative_is_refused(bundle: Path, a: float) -> None:
    """A slope >= 0 would make a higher margin a lower (or the same) risk."""
    params = read_json(bundle / "params.json")
    params["calibration"]["a"] = a
    write_params(bundle, json.dumps(params))
    refused(bundle, match=f"calibration slope a must be negative .*got {a}")


def test_a_negative_calibration_offset_loads(bundle: Path) -> None:
    """``b`` is the offset, not the slope: negative after a shift to a high prevalence."""
    params = read_json(bundle / "params.json")
    params["calibration"]["b"] = -1.0
    write_params(bundle, json.dumps(params))
    assert load_model(bundle).calibration.b == -1.0


@pytest.mark.parametrize("where", ["manifest", "params"])
def test_a_number_too_long_to_read_is_refused(bundle: Path, where: str) -> None:
    # Python refuses to convert integers of more than 4300 digits (a ValueError that is
    # not a JSON decoding error).
    huge = "9" * 5000
    if where == "manifest":
        text = (bundle / "manifest.json").read_text(encoding="utf-8")
        (bundle / "manifest.json").write_text(
            text.replace('"format_version": 2', f'"format_version": {huge}'), encoding="utf-8"
        )
    else:
        params = read_json(bundle / "params.json")
        params["calibration"]["b"] = 123456.789
        write_params(bundle, json.dumps(params).replace("123456.789", huge))
    refused(bundle)


def test_an_integer_too_large_for_a_float_is_refused(bundle: Path) -> None:
    params = read_json(bundle / "params.json")
    params["calibration"]["a"] = 10**400  # 401 digits: read as an int, too large for a float
    write_params(bundle, json.dumps(params))
    refused(bundle)


@pytest.mark.parametrize("where", ["manifest", "metadata", "params"])
def test_deeply_nested_json_is_refused(bundle: Path, where: str) -> None:
    nested = "[" * 200_000 + "]" * 200_000
    if where == "manifest":
        (bundle / "manifest.json").write_text(nested, encoding="utf-8")
    elif where == "metadata":
        text = (bundle / "manifest.json").read_text(encoding="utf-8")
        (bundle / "manifest.json").write_text(
            text.replace('"metadata": {', f'"metadata": {{"deep": {nested}, ', 1),
            encoding="utf-8",
        )
    else:
        write_params(bundle, nested)
    refused(bundle)


@pytest.mark.parametrize("name", ["manifest.json", "params.json"])
def test_huge_json_files_are_refused_before_they_are_parsed(bundle: Path, name: str) -> None:
    path = bundle / name
    # a sparse file of 65 MiB: larger than any bundle file should be
    with path.open("r+b") as fh:
        fh.truncate(65 << 20)
    if name == "params.json":
        manifest = read_json(bundle / "manifest.json")
        manifest["files"]["params.json"] = sha256_of(path)
        write_manifest(bundle, manifest)
    refused(bundle, "larger than")


@pytest.mark.parametrize("where", [(), ("trees",), ("calibration",)])
def test_keys_riskscore_does_not_read_are_refused(bundle: Path, where: tuple[str, ...]) -> None:
    # read in part, a bundle of another version (or edited by hand) scored with some of its
    # parameters silently dropped
    params = read_json(bundle / "params.json")
    part = params
    for key in where:
        part = part[key]
    part["monotone_override"] = [1, 2]
    write_params(bundle, json.dumps(params))
    refused(bundle, match="unknown key\\(s\\) 'monotone_override'")
