"""One text id is checked in Python (``text_id_problem``: a review queue reads back every
stored id through it), a column of them in Arrow (``_bad_text_ids``): the two must give
the same reason for every text, or an id the events accept could poison the queue, or the
reverse. Was: the one-id check built a one-value Arrow array, about 170 us per id, so
reading a queue of 100,000 items took about 20 s."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.io.ids import _bad_text_ids, text_id_problem

# Whitespace of every kind, controls, format characters (zero-width, bidi), separators.
_TRICKY = st.sampled_from(
    [" ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2000",
     "\u200a", "\u200b", "\u2028", "\u2029", "\u202e", "\u202f", "\u205f", "\u3000", "\ufeff",
     "\u180e", "\x00", "\x7f", "é", "中", "\U0001d11e"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_TRICKY, st.characters(exclude_categories=["Cs"])), max_size=12))
def test_one_id_and_a_column_of_ids_are_refused_alike(chars: list[str]) -> None:
    value = "".join(chars)
    for limit in (4, 256):
        column = _bad_text_ids(np.asarray([value], dtype=object), limit).get(0)
        assert text_id_problem(value, max_length=limit) == column, repr(value)
