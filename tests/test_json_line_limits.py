"""The limits of a JSON line (riskscore/io/jsonl.py ``line_problem``), one rule for a file's
lines, ``riskscore stream`` and each element of a request body's JSON array."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from riskscore.io.jsonl import line_problem
from riskscore.io.schema import MAX_JSON_DEPTH, MAX_JSON_LINE_LENGTH
from riskscore.serve.body import parse_body

_PIECES = st.sampled_from(["[", "]", "{", "}", '"', "\\", "x", " ", "\n", "\r"])


@given(
    st.lists(_PIECES, max_size=200).map("".join),
    st.integers(0, 200),
    st.integers(0, 200),
)
def test_a_span_is_checked_as_the_line_it_holds(text: str, start: int, end: int) -> None:
    start, end = sorted((min(start, len(text)), min(end, len(text))))
    assert line_problem(text, "an event", start, end) == line_problem(text[start:end], "an event")


def test_elements_of_a_json_array_are_held_to_the_limits_of_a_line() -> None:
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    long = '{"x": "' + "a" * MAX_JSON_LINE_LENGTH + '"}'
    items = parse_body(f'[{{"a": 1}}, {deep}, {long}]'.encode(), "application/json", None)
    assert [item.error for item in items] == [
        None,
        f"event 1 nests arrays or objects deeper than {MAX_JSON_DEPTH} levels",
        f"event 2 is an event of {len(long)} characters: the limit is {MAX_JSON_LINE_LENGTH} "
        "(a schema v1 event takes a few hundred)",
    ]
