"""The one rule of floats too narrow for a column (riskscore/io/float_width.py): ages and
timestamps refuse them through it, with its one message."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from io_hostile_helpers import BASE_EVENT, T0

import riskscore as rs
from riskscore.io.float_width import FloatWidth

_SECONDS = FloatWidth(64, "epoch seconds", "steps of minutes", "integers or 64-bit floats")
_AGES = FloatWidth(
    32, "an age in years", "steps of days: 17.999 is stored as 18.0", "32- or 64-bit floats"
)


def _events(n: int, **columns: Any) -> dict[str, Any]:
    events = {k: [v] * n for k, v in BASE_EVENT.items()}
    return {**events, "timestamp": [T0 + i for i in range(n)], **columns}


@pytest.mark.parametrize(
    ("width", "cells", "expected"),
    [
        (_SECONDS, np.array([T0, np.float32(1.0), 2.0, None], dtype=object), [0, 1, 0, 0]),
        (_SECONDS, np.zeros(2, dtype=np.float32), [1, 1]),
        (_SECONDS, np.zeros(2, dtype=np.float64), [0, 0]),
        (_AGES, np.array([np.float16(1.0), np.float32(1.0)], dtype=object), [1, 0]),
        (_AGES, np.zeros(2, dtype=np.float16), [1, 1]),
        (_AGES, np.zeros(2, dtype=np.int64), [0, 0]),
    ],
)
def test_narrow_cells_are_the_floats_of_fewer_bits(
    width: FloatWidth, cells: Any, expected: list[int]
) -> None:
    assert width.cells(cells).tolist() == [bool(e) for e in expected]


def test_a_narrow_timestamp_column_and_cell_are_refused_with_the_rules_message() -> None:
    column = np.asarray([T0, T0 + 1], dtype=np.float32)
    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(_events(2, timestamp=column))
    assert _SECONDS.reason(32) in str(info.value)
    cells = np.array([T0, np.float16(1.0)], dtype=object)
    msgs = rs.read_messages(_events(2, timestamp=cells), errors="quarantine")
    assert msgs.quarantined.reason[0].endswith(_SECONDS.reason(16))


def test_a_narrow_age_is_refused_with_the_rules_message() -> None:
    ages = np.array([12.0, np.float16(17.999)], dtype=object)
    msgs = rs.read_messages(_events(2, recipient_age=ages), errors="quarantine")
    assert msgs.quarantined.row == (1,)
    assert msgs.quarantined.reason[0].endswith(_AGES.reason(16))
