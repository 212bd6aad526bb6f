"""JSON-ready forms of the evaluation and comparison records (private).

Shared by :mod:`riskscore.evaluation` and :mod:`riskscore.evaluation.compare`, so a report
and a model comparison serialise NaN, intervals and nested records the same way.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` with NaN as None, tuples as lists and nested records as dicts."""
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def record_dict(record: Any) -> dict[str, Any]:
    """The fields of a dataclass instance, in order, each :func:`jsonable`."""
    return {f.name: jsonable(getattr(record, f.name)) for f in fields(record)}
