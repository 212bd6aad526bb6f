"""Checks of the files a subcommand is given, made before any work (private)."""

from __future__ import annotations

import argparse
import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from riskscore.model import default_model_dir

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


def check_out_dir(path: Path) -> Path:
    """Refuse an ``--out`` that names an existing file, before any work is done.

    Raises
    ------
    FileExistsError
        ``path`` (or one of its parents) is a file, not a directory; the CLI prints one
        line and exits with status 2.
    """
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(candidate))
            break
    return path
