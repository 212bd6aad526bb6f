"""The ``--max-room-members N`` option shared by ``score``, ``stream`` and ``accounts``."""

from __future__ import annotations

import argparse

from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS


def _at_least_two(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a room size: expected a whole number of accounts, 2 or more"
        )
    return value


def add_max_room_members_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-room-members N`` to a subcommand."""
    parser.add_argument(
        "--max-room-members",
        type=_at_least_two,
        default=DEFAULT_MAX_ROOM_MEMBERS,
        metavar="N",
        help="rooms of more accounts than this (room_size, the sender included) are "
        "broadcasts: their message and media events are set aside and counted, not "
        "scored (default: %(default)s accounts)",
    )
