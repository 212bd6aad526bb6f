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

import os
from typing import Final

__all__ = [
    "MIN_KEY_BYTES",
    "check_key",
    "check_pseudonym_key",
    "key_from_environment",
    "key_source",
    "secret_from_environment",
]

#: Least key material accepted (bytes).
MIN_KEY_BYTES: Final = 32
#: Least number of distinct byte values in a key.
MIN_DISTINCT_BYTES: Final = 8
#: How to make a good key, quoted in every refusal.
KEY_HINT: Final = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
#: What every key printed in riskscore's documentation holds (the synthetic demo's
#: ``riskscore.moderation.transparency.SYNTHETIC_DEMO_KEY``, the README's): public keys.
DOCUMENTED_KEY_MARK: Final = b"NOT-A-SECRET"


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
        text that is not UTF-8, shorter than ``MIN_KEY_BYTES``, fewer than
        ``MIN_DISTINCT_BYTES`` distinct byte values, or one pattern repeated.

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
        try:
            material = key.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: bytes of an environment variable
            # that are not UTF-8 arrive so in os.environ
            raise ValueError(
                f"{source} is not UTF-8 text (it holds bytes that are not UTF-8, or lone "
                f"surrogates); {KEY_HINT}"
            ) from None
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


def check_pseudonym_key(key: object, *, synthetic: bool, source: str = "the key") -> bytes:
    """A pseudonymisation key for a report or export of a queue, checked.

    As :func:`check_key`, and a key printed in riskscore's documentation (one holding
    :data:`DOCUMENTED_KEY_MARK`) only for a queue of ``synthetic`` (simulated) decisions:
    anyone can compute the pseudonyms under a public key, so those of a platform's
    accounts would be reversed by enumerating ids.

    Parameters
    ----------
    key : bytes or str
        The key material.
    synthetic : bool
        Whether the queue was created in simulation mode (``ReviewQueue.simulated``).
    source : str, default "the key"
        How the key is named in an error.

    Returns
    -------
    bytes
        The key.

    Raises
    ------
    ValueError
        As :func:`check_key`, or a documented key for a queue of real decisions.

    Examples
    --------
    >>> demo = "riskscore-synthetic-demo-key-NOT-A-SECRET-v1"
    >>> check_pseudonym_key(demo, synthetic=True) == demo.encode()
    True
    >>> check_pseudonym_key(demo, synthetic=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the key is a key printed in riskscore's documentation (it says NOT-A-SECRET)...
    """
    material = check_key(key, source=source)
    if not synthetic and DOCUMENTED_KEY_MARK in material.upper():
        raise ValueError(
            f"{source} is a key printed in riskscore's documentation (it says "
            f"{DOCUMENTED_KEY_MARK.decode()}), for synthetic data only: the queue holds real "
            f"decisions and its pseudonyms would be public; {KEY_HINT}"
        )
    return material


def secret_from_environment(name: str) -> str | None:
    """The secret in the environment variable ``name``: None when it is not set.

    Set to empty text (or white space only) is refused, not read as unset: an empty secret
    is one that did not reach the process (a missing Kubernetes secret, ``-e NAME=``), and
    reading it as none would switch off what it protects (a model bundle's signature, the
    API's token) without a word.

    Raises
    ------
    ValueError
        The variable is set but empty.

    Examples
    --------
    >>> secret_from_environment("RISKSCORE_EXAMPLE_UNSET_VARIABLE") is None
    True
    """
    value = os.environ.get(name)
    if value is not None and not value.strip():
        raise ValueError(
            f"the environment variable {name} is set but empty: set it to the secret, or "
            "unset it (an empty secret is not read as none)"
        )
    return value


def key_source(name: str) -> str:
    """How a key read from the environment variable ``name`` is named in an error.

    Examples
    --------
    >>> key_source("RISKSCORE_REPORT_KEY")
    'the key in the environment variable RISKSCORE_REPORT_KEY'
    """
    return f"the key in the environment variable {name}"


def key_from_environment(name: str) -> str:
    """The key the environment variable ``name`` must hold, checked by :func:`check_key`.

    Raises
    ------
    ValueError
        The variable is not set, is set but empty (:func:`secret_from_environment`), or
        holds a key :func:`check_key` refuses; the message names the variable.

    Examples
    --------
    >>> key_from_environment("RISKSCORE_EXAMPLE_UNSET_VARIABLE")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the environment variable RISKSCORE_EXAMPLE_UNSET_VARIABLE is not set: ...
    """
    value = secret_from_environment(name)
    if value is None:
        raise ValueError(
            f"the environment variable {name} is not set: set it to a secret of at least "
            f"{MIN_KEY_BYTES} bytes; {KEY_HINT}"
        )
    check_key(value, source=key_source(name))
    return value
