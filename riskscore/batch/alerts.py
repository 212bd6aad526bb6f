"""The alerts file of batch scoring: one row per alert, the fields of
:meth:`riskscore.Alert.to_dict`, in Parquet, CSV or JSON lines (``riskscore score`` writes
it for production and, in a shadow run, for the shadow model). A JSON line is the bytes of
:meth:`riskscore.Alert.to_json`, as ``riskscore stream`` writes it, here column by column
(:func:`riskscore.io.json_lines.write_json_lines`, tested equal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskscore.io.arrow import write_table
from riskscore.policy import ALERT_FIELDS, Alert

__all__ = ["alerts_table", "write_alerts"]


def _reasons_type() -> Any:
    import pyarrow as pa

    return pa.list_(
        pa.struct(
            [
                ("feature", pa.string()),
                ("value", pa.float64()),
                ("contribution", pa.float64()),
                ("description", pa.string()),
            ]
        )
    )


def alerts_table(alerts: list[Alert]) -> Any:
    """Alerts as a :class:`pyarrow.Table`, one row per alert, the columns of
    :meth:`Alert.to_dict`; ``reasons`` a list of structs (feature, value, contribution,
    description)."""
    import pyarrow as pa

    rows = [a.to_dict() for a in alerts]
    types = {
        "reasons": _reasons_type(),
        "event_index": pa.int64(),
        "timestamp": pa.int64(),
        "tier": pa.string(),
        "age_band": pa.string(),
        "risk": pa.float64(),
        "child_age": pa.float64(),
        "adult_age": pa.float64(),
    }
    return pa.table(
        {name: pa.array([row[name] for row in rows], type=types.get(name)) for name in ALERT_FIELDS}
    )


def write_alerts(alerts: list[Alert], path: Path) -> Path:
    """Write alerts as Parquet, CSV or JSON lines (by suffix) in the one alerts schema.

    ``reasons`` is an array of objects in JSON lines, a list of structs in Parquet and
    that array as JSON text in a CSV cell (CSV holds no nested values).
    """
    return write_table(alerts_table(alerts), path)
