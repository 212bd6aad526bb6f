"""Issue 15 hardening of the online scorer: far-future events, the live-conversation cap,
corrupt checkpoints, and a bounded fuzz of ``update_one`` with hostile events."""

from __future__ import annotations

import contextlib
import json
import math
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.exceptions import CheckpointError, SchemaError

FAR_FUTURE = 7_200_000_000  # year 2198 (the validator refuses 2200 and later)


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    data = rs.synthetic.generate(1320, prevalence=0.1, seed=15)
    return list(data.messages.iter_events())


def _run(model: rs.RiskModel, events: list[dict[str, Any]], **kw: Any) -> tuple[Any, list[Any]]:
    scorer = rs.OnlineScorer(model, **kw)
    alerts = []
    for event in events:
        with contextlib.suppress(SchemaError):
            alerts.extend(scorer.update_one_all(event))
    return scorer, [a.to_dict() for a in alerts]


def test_one_far_future_event_changes_no_state(
    model: rs.RiskModel, events: list[dict[str, Any]]
) -> None:
    """1,320 live conversations, one event near year 2200: still 1,320 live, same alerts."""
    bomb = {**events[0], "conversation_id": "bomb", "timestamp": FAR_FUTURE}
    half = len(events) // 2
    base, base_alerts = _run(model, events, idle_expiry_s=math.inf)
    assert base.n_conversations == 1320
    for where in (half, len(events)):
        hit, hit_alerts = _run(
            model, [*events[:where], bomb, *events[where:]], idle_expiry_s=math.inf
        )
        assert hit.n_refused_future == 1
        assert hit.n_conversations == 1320
        assert hit.n_accounts == base.n_accounts
        assert (hit.clock, hit.n_events, hit.n_expired) == (base.clock, base.n_events, 0)
        assert hit_alerts == base_alerts
    # with the default 30-day expiry as well
    base, base_alerts = _run(model, events)
    hit, hit_alerts = _run(model, [*events[:half], bomb, *events[half:]])
    assert hit_alerts == base_alerts
    assert hit.n_conversations == base.n_conversations
    assert hit.n_expired == base.n_expired


def test_future_limit_follows_the_time_source(model: rs.RiskModel) -> None:
    e = {"conversation_id": 1, "sender_id": "a", "recipient_id": "b", "channel": "direct"}
    now = 1_767_225_600
    fixed = rs.OnlineScorer(model, time_source=lambda: now, max_future_s=3600)
    fixed.update_one({**e, "timestamp": now + 3600})
    with pytest.raises(SchemaError, match="max_future_s"):
        fixed.update_one({**e, "timestamp": now + 3601})
    assert (fixed.n_events, fixed.n_refused_future, fixed.clock) == (1, 1, now + 3600)
    replay = rs.OnlineScorer(model, time_source="events")
    replay.update_one({**e, "timestamp": 1_000_000_000})  # the first event is trusted
    replay.update_one({**e, "timestamp": 1_000_000_000 + 86_400})
    with pytest.raises(SchemaError):
        replay.update_one({**e, "timestamp": 1_000_000_000 + 3 * 86_400})
    assert replay.n_refused_future == 1
    assert replay.clock == 1_000_086_400
    wall = rs.OnlineScorer(model)
    with pytest.raises(SchemaError):
        wall.update_one({**e, "timestamp": FAR_FUTURE})
    assert wall.n_conversations == wall.n_accounts == wall.n_events == 0


def test_live_conversations_are_capped_least_recently_active_evicted(
    model: rs.RiskModel, tmp_path: Path
) -> None:
    scorer = rs.OnlineScorer(model, max_conversations=3)
    t = 1_767_225_600
    for k in range(5):
        scorer.update_one(
            {"conversation_id": k, "timestamp": t + k, "sender_id": f"a{k}",
             "recipient_id": f"b{k}", "channel": "direct"}
        )  # fmt: skip
    scorer.update_one(
        {"conversation_id": 2, "timestamp": t + 9, "sender_id": "a2", "recipient_id": "b2",
         "channel": "direct"}
    )  # fmt: skip
    scorer.update_one(
        {"conversation_id": 9, "timestamp": t + 10, "sender_id": "a9", "recipient_id": "b9",
         "channel": "direct"}
    )  # fmt: skip
    assert scorer.n_conversations == 3
    assert scorer.n_evicted == 3
    assert scorer.n_accounts <= 6
    with pytest.raises(KeyError):
        scorer.score_of(3)
    scorer.score_of(2)  # touched again, so kept
    path = tmp_path / "c.sqlite"
    scorer.checkpoint(path)
    again = rs.OnlineScorer.restore(path, model)
    assert (again.max_conversations, again.n_evicted, again.n_conversations) == (3, 3, 3)
    with pytest.raises(ValueError, match="max_conversations"):
        rs.OnlineScorer(model, max_conversations=0)


