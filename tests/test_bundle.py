"""The model bundle on disk (riskscore/model/bundle.py): round trip, verification, and
refusal of anything that is not a verified, plain-JSON bundle.

Whatever is wrong with a bundle, loading it raises :class:`ModelIntegrityError` and
nothing else: a changed byte, a file name that leaves the directory, a link, a
manifest that is not an object, non-finite numbers, huge or deeply nested JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _models import random_model
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.exceptions import ModelIntegrityError
from riskscore.model import RiskModel, default_model_dir, load_model, save_model, verify_bundle
from riskscore.model.bundle import FORMAT_VERSION, rewrite_model_card, sha256_of

BUNDLE_FILES = {"manifest.json", "params.json", "MODEL_CARD.md"}


@pytest.fixture(scope="module")
def trained() -> tuple[RiskModel, rs.FeatureTable]:
    data = rs.synthetic.generate(2000, prevalence=0.05, seed=5)
    features = rs.extract_features(data.messages)
    return rs.train(features, data.labels, seed=1), features


@pytest.fixture(scope="module")
def saved(
    tmp_path_factory: pytest.TempPathFactory, trained: tuple[RiskModel, rs.FeatureTable]
) -> Path:
    return save_model(trained[0], tmp_path_factory.mktemp("saved") / "bundle")


@pytest.fixture(scope="module")
def small_saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved bundle of a model of 45 stumps: the same parameter fields as a trained one
    (a test checks), in a thirtieth of the bytes, for the tests that edit every field."""
    return save_model(random_model(3, per_feature=1), tmp_path_factory.mktemp("small") / "b")


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


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_manifest(bundle: Path, manifest: Any) -> None:
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def write_params(bundle: Path, text: str) -> None:
    """Replace params.json and record its new hash, as a careless editor would."""
    (bundle / "params.json").write_text(text, encoding="utf-8")
    manifest = read_json(bundle / "manifest.json")
    manifest["files"]["params.json"] = sha256_of(bundle / "params.json")
    write_manifest(bundle, manifest)


def refused(bundle: Path, match: str | None = None) -> None:
    with pytest.raises(ModelIntegrityError, match=match):
        load_model(bundle)


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


# ---------------------------------------------------------------- the shipped model


def test_shipped_default_model_loads_and_verifies() -> None:
    directory = default_model_dir()
    manifest = verify_bundle(directory)
    model = load_model()
    assert list(model.feature_names) == manifest["feature_names"]
    assert set(model.feature_names) <= set(rs.FEATURE_NAMES)
    assert {p.name for p in directory.iterdir()} == BUNDLE_FILES
    for path in directory.iterdir():
        path.read_bytes().decode("utf-8")  # text: no pickle, no joblib
    card = (directory / "MODEL_CARD.md").read_text(encoding="utf-8")
    for heading in ("Intended use", "Training data", "Limitations", "Ethical"):
        assert heading in card
    np.testing.assert_array_equal(
        model.trees.reference,
        [rs.FEATURES[rs.features.feature_index(n)].reference for n in model.feature_names],
    )


def test_shipped_default_model_scores_synthetic_data() -> None:
    data = rs.synthetic.generate(500, prevalence=0.1, seed=2)
    scores = load_model().score(data.messages)
    assert np.all((scores.risk >= 0) & (scores.risk <= 1))
    truth = data.labels.is_grooming
    assert scores.risk[truth].mean() > scores.risk[~truth].mean()


def test_model_dir_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, bundle: Path, trained: tuple[RiskModel, rs.FeatureTable]
) -> None:
    monkeypatch.setenv("RISKSCORE_MODEL_DIR", str(bundle))
    assert default_model_dir() == bundle
    assert load_model().to_dict() == trained[0].to_dict()


# ---------------------------------------------------------------- signed manifests

SIGNING_KEY = "a-test-signing-key-0123456789-abcdefXYZ"


def test_a_signed_bundle_loads_only_with_its_key_and_unchanged(
    trained: tuple[RiskModel, rs.FeatureTable], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _ = trained
    monkeypatch.setenv("RISKSCORE_MODEL_KEY", SIGNING_KEY)
    signed = save_model(model, tmp_path / "signed")
    assert (signed / "manifest.sig").is_file()
    load_model(signed)
    rewrite_model_card(signed, "# re-signed card\n")  # a legitimate rewrite re-signs
    load_model(signed)
    # a tamperer who rewrites a file and its hash in the manifest is caught by the signature
    manifest = json.loads((signed / "manifest.json").read_text())
    (signed / "MODEL_CARD.md").write_text("# changed\n")
    manifest["files"]["MODEL_CARD.md"] = sha256_of(signed / "MODEL_CARD.md")
    (signed / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="does not match"):
        load_model(signed)
    monkeypatch.setenv("RISKSCORE_MODEL_KEY", "another-key-of-enough-length-0123456789")
    other = save_model(model, tmp_path / "other")
    monkeypatch.setenv("RISKSCORE_MODEL_KEY", SIGNING_KEY)
    with pytest.raises(ModelIntegrityError, match="another key"):
        load_model(other)


def test_with_a_key_set_an_unsigned_bundle_is_refused_and_weak_keys_too(
    trained: tuple[RiskModel, rs.FeatureTable], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _ = trained
    unsigned = save_model(model, tmp_path / "unsigned")
    assert not (unsigned / "manifest.sig").exists()
    monkeypatch.setenv("RISKSCORE_MODEL_KEY", SIGNING_KEY)
    with pytest.raises(ModelIntegrityError, match=r"no manifest\.sig") as refused:
        load_model(unsigned)
    # says how to sign it, with the public names
    assert "riskscore.load_model" in str(refused.value)
    assert "riskscore.save_model(model, DIR)" in str(refused.value)
    # the one rule of every HMAC key (riskscore.keys.check_key); the repeated patterns
    # passed the bundle's own length and distinct-bytes check before
    for weak, why in (
        ("short", "at least 32 bytes"),
        ("a" * 64, "only 1 distinct byte values"),
        ("abcdefgh" * 5, "8-byte pattern repeated 5 times"),
        ("0123456789abcdef" * 2, "16-byte pattern repeated 2 times"),
    ):
        monkeypatch.setenv("RISKSCORE_MODEL_KEY", weak)
        with pytest.raises(ModelIntegrityError, match=f"RISKSCORE_MODEL_KEY .*{why}"):
            load_model(unsigned)
        with pytest.raises(ModelIntegrityError, match=why):
            save_model(model, tmp_path / "weak")
    monkeypatch.delenv("RISKSCORE_MODEL_KEY")
    load_model(unsigned)  # without a key the signature is not required
