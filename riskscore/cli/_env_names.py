"""The argparse type of options that name an environment variable (``--key-env``,
``--password-env``): secrets are passed by name, never on the command line."""

from __future__ import annotations

import argparse
import re

__all__ = ["env_name"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_name(text: str) -> str:
    """An argparse type: the name of an environment variable (letters, digits and ``_``,
    not starting with a digit), as POSIX shells name them.

    Examples
    --------
    >>> env_name("RISKSCORE_REPORT_KEY")
    'RISKSCORE_REPORT_KEY'
    >>> env_name("")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '' is not the name of an environment variable ...
    """
    if _NAME.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text[:80]!r} is not the name of an environment variable (letters, digits and "
            "_, not starting with a digit)"
        )
    return text
