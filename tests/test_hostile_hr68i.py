"""Hostile review hr68i: model bundle manifests, calibration and drift references as
hostile files.

A calibration slope so near 0 that every conversation gets the same risk; versions
written as 2.0 or true; a manifest's drift reference edited or malformed. All data is
synthetic.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bundle_helpers import read_json, refused, write_manifest, write_params

import riskscore as rs
from riskscore.cli import main
from riskscore.exceptions import ModelIntegrityError
from riskscore.model import Platt, load_model, save_model
from riskscore.model.bundle import rewrite_model_card


@pytest.fixture
def bundle(small_saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small_saved, tmp_path / "bundle"))


def _set_slope(bundle: Path, a: float) -> None:
    params = read_json(bundle / "params.json")
    params["calibration"]["a"] = a
    write_params(bundle, json.dumps(params))


@pytest.mark.parametrize("a", [-1e-300, -5e-324, -1e-12, -9e-7])
def test_a_calibration_slope_near_zero_is_refused(bundle: Path, a: float) -> None:
    """Was: loaded, and every conversation then got the same risk, 1 / (1 + exp(b)), with
    no reasons (they are scaled by the slope): a slope of -1e-300 on the shipped model
    gave 300 conversations one risk, 0.2499."""
    _set_slope(bundle, a)
    refused(bundle, rf"calibration slope a must be negative .* -1e-06 or below .*got {a}")


def test_a_small_but_working_slope_still_loads(bundle: Path) -> None:
    _set_slope(bundle, -1e-6)
    model = load_model(bundle)
    risk = model.calibration.risk(np.array([-10.0, 0.0, 10.0]))
    assert risk[0] < risk[1] < risk[2]


def _set_manifest(bundle: Path, key: str, value: Any) -> None:
    manifest = read_json(bundle / "manifest.json")
    manifest[key] = value
    write_manifest(bundle, manifest)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("format_version", 2.0, "format_version 2.0 is not supported"),
        ("schema_version", 1.0, "schema v1.0, this riskscore reads v1"),
        ("schema_version", True, "schema vTrue, this riskscore reads v1"),
    ],
)
def test_a_version_that_is_not_a_whole_number_is_refused(
    bundle: Path, key: str, value: object, match: str
) -> None:
    """Was: loaded (2.0 == 2 and True == 1 in Python), while a policy's
    ``format_version = 2.0`` is refused: versions riskscore writes are whole numbers."""
    _set_manifest(bundle, key, value)
    refused(bundle, re.escape(match))


def test_the_shipped_bundle_loads() -> None:
    assert load_model(rs.model.default_model_dir()).calibration.a < -1e-6


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(rs.model.default_model_dir(), tmp_path / "shipped"))


def _edit_reference(bundle: Path, edit: Any) -> None:
    manifest = read_json(bundle / "manifest.json")
    edit(manifest["metadata"]["reference_distributions"])
    write_manifest(bundle, manifest)


def _scale_shares(ref: dict[str, Any]) -> None:
    ref["inputs"]["adult_age"]["shares"] = [2 * s for s in ref["inputs"]["adult_age"]["shares"]]


def _reverse_edges(ref: dict[str, Any]) -> None:
    ref["risk"]["edges"] = ref["risk"]["edges"][::-1]


def _string_share(ref: dict[str, Any]) -> None:
    shares = ref["inputs"]["child_age"]["shares"]
    shares[0] = str(shares[0])  # numpy read "0.0795" as 0.0795 without a word


def _true_edge(ref: dict[str, Any]) -> None:
    ref["inputs"]["child_age"]["edges"][0] = True  # and true as 1.0


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_scale_shares, "the shares of 'adult_age' must be numbers >= 0 adding up to 1"),
        (_reverse_edges, "the edges of 'risk' must be finite numbers in increasing order"),
        (lambda r: r["inputs"].pop("child_age"), "no reference distribution for the input(s)"),
        (lambda r: r.update(n=-1), "the reference's 'n' must be a whole number >= 0"),
        (lambda r: r["inputs"].update(age_gap=[1, 2]), "distribution of 'age_gap' must be an"),
        (_string_share, "the shares of 'child_age' must be a list of finite numbers, got ['0."),
        (_true_edge, "the edges of 'child_age' must be a list of finite numbers, got [True, "),
    ],
)
def test_a_malformed_drift_reference_is_refused_on_loading_naming_the_manifest(
    shipped_copy: Path, edit: Any, match: str
) -> None:
    """Was: loaded, scored, and only ``riskscore monitor`` (or the transparency report's
    drift section) failed later with a message that named no file ("the shares of
    'adult_age' must be ..."), or, for a distribution given as a list, "reference
    distribution of 'age_gap' is malformed"."""
    _edit_reference(shipped_copy, edit)
    manifest = shipped_copy / "manifest.json"
    refused(shipped_copy, re.escape(f"{manifest}: metadata 'reference_distributions'") + ".*")
    refused(shipped_copy, re.escape(match))


def test_monitor_names_the_bundle_that_stores_no_reference(
    small_saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: "the model bundle stores no reference distributions", naming no bundle."""
    data = rs.synthetic.generate(30, prevalence=0.1, seed=2)
    events = rs.write_messages(data.messages, tmp_path / "events.parquet")
    assert main(["monitor", str(events), "--model", str(small_saved)]) != 0
    err = capsys.readouterr().err
    assert f"{small_saved / 'manifest.json'}: the model bundle stores no reference" in err, err


@pytest.fixture(scope="module")
def resaved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model saved again: its manifest records the metadata's sha256."""
    return save_model(load_model(), tmp_path_factory.mktemp("resaved") / "b")


def _swap_two_shares(ref: dict[str, Any]) -> None:
    shares = ref["inputs"]["adult_age"]["shares"]
    shares[0], shares[1] = shares[1], shares[0]  # still adding up to 1: well-formed


def _edit_metadata(bundle: Path, edit: Any) -> None:
    manifest = read_json(bundle / "manifest.json")
    edit(manifest["metadata"])
    write_manifest(bundle, manifest)


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda m: _swap_two_shares(m["reference_distributions"]), "reference_distributions"),
        (lambda m: m["metrics"].update(median_recall=0.93), "metrics"),
        (lambda m: m.pop("training"), "training"),
        (lambda m: m.update(note="reviewed"), "note"),
    ],
)
def test_an_edit_of_the_manifests_metadata_is_refused(
    resaved: Path, tmp_path: Path, edit: Any, key: str
) -> None:
    """Was: loaded. Only the files the manifest lists had a sha256, so an edit of the drift
    reference (the PSI of ``riskscore monitor`` then measured against other shares) or of
    the metrics went unnoticed unless a signing key was set."""
    bundle = Path(shutil.copytree(resaved, tmp_path / "b"))
    _edit_metadata(bundle, edit)
    refused(bundle, rf"failed verification: the sha256 of metadata '{key}' does not match")


