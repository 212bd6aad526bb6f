"""Progress display shared by the subcommands (private)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def steps(names: Sequence[str], *, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A step-by-step progress bar on stderr, shown only when ``enabled`` (a terminal)."""

    bar = tqdm(total=len(names), disable=not enabled, unit="step", leave=False)

    def advance(name: str) -> None:
        if bar.n or name != names[0]:
            bar.update(1)
        bar.set_description(name)

    try:
        yield advance
    finally:
        bar.update(bar.total - bar.n)
        bar.close()
