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

from riskscore.io.arrow import write_table
from riskscore.io.given_ids import integer_ids_type
from riskscore.policy import ALERT_FIELDS, Alert

__all__ = ["alerts_table", "write_alerts"]

_ID_FIELDS = ("conversation_id", "adult_id", "child_id")
#: The id spaces of an alert: its conversation's, and its two accounts' (one space).
_ID_SPACES = (("conversation_id",), ("adult_id", "child_id"))
#: What a SchemaError on integer ids no Arrow type holds advises.
_INTEGER_IDS_ADVICE = (
    "Write these alerts as JSON lines one by one (Alert.to_json, as riskscore stream "
    "does), which hold any integer."
)


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
    for name in _ID_FIELDS:
        _check_one_id_kind(rows, name)
    types = _integer_id_types(rows)
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
    return pa.table(
        {name: pa.array([row[name] for row in rows], type=types.get(name)) for name in ALERT_FIELDS}
    )


def _integer_id_types(rows: list[dict[str, Any]]) -> dict[str, pa.DataType]:
    """The Arrow type of each id column of integers: int64, or uint64 when an id is beyond
    int64 (an online scorer holds integer ids of any size), the two account columns one
    type (:func:`riskscore.io.given_ids.integer_ids_type`)."""
    types: dict[str, pa.DataType] = {}
    if not rows:
        return types
    for space in _ID_SPACES:
        names = [name for name in space if not isinstance(rows[0][name], str)]
        if names:
            ints = {name: np.array([row[name] for row in rows], dtype=object) for name in names}
            kind = integer_ids_type(
                ints, np.arange(len(rows)), unit="alert", advice=_INTEGER_IDS_ADVICE
            )
            types |= dict.fromkeys(names, kind)
    return types


def write_alerts(alerts: list[Alert], path: Path) -> Path:
    """Write alerts as Parquet, CSV or JSON lines (by suffix) in the one alerts schema.

    ``reasons`` is an array of objects in JSON lines, a list of structs in Parquet and
    that array as JSON text in a CSV cell (CSV holds no nested values).
    """
    return write_table(alerts_table(alerts), path)


def _check_one_id_kind(rows: list[dict[str, Any]], name: str) -> None:
    """Refuse alerts whose ``name`` ids are integers in one row and text in another (an
    online scorer may hold both): one column holds one kind, and writing both as text
    would merge ``6`` and ``"6"``, two accounts as given."""
    if not rows:
        return
    first = isinstance(rows[0][name], str)
    for row, record in enumerate(rows):
        value = record[name]
        if isinstance(value, str) != first:
            raise ValueError(
                f"column {name!r}, alert {row}: {value!r} is "
                f"{'text' if not first else 'an integer'} where alert 0's id "
                f"{rows[0][name]!r} is {'text' if first else 'an integer'}; an alerts file "
                "holds one kind of id per column (write the two kinds to two files)"
            )
