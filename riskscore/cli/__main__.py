"""``python -m riskscore.cli``: the same as the ``riskscore`` console script."""

import sys

from riskscore.cli.entrypoint import console

sys.exit(console())
