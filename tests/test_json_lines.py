"""JSON lines written column by column (riskscore.io.json_lines) parse to the rows that
:func:`json.dumps` would write, value by value, for every column type riskscore writes."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.io.json_lines import json_dumps, json_text, write_json_lines


def _lines(table: pa.Table) -> list[Any]:
    sink = io.BytesIO()
    write_json_lines(table, sink)
    text = sink.getvalue().decode("utf-8")
    assert text.endswith("\n") or not text
    return [json.loads(line) for line in text.split("\n")[:-1]]  # not splitlines: U+2028


def _expected(table: pa.Table) -> list[Any]:
    """The rows as the writer means them: NaN and infinities as null (JSON has neither)."""

    def plain(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    return [{k: plain(v) for k, v in row.items()} for row in table.to_pylist()]


def test_every_column_type_riskscore_writes() -> None:
    table = pa.table(
        {
            "id": pa.array([1, None, -(2**63), 2**63 - 1], pa.int64()),
            "age": pa.array([13.0, float("nan"), None, 0.1]),
            "risk": pa.array([float("inf"), 1e-7, 1e21, -0.0]),
            "flag": pa.array([True, False, None, True]),
            "name": pa.array(['a"b', "back\\slash", None, "caf\u00e9 \u5f20 \U0001f600"]),
            "channel": pa.array(["direct", "public", None, "direct"]).dictionary_encode(),
            "reasons": pa.array([["x", 'q"'], [], None, ["\u2028"]], pa.list_(pa.string())),
            "other": pa.array([{"a": 1}, None, {"a": 2}, {"a": None}]),
            "tab": pa.array(["a\tb", "ok", None, "\x00"]),
        }
    )
    assert _lines(table) == _expected(table)


def test_slices_of_a_sliced_table_and_no_rows() -> None:
    table = pa.table({"n": list(range(10)), "s": [["a"] * (i % 3) for i in range(10)]})
    assert _lines(table.slice(3, 5)) == _expected(table.slice(3, 5))
    assert _lines(table.slice(0, 0)) == []


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=20),
    st.lists(st.one_of(st.none(), st.floats()), min_size=1, max_size=20),
)
def test_any_text_and_any_float(texts: list[str | None], floats: list[float | None]) -> None:
    n = min(len(texts), len(floats))
    table = pa.table({"t": texts[:n], "f": pa.array(floats[:n], pa.float64())})
    assert _lines(table) == _expected(table)


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(),
            st.sampled_from([0.0, -0.0, 13.0, 1e15, 9.5e15, 1e16, 1e-5, 1.5e-5, 1e-7, 0.0001]),
            st.integers(-(2**53), 2**53).map(float),
        ),
        max_size=20,
    ),
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=20),
)
def test_numbers_are_the_bytes_json_dumps_writes(
    floats: list[float | None], ints: list[int | None]
) -> None:
    """``13.0`` stays ``13.0`` (a reader gets a float back, as from json.dumps), ``1e-05``
    and ``1e+16`` are written as Python writes them: one text for one number, whichever
    writer wrote it."""
    for values, kind in ((floats, pa.float64()), (ints, pa.int64())):
        got = json_text(pa.array(values, kind)).to_pylist()
        want = [json_dumps(None if v is None or not math.isfinite(v) else v) for v in values]
        assert got == want
