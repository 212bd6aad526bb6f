"""The ``--max-future-s SECONDS`` option: how far after the reference time an event may be
dated (:class:`riskscore.io.timestamps.FutureLimit`). One definition for the commands that
read events in batch (``score``, ``accounts``, ``monitor``, ``report``, ``compare``,
``train``; the reference is the time of reading) and for the online scorer's options
(``stream``, ``serve``; the reference is the scorer's clock, ``--time-source``)."""

from __future__ import annotations

import argparse

from riskscore.cli._time import seconds
from riskscore.io.timestamps import DEFAULT_MAX_FUTURE_S, DEFAULT_READ_MAX_FUTURE_S

__all__ = ["add_max_future_s_option"]


def add_max_future_s_option(
    parser: argparse.ArgumentParser, *, online: bool = False, quarantine: bool = False
) -> None:
    """Add ``--max-future-s SECONDS`` to a subcommand (``online``: the scorer's wording;
    ``quarantine``: the command has ``--errors quarantine``, which the help then names)."""
    if online:
        what = (
            "events dated more than this many seconds ahead of the clock (--time-source) "
            "are refused"
        )
    else:
        fate = "refused, or set aside with --errors quarantine" if quarantine else "refused"
        what = (
            "events dated more than this many seconds after the time of reading are bad rows "
            f"({fate}); inf reads data dated ahead on purpose (replayed or synthetic)"
        )
    parser.add_argument(
        "--max-future-s",
        type=seconds,
        default=DEFAULT_MAX_FUTURE_S if online else DEFAULT_READ_MAX_FUTURE_S,
        metavar="SECONDS",
        help=f"{what} (default: %(default)s s, {'one day' if online else 'five years'})",
    )
