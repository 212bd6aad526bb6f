"""Subcommands of the ``riskscore`` CLI, one module each.

Each module defines ``NAME``, ``HELP``, ``EXAMPLE`` (shown by ``--help``),
``configure(parser)``, ``run(args, show_progress) -> dict`` (calls one plain
library function and returns a JSON-ready result) and ``render(result)``
(human-readable output). Register a new command by adding it to ``COMMANDS``.
"""

from __future__ import annotations

from types import ModuleType

from riskscore.commands import (
    evaluate,
    export,
    generate,
    policy,
    queue,
    report,
    score,
    stream,
    train,
)

COMMANDS: tuple[ModuleType, ...] = (generate, train, score, stream, policy, evaluate, queue, report)
COMMANDS += (export,)
