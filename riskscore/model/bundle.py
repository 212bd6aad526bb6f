"""The model bundle on disk: save, verify, load. Nothing in it is executable.

A bundle directory holds ``manifest.json`` (format and schema versions, feature
names, library versions, training summary, metrics, drift reference, the sha256 of
every other file and of each metadata entry), ``params.json`` (the portable trees and
calibration, plain JSON) and ``MODEL_CARD.md``. Loading reads JSON only: there is no
pickle to unpickle.

The manifest detects corruption and accidental edits, not a tamperer who can write
the directory (they can rewrite the hashes too). For that, set ``RISKSCORE_MODEL_KEY``
(at least 32 bytes of secret key material, not low-entropy: :func:`riskscore.keys.check_key`)
when saving and when loading: the bundle then carries ``manifest.sig``, an HMAC-SHA256 of
the manifest under that key, and a bundle whose signature is missing or does not match is
refused. File names in the manifest must
be plain names inside the bundle, and only the files riskscore writes (``params.json``,
``MODEL_CARD.md``), each at most :data:`MAX_FILE_BYTES`: a pickle, a joblib file or any other
artifact listed in a manifest is refused, never hashed or read; links are refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import platform
import stat
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Final

from riskscore._checks import is_int
from riskscore._version import __version__
from riskscore.exceptions import ModelIntegrityError
from riskscore.io.json_lines import json_loads
from riskscore.io.schema import SCHEMA_VERSION
from riskscore.io.staging import staged_outputs
from riskscore.keys import check_key, key_source, secret_from_environment
from riskscore.model.card import render_model_card
from riskscore.model.manifest_metadata import (
    METADATA_HASHES,
    check_metadata,
    check_metadata_hashes,
    metadata_hashes,
)
from riskscore.model.risk_model import RiskModel

__all__ = [
    "FORMAT_VERSION",
    "KEY_VARIABLE",
    "MAX_FILE_BYTES",
    "check_not_shipped",
    "check_replaceable",
    "default_model_dir",
    "load_model",
    "rewrite_model_card",
    "save_model",
    "sha256_of",
    "shipped_model_dir",
    "verify_bundle",
]

FORMAT_VERSION: Final = 2
MANIFEST: Final = "manifest.json"
PARAMS: Final = "params.json"
MODEL_CARD: Final = "MODEL_CARD.md"
SIGNATURE: Final = "manifest.sig"
#: Environment variable naming the default model's bundle directory.
DIR_VARIABLE: Final = "RISKSCORE_MODEL_DIR"
#: Environment variable holding the key that signs and verifies manifests.
KEY_VARIABLE: Final = "RISKSCORE_MODEL_KEY"
_LIBRARIES: Final = ("numpy", "numba", "scikit-learn", "lightgbm")
#: Largest file of a bundle read or hashed (bytes): a bundle is a few hundred kB.
MAX_FILE_BYTES: Final = 64 << 20
#: The files a manifest may list: those :func:`save_model` writes (``params.json`` is
#: required; a bundle without a model card is still a bundle).
_LISTED: Final = (PARAMS, MODEL_CARD)
#: Largest ``manifest.sig`` read: a hex digest and a line break.
_MAX_SIGNATURE_BYTES: Final = 1024


def default_model_dir() -> Path:
    """Where the default model lives: ``$RISKSCORE_MODEL_DIR`` if set, otherwise the
    bundle shipped inside the package, ``riskscore/model/default/`` (package data, so an
    installed wheel finds it as a source checkout does)."""
    env = os.environ.get(DIR_VARIABLE)
    if env:
        return Path(env)
    return shipped_model_dir()


def shipped_model_dir() -> Path:
    """The bundle shipped inside the package, ``riskscore/model/default/`` (whatever
    ``$RISKSCORE_MODEL_DIR`` says)."""
    return Path(__file__).resolve().parent / "default"


def check_not_shipped(directory: str | os.PathLike[str], *, replace_shipped: bool) -> Path:
    """Refuse to write into the bundle shipped inside the package (or a folder in it),
    unless ``replace_shipped``: every user of the installed package scores with it, and a
    careless ``--out`` (``riskscore train --out default``'s path, a copied command) would
    replace it without a word.

    Links and ``..`` are resolved first, so no other spelling of the directory passes.

    Raises
    ------
    ValueError
        ``directory`` is the shipped bundle or inside it and ``replace_shipped`` is false;
        the message names both and the way to mean it.

    Examples
    --------
    >>> check_not_shipped(shipped_model_dir() / "x", replace_shipped=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: ...is inside the model bundle shipped in the package...
    """
    out = Path(directory)
    shipped = shipped_model_dir()
    if not replace_shipped and out.resolve().is_relative_to(shipped):
        where = "is" if out.resolve() == shipped else "is inside"
        raise ValueError(
            f"{out} {where} the model bundle shipped in the package ({shipped}), which every "
            "default score uses: write the bundle elsewhere, or pass replace_shipped=True "
            "(riskscore train --replace-shipped-model) to retrain the shipped model on purpose"
        )
    return out


def _named(directory: Path) -> str:
    """``directory`` as an error names it: with the variable it came from, when
    ``$RISKSCORE_MODEL_DIR`` names it (no command line or call named it)."""
    env = os.environ.get(DIR_VARIABLE)
    if env and Path(env) == directory:
        return f"{directory} (named by the environment variable {DIR_VARIABLE})"
    return str(directory)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    # The distribution is named riskscore-metadata (``riskscore`` on PyPI is another
    # project), so riskscore's own version comes from the package, not the metadata.
    out = {"python": platform.python_version(), "riskscore": __version__}
    for name in _LIBRARIES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def _write_json(path: Path, data: Any) -> None:
    # no NaN literal: the loader refuses one (JSON has none)
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def save_model(
    model: RiskModel,
    directory: str | os.PathLike[str],
    *,
    model_card: str | None = None,
    record_versions: bool = True,
    replace_shipped: bool = False,
) -> Path:
    """Write a model bundle (see the module docstring for its files).

    Parameters
    ----------
    model : RiskModel
        The model to save.
    directory : str or path-like
        Bundle directory, created if needed; existing bundle files are replaced.
    model_card : str, optional
        Text of ``MODEL_CARD.md``; by default a card is written from the model's metadata.
    record_versions : bool, default True
        Record the library versions in the manifest (turn off for byte-identical
        bundles across machines).
    replace_shipped : bool, default False
        Allow ``directory`` to be the bundle shipped in the package
        (:func:`check_not_shipped`); only its maintainers' ``make model`` sets it.

    Returns
    -------
    pathlib.Path
        The bundle directory.

    Raises
    ------
    ValueError
        ``directory`` is the shipped bundle, or inside it, and ``replace_shipped`` is false.
        Or ``directory`` holds a file of a bundle's names that no riskscore bundle wrote (a
        web app's ``manifest.json``, a project's ``MODEL_CARD.md``); nothing is written.
    ModelIntegrityError
        :func:`load_model` would refuse the model (a calibration slope that is not
        negative, say, fitted on labels that do not rise with the margin); nothing is
        written.
    """
    out = check_not_shipped(directory, replace_shipped=replace_shipped)
    check_replaceable(out)
    params = model.to_dict()
    try:  # load_model's checks, before a bundle it would refuse is written
        RiskModel.from_dict(params).check_reference()
    except ModelIntegrityError as exc:
        raise ModelIntegrityError(
            f"{out}: not saved, as loading would refuse the bundle (nothing was written): {exc}"
        ) from None
    # staged: a save failing part-way leaves the earlier bundle whole (riskscore.io.staging)
    with staged_outputs(out, owned=[SIGNATURE]) as stage:
        _write_json(stage(PARAMS), params)
        card = render_model_card(model.metadata) if model_card is None else model_card
        stage(MODEL_CARD).write_text(card, encoding="utf-8")
        manifest = {
            "format_version": FORMAT_VERSION,
            "schema_version": SCHEMA_VERSION,
            "feature_names": list(model.feature_names),
            "libraries": _versions() if record_versions else {},
            "metadata": model.metadata,
            METADATA_HASHES: metadata_hashes(model.metadata),
            "files": {name: sha256_of(stage(name)) for name in (PARAMS, MODEL_CARD)},
        }
        _write_json(stage(MANIFEST), manifest)
        _sign(stage.root)
    return out


def check_replaceable(directory: str | os.PathLike[str]) -> None:
    """Refuse a directory where saving a bundle would replace files no bundle wrote: one of
    a bundle's file names without a riskscore manifest (even an old or damaged one) beside
    it, such as a web app's ``manifest.json``; a ``ValueError`` names them.
    """
    out = Path(directory)
    present = [name for name in (*_LISTED, MANIFEST, SIGNATURE) if os.path.lexists(out / name)]
    keys: set[object] = set()
    if present and (out / MANIFEST).is_file():
        with contextlib.suppress(OSError, ValueError), open(out / MANIFEST, "rb") as fh:
            manifest = json_loads(fh.read(MAX_FILE_BYTES).decode("utf-8"))
            keys = set(manifest) if isinstance(manifest, dict) else keys
    if present and not {"format_version", "feature_names", "files"} <= keys:
        raise ValueError(
            f"{_named(out)} holds {', '.join(present)} but no riskscore model bundle: saving would "
            "replace them. Give a new directory, or one that holds a bundle (nothing was written)"
        )


def rewrite_model_card(directory: str | os.PathLike[str], text: str) -> Path:
    """Replace a bundle's ``MODEL_CARD.md`` and its hash in the manifest (nothing else)."""
    path = Path(directory)
    manifest = verify_bundle(path)
    with staged_outputs(path, owned=[SIGNATURE]) as stage:  # the three files, or none
        stage(MODEL_CARD).write_text(text, encoding="utf-8")
        manifest["files"][MODEL_CARD] = sha256_of(stage(MODEL_CARD))
        _write_json(stage(MANIFEST), manifest)
        _sign(stage.root)
    return path / MODEL_CARD


def _signing_key() -> bytes | None:
    try:
        text = secret_from_environment(KEY_VARIABLE)
        if text is None:
            return None
        return check_key(text, source=key_source(KEY_VARIABLE))
    except ValueError as exc:
        raise ModelIntegrityError(str(exc)) from None


def _signature(directory: Path, key: bytes) -> str:
    return hmac.new(key, (directory / MANIFEST).read_bytes(), hashlib.sha256).hexdigest()


def _sign(directory: Path) -> None:
    """Write ``manifest.sig`` when a key is set (a stale one is dropped otherwise: the
    bundle is staged, owning it)."""
    key = _signing_key()
    if key is None:
        return
    target = directory / SIGNATURE
    target.write_text(_signature(directory, key) + "\n", encoding="ascii")


def _check_signature(directory: Path, manifest: bytes) -> None:
    """Check ``manifest.sig`` against ``manifest``, the bytes of the manifest that were
    parsed (reading the file again would check a file swapped in after the parse)."""
    key = _signing_key()
    if key is None:
        return
    target = directory / SIGNATURE
    if target.is_symlink() or not target.is_file():
        raise ModelIntegrityError(
            f"{directory}: {KEY_VARIABLE} is set but the bundle has no {SIGNATURE}; sign a "
            f"copy: model = riskscore.load_model({str(directory)!r}) with {KEY_VARIABLE} unset, "
            f"then riskscore.save_model(model, DIR) with it set, and load DIR"
        )
    # Compared as bytes: compare_digest refuses text that is not ASCII (a TypeError).
    stated = _file_bytes(target, _MAX_SIGNATURE_BYTES).strip()
    computed = hmac.new(key, manifest, hashlib.sha256).hexdigest().encode("ascii")
    if not hmac.compare_digest(stated, computed):
        raise ModelIntegrityError(
            f"{directory}: {SIGNATURE} does not match the manifest under {KEY_VARIABLE}: the "
            "bundle was changed after signing, or signed with another key"
        )


def _file_bytes(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, read once through one descriptor opened
    without following a link: the caller hashes and parses these same bytes, so a file
    swapped between a check and a read cannot pass the check."""
    if path.is_symlink() or not path.is_file():
        raise ModelIntegrityError(f"{path} is missing or not a regular file")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError as exc:  # a bundle of another user, or a mode set too narrow
        raise ModelIntegrityError(
            f"{path} cannot be read (permission denied): give the user that loads the bundle "
            "read access to its files"
        ) from exc
    except OSError as exc:  # swapped for a link or removed since the check
        raise ModelIntegrityError(f"{path} is missing or not a regular file") from exc
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ModelIntegrityError(f"{path} is missing or not a regular file")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ModelIntegrityError(f"{path} is larger than {limit} bytes")
    return data


def _parsed(path: Path, data: bytes, *, allow_nan: bool = False) -> Any:
    """The JSON value of a bundle file; ``NaN`` and ``Infinity`` refused unless
    ``allow_nan`` (``params.json``, whose every number is checked as finite where it is
    read, the message naming the array and the node)."""
    try:
        return json_loads(data.decode("utf-8"), allow_nan=allow_nan)
    except ValueError as exc:  # not JSON, not UTF-8, too many digits, nested too deeply
        raise ModelIntegrityError(f"{path} is not valid JSON: {exc}") from exc


def _read_manifest(directory: Path) -> tuple[dict[str, Any], bytes]:
    """The manifest, checked, and the bytes it was parsed from."""
    path = directory / MANIFEST
    if not directory.is_dir():  # a typo, or the manifest named instead of its folder
        found = "is not a directory" if directory.exists() else "does not exist"
        raise ModelIntegrityError(
            f"{_named(directory)} {found}: a model bundle is the directory that holds "
            f"{MANIFEST} (`riskscore train --out DIR` writes one)"
        )
    if not path.exists():
        raise ModelIntegrityError(
            f"no {MANIFEST} in {_named(directory)}: not a riskscore model bundle (train one with "
            "`riskscore train` or `make model`)"
        )
    data = _file_bytes(path, MAX_FILE_BYTES)
    manifest = _parsed(path, data)
    if not isinstance(manifest, dict):
        raise ModelIntegrityError(f"{path}: the manifest must be a JSON object")
    # versions are whole numbers, as riskscore writes them and reads a policy's: 2.0 or
    # true (== 1 in Python) is no version
    version = manifest.get("format_version")
    if not is_int(version) or version != FORMAT_VERSION:
        raise ModelIntegrityError(
            f"{path}: format_version {version!r:.60} is not supported "
            f"(this riskscore reads {FORMAT_VERSION}); retrain the bundle (`make model`)"
        )
    schema = manifest.get("schema_version")
    if not is_int(schema) or schema != SCHEMA_VERSION:
        raise ModelIntegrityError(
            f"{path}: model built for schema v{schema!r:.60}, "
            f"this riskscore reads v{SCHEMA_VERSION}"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or PARAMS not in files:
        raise ModelIntegrityError(f"{path}: manifest lists no {PARAMS}")
    for name, digest in files.items():
        if (
            not isinstance(name, str)
            or not isinstance(digest, str)
            or name in ("", ".", "..")
            or name != Path(name).name
            or "\\" in name
        ):
            raise ModelIntegrityError(
                f"{path}: manifest entry {name!r} is not a plain file name inside the bundle"
            )
        if name not in _LISTED:
            raise ModelIntegrityError(
                f"{path}: manifest entry {name!r:.80} is not a file of a riskscore model bundle "
                f"(those are {', '.join(_LISTED)}): riskscore never loads another artifact "
                "(a pickle, a joblib file), so a manifest that lists one was not written by "
                "riskscore. Save the model again (riskscore.save_model) or retrain the bundle"
            )
    metadata = manifest.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise ModelIntegrityError(f"{path}: 'metadata' must be a JSON object")
    check_metadata(path, metadata, manifest.get("feature_names"))
    check_metadata_hashes(path, metadata, manifest.get(METADATA_HASHES))
    return manifest, data


def _verified(directory: Path, manifest: Mapping[str, Any]) -> bytes:
    """Check every file the manifest lists against its sha256; return the bytes of
    ``params.json`` that were hashed, for the caller to parse (not the file read again)."""
    params = b""
    for name, expected in manifest["files"].items():
        path = directory / name
        if path.is_symlink() or not path.is_file():
            raise ModelIntegrityError(f"{path} is listed in the manifest but missing or a link")
        data = _file_bytes(path, MAX_FILE_BYTES)  # the card: hashed only, never read for use
        actual = hashlib.sha256(data).hexdigest()
        if name == PARAMS:
            params = data
        if actual != expected:
            raise ModelIntegrityError(
                f"{path} failed verification: sha256 {actual} does not match the manifest's "
                f"{expected}. The file was changed or corrupted; restore or retrain the bundle."
            )
    return params


def verify_bundle(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Check every file the manifest lists against its sha256; return the manifest.

    Raises
    ------
    ModelIntegrityError
        A file is missing, a link or changed, or the manifest is invalid.
    """
    return _verify(Path(directory))[0]


def _verify(path: Path) -> tuple[dict[str, Any], bytes]:
    """The verified manifest and the bytes of ``params.json``. Each file is read once: the
    bytes signed or hashed are the bytes parsed."""
    manifest, data = _read_manifest(path)
    _check_signature(path, data)
    return manifest, _verified(path, manifest)


def load_model(directory: str | os.PathLike[str] | None = None) -> RiskModel:
    """Load and verify a model bundle.

    Parameters
    ----------
    directory : str or path-like, optional
        Bundle directory; the shipped default (:func:`default_model_dir`) when omitted.

    Returns
    -------
    RiskModel

    Raises
    ------
    ModelIntegrityError
        Missing or changed files, unsupported versions, a JSON key given twice, malformed
        or non-finite parameters, a reference other than the features' "no signal" values
        (:meth:`RiskModel.check_reference`), leaf values that can sum past
        :data:`riskscore.model.trees.MAX_MARGIN`, or features that this version of
        riskscore does not compute. Errors in the parameters name ``params.json``.

    Examples
    --------
    >>> import riskscore as rs
    >>> model = rs.load_model()
    >>> set(model.feature_names) <= set(rs.FEATURE_NAMES)
    True
    """
    path = default_model_dir() if directory is None else Path(directory)
    manifest, data = _verify(path)
    params = _parsed(path / PARAMS, data, allow_nan=True)
    try:
        model = RiskModel.from_dict(params, metadata=dict(manifest.get("metadata", {})))
        model.check_reference()
    except ModelIntegrityError as exc:  # the checks name the field, this the file
        raise ModelIntegrityError(f"{path / PARAMS}: {exc}") from None
    if list(model.feature_names) != manifest.get("feature_names"):
        raise ModelIntegrityError(f"{path}: the manifest's feature names differ from the model's")
    return model
