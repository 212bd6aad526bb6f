"""A Synapse age source's ``tz_offset_min`` is held to the schema's offset rule.

The CSV file, the SQLite table and the callable gave ``int()`` of the offset: 330.7 was
cut to 330 and 5 (hours given for minutes) or 5000 passed the file's check at start, so
every message to that user was refused one by one while scoring. Each is now refused
where it is read, naming the file, the line or row, and the value.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from synapse_helpers import _base

from riskscore.integrations._synapse_ages import AgeSource, make_age_source
from riskscore.integrations._synapse_config import SynapseConfigError, parse

OFF_STEP = "is no time zone's offset"


@pytest.mark.parametrize(
    ("cell", "reason"),
    [("5", OFF_STEP), ("5000", "is out of range"), ("330.5", "is not a whole number")],
)
def test_a_csv_file_with_an_offset_no_zone_has_is_refused_at_start(
    tmp_path: Path, cell: str, reason: str
) -> None:
    path = tmp_path / "ages.csv"
    path.write_text(f"user_id,age,tz_offset_min\n@kid:x,12,60\n@kid2:x,11,{cell}\n")
    with pytest.raises(SynapseConfigError, match=reason) as info:
        make_age_source(parse(_base(tmp_path, ages={"csv": str(path)})).ages)
    assert f"line 3: tz_offset_min '{cell}'" in info.value.msg


def test_a_csv_file_of_offsets_in_use_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ages.csv"
    path.write_text("user_id,age,tz_offset_min\n@a:x,12,345\n@b:x,40,330.0\n@c:x,9,\n")
    ages = make_age_source(parse(_base(tmp_path, ages={"csv": str(path)})).ages)
    assert [ages.get(u).tz_offset_min for u in ("@a:x", "@b:x", "@c:x")] == [345, 330, None]


@pytest.mark.parametrize(("value", "reason"), [(330.7, "is not a whole number"), (5, OFF_STEP)])
def test_an_sqlite_offset_is_never_cut_to_a_whole_number(
    tmp_path: Path, value: object, reason: str
) -> None:
    db = tmp_path / "ages.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE declared_ages (user_id TEXT, age REAL, tz_offset_min)")
        conn.execute("INSERT INTO declared_ages VALUES ('@kid:x', 12, ?)", (value,))
    ages = make_age_source(parse(_base(tmp_path, ages={"sqlite": str(db)})).ages)
    with pytest.raises(SynapseConfigError, match=reason) as info:
        ages.get("@kid:x")
    assert f"row 1 of user '@kid:x': tz_offset_min {value}" in info.value.msg


@pytest.mark.parametrize("value", [5.9, 5, np.float32(5.0)])
def test_a_callable_offset_off_the_rule_fails_the_lookup(value: object) -> None:
    with pytest.raises(ValueError, match="tz_offset_min"):
        AgeSource(lambda _user: (12.0, value)).get("@kid:x")


@pytest.mark.parametrize("value", [345, np.int16(345), 345.0, float("nan"), None])
def test_a_callable_offset_in_use_or_unknown_is_kept(value: object) -> None:
    expected = None if value is None or value != value else 345
    assert AgeSource(lambda _user: (12.0, value)).get("@kid:x").tz_offset_min == expected