def test_a_resaved_bundle_and_its_rewritten_card_load(resaved: Path, tmp_path: Path) -> None:
    bundle = Path(shutil.copytree(resaved, tmp_path / "b"))
    assert set(read_json(bundle / "manifest.json")["metadata_sha256"]) == set(load_model().metadata)
    rewrite_model_card(bundle, "# A card\n")
    assert load_model(bundle).parameters_sha256() == load_model().parameters_sha256()


def test_metadata_hashes_that_are_not_digests_are_refused(resaved: Path, tmp_path: Path) -> None:
    bundle = Path(shutil.copytree(resaved, tmp_path / "b"))
    _set_manifest(bundle, "metadata_sha256", ["0" * 64])
    refused(bundle, "'metadata_sha256' must be an object of sha256 digests by metadata key")


def _set_offset(bundle: Path, b: float) -> None:
    params = read_json(bundle / "params.json")
    params["calibration"]["b"] = b
    write_params(bundle, json.dumps(params))


@pytest.mark.parametrize(("b", "risk"), [(-1e5, "1"), (900.0, "9.85968e-305")])
def test_a_calibration_offset_that_gives_every_risk_one_value_is_refused(
    shipped_copy: Path, b: float, risk: str
) -> None:
    """Was: loaded (the offset is below the 1e6 accepted); b = -1e5 gave every conversation
    risk 1.0 (every one alerted urgent), b = 900 gave every one 9.9e-305 (none alerted)."""
    slope = read_json(shipped_copy / "params.json")["calibration"]["a"]
    low, high = rs.load_model(shipped_copy).trees.margin_bounds()
    _set_offset(shipped_copy, b)
    refused(
        shipped_copy,
        re.escape(
            f"params.json: calibration (a={slope:g}, b={b:g}) gives every conversation the same "
            f"risk, {risk}, over the margins the trees can give ({low:g} to {high:g})"
        ),
    )


def test_the_shipped_calibration_separates_the_trees_margins() -> None:
    model = load_model()
    low, high = model.trees.margin_bounds()
    assert model.calibration.risk_one(low) < 0.01 < 0.99 < model.calibration.risk_one(high)


@pytest.mark.parametrize(("a", "b"), [(0.4, 1.0), (-1.0, -1e5)])
def test_a_model_that_loading_would_refuse_is_not_saved(tmp_path: Path, a: float, b: float) -> None:
    """Was: saved (a calibration fitted on decisions that do not rise with the margin, by
    ``riskscore train --from-queue``, has a slope >= 0), and then every load of the bundle
    failed."""
    shipped = load_model()
    model = rs.RiskModel(shipped.trees, Platt(a=a, b=b, prevalence=0.01))
    with pytest.raises(ModelIntegrityError, match=r"not saved, as loading would refuse"):
        save_model(model, tmp_path / "b")
    assert not (tmp_path / "b" / "manifest.json").exists()
