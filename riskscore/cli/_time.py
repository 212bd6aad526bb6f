"""Times given on the command line (private): one parser for every command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def parse_epoch(text: str, name: str, *, end_of_day: bool = False) -> int:
    """Epoch seconds from ``text``: an integer, a day ``YYYY-MM-DD`` (UTC), or ISO 8601
    with a UTC offset.

    A day is its first second; with ``end_of_day`` it is the first second of the next day,
    so that the day is included in a period whose end is excluded (``export --to``).

    Raises
    ------
    ValueError
        None of the forms, or an ISO time without an offset (the message names ``--name``).

    Examples
    --------
    >>> parse_epoch("1767225600", "since"), parse_epoch("2026-01-01T00:00:00Z", "since")
    (1767225600, 1767225600)
    >>> parse_epoch("2026-01-01", "from"), parse_epoch("2026-01-01", "to", end_of_day=True)
    (1767225600, 1767312000)
    """
    try:
        return int(text)
    except ValueError:
        pass
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            return int((day + timedelta(days=1 if end_of_day else 0)).timestamp())
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--{name} {text!r} is neither epoch seconds, YYYY-MM-DD nor ISO 8601"
        ) from None
    if stamp.tzinfo is None:
        raise ValueError(f"--{name} {text!r} needs a UTC offset (e.g. Z or +01:00)")
    return int(stamp.timestamp())
