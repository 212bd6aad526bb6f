"""The parts of riskscore.integrations.spark that need no Spark session (nor Java):
conversation blocks never split a conversation, tally stages equal single-machine
tallies, and states packed as bytes come back bit for bit.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from riskscore.features.slots import N_STATE
from riskscore.integrations._spark_blocks import state_array, state_matrix
from riskscore.integrations._spark_partition import (
    key_blocks,
)
from riskscore.integrations._spark_read import CANONICAL_INTEGER

# ---------------------------------------------------------------- blocks and stages (no Spark)


def _batches(conv: list[int], size: int) -> list[pa.RecordBatch]:
    table = pa.table({"conversation_id": conv, "x": list(range(len(conv)))})
    return table.to_batches(max_chunksize=size)


@pytest.mark.parametrize(("batch_size", "block_events"), [(1, 1), (2, 3), (3, 100), (7, 4)])
def test_conversation_blocks_never_split_a_conversation(batch_size: int, block_events: int) -> None:
    conv = [1, 1, 1, 2, 3, 3, 3, 3, 3, 4, 5, 5]
    blocks = list(key_blocks(_batches(conv, batch_size), block_events))
    seen = [b.column("conversation_id").to_pylist() for b in blocks]
    assert [v for block in seen for v in block] == conv  # nothing lost, order kept
    owners: dict[int, int] = {}
    for i, block in enumerate(seen):
        for c in block:
            assert owners.setdefault(c, i) == i, f"conversation {c} split across blocks"
    assert all(len(b) >= block_events for b in seen[:-1])  # blocks are not too small


def test_conversation_blocks_of_nothing() -> None:
    assert list(key_blocks(iter([]), 10)) == []


def test_blocks_without_a_key_cut_anywhere() -> None:
    conv = [1, 1, 1, 2, 3, 3, 3, 3, 3, 4, 5, 5]
    blocks = list(key_blocks(_batches(conv, 2), 3, key=None))
    assert [len(b) for b in blocks] == [4, 4, 4]
    assert [v for b in blocks for v in b.column("conversation_id").to_pylist()] == conv


def test_states_packed_as_bytes_come_back_bit_for_bit() -> None:
    """The fold stage moves each conversation's state as one binary value; sliced and
    chunked, as Spark may hand the column back, it unpacks to the same floats."""
    rng = np.random.default_rng(7)
    states = rng.normal(size=(9, N_STATE))
    states[2, 0] = np.nan
    states[3, 1] = -np.inf
    packed = state_array(states)
    chunked = pa.chunked_array([packed.slice(0, 4), packed.slice(4)])
    np.testing.assert_array_equal(state_matrix(chunked), states)
    np.testing.assert_array_equal(state_matrix(packed.slice(3, 5)), states[3:8])
    assert state_matrix(packed.slice(0, 0)).shape == (0, N_STATE)
    with pytest.raises(ValueError, match="bytes each"):
        state_matrix(pa.array([b"x" * 8]))


def test_states_come_back_from_large_binary_too() -> None:
    """Was (hostile review): under ``spark.sql.execution.arrow.useLargeVarTypes`` the
    states arrive as ``large_binary`` (64-bit offsets), read as 32-bit: every scoring task
    failed with "conversation states must be 352 bytes each"."""
    states = np.random.default_rng(3).normal(size=(5, N_STATE))
    large = state_array(states).cast(pa.large_binary())
    np.testing.assert_array_equal(state_matrix(large), states)
    np.testing.assert_array_equal(state_matrix(large.slice(1, 3)), states[1:4])


@pytest.mark.parametrize(
    ("name", "own"),
    [("0", True), ("7", True), ("-7", True), ("123456789012345678901", True), ("-0", False),
     ("007", False), ("+7", False), ("7.0", False), ("", False), ("1e3", False)],
)  # fmt: skip
def test_a_partition_name_keeps_its_id_only_as_an_integers_own_text(name: str, own: bool) -> None:
    """Spark reads ``conversation_id=-0`` as 0, as ``=007`` as 7: such a directory beside
    ``=0`` or ``=7`` merged two conversations (``_spark_read._check_partition_ids``)."""
    assert (CANONICAL_INTEGER.fullmatch(name) is not None) is own
