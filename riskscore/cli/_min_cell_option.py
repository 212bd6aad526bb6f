"""The ``--min-cell N`` option of ``report`` and ``export``: one disclosure control for
everything a platform publishes about one queue."""

from __future__ import annotations

import argparse

from riskscore.cli._time import whole_number
from riskscore.moderation.disclosure import DEFAULT_MIN_CELL


def add_min_cell_option(parser: argparse._ActionsContainer) -> None:
    """Add ``--min-cell N`` (default :data:`~riskscore.moderation.disclosure.DEFAULT_MIN_CELL`)."""
    parser.add_argument(
        "--min-cell",
        type=whole_number(0),
        default=DEFAULT_MIN_CELL,
        help="disclosure control: withhold counts from 1 to N-1, and further figures so that "
        "none can be worked out from the totals (0 or 1: exact figures, for a regulator "
        f"under confidentiality). default: {DEFAULT_MIN_CELL}",
    )
