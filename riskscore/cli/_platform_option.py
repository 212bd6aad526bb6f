"""The one ``--platform`` option of the commands that write reports and exports (report,
export, serve): left out, the platform is unnamed; given, it is a name by the rule of
other name options (:func:`~riskscore.moderation.cases.check_name`), never empty."""

from __future__ import annotations

import argparse

from riskscore.moderation.cases import QueueError, check_name

__all__ = ["add_platform_option", "platform_of"]


def add_platform_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, help: str
) -> None:
    """``--platform``: the platform's name (None when not given: :func:`platform_of`)."""
    parser.add_argument("--platform", help=f"{help} (default: none)")


def platform_of(args: argparse.Namespace) -> str:
    """The platform name of ``--platform``, checked before any work: ``""`` (unnamed)
    when it is left out; given, one line of printable text, not empty nor blank.

    Raises
    ------
    QueueError
        A name given that is empty, blank, too long or holds a control character, naming
        the option (one line, exit status 2).

    Examples
    --------
    >>> platform_of(argparse.Namespace(platform=None))
    ''
    >>> platform_of(argparse.Namespace(platform=" "))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    riskscore.moderation.cases.QueueError: --platform: a platform name or id is required ...
    """
    if args.platform is None:
        return ""
    try:
        return check_name(args.platform, "platform")
    except QueueError as exc:
        raise QueueError(f"--platform: {exc}") from None
