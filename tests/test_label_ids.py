"""Ids in a labels table follow the events' one id rule (riskscore.io.ids.check_ids): an
id the events reader refuses is refused here too, and no two ids are merged into one (a
cast to numpy's fixed-width text dropped trailing NULs: "c1\\x00" became "c1"). All data
is synthetic."""

from __future__ import annotations

import pyarrow as pa
import pytest

import riskscore as rs
from riskscore.synthetic import generate, labels_from_arrow


@pytest.mark.parametrize("column", ["conversation_id", "adult_id"])
@pytest.mark.parametrize("bad", ["c1\x00", "c\x001", "c1\n"])
def test_a_label_id_with_a_control_character_is_refused_by_column_row_and_value(
    column: str, bad: str
) -> None:
    table = generate(3, seed=0).labels.to_arrow()
    ids = [str(v) for v in table.column(column).to_pylist()]
    ids[1] = bad
    table = table.set_column(table.column_names.index(column), column, pa.array(ids))
    with pytest.raises(rs.SchemaError, match="control character") as info:
        labels_from_arrow(table)
    assert (info.value.column, info.value.row, info.value.value) == (column, 1, bad)


def test_text_label_ids_are_kept_as_given() -> None:
    table = generate(3, seed=0).labels.to_arrow()
    ids = ["c 1", "C1", "c1 "]
    table = table.set_column(0, "conversation_id", pa.array(ids))
    assert labels_from_arrow(table).conversation_id.tolist() == ids
