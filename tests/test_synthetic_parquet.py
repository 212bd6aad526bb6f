"""The synthetic generator writing chunked Parquet: byte-identical, self-contained chunks
with unique ids, the same data as one call of ``generate``, exact rare prevalence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from riskscore.io import read_messages
from riskscore.io.messages import MessageTable
from riskscore.synthetic import (
    Labels,
    generate,
    generate_parquet,
    labels_from_arrow,
)

# ---------------------------------------------------------------- chunked Parquet


def _read_chunked(events: Path, labels: Path) -> tuple[MessageTable, Labels]:
    return read_messages(events), labels_from_arrow(pq.read_table(labels))


def test_generate_parquet_is_byte_identical_and_chunked(tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {"prevalence": 0.05, "seed": 3, "chunk_conversations": 700}
    first = generate_parquet(tmp_path / "a" / "events.parquet", 2000, **kwargs)
    second = generate_parquet(tmp_path / "b" / "events.parquet", 2000, **kwargs)
    assert first[1].name == "labels.parquet"
    assert first[0].read_bytes() == second[0].read_bytes()
    assert first[1].read_bytes() == second[1].read_bytes()
    assert pq.ParquetFile(first[0]).num_row_groups == 3
    assert not list((tmp_path / "a").glob("*.partial"))
    other = generate_parquet(tmp_path / "c" / "events.parquet", 2000, **{**kwargs, "seed": 4})
    assert other[0].read_bytes() != first[0].read_bytes()


def test_generate_parquet_chunks_are_self_contained_with_unique_ids(tmp_path: Path) -> None:
    msgs, labels = _read_chunked(
        *generate_parquet(tmp_path / "ev.parquet", 3000, prevalence=0.02, chunk_conversations=1000)
    )
    np.testing.assert_array_equal(labels.conversation_id, np.arange(3000))
    np.testing.assert_array_equal(msgs.conversations, labels.conversation_id)
    assert int(labels.is_grooming.sum()) == 60
    # No account takes part in conversations of two chunks.
    chunk_of_event = msgs.conversation_id // 1000
    for codes in (msgs.sender_code, msgs.recipient_code):
        per_account = np.full(len(msgs.accounts), -1)
        per_account[codes] = chunk_of_event
        assert np.array_equal(per_account[codes], chunk_of_event)


def test_generate_parquet_with_one_chunk_holds_what_generate_returns(tmp_path: Path) -> None:
    msgs, labels = _read_chunked(
        *generate_parquet(tmp_path / "x.parquet", 800, prevalence=0.05, seed=12)
    )
    assert (tmp_path / "x.labels.parquet").exists()
    data = generate(800, prevalence=0.05, seed=12)
    for name, values in data.messages.columns(decoded=False).items():
        np.testing.assert_array_equal(getattr(msgs, name), values, err_msg=name)
    for name in ("conversation_id", "is_grooming", "onset_index", "adult_id", "scenario"):
        np.testing.assert_array_equal(getattr(labels, name), getattr(data.labels, name))


def test_prevalence_of_one_in_ten_thousand_is_exact_over_chunks(tmp_path: Path) -> None:
    _, labels = generate_parquet(
        tmp_path / "e.parquet", 25_000, prevalence=1e-4, seed=1, chunk_conversations=5_000
    )
    assert int(pq.read_table(labels).column("is_grooming").to_numpy().sum()) == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"chunk_conversations": 0}, "chunk_conversations must be an integer >= 1, got 0"),
        ({"colour": "red"}, r"unknown argument\(s\) \['colour'\]"),
        ({"label_noise": 0.7}, r"label_noise must be a number in \[0, 0.5\], got 0.7"),
    ],
)
def test_generate_parquet_names_bad_arguments(
    tmp_path: Path, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        generate_parquet(tmp_path / "events.parquet", 10, **kwargs)
    with pytest.raises(ValueError, match=r"path must end in \.parquet"):
        generate_parquet(tmp_path / "events.csv", 10)
