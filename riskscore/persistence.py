"""The model bundle on disk: save, verify, load.

A bundle directory holds ``manifest.json`` (format and schema versions,
feature names, library versions, training summary, metrics and the sha256 of
every other file), ``params.json`` (portable parameters, loaded without
unpickling), ``estimator.joblib`` (the fitted scikit-learn estimator, for
research; unpickled only after its sha256 matches) and ``MODEL_CARD.md``.
Loading never runs code from a file whose hash was not verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from riskscore.exceptions import ModelIntegrityError
from riskscore.feature_specs import FEATURE_NAMES
from riskscore.linear import LinearParams
from riskscore.model import RiskModel
from riskscore.schema import SCHEMA_VERSION

__all__ = ["FORMAT_VERSION", "default_model_dir", "load_model", "save_model"]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PARAMS = "params.json"
ESTIMATOR = "estimator.joblib"
MODEL_CARD = "MODEL_CARD.md"
_LIBRARIES = ("riskscore", "numpy", "scikit-learn", "joblib")


def default_model_dir() -> Path:
    """Where the shipped default model lives: ``$RISKSCORE_MODEL_DIR`` if set, otherwise
    ``models/default`` of the source tree riskscore runs from."""
    env = os.environ.get("RISKSCORE_MODEL_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "models" / "default"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def save_model(
    model: RiskModel, directory: str | os.PathLike[str], *, model_card: str | None = None
) -> Path:
    """Write a model bundle. See the module docstring for its files.

    Parameters
    ----------
    model : RiskModel
        The model to save.
    directory : str or path-like
        Bundle directory, created if needed; existing bundle files are replaced.
    model_card : str, optional
        Text of ``MODEL_CARD.md``; by default a card is written from the model's metadata.

    Returns
    -------
    pathlib.Path
        The bundle directory.
    """
    import joblib

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / PARAMS, model.params.to_dict())
    files = [PARAMS]
    try:
        estimator = model.estimator
    except AttributeError:
        estimator = None
    if estimator is not None:
        joblib.dump(estimator, out / ESTIMATOR, compress=3)
        files.append(ESTIMATOR)
    if model_card is None:
        from riskscore._model_card import render_model_card

        model_card = render_model_card(model.metadata)
    (out / MODEL_CARD).write_text(model_card, encoding="utf-8")
    files.append(MODEL_CARD)
    manifest = {
        "format_version": FORMAT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "feature_names": list(model.feature_names),
        "libraries": _versions(),
        "metadata": model.metadata,
        "files": {name: sha256_of(out / name) for name in files},
    }
    _write_json(out / MANIFEST, manifest)
    return out


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise ModelIntegrityError(
            f"no {MANIFEST} in {directory}: not a riskscore model bundle (train one with "
            "`riskscore train` or `make model`)"
        )
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelIntegrityError(f"{path} is not valid JSON: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelIntegrityError(
            f"{path}: format_version {manifest.get('format_version')!r} is not supported "
            f"(this riskscore reads {FORMAT_VERSION})"
        )
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise ModelIntegrityError(
            f"{path}: model built for schema v{manifest.get('schema_version')}, "
            f"this riskscore reads v{SCHEMA_VERSION}"
        )
    if not isinstance(manifest.get("files"), dict) or PARAMS not in manifest["files"]:
        raise ModelIntegrityError(f"{path}: manifest lists no {PARAMS}")
    return manifest


def _verified(directory: Path, manifest: dict[str, Any], name: str) -> Path:
    path = directory / name
    expected = manifest["files"].get(name)
    if expected is None:
        raise ModelIntegrityError(f"{name} is not listed in the manifest of {directory}")
    if not path.is_file():
        raise ModelIntegrityError(f"{path} is listed in the manifest but missing")
    actual = sha256_of(path)
    if actual != expected:
        raise ModelIntegrityError(
            f"{path} failed verification: sha256 {actual} does not match the manifest's "
            f"{expected}. The file was changed or corrupted; restore or retrain the bundle."
        )
    return path


def verify_bundle(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Check every file the manifest lists against its sha256; return the manifest.

    Raises
    ------
    ModelIntegrityError
        A file is missing or changed, or the manifest is invalid.
    """
    path = Path(directory)
    manifest = _read_manifest(path)
    for name in manifest["files"]:
        _verified(path, manifest, name)
    return manifest


def load_model(directory: str | os.PathLike[str] | None = None) -> RiskModel:
    """Load and verify a model bundle.

    Parameters
    ----------
    directory : str or path-like, optional
        Bundle directory; the shipped default (:func:`default_model_dir`) when omitted.

    Returns
    -------
    RiskModel
        Scores with the portable parameters; its ``estimator`` is unpickled on
        first access, after its sha256 is checked again.

    Raises
    ------
    ModelIntegrityError
        Missing or changed files, unsupported versions, or features that this
        version of riskscore does not compute.

    Examples
    --------
    >>> import riskscore as rs
    >>> model = rs.load_model()
    >>> model.feature_names == rs.extract_features.__globals__["FEATURE_NAMES"]
    True
    """
    path = default_model_dir() if directory is None else Path(directory)
    manifest = verify_bundle(path)
    params_path = _verified(path, manifest, PARAMS)
    try:
        raw = json.loads(params_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelIntegrityError(f"{params_path} is not valid JSON: {exc}") from exc
    params = LinearParams.from_dict(raw)
    if params.feature_names != FEATURE_NAMES:
        raise ModelIntegrityError(
            f"model in {path} was trained on features {list(params.feature_names)}; this "
            f"riskscore computes {list(FEATURE_NAMES)}. Retrain it (`make model`)."
        )

    def load_estimator() -> Any:
        import joblib

        return joblib.load(_verified(path, manifest, ESTIMATOR))

    loader = load_estimator if ESTIMATOR in manifest["files"] else None
    metadata = dict(manifest.get("metadata", {}))
    metadata["libraries"] = manifest.get("libraries", {})
    return RiskModel(params, metadata=metadata, estimator_loader=loader)
