"""Checks of the files a subcommand is given, made before any work (private)."""

from __future__ import annotations

import argparse
import errno
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from riskscore.io.staging import STAGING_PREFIX
from riskscore.model import bundle, default_model_dir
from riskscore.model.bundle import DIR_VARIABLE

#: The word that names the default bundle wherever a command reads one.
DEFAULT_BUNDLE: Final = "default"
#: Help of ``--model`` (the commands that score with one bundle).
MODEL_HELP: Final = (
    "model bundle directory, or `default` for the shipped one (default: the shipped one)"
)


def path_argument(text: str) -> Path:
    """A file or directory named on the command line (the ``type`` of every path
    argument): empty text is refused, since ``Path("")`` is the working directory, and an
    unset shell variable (``--out "$OUT"``) would write alerts there or read ``.``.

    Raises
    ------
    argparse.ArgumentTypeError
        ``text`` is empty: argparse prints one line naming the option and exits with 2.

    Examples
    --------
    >>> str(path_argument("results"))
    'results'
    >>> path_argument("")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '' is empty: give a path (it would be the working directory)
    """
    if not text:
        raise argparse.ArgumentTypeError(
            "'' is empty: give a path (it would be the working directory)"
        )
    return Path(text)


#: What to do instead of writing into the bundle ``$RISKSCORE_MODEL_DIR`` names.
_ENV_ADVICE: Final = (
    f"; to retrain the model ${DIR_VARIABLE} names, train into a new directory and point "
    f"{DIR_VARIABLE} at it (the bundle in use stays whole, for a rollback)"
)


def check_not_in_bundle(
    path: Path,
    *,
    option: str | None = None,
    escape: str | None = None,
    replace_shipped: bool = False,
    given_bundles: Mapping[str, Path] | None = None,
) -> Path:
    """Refuse an output path that is, or is inside, a model bundle the commands score with:
    the one shipped in the package, the one ``$RISKSCORE_MODEL_DIR`` names, or one named on
    the same command line (``given_bundles``). The one rule of every option a command
    writes to (:func:`output_path`; ``train --out``; the command line's bundle options).

    A bundle holds only the files its manifest lists: a report, events or a queue written
    into it would sit beside the model every default score loads, and an output named like
    a bundle file would replace it. Links and ``..`` are resolved first, so no other
    spelling of the directory passes.

    Parameters
    ----------
    path : Path
        The output path as the user gave it.
    option : str, optional
        The option that gave it, named in the message (argparse names the option of a
        ``type`` itself).
    escape : str, optional
        The option that allows the shipped bundle, when the command has one
        (``train --replace-shipped-model``), named in the message.
    replace_shipped : bool, default False
        That option was given: the shipped bundle may be written. The bundle of
        ``$RISKSCORE_MODEL_DIR`` is refused all the same: train a new directory and point
        the variable at it, so that the bundle in use stays whole for a rollback.
    given_bundles : mapping of str to Path, optional
        Bundles named on the same command line (``{"--model": path}``), refused too: a
        report written into the model it evaluates sits beside that model's files.

    Raises
    ------
    ValueError
        ``path`` is or is inside one of those bundles; the message names the option, the
        path, the bundle and what to do.

    Examples
    --------
    >>> str(check_not_in_bundle(Path("results")))
    'results'
    >>> check_not_in_bundle(bundle.shipped_model_dir() / "x", option="--out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: --out .../x is inside the model bundle shipped in the package (...
    """
    given = f"{option} {path}" if option else str(path)
    where = _resolved(path)
    if where is None:  # a link loop, a NUL: nothing could be written there
        raise ValueError(
            f"{given} cannot be resolved (a loop of symbolic links?): give another path"
        )
    shipped = bundle.shipped_model_dir()  # looked up when called
    bundles = {shipped: "the model bundle shipped in the package"}
    env = _resolved(Path(os.environ.get(DIR_VARIABLE) or shipped))
    if env is not None and env != shipped:
        bundles[env] = f"the model bundle ${DIR_VARIABLE} names"
    for name, directory in (given_bundles or {}).items():
        named = _resolved(directory)
        if named is not None and named not in bundles:
            bundles[named] = f"the model bundle {name} names"
    for directory, what in bundles.items():
        if not where.is_relative_to(directory) or (directory == shipped and replace_shipped):
            continue
        hint = (
            f", or pass {escape} to retrain the shipped model on purpose"
            if escape and directory == shipped
            else ""
        )
        raise ValueError(
            f"{given} {'is' if where == directory else 'is inside'} {what} ({directory}), which "
            "must hold only the files its manifest lists: write to a path outside it"
            f"{hint}{_ENV_ADVICE if directory == env and directory != shipped else ''}"
        )
    return path


