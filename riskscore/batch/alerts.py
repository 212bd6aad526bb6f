"""The alerts file of batch scoring: one row per alert, the fields of
:meth:`riskscore.Alert.to_dict`, in Parquet, CSV or JSON lines (``riskscore score`` writes
it for production and, in a shadow run, for the shadow model). A JSON line is the bytes of
:meth:`riskscore.Alert.to_json`, as ``riskscore stream`` writes it, here column by column
(:func:`riskscore.io.json_lines.write_json_lines`, tested equal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from riskscore.exceptions import SchemaError
from riskscore.io.arrow import write_table
from riskscore.io.given_ids import integer_ids_type, mark_integer_text
from riskscore.io.pair_text import is_pair_like
from riskscore.policy import ALERT_FIELDS, Alert

__all__ = ["alerts_table", "write_alerts"]

_ID_FIELDS = ("conversation_id", "adult_id", "child_id")
#: The id spaces of an alert: its conversation's, and its two accounts' (one space).
_ID_SPACES = (("conversation_id",), ("adult_id", "child_id"))


def _reasons_type() -> Any:
    return pa.list_(
        pa.struct(
            [
                ("feature", pa.string()),
                ("value", pa.float64()),
                ("contribution", pa.float64()),
                ("description", pa.string()),
                ("text", pa.string()),
            ]
        )
    )


def alerts_table(alerts: list[Alert]) -> Any:
    """Alerts as a :class:`pyarrow.Table`, one row per alert, the columns of
    :meth:`Alert.to_dict`; ``reasons`` a list of structs (feature, value, contribution,
    description, text)."""
    rows = [a.to_dict() for a in alerts]
    # integers beside pair ids, or that no Arrow integer type holds together: text, marked
    # as integers (read back as given; JSON lines writes them as integers)
    marked = tuple(name for name in _ID_FIELDS if _integers_beside_text(rows, name))
    types, untyped = _integer_id_types(rows, marked)
    marked += untyped
    for row in rows:
        row.update({name: str(row[name]) for name in marked})
    types |= {
        "reasons": _reasons_type(),
        "event_index": pa.int64(),
        "timestamp": pa.int64(),
        "first_event_at": pa.int64(),
        "last_event_at": pa.int64(),
        "tier": pa.string(),
        "age_band": pa.string(),
        "risk": pa.float64(),
        "child_age": pa.float64(),
        "adult_age": pa.float64(),
        "max_channel": pa.string(),
    }
    table = pa.table(
        {name: pa.array([row[name] for row in rows], type=types.get(name)) for name in ALERT_FIELDS}
    )
    return mark_integer_text(table, marked)


def _integer_id_types(
    rows: list[dict[str, Any]], marked: tuple[str, ...]
) -> tuple[dict[str, pa.DataType], tuple[str, ...]]:
    """The Arrow type of each id column of integers (those ``marked`` aside): int64, or
    uint64 when an id is beyond int64 (an online scorer holds integer ids of any size),
    the two account columns one type (:func:`riskscore.io.given_ids.integer_ids_type`);
    and the columns of integers no Arrow integer type holds together (beyond 2**64 - 1, or
    negative beside one beyond int64), which are written as text marked as integers."""
    types: dict[str, pa.DataType] = {}
    untyped: tuple[str, ...] = ()
    if not rows:
        return types, untyped
    for space in _ID_SPACES:
        names = [n for n in space if n not in marked and not isinstance(rows[0][n], str)]
        if names:
            ints = {name: np.array([row[name] for row in rows], dtype=object) for name in names}
            try:
                types |= dict.fromkeys(names, integer_ids_type(ints, np.arange(len(rows))))
            except SchemaError:
                untyped += tuple(names)
    return types, untyped


def write_alerts(alerts: list[Alert], path: Path) -> Path:
    """Write alerts as Parquet, CSV or JSON lines (by suffix) in the one alerts schema.

    ``reasons`` is an array of objects in JSON lines, a list of structs in Parquet and
    that array as JSON text in a CSV cell (CSV holds no nested values).
    """
    return write_table(alerts_table(alerts), path)


def _integers_beside_text(rows: list[dict[str, Any]], name: str) -> bool:
    """Whether the ``name`` ids of ``rows`` are integers beside pair ids (a batch job's
    alerts on a table with group rooms): written as text marked as integers
    (:func:`riskscore.io.given_ids.mark_integer_text`), read back as given.

    Raises
    ------
    ValueError
        Integers beside text that is no pair id (:func:`riskscore.io.pair_text.is_pair_like`;
        an online scorer may hold both): written as text, ``6`` and ``"6"``, two ids as
        given, would be one.
    """
    integers = [not isinstance(row[name], str) for row in rows]
    if all(integers) or not any(integers):
        return False
    for row, record in enumerate(rows):
        value = record[name]
        if isinstance(value, str) and not is_pair_like(value):
            raise ValueError(
                f"column {name!r}, alert {row}: {value!r} is text beside integer ids (alert "
                f"{integers.index(True)}'s {rows[integers.index(True)][name]!r}); an alerts "
                "file holds integers beside pair ids only (write the two kinds to two files)"
            )
    return True
