"""The ``riskscore`` command line: :func:`main` (the console script) and one module per
subcommand (``generate``, ``train``, ``score``, ``stream``, ``policy``, ``evaluate``,
``queue``, ``report``), each calling one plain library function.

The top of the package: it may import every other subpackage, and none imports it.
"""

from riskscore.cli.entrypoint import COMMANDS, main

__all__ = ["COMMANDS", "main"]
