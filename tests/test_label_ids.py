"""Ids in a labels table follow the events' one id rule (riskscore.io.ids.check_ids): an
id the events reader refuses is refused here too, and no two ids are merged into one (a
cast to numpy's fixed-width text dropped trailing NULs: "c1\\x00" became "c1"). All data
is synthetic."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.features import extract_features
from riskscore.model.labels import align_labels
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


def test_float_label_ids_in_a_data_frame_are_read_as_in_a_labels_file(tmp_path: Path) -> None:
    """Was: labels given as a pandas DataFrame with float ids (``7.0``, as pandas holds an
    integer column that had a missing value) were refused ("label conversation ids are
    float64"), where the same labels read from Parquet are integers (``7``). Now the ids
    of every labels table are read by one rule, that of a labels file's ids (the events'
    id rule): the two agree; a DataFrame of ``conversation_id`` and ``is_grooming`` alone
    still trains, and a fractional id is refused naming column, row and value."""
    data = generate(300, prevalence=0.1, seed=3)
    table = data.labels.to_arrow()
    floats = table.column("conversation_id").cast(pa.float64())
    table = table.set_column(0, "conversation_id", floats)
    pq.write_table(table, tmp_path / "labels.parquet")
    from_file = labels_from_arrow(pq.read_table(tmp_path / "labels.parquet"))
    assert from_file.conversation_id.tolist() == data.labels.conversation_id.tolist()
    frame = pd.DataFrame(
        {"conversation_id": floats.to_numpy(), "is_grooming": table["is_grooming"]}
    )
    features = extract_features(data.messages)
    want = align_labels(features, data.labels)
    assert align_labels(features, frame).tolist() == want.tolist()
    assert align_labels(features, from_file).tolist() == want.tolist()
    model = rs.train(features, frame, n_splits=2)
    assert model.feature_names == rs.model.MODEL_INPUTS
    frame.loc[4, "conversation_id"] = 7.5
    with pytest.raises(rs.SchemaError, match=r"7\.5 is not an id") as info:
        align_labels(features, frame)
    assert (info.value.column, info.value.row) == ("conversation_id", 4)
