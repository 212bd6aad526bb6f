"""The ``--errors {raise,quarantine}`` option of the commands that read events in batch,
printing the rows a command set aside with ``--errors quarantine``, and the hint of a
refusal in the command line's words (private)."""

from __future__ import annotations

import argparse
from typing import Any

from riskscore._words import plural
from riskscore.io.problems import QUARANTINE_HINT
from riskscore.io.validate import ERRORS

__all__ = ["add_errors_option", "command_line_hint", "render_quarantine"]


def add_errors_option(
    parser: argparse.ArgumentParser, *, what: str = "", also: str = "", given_only: bool = False
) -> None:
    """Add ``--errors`` to a subcommand (``what``: a prefix naming the action that takes it;
    ``also``: a sentence added to the help; ``given_only``: no default, for a subcommand
    that tells a given option from an omitted one, the command then reading None as
    ``raise``)."""
    parser.add_argument(
        "--errors",
        choices=ERRORS,
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
    print(f"quarantined: {result['quarantine_file']} ({plural(result['quarantined'], 'row')})")
    for why, n in result["quarantine_counts"].items():
        print(f"  {n:6,d}  {why}")


def command_line_hint(message: str, args: argparse.Namespace) -> str:
    """``message`` with the library's hint on bad rows (``errors='quarantine'``, the keyword
    of :func:`riskscore.read_messages`) in the words of the command that refused them:
    its ``--errors quarantine``, or, for a command without that option, the command that
    lists every bad row.

    Examples
    --------
    >>> text = f"column 'channel', row 0: 'x' is not recognised (1 more bad row; {QUARANTINE_HINT})"
    >>> print(command_line_hint(text, argparse.Namespace(command="score", errors="raise")))
    ... # doctest: +ELLIPSIS
    column 'channel', ... (1 more bad row; pass --errors quarantine to set them aside and ...)
    >>> print(command_line_hint(text, argparse.Namespace(command="monitor")))  # doctest: +ELLIPSIS
    column 'channel', ... (1 more bad row; monitor takes no --errors: `riskscore score EVENTS ...)
    """
    if QUARANTINE_HINT not in message:
        return message
    if getattr(args, "errors", None) is not None:  # None: policy check, which has no such choice
        hint = "pass --errors quarantine to set them aside and keep the rest"
    else:
        command = " ".join(
            str(part) for part in (args.command, getattr(args, "action", None)) if part
        )
        hint = (
            f"{command} takes no --errors: `riskscore score EVENTS --out DIR --errors "
            "quarantine` lists every bad row with its reason in DIR/quarantine.jsonl"
        )
    return message.replace(QUARANTINE_HINT, hint)
