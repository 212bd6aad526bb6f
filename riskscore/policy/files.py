"""Policy files: TOML text to a mapping and back (``policies/default.toml``).

Format (version 3; ``docs/policy.md`` explains every key)::

    format_version = 3
    name = "default"                     # optional label

    [[bands]]                            # youngest first, contiguous from age 0
    name = "under 13"
    min_age = 0.0
    max_age = 13.0                       # the last band may use max_age = inf
    review = 0.15                        # risk at or above which a review alert is raised
    urgent = 0.5                         # ... and an urgent one

    [unknown]                            # thresholds when the child's age is unknown
    review = 0.25
    urgent = 0.6

    [unknown_adult]                      # optional: a known minor, the other's age unknown
    review = 0.3
    urgent = 0.7

    [guards]                             # optional; these are the defaults
    adult_pairs_alert = false            # two known adults never alert
    minor_peer_max_gap_years = 3.0       # two known minors this close in age: never urgent

Reading uses the standard library's :mod:`tomllib`; the mapping it gives is
checked by :mod:`riskscore.policy.validate`, like any other policy mapping.
Writing needs no library: the format holds only numbers, booleans and short
strings.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from riskscore._toml import loads_toml, read_toml
from riskscore.policy.errors import PolicyFileError

__all__ = ["MAX_POLICY_BYTES", "dumps", "read", "reads"]

#: Largest policy file read (bytes): the default policy is about 600 bytes.
MAX_POLICY_BYTES: Final = 1 << 20


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The mapping in a policy file.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    PolicyFileError
        The file is not a regular file, is larger than :data:`MAX_POLICY_BYTES`, or is not
        UTF-8 TOML.
    """
    source = str(path)
    return read_toml(
        Path(path),
        max_bytes=MAX_POLICY_BYTES,
        what="policy",
        refuse=lambda reason: PolicyFileError(reason, source=source),
    )


def reads(text: str, *, source: str = "") -> dict[str, Any]:
    """The mapping in policy TOML text; ``source`` names it in error messages.

    Examples
    --------
    >>> reads("format_version = 2\\n[guards]\\nadult_pairs_alert = false")
    {'format_version': 2, 'guards': {'adult_pairs_alert': False}}
    """
    return loads_toml(
        text, what="policy", refuse=lambda reason: PolicyFileError(reason, source=source)
    )


def dumps(doc: Mapping[str, Any]) -> str:
    """TOML text of a policy mapping (as :meth:`AlertPolicy.to_mapping` gives it).

    Examples
    --------
    >>> print(dumps({"format_version": 2, "bands": [], "unknown": {"review": 0.25},
    ...              "guards": {"adult_pairs_alert": False}}).strip())
    format_version = 2
    <BLANKLINE>
    [unknown]
    review = 0.25
    <BLANKLINE>
    [guards]
    adult_pairs_alert = false
    """
    lines = [f"format_version = {int(doc['format_version'])}"]
    if doc.get("name") is not None:
        lines.append(f"name = {_value(doc['name'])}")
    for band in doc["bands"]:
        lines += ["", "[[bands]]", *_pairs(band)]
    lines += ["", "[unknown]", *_pairs(doc["unknown"])]
    if "unknown_adult" in doc:
        lines += ["", "[unknown_adult]", *_pairs(doc["unknown_adult"])]
    if "guards" in doc:
        lines += ["", "[guards]", *_pairs(doc["guards"])]
    return "\n".join([*lines, ""])


def _pairs(table: Mapping[str, Any]) -> list[str]:
    return [f"{key} = {_value(value)}" for key, value in table.items()]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _basic_string(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))


def _basic_string(text: str) -> str:
    """``text`` as a TOML basic string: quote, backslash and control characters escaped,
    everything else as itself (``json.dumps`` escapes U+1F600 as a surrogate pair, which
    TOML refuses).

    Examples
    --------
    >>> print(_basic_string('a "b"\\t\U0001f600'))
    "a \\"b\\"\\u0009\U0001f600"
    """
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
