"""The metadata of a bundle's manifest, checked on loading: its entries' types, the drift
reference (:func:`~riskscore.model.drift.check_reference_profile`) and the sha256 that
:func:`~riskscore.model.bundle.save_model` records of each entry, so that an edit there is
noticed as one of ``params.json`` is (:mod:`riskscore.model.bundle`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from riskscore._checks import is_real
from riskscore.exceptions import ModelIntegrityError
from riskscore.model.drift import check_reference_profile

__all__ = ["METADATA_HASHES", "check_metadata", "check_metadata_hashes", "metadata_hashes"]

#: The manifest's key for the sha256 of each of its metadata entries (:func:`metadata_hashes`).
METADATA_HASHES: Final = "metadata_sha256"


def metadata_hashes(metadata: Mapping[str, Any]) -> dict[str, str]:
    """The sha256 of each metadata entry, as a manifest records them: the entry as JSON with
    sorted keys and no spaces (floats written back exactly as parsed, so a loaded manifest
    gives the hashes it was saved with). The manifest's files have their sha256, and so
    have the metadata entries that a reader uses (the drift reference of ``riskscore
    monitor``, the metrics and training summary of the model card): an edit or a damaged
    byte there is refused on loading as a changed file is."""
    return {
        str(key): hashlib.sha256(
            json.dumps(value, sort_keys=True, allow_nan=False, separators=(",", ":")).encode()
        ).hexdigest()
        for key, value in metadata.items()
    }


def check_metadata_hashes(path: Path, metadata: Mapping[str, Any], stated: object) -> None:
    """Check the metadata against the manifest's :data:`METADATA_HASHES` (a bundle saved
    before riskscore recorded them, such as one shipped earlier, has none, and is read
    as before)."""
    if stated is None:
        return
    if not isinstance(stated, Mapping) or not all(isinstance(v, str) for v in stated.values()):
        raise ModelIntegrityError(
            f"{path}: {METADATA_HASHES!r} must be an object of sha256 digests by metadata "
            f"key, got {stated!r:.80}"
        )
    computed = metadata_hashes(metadata)
    changed = sorted(k for k in {*stated, *computed} if stated.get(k) != computed.get(k))
    if changed:
        raise ModelIntegrityError(
            f"{path} failed verification: the sha256 of metadata "
            f"{', '.join(repr(k) for k in changed[:5])} does not match the manifest's "
            f"{METADATA_HASHES!r} (an entry added, removed or changed). The manifest was "
            "edited or corrupted; restore or retrain the bundle."
        )


def check_metadata(path: Path, metadata: Mapping[str, Any], features: object) -> None:
    """Refuse metadata that a reader of the bundle uses (the model card, ``riskscore train
    --from-queue``, which keeps it, ``riskscore monitor``) and that is not of its type:
    ``input_caps`` an object of finite numbers by input name, ``inputs`` and
    ``unconstrained_inputs`` lists of names, ``estimator`` text, ``training`` an object and
    ``reference_distributions``, when given, a drift reference of every feature
    (:func:`~riskscore.model.drift.check_reference_profile`). The message names the file,
    the key and the value."""
    if "reference_distributions" in metadata:
        names = (
            features
            if isinstance(features, list) and all(isinstance(n, str) for n in features)
            else []
        )
        try:
            check_reference_profile(metadata["reference_distributions"], names)
        except ModelIntegrityError as exc:
            raise ModelIntegrityError(
                f"{path}: metadata 'reference_distributions' (the drift reference of "
                f"`riskscore monitor`): {exc}"
            ) from None
    caps = metadata.get("input_caps", {})
    if not isinstance(caps, Mapping):
        raise ModelIntegrityError(
            f"{path}: metadata 'input_caps' must be a JSON object of caps by input name, "
            f"got {caps!r:.80}"
        )
    for name, cap in caps.items():
        if not is_real(cap) or cap <= 0:
            raise ModelIntegrityError(
                f"{path}: metadata 'input_caps' {name!r:.80} must be a finite number > 0 "
                f"(the value the input is read up to), got {cap!r:.80}"
            )
    for key in ("inputs", "unconstrained_inputs"):
        names = metadata.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ModelIntegrityError(
                f"{path}: metadata {key!r} must be a list of input names, got {names!r:.80}"
            )
    kinds = {"estimator": (str, "text"), "training": (Mapping, "a JSON object")}
    for key, (kind, what) in kinds.items():
        if key in metadata and not isinstance(metadata[key], kind):
            raise ModelIntegrityError(
                f"{path}: metadata {key!r} must be {what}, got {metadata[key]!r:.80}"
            )
