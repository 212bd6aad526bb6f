"""The rule of a decision's note: a moderator's short factual summary of the decision,
never message text. One rule for every way a decision is recorded
(:meth:`~riskscore.moderation.queue.ReviewQueue.decide`, which the console's decision
form and ``riskscore queue --decide ... --note`` both call).

riskscore never accepts, stores or logs message text. A note is stored in the audit log
and exported with it, so a note that quotes speech (text in quotation marks, or after
"wrote:" or "said to him:") is refused, as is one longer than a summary needs
(:data:`~riskscore.moderation.cases.MAX_NOTE_CHARS`).
"""

from __future__ import annotations

import re
from typing import Final

from riskscore.io.schema import has_hidden_character
from riskscore.moderation.cases import MAX_NOTE_CHARS, QueueError

__all__ = ["check_note"]

#: Why a note is refused, after what was found in it.
_WHY: Final = (
    "notes describe the decision, never quote messages (riskscore stores no message text): "
    "say what was decided and why, in your own words"
)
#: Quotation marks of every script that pair (Unicode's Quotation_Mark property, the
#: apostrophes apart): any two with a letter or digit between them enclose a quote.
_MARKS: Final = (
    '"\u00ab\u00bb\u201a\u201c\u201d\u201e\u201f\u2039\u203a\u2e42'
    "\u300c\u300d\u300e\u300f\u301d\u301e\u301f\ufe41\ufe42\ufe43\ufe44\uff02\uff07\uff62\uff63"
)
#: The single quotation marks that are also apostrophes (``adult's``, or with U+2019): they
#: enclose a quote only when the first follows no letter and the second precedes none.
_SINGLE: Final = "'\u2018\u2019\u201b"
_QUOTED: Final = re.compile(
    rf"[{_MARKS}][^{_MARKS}]*?\w[^{_MARKS}]*?[{_MARKS}]"
    rf"|(?<!\w)[{_SINGLE}][^{_SINGLE}]*?\w[^{_SINGLE}]*?[{_SINGLE}](?!\w)"
)
#: Verbs that introduce speech; followed within three words by a colon (``wrote:``,
#: ``said to him:``), what comes after is what was said. Nouns (``messages: 40``) are not
#: among them: a summary counts messages.
SPEECH_WORDS: Final = (
    "wrote", "write", "writes", "writing", "said", "say", "says", "saying",
    "sent", "sends", "sending", "asked", "ask", "asks", "asking",
    "told", "tell", "tells", "telling", "typed", "typing",
    "replied", "replies", "replying", "texted", "texting",
    "messaged", "messaging", "posted", "posting", "quoted", "quoting",
)  # fmt: skip
_SPEECH: Final = re.compile(
    rf"\b({'|'.join(SPEECH_WORDS)})\b(?:\s+[^\s:\uff1a\ufe55]+){{0,3}}?\s*[:\uff1a\ufe55]",
    re.IGNORECASE,
)


def _speech_problem(note: str) -> str | None:
    """What in ``note`` quotes speech, named by its marks or its word, never quoted."""
    quoted = _QUOTED.search(note)
    if quoted is not None:
        marks = f"{quoted.group()[0]} {quoted.group()[-1]}"
        return f"note holds text in quotation marks ({marks})"
    speech = _SPEECH.search(note)
    if speech is not None:
        return f"note holds text after '{speech.group(1).lower()}' and a colon"
    return None


def check_note(note: object) -> str:
    """A decision's ``note`` as kept: line breaks as LF (a browser's textarea sends CRLF
    and counts it as one character), checked by the note rule.

    Parameters
    ----------
    note : str
        What the moderator wrote about the decision: at most
        :data:`~riskscore.moderation.cases.MAX_NOTE_CHARS` characters of printable text
        (line breaks and tabs allowed), quoting no speech: no text in quotation marks of
        any script, none after a word of :data:`SPEECH_WORDS` and a colon.

    Returns
    -------
    str
        The note, CRLF line breaks as LF.

    Raises
    ------
    QueueError
        Naming what is refused (the marks or the word found, never the note's text) and
        why.

    Examples
    --------
    >>> check_note("account restricted: repeated contact requests to a 12-year-old")
    'account restricted: repeated contact requests to a 12-year-old'
    >>> check_note('he wrote "see you"')
    Traceback (most recent call last):
    ...
    riskscore.moderation.cases.QueueError: note holds text in quotation marks (" "): notes \
describe the decision, never quote messages (riskscore stores no message text): say what was \
decided and why, in your own words
    """
    if not isinstance(note, str):
        raise QueueError(f"note must be text of at most {MAX_NOTE_CHARS} characters")
    note = note.replace("\r\n", "\n")
    if len(note) > MAX_NOTE_CHARS:
        raise QueueError(
            f"note has {len(note)} characters, at most {MAX_NOTE_CHARS}: a note is a short "
            f"factual summary; {_WHY}"
        )
    # line breaks and tabs are a note's layout; any other control or format character
    # (a right-to-left override) would show the audit log's readers other text
    if has_hidden_character(note.replace("\n", "").replace("\t", "")):
        raise QueueError(
            "note must be printable text (line breaks and tabs allowed), without control "
            "or invisible formatting characters"
        )
    problem = _speech_problem(note)
    if problem is not None:
        raise QueueError(f"{problem}: {_WHY}")
    return note
