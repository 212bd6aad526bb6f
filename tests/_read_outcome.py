"""What ``read_messages`` makes of a source, as one comparable value (shared by the tests
that check two forms of the same input read alike)."""

from __future__ import annotations

from typing import Any

import numpy as np

import riskscore as rs


def read_outcome(source: Any, **kwargs: Any) -> tuple[str, Any]:
    """What ``read_messages`` makes of ``source``: the error (message, column, row) or the
    table's columns (as their repr: NaN equals NaN) and the rows it set aside, why."""
    try:
        table = rs.read_messages(source, max_future_s=float("inf"), **kwargs)
    except rs.SchemaError as exc:
        return "error", (str(exc), exc.column, exc.row)
    columns = {k: repr(np.asarray(v).tolist()) for k, v in table.columns().items()}
    held = table.quarantined
    return "table", (columns, None if held is None else (held.row.tolist(), held.reason))
