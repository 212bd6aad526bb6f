"""A refused event costs microseconds, not the one-row table (a millisecond), and is refused
in the very words of that table: each column's check of one value
(:func:`riskscore.io.validate.quick_refusal`) against
:func:`riskscore.io.validate.validate_one` and the batch validator, event by event.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_hostile_helpers import BASE_EVENT

import riskscore as rs
from riskscore.io import column_names, content_names, validate
from riskscore.io.events import parse_event_fast
from riskscore.io.raw import show
from riskscore.io.validate import quick_refusal, validate_columns, validate_one

ROW = 17
ROOT = Path(__file__).resolve().parent.parent


def _with(**fields: object) -> dict[str, Any]:
    return {**BASE_EVENT, **fields}


#: Hostile events, one (or two) bad values each, covering every rule of every column; the
#: check of one value names them all (the last few: values it leaves to the one-row table).
DECIDED: list[tuple[str, dict[str, Any]]] = [
    ("unknown channel", _with(channel="whatsapp")),
    ("empty channel", _with(channel=" ")),
    ("channel None", _with(channel=None)),
    ("channel NaN", _with(channel=math.nan)),
    ("channel a sentence", _with(channel="see you at the park")),
    ("unknown event", _with(event="wink")),
    ("age -3", _with(sender_age=-3)),
    ("age 121", _with(recipient_age=121)),
    ("age inf", _with(recipient_age=math.inf)),
    ("age text", _with(sender_age="twelve")),
    ("age boolean", _with(sender_age=True)),
    ("timestamp before 2000", _with(timestamp=900_000_000)),
    ("timestamp NaN", _with(timestamp=math.nan)),
    ("timestamp None", _with(timestamp=None)),
    ("timestamp boolean", _with(timestamp=True)),
    ("timestamp after 2200", _with(timestamp=1e20)),
    ("timestamp -inf", _with(timestamp=-math.inf)),
    ("timestamp milliseconds", _with(timestamp=1_700_000_000_000)),
    ("tz fraction", _with(recipient_tz_offset_min=90.5)),
    ("tz out of range", _with(recipient_tz_offset_min=900)),
    ("tz text", _with(recipient_tz_offset_min="UTC+1")),
    ("room of one", _with(room_size=1)),
    ("room fraction", _with(room_size=2.5)),
    ("room boolean", _with(room_size=False)),
    ("conversation None", _with(conversation_id=None)),
    ("conversation empty", _with(conversation_id="  ")),
    ("conversation NaN", _with(conversation_id=math.nan)),
    ("sender control", _with(sender_id="a\nb", recipient_id="c")),
    ("sender too long", _with(sender_id="x" * 300, recipient_id="c")),
    ("sender boolean", _with(sender_id=True)),
    ("sender fraction", _with(sender_id=1.5)),
    ("recipient a sentence", _with(sender_id="a", recipient_id="see you at the park")),
    ("recipient over-long integer", _with(recipient_id=10**300)),
    ("mixed id kinds", _with(sender_id=5, recipient_id="5")),
    ("text to itself", _with(sender_id="a", recipient_id="a")),
    ("integer to itself", _with(sender_id=7, recipient_id=7)),
    ("first of two in check order", _with(channel="whatsapp", sender_age=-3)),
    ("an id before the timestamp", _with(timestamp=5, conversation_id=None)),
    ("a bad value before the self-send", _with(recipient_id=10, channel="x")),
    ("default event, bad room", _with(event=None, room_size=1)),
    # timestamps as text (a date, a word, ...) and numpy numbers: by the column's own rules
    ("text date", _with(timestamp="2024-05-01")),
    ("text word", _with(timestamp="yesterday")),
    ("text date and time, no offset", _with(timestamp=" 2024-05-01T10:00:00 ")),
    ("text time of day", _with(timestamp="21:30")),
    ("text time of day with offset", _with(timestamp="21:30+01:00")),
    ("text offset no clock uses", _with(timestamp="2024-05-01T10:00:00+15:00")),
    ("text month 13", _with(timestamp="2024-13-01T10:00:00Z")),
    ("text ISO before 2000", _with(timestamp="1999-12-31T23:59:59+00:00")),
    ("text seconds before 2000", _with(timestamp="900000000.5")),
    ("text seconds beyond floats", _with(timestamp="1e400")),
    ("text empty", _with(timestamp="")),
    ("text a sentence", _with(timestamp="see you at the park later on")),
    ("numpy int64 timestamp", _with(timestamp=np.int64(5))),
    ("numpy float64 NaN timestamp", _with(timestamp=np.float64("nan"))),
    ("numpy float32 timestamp", _with(timestamp=np.float32(1.7e9))),
    ("numpy int32 timestamp", _with(timestamp=np.int32(-1))),
]
UNDECIDED: list[tuple[str, dict[str, Any]]] = [
    ("whole float id", _with(sender_id=5.0, channel="whatsapp")),
    ("decimal age", _with(sender_age=Decimal("-3"), channel="x")),
    ("decimal timestamp", _with(timestamp=Decimal("5"))),
    ("text timestamp with a tab", _with(timestamp="2024-05-01\t")),
    ("text timestamp not ASCII", _with(timestamp="2024-05-01\u3000")),
    ("channel as a number", _with(channel=2)),
]
CASES = DECIDED + UNDECIDED


def _error(call: Any, *args: Any, **kwargs: Any) -> rs.SchemaError:
    with pytest.raises(rs.SchemaError) as info:
        call(*args, **kwargs)
    return info.value


def _same(a: rs.SchemaError, b: rs.SchemaError) -> None:
    assert type(a) is type(b)
    assert str(a) == str(b)
    assert (a.column, a.row, a.value, a.line) == (b.column, b.row, b.value, b.line)


@pytest.mark.parametrize(("name", "event"), CASES, ids=[name for name, _ in CASES])
def test_a_refused_event_gives_the_one_row_tables_error(name: str, event: dict[str, Any]) -> None:
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    online = _error(scorer.update_one, event, row=ROW)
    _same(online, _error(validate_one, event, ROW))
    assert scorer.n_events == 0
    # the batch validator on the same one-row table: the same column and reason (a table
    # names a row, quotes a decimal as the number it read, and words the self-send with
    # its rule)
    table = {k: np.array([v], dtype=object) for k, v in event.items()}
    batch = _error(validate_columns, table, max_future_s=math.inf)
    head = f"column {online.column!r}, event {ROW}: {show(online.value)} "
    assert str(online).startswith(head)
    assert batch.column == online.column
    assert str(batch).startswith(f"column {online.column!r}, row 0: ")
    reason = str(online).removeprefix(head)
    if reason == "is also the sender":
        reason += ": an event goes from one account to another"
    assert str(batch).endswith(f" {reason}")


@pytest.mark.parametrize(("name", "event"), DECIDED, ids=[name for name, _ in DECIDED])
def test_the_check_of_one_value_names_every_rule_without_a_table(
    name: str, event: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _error(validate_one, event, ROW)

    def no_table(event: object, row: int | None = None) -> None:
        raise AssertionError("the one-row table was built")

    monkeypatch.setattr("riskscore.io.events.validate_one", no_table)
    quick = quick_refusal(event, ROW)
    assert quick is not None
    _same(quick, expected)
    _same(_error(parse_event_fast, event, ROW), expected)
    _same(_error(parse_event_fast, event, None), _error(validate_one, event, None))


@pytest.mark.parametrize(("name", "event"), UNDECIDED, ids=[name for name, _ in UNDECIDED])
def test_other_kinds_of_value_are_left_to_the_one_row_table(
    name: str, event: dict[str, Any]
) -> None:
    assert quick_refusal(event, ROW) is None


def test_valid_values_are_refused_by_none() -> None:
    assert quick_refusal(dict(BASE_EVENT)) is None
    assert quick_refusal(_with(sender_age=None, event="", room_size=3, channel=" Direct ")) is None


def test_the_checks_of_one_value_run_in_the_tables_check_order() -> None:
    cells = {k: np.array([v], dtype=object) for k, v in BASE_EVENT.items()}
    assert list(validate._ONE_VALUE_CHECKS) == list(validate._checks(cells, 1, None))


def test_content_like_and_missing_fields_keep_their_messages() -> None:
    scorer = rs.OnlineScorer(rs.load_model())
    content = _error(scorer.update_one, _with(caption="x", channel="whatsapp"), row=ROW)
    _same(content, validate.content_refusal("caption", "event", noun="field", row=ROW))
    missing = {k: v for k, v in BASE_EVENT.items() if k != "channel"}
    assert str(_error(scorer.update_one, missing, row=ROW)) == (
        f"event {ROW} lacks required field 'channel'"
    )
    # an extra field that is not read, beside a bad value: still the value's refusal
    extra = _with(colour="red", sender_age=-3)
    _same(_error(scorer.update_one, extra, row=ROW), _error(validate_one, extra, ROW))


HOSTILE = st.one_of(
    st.sampled_from([None, math.nan, math.inf, -math.inf, True, False, 0, -3, 1, 2, 5, 7,
                     90.5, 121, 900, 900_000_000, BASE_EVENT["timestamp"], 10**300, 2**70,
                     1e20, "", " ", "a", "a\nb", "x" * 300, "see you at the park", "direct",
                     " Public ", "message", "wink", "12", "nan", "twelve", "5", "\ud800",
                     "2024-05-01", "2024-05-01T10:00:00Z", " 2024-05-01 10:00+14 ", "1.7e9",
                     "2024-05-01T10:00:00-13:00", "2024-02-30T10:00:00Z", "1e400", "10:00",
                     "1704067200.9999999999", "2199-12-31T23:59:59.9999999+00:00", "1E9 ",
                     np.int64(5), np.int64(BASE_EVENT["timestamp"]), np.float64(1.7e9),
                     np.float32(1.7e9), np.float16(1), np.uint64(2**63), np.float64("nan")]),
    st.integers(min_value=-(2**66), max_value=2**66),
    st.floats(),
    st.text(max_size=6),
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(rs.io.schema.SCHEMA_COLUMNS), HOSTILE, max_size=4),
    st.sampled_from([None, 0, ROW]),
)
def test_any_plain_value_is_refused_as_the_one_row_table_refuses_it(
    changes: dict[str, object], row: int | None
) -> None:
    event = {**BASE_EVENT, **changes}
    quick = quick_refusal(event, row)
    try:
        validate_one(event, row)
    except rs.SchemaError as error:
        if quick is not None:
            _same(quick, error)
    else:
        assert quick is None


def test_a_valid_event_with_fields_not_read_builds_no_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a field riskscore does not read (counted by stream and serve) cost the one-row table,
    # a millisecond, on every valid event: a producer adding one slowed the scorer 250-fold
    plain = parse_event_fast(dict(BASE_EVENT), ROW)

    def no_table(event: object, row: int | None = None) -> None:
        raise AssertionError("the one-row table was built")

    monkeypatch.setattr("riskscore.io.events.validate_one", no_table)
    assert parse_event_fast(_with(colour="red", device={"os": "x"}), ROW) == plain


def test_refusals_are_quick_with_the_jit_disabled_too() -> None:
    # NUMBA_DISABLE_JIT=1 (coverage, debugging) leaves the rule a plain function, with no
    # py_func: the check of one number must not depend on it
    code = (
        "from riskscore.io.validate import quick_refusal; "
        "print(quick_refusal({'conversation_id': 1, 'timestamp': 5, 'sender_id': 'a', "
        "'recipient_id': 'b', 'channel': 'direct'}, 3))"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("column 'timestamp', event 3: 5 is out of range")


def test_a_field_names_verdict_is_kept_in_a_bounded_cache() -> None:
    # each event's fields not read had their names read for content words and misspellings
    # (10-70 us each, every event): the verdicts are kept by name, for batch and online
    # alike, and a stream of ever new names (hostile) holds at most NAME_CACHE_SIZE of them
    size = content_names.NAME_CACHE_SIZE
    content_names._content_words.cache_clear()
    column_names._verdict.cache_clear()
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    scorer.update_one(_with(client_version="1.2"))
    hits = content_names._content_words.cache_info().hits, column_names._verdict.cache_info().hits
    scorer.update_one(_with(client_version="1.3", timestamp=BASE_EVENT["timestamp"] + 1))
    assert content_names._content_words.cache_info().hits > hits[0]
    assert column_names._verdict.cache_info().hits > hits[1]
    for i in range(size + 500):
        name = f"field_{i}"
        assert not content_names.is_content_column(name)
        assert column_names.misspelt_column(name, ()) is None
        assert column_names.variant_of(name) is None
    assert content_names._content_words.cache_info().currsize == size
    assert column_names._verdict.cache_info().currsize == size
    # names too long to keep: read each time, the same verdict, and no entry replaced
    long = "x" * (content_names.MAX_CACHED_NAME_CHARS + 1)
    before = content_names._content_words.cache_info().misses, column_names._verdict.cache_info()
    assert content_names.content_words(long + "_text") == "'text'"
    assert column_names.misspelt_column(long, ()) is None
    assert content_names._content_words.cache_info().misses == before[0]
    assert column_names._verdict.cache_info() == before[1]
    # the messages are those of the rule, cached or not
    assert content_names.content_words("photo_caption") == content_names._words_of("photo_caption")
    assert content_names.content_words("photo_caption") == "'caption'"
    assert column_names.misspelt_column("recipent_age", ["sender_age"]) == "recipient_age"
    assert column_names.variant_of("Sender-ID") == "sender_id"


def _edits(a: str, b: str) -> int:
    """The edits a name is a misspelling by, as docs/schema.md counts them: a letter added,
    dropped or changed, or two neighbours swapped, each once (optimal string alignment)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(column_names._FOLDED_COLUMNS), st.text("aceimnorst_", max_size=16))
def test_a_misspelling_is_a_few_edits_of_a_column(column: tuple[str, str, int], noise: str) -> None:
    # the names are compared by a library's edit distance, cut off past the limit (a new
    # field name per event took some 55 us letter by letter in Python, now some 1 us)
    name, target, _ = column
    cut = len(noise) % 8
    for drawn in (noise, target[:cut] + noise[:3] + target[cut + 1 :]):
        folded = drawn.replace("_", "")
        near = [c for c, t, n in column_names._FOLDED_COLUMNS if _edits(folded, t) <= n]
        assert column_names._verdict(drawn)[1] == (near[0] if near else None), (name, drawn)
