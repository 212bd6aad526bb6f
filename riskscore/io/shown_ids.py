"""Ids as a person reads them: the one rule by which the moderator console and the
command line's ``riskscore queue`` show an account or conversation id, so that two ids
never read alike."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Final

from riskscore.io.schema import has_hidden_character

__all__ = ["shown_id"]

#: Characters that draw nothing although they are letters, marks or symbols, so that no
#: hidden-character check (control and format characters) catches them: Unicode's
#: default-ignorable code points outside those categories (the combining grapheme joiner,
#: the Hangul fillers, the Khmer inherent vowels, the Mongolian and other variation
#: selectors) and the blank braille pattern. ``"bob\u3164"`` reads as ``bob``.
_DRAWS_NOTHING: Final = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f"
    "\uffa0\U000e0100-\U000e01ef]"
)


def shown_id(value: object) -> str:
    """An account or conversation id as a person reads it: an integer as its digits, text
    as written, except text a moderator would read as another id, shown as JSON (quoted,
    as ``riskscore queue --decide`` takes it back): a whole number (``"7"`` beside the
    account ``7``: two ids), text a page shows with its spaces collapsed (``" 7"``) and
    text that starts with a quote. Text not in Unicode's composed form (NFC: ``e`` and a
    combining accent, where ``é`` is one character) or holding a character a moderator
    cannot see (:func:`~riskscore.io.schema.has_hidden_character`: a zero-width space, a
    bidi override; or one that draws nothing, such as a Hangul filler or a variation
    selector) is shown with its characters beyond ASCII escaped: as written it reads as
    another account.

    Examples
    --------
    >>> shown_id(7), shown_id("7"), shown_id("user-7"), shown_id(" 7")
    ('7', '"7"', 'user-7', '" 7"')
    >>> print(shown_id("caf\\u00e9"), shown_id("cafe\\u0301"), shown_id("cafe\\u200b"))
    café "cafe\\u0301" "cafe\\u200b"
    >>> print(shown_id("bob\\u3164"), shown_id("\\u2800"))
    "bob\\u3164" "\\u2800"
    """
    if not isinstance(value, str):
        return str(value)
    if (
        not unicodedata.is_normalized("NFC", value)
        or has_hidden_character(value)
        or _DRAWS_NOTHING.search(value)
    ):
        return json.dumps(value)
    reads_as_number = value.lstrip("-").isdigit() and value.isascii()
    if reads_as_number or value != " ".join(value.split()) or value.startswith('"'):
        return json.dumps(value, ensure_ascii=False)
    return value
