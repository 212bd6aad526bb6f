"""Hostile review 50: the strength words, ``max_channel`` and the older-account words."""

from __future__ import annotations

import pytest

from riskscore.model.scores import CLEAR_PUSH, STRONG_PUSH, Reason, is_reason_text, strength_text


@pytest.mark.parametrize(
    ("contribution", "words", "shown"),
    [
        (1.996, "strongly raises risk", "+2.00"),
        (STRONG_PUSH - 1e-9, "strongly raises risk", "+2.00"),
        (0.9951, "raises risk", "+1.00"),
        (CLEAR_PUSH - 1e-12, "raises risk", "+1.00"),
        (1.994, "raises risk", "+1.99"),
        (0.994, "slightly raises risk", "+0.99"),
    ],
)
def test_the_strength_words_agree_with_the_push_shown(
    contribution: float, words: str, shown: str
) -> None:
    """Was: ``encrypted (raises risk, +2.00)`` and ``(slightly raises risk, +1.00)``: the
    words judged the unrounded push, so a moderator read a push the docs call strong ("from
    +2") named "raises risk" beside it. The words now follow the number the text shows."""
    text = str(Reason.of("max_channel", 4.0, contribution))
    assert f"encrypted ({words}, {shown})" in text
    assert strength_text(contribution) == words
    assert is_reason_text(text)
