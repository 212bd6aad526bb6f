"""Whether one line of a JSON lines input is UTF-8, and the one message when it is not:
:func:`riskscore.read_messages` (a file's bytes), ``riskscore stream`` (stdin, whose bytes
that are not UTF-8 are kept as lone surrogates) and a JSON lines ``POST /v1/events`` body
all refuse that line alone, in the same words, and read the others."""

from __future__ import annotations

__all__ = ["not_utf8"]


def not_utf8(line: bytes | str) -> str | None:
    """Why ``line`` is not UTF-8 text, to follow the line's name (``line 2``, ``the
    line``), or None when it is. ``line`` is its bytes, or text decoded with
    ``surrogateescape`` (a byte that is not UTF-8 kept as a lone surrogate). The line is
    never quoted: it may be message content.

    Examples
    --------
    >>> not_utf8(b'{"a": "\\xe9"}')
    'is not valid UTF-8 (byte 0xe9 at character 7): events are UTF-8 text'
    >>> not_utf8('{"a": "\\udce9"}') == not_utf8(b'{"a": "\\xe9"}')
    True
    >>> not_utf8("{}") is None, not_utf8(b"{}") is None
    (True, True)
    """
    if isinstance(line, bytes):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = len(line[: exc.start].decode("utf-8"))  # the bytes before it are UTF-8
            shown = f"byte {line[exc.start]:#04x}"
        else:
            return None
    else:
        if line.isascii():  # O(1): only text beyond ASCII can hold bad bytes
            return None
        try:
            line.encode("utf-8")
        except UnicodeEncodeError as exc:
            at = exc.start
            byte = ord(line[at]) - 0xDC00  # the byte surrogateescape kept
            shown = f"byte {byte:#04x}" if 0x80 <= byte <= 0xFF else "a lone surrogate"
        else:
            return None
    return f"is not valid UTF-8 ({shown} at character {at}): events are UTF-8 text"
