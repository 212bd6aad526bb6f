"""What the tests of failed and interrupted runs share (hostile review 12): an events
file, the same with a bad row, and what a folder holds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import riskscore as rs
from riskscore.io.staging import STAGING_PREFIX


def events_file(folder: Path) -> Path:
    """300 synthetic conversations as ``folder/events.parquet``."""
    data = rs.synthetic.generate(300, prevalence=0.1, seed=5)
    path = folder / "events.parquet"
    pq.write_table(data.messages.to_arrow(), path)
    return path


def with_a_bad_row(events: Path) -> Path:
    """``events`` with row 7 given an impossible age, beside it as ``bad.parquet``."""
    table = pq.read_table(events)
    ages = table["sender_age"].to_pylist()
    ages[7] = -4.0
    path = events.with_name("bad.parquet")
    i = table.schema.get_field_index("sender_age")
    pq.write_table(table.set_column(i, "sender_age", pa.array(ages)), path)
    return path


def digests(folder: Path) -> dict[str, str]:
    """The sha256 of every file under ``folder``, by its path relative to it."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def staging_left(folder: Path) -> list[str]:
    """The staging folders left under ``folder``."""
    return [p.name for p in folder.rglob("*") if p.name.startswith(STAGING_PREFIX)]
