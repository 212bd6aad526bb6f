"""The note on the columns of an input that were not read (private)."""

from __future__ import annotations

from riskscore.io.raw import OTHER_NAMES, OTHER_NAMES_NOTE, show

#: Unread column names shown in the note; more are counted.
SHOWN = 10


def unread_note(names: list[str]) -> str:
    """The note on the input's columns that are not schema v1 columns (never read); names
    are escaped and cut (:func:`riskscore.io.raw.show`), and those never kept
    (:data:`~riskscore.io.raw.OTHER_NAMES`) are said to be so."""
    shown = ", ".join(OTHER_NAMES_NOTE if n == OTHER_NAMES else show(n) for n in names[:SHOWN])
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return (
        f"note: column(s) not read, not in schema v1: {shown}{more}; if one holds a schema "
        "field under another name, rename it (docs/schema.md)"
    )