def _resolved(path: Path) -> Path | None:
    """``path`` with its links and ``..`` resolved, or None when it cannot be (a loop of
    links, a NUL character)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def output_path(text: str) -> Path:
    """A file or directory a command writes (the ``type`` of every output option):
    :func:`path_argument`, refused inside a model bundle (:func:`check_not_in_bundle`).

    Raises
    ------
    argparse.ArgumentTypeError
        ``text`` is empty, ``-`` (standard output, which no output option writes to), or
        names a bundle or a path in one: argparse prints one line naming the option and
        exits with 2.

    Examples
    --------
    >>> str(output_path("results"))
    'results'
    >>> output_path("-")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '-' is no standard output here: ... (./- for one named '-')
    """
    if text == "-":  # a file or directory named "-" where stdout was meant
        raise argparse.ArgumentTypeError(
            "'-' is no standard output here: this option names a file or directory to write "
            "(./- for one named '-')"
        )
    try:
        return check_not_in_bundle(path_argument(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def bundle_output(text: str) -> Path:
    """A model bundle a command writes (the ``type`` of ``train --out``): :func:`path_argument`.

    Unlike :func:`output_path` the shipped bundle is not refused while the option is read:
    the command checks it with its escape (``--replace-shipped-model``). A bundle named on
    the same command line is refused like for every output (:func:`check_not_in_bundle`),
    since the entrypoint lists the options of both types.

    Examples
    --------
    >>> str(bundle_output("models/mine"))
    'models/mine'
    """
    return path_argument(text)


#: The ``type`` of every option a command writes to.
OUTPUT_TYPES: Final = (output_path, bundle_output)


def bundle_dir(text: str) -> Path:
    """A model bundle named on the command line (the ``type`` of every bundle argument).

    The word ``default`` is the bundle a command uses without ``--model``
    (:func:`riskscore.model.bundle.default_model_dir`: ``$RISKSCORE_MODEL_DIR`` if set, else
    the one shipped in the package), from any working directory; a folder named so is
    ``./default``.

    Examples
    --------
    >>> bundle_dir("default") == default_model_dir()
    True
    >>> str(bundle_dir("./default"))
    'default'
    """
    return default_model_dir() if text == DEFAULT_BUNDLE else path_argument(text)


@dataclass(frozen=True, slots=True)
class NamedBundle:
    """A model bundle as the user named it (``name``: ``default`` or a directory) and the
    directory that is (``path``), for outputs that record both."""

    name: str
    path: Path


def named_bundle(text: str) -> NamedBundle:
    """:func:`bundle_dir`, keeping the name given (the ``type`` of ``compare``'s bundles,
    whose output records what the user named, not only where it resolved).

    Examples
    --------
    >>> bundle = named_bundle("default")
    >>> bundle.name, bundle.path == default_model_dir()
    ('default', True)
    """
    return NamedBundle(text, bundle_dir(text))


#: The ``type`` of every argument that names a bundle a command reads: the outputs of the
#: same command line are refused inside each (``compare mine default --out mine/cmp``).
BUNDLE_TYPES: Final = (bundle_dir, named_bundle)


def bundle_path(value: object) -> Path | None:
    """The directory of a bundle argument's value (:data:`BUNDLE_TYPES`), None when not given.

    Examples
    --------
    >>> str(bundle_path(NamedBundle("mine", Path("models/mine")))), bundle_path(None)
    ('models/mine', None)
    """
    if isinstance(value, NamedBundle):
        return value.path
    return value if isinstance(value, Path) else None


def check_out_dir(path: Path) -> Path:
    """Refuse an ``--out`` that names an existing file, or where no file can be made (a
    folder of another user, a read-only file system), before any work is done: a
    ``riskscore train`` of many minutes failed only when it saved.

    Raises
    ------
    FileExistsError
        ``path`` (or one of its parents) is a file, not a directory; the CLI prints one
        line and exits with status 2.
    PermissionError
        A folder cannot be made in the nearest existing folder on ``path``'s way (a probe,
        removed at once) for want of permission; the error names ``path``.
    ValueError
        Nor for another reason (a read-only file system, a full disk, a folder such as
        ``/proc``), said with ``path`` and that folder.
    """
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(candidate))
            _check_writable(candidate, path)
            break
    return path


def _check_writable(directory: Path, named: Path) -> None:
    """Make and remove a folder in ``directory`` as a job stages its outputs
    (:mod:`riskscore.io.staging`, whose sweep removes one a killed process left)."""
    try:
        probe = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=directory)
    except PermissionError as exc:  # "permission denied: <the path given>"
        raise PermissionError(exc.errno, exc.strerror, str(named)) from None
    except OSError as exc:  # a read-only file system, a full disk, /proc (ENOENT)
        raise ValueError(
            f"{named} cannot be written: no file can be made in {directory} ({exc.strerror})"
        ) from None
    os.rmdir(probe)
