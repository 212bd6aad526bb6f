"""Shared pytest set-up: the longest tests start first.

``make test`` runs two workers, one test file each at a time (``--dist loadfile``), in
collection order. The README test alone takes minutes; collected late, it ran on one
worker after the other had finished. Starting the ``slow`` tests and the notebooks first
lets the two workers end together.
"""

from __future__ import annotations

import pytest


def _start_rank(item: pytest.Item) -> int:
    if item.get_closest_marker("slow") is not None:
        return 0
    if item.path.suffix == ".ipynb":
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests, then notebooks, then the rest, each in collection order (a stable sort)."""
    items.sort(key=_start_rank)
