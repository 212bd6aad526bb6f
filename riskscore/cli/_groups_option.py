"""The ``--max-room-members N`` option shared by ``score``, ``stream``, ``accounts`` and
``policy tune``."""

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


def add_max_room_members_option(
    parser: argparse.ArgumentParser, *, what: str = "", option_of_one_action: bool = False
) -> None:
    """Add ``--max-room-members N`` to a subcommand (``what`` prefixes its help; with
    ``option_of_one_action`` its default is None, filled in by the one action it is an
    option of, so that the others can refuse it)."""
    parser.add_argument(
        "--max-room-members",
        type=_at_least_two,
        default=None if option_of_one_action else DEFAULT_MAX_ROOM_MEMBERS,
        metavar="N",
        help=f"{what}rooms of more accounts than this (room_size, the sender included) are "
        "broadcasts: their message and media events are set aside and counted, not "
        f"scored (default: {DEFAULT_MAX_ROOM_MEMBERS} accounts)",
    )