def _checkpoint(model: rs.RiskModel, path: Path) -> None:
    scorer = rs.OnlineScorer(model)
    scorer.update_one(
        {"conversation_id": 1, "timestamp": 1_767_225_600, "sender_id": "a",
         "recipient_id": "b", "channel": "direct", "sender_age": 30, "recipient_age": 12}
    )  # fmt: skip
    scorer.checkpoint(path, extra={"lines": 1})


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM meta WHERE key = 'counters'",
        "DELETE FROM meta WHERE key = 'config'",
        "UPDATE meta SET value = '{\"clock\": 1}' WHERE key = 'counters'",
        "UPDATE meta SET value = '[1, 2]' WHERE key = 'config'",
        "UPDATE meta SET value = '{not json' WHERE key = 'counters'",
        "UPDATE meta SET value = '[[1]]' WHERE key = 'adult_index'",
        "UPDATE conversations SET state = '{\"a\": 1}'",
        'UPDATE conversations SET state = \'["a", "b", [1, 2]]\'',
        'UPDATE conversations SET state = \'["a", "b", 7]\'',
        "UPDATE conversations SET id = '[1]'",
        "UPDATE accounts SET state = '7'",
        "UPDATE accounts SET state = '[[], [], [], [1], 0]'",
        "UPDATE accounts SET state = 'nope'",
        'UPDATE meta SET value = \'{"clock": -5, "n_events": 1, "n_clamped": 0, '
        '"n_too_late": 0, "n_expired": 0}\' WHERE key = \'counters\'',
    ],
)
def test_malformed_checkpoints_raise_checkpoint_error(
    model: rs.RiskModel, tmp_path: Path, sql: str
) -> None:
    path = tmp_path / "c.sqlite"
    _checkpoint(model, path)
    con = sqlite3.connect(path)
    con.execute(sql)
    con.commit()
    con.close()
    with pytest.raises(CheckpointError):
        rs.OnlineScorer.restore(path, model)


def test_corrupted_checkpoint_pages_are_refused(model: rs.RiskModel, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    scorer = rs.OnlineScorer(model)
    for k in range(3000):
        scorer.update_one(
            {"conversation_id": k, "timestamp": 1_767_225_600 + k, "sender_id": f"a{k}",
             "recipient_id": f"b{k}", "channel": "direct"}
        )  # fmt: skip
    scorer.checkpoint(path)
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    raw = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page, len(raw) - page, 7 * page):
        raw[offset + 20 : offset + 400] = bytes(range(256)) + bytes(124)
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):
        rs.OnlineScorer.restore(path, model)
    path.write_bytes(b"garbage" * 100)
    with pytest.raises(CheckpointError):
        rs.OnlineScorer.restore(path, model)


def _change_a_digit(text: str) -> str:
    """``text`` with its last digit changed: still valid JSON of the same shape, and of
    values a checkpoint holds (not the digit after a point: ``1.0`` read as ``1.1`` is a
    count or a time that is not whole, refused by the value's own rule before the
    checksum is reached)."""
    i = max(k for k, ch in enumerate(text) if ch.isdigit() and text[k - 1 : k] != ".")
    return text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1 :]


@pytest.mark.parametrize(
    ("table", "key_column", "value_column"),
    [("conversations", "pos", "state"), ("accounts", "pos", "state"), ("meta", "key", "value")],
)
def test_a_value_changed_inside_a_row_is_refused_by_the_checksum(
    model: rs.RiskModel, tmp_path: Path, table: str, key_column: str, value_column: str
) -> None:
    # a changed digit keeps the file intact for PRAGMA integrity_check and the JSON valid:
    # before checksums, such a checkpoint was restored with another state, silently
    path = tmp_path / "c.sqlite"
    _checkpoint(model, path)
    con = sqlite3.connect(path)
    key, text = con.execute(
        f"SELECT {key_column}, {value_column} FROM {table} WHERE {value_column} GLOB '*[0-9]*' "
        f"AND {key_column} != 'checksums' ORDER BY {key_column} LIMIT 1"
    ).fetchone()
    con.execute(
        f"UPDATE {table} SET {value_column} = ? WHERE {key_column} = ?",
        (_change_a_digit(text), key),
    )
    con.commit()
    con.close()
    with pytest.raises(CheckpointError, match="do not match the checksum"):
        rs.OnlineScorer.restore(path, model)


