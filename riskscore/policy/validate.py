"""The one policy validator: a mapping (from TOML, YAML or code) to checked policy parts.

Every way of writing a policy goes through :func:`parse`: the TOML file
reader, the Synapse module's ``policy:`` block and
:meth:`AlertPolicy.from_mapping`. So the rules and the messages are the same
everywhere, and every message names the key at fault (``bands[1].urgent``).

Format versions: 1 (bands and ``unknown``), 2 (adds the optional ``guards``
table) and 3 (adds the optional ``unknown_adult`` table). A version 1 policy gets
the default guards; a policy without ``unknown_adult`` applies the child's band
when only the adult's age is unknown, as before format 3.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskscore._checks import is_int, unknown_keys_problem
from riskscore.io.raw import show
from riskscore.policy.bands import (
    DEFAULT_UNKNOWN,
    DEFAULT_UNKNOWN_ADULT,
    MAX_BANDS,
    AgeBand,
    check_bands,
    check_name,
)
from riskscore.policy.errors import PolicyFileError
from riskscore.policy.guards import Guards

__all__ = ["FORMAT_VERSION", "parse"]

#: The format version written by :meth:`AlertPolicy.to_toml`.
FORMAT_VERSION = 3
#: The format versions read.
FORMAT_VERSIONS = (1, 2, 3)

_TOP_KEYS = ("format_version", "name", "bands", "unknown", "unknown_adult", "guards")
_BAND_KEYS = ("name", "min_age", "max_age", "review", "urgent")
_GUARD_KEYS = ("adult_pairs_alert", "minor_peer_max_gap_years")

Path = tuple[str | int, ...]

#: The name of an unknown band that the mapping does not name.
_UNKNOWN_NAMES: dict[Path, str] = {
    ("unknown",): DEFAULT_UNKNOWN.name,
    ("unknown_adult",): DEFAULT_UNKNOWN_ADULT.name,
}


@dataclass(frozen=True, slots=True)
class PolicyParts:
    """What a valid policy mapping holds (input of :class:`AlertPolicy`)."""

    bands: tuple[AgeBand, ...]
    unknown: AgeBand
    unknown_adult: AgeBand | None
    guards: Guards
    name: str | None
    format_version: int


def parse(doc: Any, *, source: str = "") -> PolicyParts:
    """Validate a policy mapping (format in ``docs/policy.md``).

    Parameters
    ----------
    doc : mapping
        ``format_version``, optional ``name``, ``bands`` (a list of mappings
        with ``name``, ``min_age``, ``max_age``, ``review``, ``urgent``,
        youngest first), ``unknown`` (``review``, ``urgent``), from version 2
        an optional ``guards`` mapping and from version 3 an optional
        ``unknown_adult`` (``review``, ``urgent``).
    source : str, optional
        Where the mapping came from, named in messages (a file, a config block).

    Returns
    -------
    PolicyParts

    Raises
    ------
    PolicyFileError
        The first problem found, with its key.

    Examples
    --------
    >>> band = {"name": "all", "min_age": 0, "max_age": float("inf"), "review": 0.3,
    ...         "urgent": 0.7}
    >>> parts = parse({"format_version": 2, "bands": [band],
    ...                "unknown": {"review": 0.3, "urgent": 0.7}})
    >>> parts.guards.minor_peer_max_gap_years
    3.0
    >>> parse({"format_version": 2, "bands": [band], "unknown": {"review": 0.3}})
    Traceback (most recent call last):
    ...
    riskscore.policy.errors.PolicyFileError: key 'unknown.urgent': missing
    """
    table = _table(doc, (), source)
    _no_unknown_keys(table, _TOP_KEYS, (), source)
    version = table.get("format_version")
    if not is_int(version) or version not in FORMAT_VERSIONS:  # 2.0 is no version
        found = "nothing" if version is None else show(version)
        raise PolicyFileError(
            f"expected one of {', '.join(map(str, FORMAT_VERSIONS))} (the policy format; "
            f"write {FORMAT_VERSION}), found {found}",
            path=("format_version",),
            source=source,
        )
    name = table.get("name")
    if name is not None and not isinstance(name, str):
        raise PolicyFileError(
            f"expected a string, found {show(name)}", path=("name",), source=source
        )
    items = table.get("bands")
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not items:
        raise PolicyFileError(
            "expected a non-empty list of age bands, youngest first, each with "
            f"{', '.join(_BAND_KEYS)}",
            path=("bands",),
            source=source,
        )
    if len(items) > MAX_BANDS:
        raise PolicyFileError(
            f"at most {MAX_BANDS} age bands, found {len(items)}", path=("bands",), source=source
        )
    bands = tuple(_band(entry, ("bands", i), source, full=True) for i, entry in enumerate(items))
    if "unknown" not in table:
        raise PolicyFileError(
            "missing: thresholds for children of unknown age (review, urgent)",
            path=("unknown",),
            source=source,
        )
    unknown = _band(table["unknown"], ("unknown",), source, full=False)
    unknown_adult = None
    if _since(table, "unknown_adult", 3, int(version), source):
        unknown_adult = _band(table["unknown_adult"], ("unknown_adult",), source, full=False)
    try:
        check_bands(bands, unknown, unknown_adult)
    except ValueError as exc:
        raise PolicyFileError(str(exc), path=("bands",), source=source) from None
    guards = Guards()
    if _since(table, "guards", 2, int(version), source):
        guards = _guards(table["guards"], ("guards",), source)
    return PolicyParts(bands, unknown, unknown_adult, guards, name, int(version))


def _since(table: Mapping[str, Any], key: str, needed: int, version: int, source: str) -> bool:
    """Whether the optional table ``key`` is there; refused in a policy of a format
    before the one that brought it (``needed``)."""
    if key not in table:
        return False
    if version < needed:
        raise PolicyFileError(
            f"the {key} table needs format_version = {needed}, this policy says {version}",
            path=(key,),
            source=source,
        )
    return True


def _table(value: Any, path: Path, source: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyFileError(
            f"expected a table (mapping), found {type(value).__name__} {show(value)}",
            path=path,
            source=source,
        )
    return value


def _no_unknown_keys(
    table: Mapping[str, Any], allowed: tuple[str, ...], path: Path, source: str
) -> None:
    """The one rule of every reader (:func:`riskscore._checks.unknown_keys_problem`): the
    error is at the table (``path``) and names its unknown keys and the known ones."""
    problem = unknown_keys_problem(table, allowed)
    if problem is not None:
        raise PolicyFileError(problem, path=path, source=source)


def _number(value: Any, path: Path, source: str) -> float:
    """``value`` as a float: an int or float (numpy's too, as a policy computed with numpy
    holds them), not NaN, not a bool, not an integer too large for a float (TOML and YAML
    read integers of any size)."""
    try:
        number = (
            float(value) if is_int(value) or isinstance(value, (float, np.floating)) else math.nan
        )
    except OverflowError:
        number = math.nan
    if math.isnan(number):
        raise PolicyFileError(f"expected a number, found {show(value)}", path=path, source=source)
    return number


def _band(entry: Any, path: Path, source: str, *, full: bool) -> AgeBand:
    table = _table(entry, path, source)
    _no_unknown_keys(table, _BAND_KEYS, path, source)
    required = _BAND_KEYS if full else ("review", "urgent")
    for key in required:
        if key not in table:
            raise PolicyFileError("missing", path=(*path, key), source=source)
    name = table.get("name", _UNKNOWN_NAMES.get(path, "unknown"))
    try:
        check_name(name)
    except ValueError as exc:
        raise PolicyFileError(str(exc), path=(*path, "name"), source=source) from None
    values = {
        "min_age": _number(table.get("min_age", 0.0), (*path, "min_age"), source),
        "max_age": _number(table.get("max_age", math.inf), (*path, "max_age"), source),
    }
    if not full and (values["min_age"], values["max_age"]) != (0.0, math.inf):
        key = "min_age" if values["min_age"] != 0.0 else "max_age"
        raise PolicyFileError(
            f"the {path[0]} band covers children of any age: leave {key} out (or write "
            f"min_age = 0, max_age = inf), found {values[key]}",
            path=(*path, key),
            source=source,
        )
    values |= {
        "review": _number(table["review"], (*path, "review"), source),
        "urgent": _number(table["urgent"], (*path, "urgent"), source),
    }
    for key in ("review", "urgent"):
        if not 0.0 < values[key] <= 1.0:
            raise PolicyFileError(
                f"a risk threshold must be in (0, 1], found {values[key]}",
                path=(*path, key),
                source=source,
            )
    try:
        return AgeBand(name=name, **values)
    except ValueError as exc:
        raise PolicyFileError(str(exc), path=path, source=source) from None


def _guards(entry: Any, path: Path, source: str) -> Guards:
    table = _table(entry, path, source)
    _no_unknown_keys(table, _GUARD_KEYS, path, source)
    default = Guards()
    adult_pairs = table.get("adult_pairs_alert", default.adult_pairs_alert)
    if isinstance(adult_pairs, np.bool_):  # numpy's, as a number may be (_number)
        adult_pairs = bool(adult_pairs)
    if not isinstance(adult_pairs, bool):
        raise PolicyFileError(
            f"expected true or false, found {show(adult_pairs)}",
            path=(*path, "adult_pairs_alert"),
            source=source,
        )
    key = (*path, "minor_peer_max_gap_years")
    gap = _number(
        table.get("minor_peer_max_gap_years", default.minor_peer_max_gap_years), key, source
    )
    if not (math.isfinite(gap) and gap >= 0.0):
        raise PolicyFileError(
            f"expected a finite number of years >= 0 (0 caps same-age pairs only), found {gap}",
            path=key,
            source=source,
        )
    return Guards(adult_pairs_alert=adult_pairs, minor_peer_max_gap_years=gap)
