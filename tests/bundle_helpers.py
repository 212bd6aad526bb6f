"""What the tests of model bundles share: the files of a bundle, the models they save
(:func:`trained_model`, :func:`small_model`), and the edits of a careless or hostile
editor (:func:`write_params`, :func:`write_manifest`) with the check that loading refuses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _models import random_model

import riskscore as rs
from riskscore.exceptions import ModelIntegrityError
from riskscore.model import RiskModel, load_model
from riskscore.model.bundle import sha256_of

BUNDLE_FILES = {"manifest.json", "params.json", "MODEL_CARD.md"}


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


def trained_model() -> tuple[RiskModel, rs.FeatureTable]:
    """A model trained on 2,000 synthetic conversations, and their features."""
    data = rs.synthetic.generate(2000, prevalence=0.05, seed=5)
    features = rs.extract_features(data.messages)
    return rs.train(features, data.labels, seed=1), features


def small_model() -> RiskModel:
    """A model of 45 stumps: the parameter fields of a trained one in a thirtieth of the
    bytes (a test checks)."""
    return random_model(3, per_feature=1)
