"""Options that belong to one source of a command's data (private): ``train``'s worlds,
``--data`` or ``--from-queue``; ``evaluate``'s ``--data`` or ``--worlds``.

An option of a source not used would be ignored without a word (a researcher believes
they set it), so it is refused; the defaults of the source used are filled in after.
Such options are declared with ``default=None`` and their default named in their help.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any


def option_name(dest: str) -> str:
    """The option of an argparse ``dest``.

    Examples
    --------
    >>> option_name("test_fraction")
    '--test-fraction'
    """
    return "--" + dest.replace("_", "-")


def check_source_options(
    args: argparse.Namespace,
    sources: Mapping[str, Mapping[str, Any]],
    used: str,
    *,
    fill_all: bool = False,
) -> None:
    """Refuse an option of another source than ``used``, then fill in ``used``'s defaults
    (every source's with ``fill_all``, for a library function that checks all its numbers).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments; an option not given is None.
    sources : mapping of str to mapping of str to object
        Each source's name (as a message says it) and its options' ``dest`` and default.
    used : str
        The source the command reads.
    fill_all : bool, default False
        Fill in the defaults of every source, not only of ``used``.

    Raises
    ------
    ValueError
        An option of another source was given: the message names it and its source.

    Examples
    --------
    >>> args = argparse.Namespace(worlds=None, conversations=None, bootstrap=7)
    >>> sources = {"--worlds": {"conversations": 9}, "--data": {"bootstrap": 200}}
    >>> check_source_options(args, sources, "--data")
    >>> args.bootstrap, args.conversations
    (7, None)
    >>> check_source_options(args, sources, "--worlds")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: --bootstrap is an option of --data, not of --worlds: it would be ignored; ...
    """
    for source, options in sources.items():
        given = [name for name in options if getattr(args, name) is not None]
        if source != used and given:
            option = option_name(given[0])
            if option == source:  # one source's flag with another's
                raise ValueError(f"{option} and {used} are two sources of data: give one")
            raise ValueError(
                f"{option} is an option of {source}, not of {used}: it would be ignored; "
                "leave it out"
            )
    for source, options in sources.items():
        for name, default in options.items():
            if (fill_all or source == used) and getattr(args, name) is None:
                setattr(args, name, default)
