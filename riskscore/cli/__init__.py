"""The ``riskscore`` command line: :func:`main` (``console`` is the console script) and
one module per subcommand (``generate``, ``train``, ``score``, ``stream``, ``policy``,
``evaluate``, ``queue``, ``report`` and the others of ``COMMANDS``), each calling one plain
library function.

The top of the package: it may import every other subpackage, and none imports it.
"""

from riskscore.cli.entrypoint import COMMANDS, main

__all__ = ["COMMANDS", "main"]
