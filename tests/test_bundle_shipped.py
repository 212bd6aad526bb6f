"""The default model shipped in the package loads, verifies and scores; signed manifests
load only with their key and unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bundle_helpers import (
    BUNDLE_FILES,
)

import riskscore as rs
from riskscore.exceptions import ModelIntegrityError
from riskscore.model import RiskModel, default_model_dir, load_model, save_model, verify_bundle
from riskscore.model.bundle import rewrite_model_card, sha256_of

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
