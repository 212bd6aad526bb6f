"""An argument parser that refuses an option given twice (private).

argparse keeps the last of ``--policy a.toml --policy b.toml`` without a word, so a
command could run with another policy, key or output than the one the operator read
first on the line. Every option that takes one value (or is a flag) may be given once;
options meant to repeat (``action="append"``) still may.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

from riskscore.cli._terminal import one_line

__all__ = ["OnceParser"]


def _once(base: type[argparse.Action]) -> type[argparse.Action]:
    """``base`` that raises when its option was already given in this parse."""

    class Once(base):  # type: ignore[misc,valid-type]
        def __call__(
            self,
            parser: argparse.ArgumentParser,
            namespace: argparse.Namespace,
            values: Any,
            option_string: str | None = None,
        ) -> None:
            given: set[str] = getattr(parser, "_given", set())
            if option_string is not None and self.dest in given:
                raise argparse.ArgumentError(self, "given more than once: give it once")
            given.add(self.dest)
            super().__call__(parser, namespace, values, option_string)

    Once.__name__ = f"Once{base.__name__}"
    return Once


class OnceParser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` whose single-value options and flags may be given
    once per command line (its subcommands' parsers are of this class too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        store = _once(argparse._StoreAction)
        self.register("action", None, store)
        self.register("action", "store", store)
        for name, base in (
            ("store_const", argparse._StoreConstAction),
            ("store_true", argparse._StoreTrueAction),
            ("store_false", argparse._StoreFalseAction),
        ):
            self.register("action", name, _once(base))
        self._given: set[str] = set()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._given = set()  # each parse counts afresh
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        # a value given on the command line may hold a line break or a terminal's escape
        super().error(one_line(message))
