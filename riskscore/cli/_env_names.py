"""The argparse type of options that name an environment variable (``--key-env``,
``--password-env``): secrets are passed by name, never on the command line; and the one
``--key-env`` option of the commands that pseudonymise (report, export)."""

from __future__ import annotations

import argparse
import re

from riskscore.keys import MIN_KEY_BYTES

__all__ = ["REPORT_KEY_VARIABLE", "add_key_env_option", "env_name"]

#: The environment variable that holds the pseudonymisation key by default (report, export,
#: and the console's exports under ``riskscore serve``).
REPORT_KEY_VARIABLE = "RISKSCORE_REPORT_KEY"

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


def add_key_env_option(parser: argparse.ArgumentParser) -> None:
    """``--key-env``: the environment variable holding the pseudonymisation key."""
    parser.add_argument(
        "--key-env",
        type=env_name,
        default=REPORT_KEY_VARIABLE,
        help="environment variable holding the pseudonymisation key (at least "
        f"{MIN_KEY_BYTES} bytes, not a repeated pattern)",
    )
