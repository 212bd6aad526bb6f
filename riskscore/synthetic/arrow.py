"""Arrow schemas of the generated events and labels files, and one chunk as an Arrow table."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from riskscore.io.schema import CHANNEL_NAMES, EVENT_NAMES

__all__ = ["ROW_GROUP_ROWS", "arrow_schemas", "events_arrow"]

#: Row-group size of the events file (rows); a chunk larger than this spans several.
ROW_GROUP_ROWS: Final = 1 << 20


def arrow_schemas() -> tuple[pa.Schema, pa.Schema]:
    dictionary = pa.dictionary(pa.int8(), pa.string())
    events = pa.schema(
        [
            ("conversation_id", pa.int64()),
            ("timestamp", pa.int64()),
            ("sender_id", pa.int64()),
            ("recipient_id", pa.int64()),
            ("sender_age", pa.float64()),
            ("recipient_age", pa.float64()),
            ("channel", dictionary),
            ("event", dictionary),
            ("recipient_tz_offset_min", pa.int64()),
        ]
    )
    labels = pa.schema(
        [
            ("conversation_id", pa.int64()),
            ("is_grooming", pa.bool_()),
            ("onset_index", pa.int64()),
            ("adult_id", pa.int64()),
            ("scenario", pa.string()),
            ("is_grooming_true", pa.bool_()),
        ]
    )
    return events, labels


def events_arrow(columns: dict[str, npt.NDArray[Any]]) -> pa.Table:
    """One chunk's coded columns as an Arrow table of the events schema of
    :func:`arrow_schemas` (unknown ages null)."""
    events_schema, _ = arrow_schemas()
    arrays: list[pa.Array] = []
    for name in events_schema.names:
        values = columns[name]
        if name in ("channel", "event"):
            names = CHANNEL_NAMES if name == "channel" else EVENT_NAMES
            arrays.append(
                pa.DictionaryArray.from_arrays(
                    pa.array(values.astype(np.int8)), pa.array(list(names), pa.string())
                )
            )
        elif values.dtype.kind == "f":
            arrays.append(pa.array(values, mask=np.isnan(values)))
        else:
            arrays.append(pa.array(values))
    return pa.Table.from_arrays(arrays, schema=events_schema)
