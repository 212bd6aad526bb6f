"""Writing arrow tables by file suffix (private)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskscore.exceptions import SchemaError


def _nan_to_null(table: Any) -> Any:
    """Unknown values as nulls (valid JSON, empty CSV cells) rather than NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            col = table.column(i)
            table = table.set_column(i, field, pc.if_else(pc.is_nan(col), None, col))
    return table


def write_table(table: Any, path: Path) -> Path:
    """Write a :class:`pyarrow.Table` as Parquet, CSV or JSON lines, chosen by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = _nan_to_null(table)
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    elif suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    elif suffix in {".jsonl", ".ndjson"}:
        import json

        with path.open("w", encoding="utf-8") as fh:
            for row in table.to_pylist():
                fh.write(json.dumps(row, separators=(",", ":"), default=str) + "\n")
    else:
        raise SchemaError(f"cannot write {path.name!r}: use a .parquet, .csv or .jsonl suffix")
    return path
