"""The ``--policy FILE`` option shared by ``score``, ``stream``, ``evaluate`` and ``export``."""

from __future__ import annotations

import argparse
from pathlib import Path

from riskscore.cli._paths import path_argument
from riskscore.policy import AlertPolicy

HELP = (
    "alert policy TOML file (thresholds per age band, guards; see docs/policy.md and "
    "`riskscore policy check`); default: the built-in policy (`riskscore policy default` "
    "prints it)"
)


def add_policy_option(parser: argparse._ActionsContainer) -> None:
    """Add ``--policy FILE`` to a subcommand."""
    parser.add_argument("--policy", type=path_argument, metavar="FILE", help=HELP)


def load_policy(path: Path | None) -> AlertPolicy:
    """The policy in ``path``, or the default one.

    Raises
    ------
    PolicyFileError
        The file is invalid (the message names the file and the key); the CLI
        prints it and exits with status 2.
    FileNotFoundError
        No file at ``path``.
    """

    return AlertPolicy.default() if path is None else AlertPolicy.from_toml(path)
