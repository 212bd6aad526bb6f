"""The model bundle: round trip, verification, refusal of changed files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
from riskscore.persistence import default_model_dir, save_model


@pytest.fixture(scope="module")
def trained() -> tuple[rs.RiskModel, rs.synthetic.SyntheticData]:
    data = rs.synthetic.generate(3000, prevalence=0.05, seed=5)
    return rs.train(data.messages, data.labels, seed=1), data


@pytest.fixture
def bundle(tmp_path: Path, trained: tuple[rs.RiskModel, rs.synthetic.SyntheticData]) -> Path:
    model, _ = trained
    model.save(tmp_path / "m")
    return tmp_path / "m"


def test_round_trip_scores_identically(
    bundle: Path, trained: tuple[rs.RiskModel, rs.synthetic.SyntheticData]
) -> None:
    model, data = trained
    loaded = rs.load_model(bundle)
    X = rs.extract_features(data.messages)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_allclose(
        loaded.estimator.predict_proba(X.values)[:, 1], model.predict_proba(X), atol=1e-12
    )


def test_manifest_lists_every_file_with_its_hash(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert set(manifest["files"]) == {"params.json", "estimator.joblib", "MODEL_CARD.md"}
    assert all(len(h) == 64 for h in manifest["files"].values())
    assert manifest["feature_names"] == list(rs.FEATURE_NAMES)
    assert {"numpy", "scikit-learn", "riskscore", "python"} <= set(manifest["libraries"])


@pytest.mark.parametrize("name", ["params.json", "estimator.joblib", "MODEL_CARD.md"])
def test_a_file_changed_by_one_byte_is_refused(bundle: Path, name: str) -> None:
    path = bundle / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(rs.ModelIntegrityError, match="sha256"):
        rs.load_model(bundle)


def test_estimator_swapped_after_loading_is_refused_before_unpickling(bundle: Path) -> None:
    model = rs.load_model(bundle)
    (bundle / "estimator.joblib").write_bytes(b"not the file that was verified")
    with pytest.raises(rs.ModelIntegrityError, match="sha256"):
        _ = model.estimator


def test_missing_manifest_and_missing_file(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(rs.ModelIntegrityError, match=r"manifest\.json"):
        rs.load_model(tmp_path)
    (bundle / "params.json").unlink()
    with pytest.raises(rs.ModelIntegrityError, match="missing"):
        rs.load_model(bundle)


def test_unsupported_format_version_is_refused(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["format_version"] = 99
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(rs.ModelIntegrityError, match="format_version"):
        rs.load_model(bundle)


def test_params_for_other_features_are_refused(
    tmp_path: Path, trained: tuple[rs.RiskModel, rs.synthetic.SyntheticData]
) -> None:
    model, _ = trained
    raw = model.params.to_dict()
    raw["feature_names"] = [f"x{i}" for i in range(len(raw["feature_names"]))]
    other = rs.RiskModel(rs.linear.LinearParams.from_dict(raw))
    save_model(other, tmp_path / "other")
    with pytest.raises(rs.ModelIntegrityError, match="Retrain"):
        rs.load_model(tmp_path / "other")


def test_malformed_params_are_refused(bundle: Path) -> None:
    raw = json.loads((bundle / "params.json").read_text())
    raw["coef"] = raw["coef"][:-1]
    with pytest.raises(rs.ModelIntegrityError, match="shape"):
        rs.linear.LinearParams.from_dict(raw)


def test_shipped_default_model_loads_and_has_a_model_card() -> None:
    model = rs.load_model()
    assert model.feature_names == rs.FEATURE_NAMES
    card = (default_model_dir() / "MODEL_CARD.md").read_text()
    for heading in ("Intended use", "Training data", "Metrics", "Limitations", "Ethical"):
        assert heading in card
    assert "pr_auc" in model.metadata["metrics"]
