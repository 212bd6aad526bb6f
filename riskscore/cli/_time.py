"""Times given on the command line (private)."""

from __future__ import annotations

from datetime import datetime


def parse_epoch(text: str, name: str) -> int:
    """Epoch seconds from ``text``: an integer, or ISO 8601 with a UTC offset.

    Raises
    ------
    ValueError
        Neither form, or an ISO time without an offset (the message names ``--name``).

    Examples
    --------
    >>> parse_epoch("1767225600", "since"), parse_epoch("2026-01-01T00:00:00Z", "since")
    (1767225600, 1767225600)
    """
    try:
        return int(text)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--{name} {text!r} is neither epoch seconds nor ISO 8601") from None
    if stamp.tzinfo is None:
        raise ValueError(f"--{name} {text!r} needs a UTC offset (e.g. Z or +01:00)")
    return int(stamp.timestamp())
