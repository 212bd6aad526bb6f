"""Checks of one value, for refusing one event without a table (private).

The online scorer refuses a bad event by the batch validator's rules. Building a one-row
table for it costs about a millisecond, so each column's rules also check one value of the
plain Python kinds (:data:`PLAIN_KINDS`) beside where they are defined
(:func:`riskscore.io.ids.one_id_problem`, :func:`riskscore.io.timestamps.one_timestamp_problem`,
:func:`riskscore.io.columns.one_age_problem`, ...), with the same rule and the same reason
(the number rules by the very source of :func:`riskscore.io.number_rules.number_pass`).
A value of another kind raises :class:`Undecided`, and the one-row table decides
(:func:`riskscore.io.validate.quick_refusal`).
"""

from __future__ import annotations

from typing import Final

__all__ = ["PLAIN_KINDS", "Undecided"]

#: The kinds of value a check of one value decides (``type(value)`` exactly: a numpy
#: scalar, a decimal or a date is left to the column check).
PLAIN_KINDS: Final = frozenset({int, float, str, bool, type(None)})


class Undecided(Exception):  # noqa: N818 (not an error: the column check decides)
    """A value a check of one value leaves to its column's check (a kind other than
    :data:`PLAIN_KINDS`, or a rule only a table applies)."""
