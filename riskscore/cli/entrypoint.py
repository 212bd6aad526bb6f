"""The ``riskscore`` command line: :func:`main`, the console script's entry point.

Each subcommand lives in its own module of :mod:`riskscore.cli` and calls one plain
library function; tests call :func:`main` with a list of arguments. Progress bars
appear only on a terminal; ``--json`` prints the result as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from types import ModuleType

from riskscore.cli import (
    compare,
    evaluate,
    export,
    generate,
    monitor,
    policy,
    queue,
    report,
    score,
    stream,
    train,
)
from riskscore.exceptions import RiskscoreError

__all__ = ["COMMANDS", "main"]

#: The subcommands, in ``--help`` order. Each module defines ``NAME``, ``HELP``, ``EXAMPLE``
#: (shown by ``--help``), ``configure(parser)``, ``run(args, show_progress) -> dict`` (calls
#: one plain library function and returns a JSON-ready result) and ``render(result)``
#: (human-readable output). Register a new command by adding it here.
COMMANDS: tuple[ModuleType, ...] = (
    generate,
    train,
    score,
    stream,
    policy,
    evaluate,
    queue,
    report,
    export,
    monitor,
    compare,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="riskscore",
        description="Metadata-only grooming-risk scoring of conversations, with alerts for "
        "human review. Reads no message content.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        child = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.HELP,
            epilog=command.EXAMPLE,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.configure(child)
        child.add_argument("--json", action="store_true", help="print the result as JSON")
        child.set_defaults(_command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``riskscore`` command line; return the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0 on success, 2 on bad input (the error is printed to stderr).
    """
    args = build_parser().parse_args(argv)
    command = args._command
    show = sys.stderr.isatty() and not args.json
    try:
        result = command.run(args, show)
    except (RiskscoreError, FileNotFoundError, ValueError) as exc:
        print(f"riskscore {args.command}: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, default=str))
    else:
        command.render(result)
    # a command may ask for another success code (monitor --fail-on-drift)
    return int(result.get("exit_code", 0))
