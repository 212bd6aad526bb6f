"""The ``--errors {raise,quarantine}`` option of the commands that read events in batch,
and printing the rows a command set aside with ``--errors quarantine`` (private)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_errors_option", "render_quarantine"]


def add_errors_option(
    parser: argparse.ArgumentParser, *, what: str = "", also: str = "", given_only: bool = False
) -> None:
    """Add ``--errors`` to a subcommand (``what``: a prefix naming the action that takes it;
    ``also``: a sentence added to the help; ``given_only``: no default, for a subcommand
    that tells a given option from an omitted one, the command then reading None as
    ``raise``)."""
    parser.add_argument(
        "--errors",
        choices=("raise", "quarantine"),
        default=None if given_only else "raise",
        help=f"{what}refuse bad rows (raise) or set them aside with a reason (quarantine)"
        + (f"; {also}" if also else "")
        + (" (default: raise)" if given_only else ""),
    )


def render_quarantine(result: dict[str, Any]) -> None:
    """The quarantine file and its counts by reason, when rows were set aside.

    ``result`` holds ``quarantine_file`` (None when no row was set aside),
    ``quarantined`` and ``quarantine_counts``.
    """
    if result["quarantine_file"] is None:
        return
    n = result["quarantined"]
    print(f"quarantined: {result['quarantine_file']} ({n} row{'s' if n != 1 else ''})")
    for why, n in result["quarantine_counts"].items():
        print(f"  {n:6d}  {why}")
