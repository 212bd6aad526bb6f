"""Secret keys for HMAC-SHA256: one rule for every key riskscore takes.

Pseudonyms in transparency reports and regulatory exports
(:func:`riskscore.moderation.transparency.pseudonymise`) and signed model manifests
(``RISKSCORE_MODEL_KEY``, :mod:`riskscore.model.bundle`) take a key through
:func:`check_key`: at least :data:`MIN_KEY_BYTES` bytes, at least
:data:`MIN_DISTINCT_BYTES` distinct byte values, and not one short pattern repeated. With a
guessable key the pseudonyms of small integer ids are reversed by enumeration in seconds,
and a signature proves nothing.
"""

from __future__ import annotations

from typing import Final

__all__ = ["KEY_HINT", "MIN_DISTINCT_BYTES", "MIN_KEY_BYTES", "check_key"]

#: Least key material accepted (bytes).
MIN_KEY_BYTES: Final = 32
#: Least number of distinct byte values in a key.
MIN_DISTINCT_BYTES: Final = 8
#: How to make a good key, quoted in every refusal.
KEY_HINT: Final = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'


def check_key(key: object, *, source: str = "the key") -> bytes:
    """A secret HMAC key, checked; text is taken as its UTF-8 bytes.

    Parameters
    ----------
    key : bytes or str
        The key material.
    source : str, default "the key"
        How the key is named in an error (e.g. the environment variable it came from).

    Returns
    -------
    bytes
        The key.

    Raises
    ------
    ValueError
        Saying what is wrong with the key (never the key itself): not bytes or text,
        shorter than ``MIN_KEY_BYTES``, fewer than ``MIN_DISTINCT_BYTES`` distinct byte
        values, or one pattern repeated.

    Examples
    --------
    >>> len(check_key("riskscore-synthetic-demo-key-NOT-A-SECRET-v1")) >= MIN_KEY_BYTES
    True
    >>> check_key(b"platform secret")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the key has 15 bytes; at least 32 bytes are needed; generate one with: ...
    >>> check_key("ab" * 20)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the key has only 2 distinct byte values (at least 8 needed); generate ...
    """
    if isinstance(key, str):
        material = key.encode("utf-8")
    elif isinstance(key, (bytes, bytearray, memoryview)):
        material = bytes(key)
    else:
        raise ValueError(f"{source} must be bytes or text, got {type(key).__name__}")
    if len(material) < MIN_KEY_BYTES:
        raise ValueError(
            f"{source} has {len(material)} bytes; at least {MIN_KEY_BYTES} bytes are "
            f"needed; {KEY_HINT}"
        )
    distinct = len(set(material))
    if distinct < MIN_DISTINCT_BYTES:
        raise ValueError(
            f"{source} has only {distinct} distinct byte values (at least "
            f"{MIN_DISTINCT_BYTES} needed); {KEY_HINT}"
        )
    n = len(material)
    for period in range(1, n // 2 + 1):
        if n % period == 0 and material == material[:period] * (n // period):
            raise ValueError(
                f"{source} is a {period}-byte pattern repeated {n // period} times; {KEY_HINT}"
            )
    return material
