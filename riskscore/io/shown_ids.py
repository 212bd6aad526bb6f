"""Ids as a person reads them: the one rule by which the moderator console, the command
line's ``riskscore queue`` and ``riskscore score --top`` and the Synapse module's notices
show an account, conversation or room id, so that two ids never read alike."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from riskscore.io.schema import has_hidden_character

__all__ = ["escaped_when_shown", "shown_id"]

#: Characters that draw nothing although they are letters, marks or symbols, so that no
#: hidden-character check (control and format characters) catches them: Unicode's
#: default-ignorable code points outside those categories (the combining grapheme joiner,
#: the Hangul fillers, the Khmer inherent vowels, the Mongolian and other variation
#: selectors) and the blank braille pattern. ``"bob\u3164"`` reads as ``bob``.
_DRAWS_NOTHING: Final = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f"
    "\uffa0\U000e0100-\U000e01ef]"
)
#: Alphabets whose letters pass for one another (Latin ``a`` and Cyrillic U+0430, Latin
#: ``o`` and Greek U+03BF; Armenian, Cherokee and Coptic have Latin look-alikes too, and so
#: have the scripts of Unicode TR39's confusables whose letters copy Latin capitals or small
#: letters: Lisu's U+A4EE is ``A``, Canadian Syllabics' U+15C5 is ``A``, Osage's U+104EA is
#: ``o``; Miao, Warang Citi, Deseret, Tifinagh and the ancient Carian, Lycian and Old
#: Italic), by the first word of a letter's Unicode name: an id that mixes letters of two
#: of them reads as another (``"\u0430dmin"`` or ``"\ua4eedmin"`` as ``admin``), as
#: browsers show such a web address escaped (the mixed-script detection of Unicode TR39,
#: with scripts as Python's :mod:`unicodedata` names letters).
_LOOK_ALIKE_SCRIPTS: Final = frozenset(
    {
        "LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "CHEROKEE", "COPTIC", "LISU", "CANADIAN",
        "OSAGE", "MIAO", "WARANG", "DESERET", "TIFINAGH", "CARIAN", "LYCIAN", "OLD",
    }
)  # fmt: skip


#: A symbol (Unicode category So) in RE2's Unicode tables (Arrow's regular expressions),
#: which may be newer than Python's.
_SYMBOL_RE2: Final = r"^\p{So}$"
#: The blocks where Unicode adds its emoji (U+1F000 Mahjong Tiles up to U+1FAFF Symbols and
#: Pictographs Extended-A), none a letter's look-alike: not the Symbols for Legacy Computing
#: after them, whose segmented digits and outlined capitals read as ASCII.
_EMOJI_BLOCKS: Final = ("\U0001f000", "\U0001faff")


@lru_cache(maxsize=1024)
def _no_agreed_glyph(char: str) -> bool:
    """Whether ``char`` has no agreed glyph: private use (a font's own icon, or nothing)
    or unassigned in Python's Unicode tables, unless RE2's, which may be newer, name it a
    symbol of the emoji blocks (:data:`_EMOJI_BLOCKS`; Python 3.11 reads Unicode 14.0,
    where the emoji of 15.0, the pink heart U+1FA77 among them, are unassigned: they have
    a glyph, which a moderator's browser draws). A newer letter or mark stays escaped:
    Python cannot tell its alphabet, nor count it in a stack of marks (Kawi's U+11F00
    stacks as any mark does).

    Examples
    --------
    >>> _no_agreed_glyph("\\ue000"), _no_agreed_glyph("\\u0378"), _no_agreed_glyph("a")
    (True, True, False)
    """
    category = unicodedata.category(char)
    if category != "Cn":
        return category == "Co"
    if not _EMOJI_BLOCKS[0] <= char <= _EMOJI_BLOCKS[1]:
        return True
    return not pc.match_substring_regex(pa.array([char], pa.string()), _SYMBOL_RE2)[0].as_py()


#: The most combining marks (Unicode categories Mn and Me) one character carries in a
#: script's ordinary text (Hebrew points with cantillation, Thai vowels with tone marks,
#: Tibetan stacks stay within it): more (Zalgo text) are drawn above and below the line,
#: over the text around the id (another case's id, its risk), on a page.
_MAX_STACKED_MARKS: Final = 5


def _stacks_marks(value: str) -> bool:
    """Whether ``value`` holds a run of more than :data:`_MAX_STACKED_MARKS` combining
    marks.

    Examples
    --------
    >>> _stacks_marks("x" + "\u0336" * 6), _stacks_marks("\u05e9\u05b8\u05c1")
    (True, False)
    """
    run = 0
    for ch in value:
        run = run + 1 if unicodedata.category(ch) in ("Mn", "Me") else 0
        if run > _MAX_STACKED_MARKS:
            return True
    return False


def _reads_as_other_text(value: str) -> bool:
    """Whether ``value`` holds a compatibility variant of ASCII (a character whose NFKC
    form is other ASCII text: a fullwidth letter such as U+FF22 for ``B``, the ligature
    U+FB01 for ``fi``, a mathematical letter, a superscript digit, a Roman numeral) or
    letters of two of :data:`_LOOK_ALIKE_SCRIPTS` (a compatibility letter by its NFKC form:
    the micro sign U+00B5 is Greek): text that reads as another id.

    Examples
    --------
    >>> [_reads_as_other_text(t) for t in ("Bob", "\uff22ob", "\u0430dmin", "\u00b5x")]
    [False, True, True, True]
    >>> _reads_as_other_text("\u041c\u0438\u0440"), _reads_as_other_text("caf\u00e9")
    (False, False)
    """
    if value.isascii():
        return False
    scripts: set[str] = set()
    for ch in value:
        ascii_variant, of = _letter_facts(ch)
        if ascii_variant:
            return True
        scripts.update(of)
    return len(scripts) > 1


@lru_cache(maxsize=65536)
def _letter_facts(ch: str) -> tuple[bool, frozenset[str]]:
    """Whether ``ch`` is a compatibility variant of ASCII (its NFKC form other ASCII text),
    and the :data:`_LOOK_ALIKE_SCRIPTS` of the letters of its NFKC form (cached: an id of
    200 characters took 150 us a look without it, a queue page of thousands of ids
    seconds)."""
    compatible = unicodedata.normalize("NFKC", ch)
    if compatible != ch and compatible.isascii():
        return True, frozenset()
    scripts = set()
    for letter in compatible:
        if letter.isascii():
            script = "LATIN" if letter.isalpha() else ""
        elif unicodedata.category(letter).startswith("L"):
            script = unicodedata.name(letter, "").partition(" ")[0]
        else:
            continue
        if script in _LOOK_ALIKE_SCRIPTS:
            scripts.add(script)
    return False, frozenset(scripts)


def _mixes_numbering_systems(value: str) -> bool:
    """Whether ``value`` holds digits of two numbering systems (the mixed-number detection
    of Unicode TR39: ASCII ``7`` beside the Arabic-Indic U+0667), or digits of a system
    other than ASCII's beside Latin letters: Gurmukhi's zero U+0A66 in ``b\u0a66b`` reads
    as ``bob``, the Arabic-Indic one U+0661 in ``user\u0661`` as ``user1``.

    Examples
    --------
    >>> _mixes_numbering_systems("b\u0a66b"), _mixes_numbering_systems("7\u0667")
    (True, True)
    >>> _mixes_numbering_systems("\u0639\u0644\u064a\u0661"), _mixes_numbering_systems("bob7")
    (False, False)
    """
    zeros = {ord(ch) - unicodedata.decimal(ch) for ch in value if unicodedata.category(ch) == "Nd"}
    if len(zeros) > 1:
        return True
    if not zeros - {ord("0")}:
        return False
    return any(
        ch.isalpha() if ch.isascii() else unicodedata.name(ch, "").startswith("LATIN ")
        for ch in value
    )


@lru_cache(maxsize=65536)  # a queue page shows the same ids at each look
def escaped_when_shown(text: str) -> bool:
    """Whether :func:`shown_id` shows ``text`` with its characters beyond ASCII escaped: as
    written it reads as other text (not in Unicode's composed form, a character a moderator
    cannot see or that draws nothing, one of no agreed glyph (private use, unassigned), a
    compatibility variant of ASCII, letters of two alphabets that pass for one another,
    digits of another numbering system beside Latin letters or ASCII digits, a stack of
    combining marks).

    Examples
    --------
    >>> escaped_when_shown("admin"), escaped_when_shown("\\u0430dmin"), escaped_when_shown("7")
    (False, True, False)
    """
    if text.isascii():  # composed, drawn, of one alphabet: only a control character hides
        return has_hidden_character(text)
    return (
        not unicodedata.is_normalized("NFC", text)
        or has_hidden_character(text)
        or _DRAWS_NOTHING.search(text) is not None
        or _reads_as_other_text(text)
        or _mixes_numbering_systems(text)
        or _stacks_marks(text)
        or any(map(_no_agreed_glyph, text))
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
    selector), a compatibility variant of ASCII (a fullwidth letter, the ligature U+FB01 for
    ``fi``) or letters of two alphabets that pass for one another (``admin`` with a Cyrillic
    U+0430 for its ``a``) or digits of another numbering system beside Latin letters or ASCII
    digits (``b`` and Gurmukhi's zero U+0A66 read as ``bob``) is shown with its characters
    beyond ASCII escaped: as written it reads as another account; so is text with a stack
    of more than five combining marks on one character, which a page draws over the text
    around it, and text holding a character of no agreed glyph (private use, unassigned),
    which a font may draw as nothing.

    Examples
    --------
    >>> shown_id(7), shown_id("7"), shown_id("user-7"), shown_id(" 7")
    ('7', '"7"', 'user-7', '" 7"')
    >>> print(shown_id("caf\\u00e9"), shown_id("cafe\\u0301"), shown_id("cafe\\u200b"))
    café "cafe\\u0301" "cafe\\u200b"
    >>> print(shown_id("bob\\u3164"), shown_id("\\u2800"))
    "bob\\u3164" "\\u2800"
    >>> print(shown_id("\\uff22ob"), shown_id("\\u0430dmin"), shown_id("\\u041c\\u0438\\u0440"))
    "\\uff22ob" "\\u0430dmin" Мир
    """
    if not isinstance(value, str):
        return str(value)
    if escaped_when_shown(value):
        return json.dumps(value)
    reads_as_number = value.lstrip("-").isdigit() and value.isascii()
    if reads_as_number or value != " ".join(value.split()) or value.startswith('"'):
        return json.dumps(value, ensure_ascii=False)
    return value