@pytest.mark.parametrize(
    "checksums",
    [
        None,  # the entry deleted
        {"meta": True, "accounts": True},  # the conversations' checksum dropped
        {"meta": True, "conversations": True, "accounts": 1},
        ["meta", "conversations", "accounts"],
    ],
)
def test_a_checkpoint_without_its_checksums_is_refused(
    model: rs.RiskModel, tmp_path: Path, checksums: Any
) -> None:
    """Was: a checkpoint without its ``checksums`` entry was read unverified, as one
    written before checksums existed, and a table whose checksum was missing was read
    unchecked; but every file of the one schema version read (5) was written with all
    three, so such a file was changed after it was written: with a room's entry emptied, a
    scorer came back without the room's pairs, in silence. Now it is refused, saying so
    (True: that entry as written)."""
    path = tmp_path / "c.sqlite"
    _checkpoint(model, path)
    con = sqlite3.connect(path)
    (text,) = con.execute("SELECT value FROM meta WHERE key = 'checksums'").fetchone()
    written = json.loads(text)
    assert set(written) == {"meta", "conversations", "accounts"}
    if checksums is None:
        con.execute("DELETE FROM meta WHERE key = 'checksums'")
    else:
        if isinstance(checksums, dict):
            checksums = {k: written[k] if v is True else v for k, v in checksums.items()}
        con.execute("UPDATE meta SET value = ? WHERE key = 'checksums'", (json.dumps(checksums),))
    con.execute("UPDATE conversations SET id = '\"another\"'")  # now unchecked
    con.commit()
    con.close()
    found = "no checksums" if checksums is None else "checksums "
    with pytest.raises(CheckpointError, match=f"holds {found}") as info:
        rs.OnlineScorer.restore(path, model)
    assert "the file was changed after it was written" in str(info.value)


def test_checkpoint_of_negative_lines_is_refused_by_stream(
    model: rs.RiskModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    from riskscore.cli import main

    path = tmp_path / "c.sqlite"
    scorer = rs.OnlineScorer(model)
    scorer.checkpoint(path, extra={"lines": -5})
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["stream", "--checkpoint", str(path)]) != 0


_ids = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.text(max_size=300),
    st.floats(allow_nan=True),
    st.none(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
)
_times = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([FAR_FUTURE, -1, 0, 1_767_225_600, 10**400 if False else 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.none(),
)
_ages = st.one_of(st.none(), st.floats(allow_nan=True), st.integers(-(2**70), 2**70), st.text())
_events = st.fixed_dictionaries(
    {
        "conversation_id": _ids,
        "timestamp": _times,
        "sender_id": _ids,
        "recipient_id": _ids,
        "channel": st.one_of(st.sampled_from(["public", "direct", "group"]), st.text(), _ids),
    },
    optional={
        "sender_age": _ages,
        "recipient_age": _ages,
        "event": st.one_of(st.sampled_from(["message", "block", "report"]), st.text()),
        "recipient_tz_offset_min": st.one_of(st.integers(-(2**70), 2**70), st.floats()),
        "text": st.text(max_size=20),
    },
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(_events, min_size=1, max_size=12))
def test_update_one_fuzz_gives_a_result_or_schema_error(
    model: rs.RiskModel, batch: list[dict[str, Any]]
) -> None:
    scorer = rs.OnlineScorer(model)
    good = {"conversation_id": "g", "timestamp": 1_767_225_600, "sender_id": "x",
            "recipient_id": "y", "channel": "direct"}  # fmt: skip
    scorer.update_one(good)
    applied = 1
    for event in batch:
        before = (scorer.n_conversations, scorer.n_accounts, scorer.clock, scorer.n_events)
        try:
            result = scorer.update_one(event)
        except SchemaError:
            after = (scorer.n_conversations, scorer.n_accounts, scorer.clock, scorer.n_events)
            assert after == before  # a refused event changes no state
            continue
        applied += 1
        assert result is None or isinstance(result, rs.Alert)
    assert scorer.n_events == applied
    assert scorer.clock <= 1_767_225_600 + 86_400 or scorer.clock < 2**40
    assert scorer.n_conversations == len(scorer._conversations)
    for cid in list(scorer._conversations):
        assert 0.0 <= scorer.score_of(cid) <= 1.0
    json.dumps(scorer.checkpoint_extra)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("cooldown_s", "60", "cooldown_s must be a number of seconds >= 0, got '60'"),
        ("cooldown_s", True, "cooldown_s must be a number of seconds >= 0, got True"),
        ("reorder_tolerance_s", math.nan, "reorder_tolerance_s must be a number of seconds"),
        ("max_future_s", -1, "max_future_s must be a number of seconds >= 0, got -1"),
        ("cooldown_s", 10**400, "cooldown_s must be a number of seconds >= 0, got 1000"),
        ("idle_expiry_s", 0, "idle_expiry_s must be a number of seconds > 0, got 0"),
        (
            "max_conversations",
            2.0,
            "max_conversations must be an integer from 1 to 1000000000, got 2.0",
        ),
    ],
)
def test_scorer_options_of_the_wrong_type_are_refused_by_name(
    option: str, value: object, message: str
) -> None:
    """Before: a duration given as text raised a TypeError from a comparison, naming no
    option (one rule now: riskscore._checks.check_seconds)."""
    with pytest.raises(ValueError, match=re.escape(message)):
        rs.OnlineScorer(rs.load_model(), **{option: value})


def test_durations_of_never_are_accepted() -> None:
    scorer = rs.OnlineScorer(rs.load_model(), idle_expiry_s=math.inf, max_future_s=math.inf)
    assert scorer.idle_expiry_s == scorer.max_future_s == math.inf
