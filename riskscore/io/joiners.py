"""Zero-width joiners that are part of how a name is written, not hidden characters.

The zero width non-joiner (U+200C) and joiner (U+200D) are format characters, which ids
may not hold (:func:`riskscore.io.schema.has_hidden_character`): between Latin letters they
draw nothing, and ``"bo\u200cb"`` reads as ``bob``. But Persian, Urdu and Kurdish names
need the non-joiner (``\u0639\u0644\u06cc\u200c\u0631\u0636\u0627``, Alireza), Indic scripts
both joiners after a virama (Sinhala's ``\u0dc1\u0dca\u200d\u0dbb\u0dd3``, Sri), and emoji
sequences the joiner (a technologist, U+1F469 U+200D U+1F4BB): there each changes what is
drawn, so a moderator sees it. A joiner is allowed where it changes the drawing, after the
contextual rules of IDNA (RFC 5892, appendix A.1 and A.2) and Unicode's emoji sequences:

- either joiner right after a virama (canonical combining class 9), the non-joiner only
  before a letter (a conjunct it keeps from forming; at the end it draws nothing);
- the non-joiner between two Arabic-script letters, the one before it joining to the
  left (not one of :data:`_RIGHT_JOINING`, such as alef, dal or waw, after which a
  non-joiner changes nothing), neither joining to no side (hamza, a presentation form:
  :data:`_NON_JOINING`), marks in between skipped;
- the joiner between two pictographs (Unicode category So), the one before it optionally
  followed by the emoji presentation selector U+FE0F or a skin-tone modifier (the one
  after may be an arrow of :data:`_ARROW_EMOJI`).

Everywhere else a joiner is hidden, as every other format character is.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["JOINERS", "hidden_joiner"]

#: The zero width non-joiner and joiner.
JOINERS: Final = "\u200c\u200d"
_ZWNJ: Final = "\u200c"
#: Canonical combining class of a virama (IDNA's ``Virama`` test).
_VIRAMA: Final = 9
#: Arabic letters that join only to the right (Unicode ArabicShaping.txt, joining type R):
#: a non-joiner after one draws nothing (as after one of :data:`_NON_JOINING`).
_RIGHT_JOINING: Final = frozenset(
    "\u0622\u0623\u0624\u0625\u0627\u0629\u062f\u0630\u0631\u0632\u0648\u0671\u0672"
    "\u0673\u0675\u0676\u0677"
    + "".join(map(chr, range(0x0688, 0x069A)))
    + "\u06c0"
    + "".join(map(chr, range(0x06C3, 0x06CC)))
    + "\u06cd\u06cf\u06d2\u06d3\u06d5\u06ee\u06ef\u0759\u075a\u075b\u076b\u076c\u0771"
    "\u0773\u0774\u0778\u0779\u088e\u08aa\u08ab\u08ac\u08ae\u08b1\u08b2\u08b9"
    + "".join(map(chr, range(0x0870, 0x0883)))
)
#: Arabic letters that join to neither side (joining type U): a non-joiner before one
#: draws nothing either. With them the presentation forms (U+FB50..U+FDFF, U+FE70..U+FEFF)
#: and the mathematical letters (U+1EE00..U+1EEFF), each one fixed glyph.
_NON_JOINING: Final = frozenset("\u0621\u0674\u06e5\u06e6\u0887\u08ad")
#: After a pictograph and before the joiner of an emoji sequence: the emoji presentation
#: selector and the five skin-tone modifiers.
_EMOJI_TAIL: Final = frozenset("\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")
#: Math arrows (Unicode category Sm) with the emoji presentation selector: emoji that end
#: ZWJ sequences (Emoji 15.1, head shaking horizontally U+1F642 U+200D U+2194 U+FE0F).
_ARROW_EMOJI: Final = frozenset(("\u2194\ufe0f",))


def _arabic_letter(char: str) -> bool:
    """Whether ``char`` is an Arabic-script letter that joins to a side (not
    :data:`_NON_JOINING`, not a presentation form)."""
    code = ord(char)
    return (
        unicodedata.category(char).startswith("L")
        and unicodedata.name(char, "").startswith("ARABIC ")
        and char not in _NON_JOINING
        and not (0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF or code >= 0x1EE00)
    )


def _allowed(text: str, i: int) -> bool:
    """Whether the joiner ``text[i]`` changes how ``text`` is drawn (the module's rules)."""
    if i > 0 and unicodedata.combining(text[i - 1]) == _VIRAMA:
        # the joiner shows a half form or chillu at a word's end; the non-joiner only
        # keeps a conjunct from forming, so it needs a letter to come after it
        return text[i] != _ZWNJ or (
            i + 1 < len(text) and unicodedata.category(text[i + 1]).startswith("L")
        )
    if text[i] == _ZWNJ:
        before, after = i - 1, i + 1
        while before >= 0 and unicodedata.category(text[before]) == "Mn":
            before -= 1
        while after < len(text) and unicodedata.category(text[after]) == "Mn":
            after += 1
        return (
            before >= 0
            and after < len(text)
            and _arabic_letter(text[before])
            and text[before] not in _RIGHT_JOINING
            and _arabic_letter(text[after])
        )
    before = i - 1
    while before >= 0 and text[before] in _EMOJI_TAIL:
        before -= 1
    return (
        before >= 0
        and i + 1 < len(text)
        and unicodedata.category(text[before]) == "So"
        and (unicodedata.category(text[i + 1]) == "So" or text[i + 1 : i + 3] in _ARROW_EMOJI)
    )


def hidden_joiner(text: str) -> bool:
    """Whether ``text`` holds a joiner that draws nothing (not where the module's rules
    allow one).

    Examples
    --------
    >>> alireza = "\\u0639\\u0644\\u06cc\\u200c\\u0631\\u0636\\u0627"
    >>> hidden_joiner("bo\\u200cb"), hidden_joiner(alireza)
    (True, False)
    >>> hidden_joiner("\\u0627\\u200c\\u0628"), hidden_joiner("\\U0001f469\\u200d\\U0001f4bb")
    (True, False)
    >>> hidden_joiner("\\u0dc1\\u0dca\\u200d\\u0dbb\\u0dd3"), hidden_joiner("\\u200d")
    (False, True)
    """
    return any(ch in JOINERS and not _allowed(text, i) for i, ch in enumerate(text))
