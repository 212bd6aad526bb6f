"""Ids as a person reads them: the one rule by which the moderator console and the
command line's ``riskscore queue`` show an account or conversation id, so that two ids
never read alike."""

from __future__ import annotations

import json
import unicodedata

from riskscore.io.schema import has_hidden_character

__all__ = ["shown_id"]


def shown_id(value: object) -> str:
    """An account or conversation id as a person reads it: an integer as its digits, text
    as written, except text a moderator would read as another id, shown as JSON (quoted,
    as ``riskscore queue --decide`` takes it back): a whole number (``"7"`` beside the
    account ``7``: two ids), text a page shows with its spaces collapsed (``" 7"``) and
    text that starts with a quote. Text not in Unicode's composed form (NFC: ``e`` and a
    combining accent, where ``é`` is one character) or holding a character a moderator
    cannot see (:func:`~riskscore.io.schema.has_hidden_character`: a zero-width space, a
    bidi override) is shown with its characters beyond ASCII escaped: as written it reads
    as another account.

    Examples
    --------
    >>> shown_id(7), shown_id("7"), shown_id("user-7"), shown_id(" 7")
    ('7', '"7"', 'user-7', '" 7"')
    >>> print(shown_id("caf\\u00e9"), shown_id("cafe\\u0301"), shown_id("cafe\\u200b"))
    café "cafe\\u0301" "cafe\\u200b"
    """
    if not isinstance(value, str):
        return str(value)
    if not unicodedata.is_normalized("NFC", value) or has_hidden_character(value):
        return json.dumps(value)
    reads_as_number = value.lstrip("-").isdigit() and value.isascii()
    if reads_as_number or value != " ".join(value.split()) or value.startswith('"'):
        return json.dumps(value, ensure_ascii=False)
    return value
