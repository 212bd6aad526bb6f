"""Read and write an :class:`~riskscore.policy.AlertPolicy` as TOML (the Safe Accounts policy file).

Format (version 1)::

    format_version = 1
    name = "default"                     # optional label

    [[bands]]                            # youngest first, contiguous from age 0
    name = "under 13"
    min_age = 0.0
    max_age = 13.0                       # the last band may use max_age = inf
    review = 0.15                        # risk at or above which a review alert is raised
    urgent = 0.50                        # ... and an urgent one

    [unknown]                            # thresholds when the child's age is unknown
    review = 0.25
    urgent = 0.60

Reading uses the standard library's :mod:`tomllib`; writing needs no library
(the format only holds numbers and short strings). Every error names the key
that is wrong, e.g. ``bands[2].review``.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from pathlib import Path
from typing import Any

from riskscore.exceptions import RiskscoreError
from riskscore.policy import AgeBand, AlertPolicy

__all__ = ["FORMAT_VERSION", "PolicyFileError", "dumps", "load", "loads"]

FORMAT_VERSION = 1

_TOP_KEYS = {"format_version", "name", "bands", "unknown"}
_BAND_KEYS = {"name", "min_age", "max_age", "review", "urgent"}


class PolicyFileError(RiskscoreError, ValueError):
    """A policy file that cannot be read; ``key`` names the offending entry."""

    def __init__(self, message: str, *, key: str | None = None, source: str = "") -> None:
        where = f"{source}: " if source else ""
        at = f"key {key!r}: " if key else ""
        super().__init__(f"{where}{at}{message}")
        self.key = key


def load(path: str | os.PathLike[str]) -> AlertPolicy:
    """Read a policy file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"policy file {str(path)!r} does not exist") from None
    return loads(text, source=str(path))


def loads(text: str, *, source: str = "") -> AlertPolicy:
    """Parse a policy from TOML text; ``source`` names it in error messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(f"not valid TOML ({exc})", source=source) from None
    unknown_keys = sorted(set(doc) - _TOP_KEYS)
    if unknown_keys:
        raise PolicyFileError(
            f"unknown key; a policy file has {', '.join(sorted(_TOP_KEYS))}",
            key=unknown_keys[0],
            source=source,
        )
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise PolicyFileError(
            f"expected {FORMAT_VERSION}, found {version!r}", key="format_version", source=source
        )
    if "name" in doc and not isinstance(doc["name"], str):
        raise PolicyFileError(
            f"expected a string, found {doc['name']!r}", key="name", source=source
        )
    bands_doc = doc.get("bands")
    if not isinstance(bands_doc, list) or not bands_doc:
        raise PolicyFileError(
            "expected at least one [[bands]] table (youngest first)", key="bands", source=source
        )
    bands = tuple(
        _band(entry, f"bands[{i}]", source, full=True) for i, entry in enumerate(bands_doc)
    )
    if "unknown" not in doc:
        raise PolicyFileError(
            "missing: thresholds for children of unknown age", key="unknown", source=source
        )
    unknown = _band(doc["unknown"], "unknown", source, full=False)
    try:
        return AlertPolicy(bands=bands, unknown=unknown)
    except ValueError as exc:
        raise PolicyFileError(str(exc), key="bands", source=source) from None


def _band(entry: Any, key: str, source: str, *, full: bool) -> AgeBand:
    if not isinstance(entry, dict):
        raise PolicyFileError(f"expected a table, found {entry!r}", key=key, source=source)
    extra = sorted(set(entry) - _BAND_KEYS)
    if extra:
        raise PolicyFileError(
            f"unknown key; a band has {', '.join(sorted(_BAND_KEYS))}",
            key=f"{key}.{extra[0]}",
            source=source,
        )
    required = ("name", "min_age", "max_age", "review", "urgent") if full else ("review", "urgent")
    for name in required:
        if name not in entry:
            raise PolicyFileError("missing", key=f"{key}.{name}", source=source)
    values: dict[str, Any] = {
        "name": entry.get("name", "unknown"),
        "min_age": entry.get("min_age", 0.0),
        "max_age": entry.get("max_age", math.inf),
    }
    if not isinstance(values["name"], str) or not values["name"]:
        raise PolicyFileError(
            f"expected a non-empty string, found {values['name']!r}",
            key=f"{key}.name",
            source=source,
        )
    for name in ("min_age", "max_age", "review", "urgent"):
        value = entry.get(name, values.get(name))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise PolicyFileError(
                f"expected a number, found {value!r}", key=f"{key}.{name}", source=source
            )
        values[name] = float(value)
    for name in ("review", "urgent"):
        if not 0.0 < values[name] <= 1.0:
            raise PolicyFileError(
                f"a risk threshold must be in (0, 1], found {values[name]}",
                key=f"{key}.{name}",
                source=source,
            )
    try:
        return AgeBand(**values)
    except ValueError as exc:
        raise PolicyFileError(str(exc), key=key, source=source) from None


def dumps(policy: AlertPolicy, *, name: str | None = None) -> str:
    """The policy as TOML text that :func:`loads` reads back to an equal policy."""
    lines = [f"format_version = {FORMAT_VERSION}"]
    if name is not None:
        lines.append(f"name = {json.dumps(name)}")
    for band in policy.bands:
        lines += ["", "[[bands]]", *_band_lines(band)]
    lines += ["", "[unknown]", *_band_lines(policy.unknown), ""]
    return "\n".join(lines)


def _band_lines(band: AgeBand) -> list[str]:
    return [
        f"name = {json.dumps(band.name)}",
        f"min_age = {_num(band.min_age)}",
        f"max_age = {_num(band.max_age)}",
        f"review = {_num(band.review)}",
        f"urgent = {_num(band.urgent)}",
    ]


def _num(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))
