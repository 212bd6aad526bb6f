"""Printing the rows a command set aside with ``--errors quarantine`` (private)."""

from __future__ import annotations

from typing import Any


def render_quarantine(result: dict[str, Any]) -> None:
    """The quarantine file and its counts by reason, when rows were set aside.

    ``result`` holds ``quarantine_file`` (None when no row was set aside),
    ``quarantined`` and ``quarantine_counts``.
    """
    if result["quarantine_file"] is None:
        return
    n = result["quarantined"]
    print(f"quarantined: {result['quarantine_file']} ({n} row{'s' if n != 1 else ''})")
    for why, n in result["quarantine_counts"].items():
        print(f"  {n:6d}  {why}")
