"""Hostile review 41: the online path (``OnlineScorer``, its checkpoints, ``riskscore
stream``).

Each test whose docstring begins "Was:" failed on the code before its fix."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from checkpoint_helpers import reseal
from online_helpers import direct_message
from synapse_helpers import _run
from test_synapse_review18 import _at, _remote_dm

import riskscore as rs
from riskscore.cli import main

T0 = 1_767_225_600  # 2026-01-01


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _event(cid: object, ts: int, sender: object = "a", recipient: object = "b") -> dict[str, Any]:
    return direct_message(cid, ts, sender, recipient)


def _checkpoint(model: rs.RiskModel, path: Path) -> Path:
    """A checkpoint of adult ``a`` in three conversations (1, 2, 3), one child each."""
    scorer = rs.OnlineScorer(model, time_source="events")
    for i, child in enumerate("bcd"):
        scorer.update_one(_event(i + 1, T0 + i, "a", child))
    scorer.checkpoint(path)
    scorer.release_checkpoints()
    return path


def _edit(path: Path, key: str, change: Callable[[Any], Any]) -> None:
    """Meta entry ``key`` changed and the checksums written again (as by someone who edits
    the file on purpose: the checksums guard against damage, not intent)."""
    con = sqlite3.connect(path)
    with con:
        (text,) = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        value = json.dumps(change(json.loads(text)))
        con.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    con.close()
    reseal(path)


# --------------------------------- 1. checkpoint numbers no scorer writes (known item a)


@pytest.mark.parametrize(
    ("key", "field", "value", "shown"),
    [
        ("config", "max_conversations", 10**30, "1000000000000000000000000000000"),
        ("config", "max_conversations", 10**100, "1" + "0" * 36 + "..."),
        ("counters", "n_events", 10**100, "1" + "0" * 36 + "..."),
        ("counters", "n_broadcast", 2**63, "9223372036854775808"),
    ],
)
def test_a_checkpoint_number_no_scorer_writes_is_refused_by_file_field_and_value(
    model: rs.RiskModel, tmp_path: Path, key: str, field: str, value: int, shown: str
) -> None:
    """Was: a checkpoint's ``max_conversations`` and counters had no upper bound and were
    restored as given (a cap of 10**30 conversations, 10**100 events applied), and a long
    value was quoted whole. A scorer holds at most :data:`MAX_CONVERSATIONS_LIMIT` live
    conversations and counts below 2**63; anything else is refused, naming the file, the
    field and the value (cut)."""
    path = _checkpoint(model, tmp_path / "state.sqlite")
    _edit(path, key, lambda entry: {**entry, field: value})
    with pytest.raises(rs.CheckpointError) as info:
        rs.OnlineScorer.restore(path, model)
    message = str(info.value)
    assert message.startswith(str(path))
    assert repr(field) in message
    assert shown in message
    assert len(message) < 400


def test_a_scorer_refuses_a_cap_it_could_not_hold(model: rs.RiskModel) -> None:
    """Was: ``OnlineScorer(max_conversations=10**30)`` was taken (and written to every
    checkpoint); the cap is the limit of the rule that reads it back."""
    with pytest.raises(ValueError, match="max_conversations must be an integer from 1 to"):
        rs.OnlineScorer(model, max_conversations=10**30)
    assert rs.OnlineScorer(model, max_conversations=10**9).max_conversations == 10**9


# ------------------------------------- 2. a malformed adult index entry (known item b)


@pytest.mark.parametrize(
    ("index", "match"),
    [
        ([[["a"], [1, 2, 3]]], r"adult_index.*\['a'\]"),
        ([["a", [1, 2, 3]], ["a", [3, 2, 1]]], "adult 'a' appears twice"),
        ([["a", [1, 1, 2, 3]]], "conversation 1 appears twice"),
        ([["a", [[1], 2, 3]]], r"adult_index.*\[1\]"),
        ([["a", [1, 2, 3.5]]], r"adult_index.*3\.5"),
    ],
)
def test_a_malformed_adult_index_entry_is_refused(
    model: rs.RiskModel, tmp_path: Path, index: list[Any], match: str
) -> None:
    """Was: an entry of a checkpoint's ``adult_index`` whose id was a list, or that named
    an adult or a conversation twice, was skipped (or merged) in silence."""
    path = _checkpoint(model, tmp_path / "state.sqlite")
    _edit(path, "adult_index", lambda _: index)
    with pytest.raises(rs.CheckpointError, match=match):
        rs.OnlineScorer.restore(path, model)


def test_the_adult_index_order_is_still_restored(model: rs.RiskModel, tmp_path: Path) -> None:
    """The stored order is kept (the check refuses only malformed entries)."""
    path = _checkpoint(model, tmp_path / "state.sqlite")
    _edit(path, "adult_index", lambda _: [["a", [3, 1, 2]]])
    scorer = rs.OnlineScorer.restore(path, model)
    scorer.release_checkpoints()
    assert list(scorer._adult_convs["a"]) == [3, 1, 2]


# ---------------------------------------- 3. the stream summary's counts (known item c)


def test_the_stream_summary_says_1_event_and_1_alert(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore stream`` printed "1 lines", "1 events", "1 alerts": its counts
    follow the one rule for counts in words (``riskscore._words.plural``)."""
    line = json.dumps({**_event(1, T0), "event": "block"}) + "\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(line))
    assert main(["stream", "--time-source", "events"]) == 0
    err = capsys.readouterr().err
    assert "riskscore stream: 1 line (0 skipped as already processed), 1 event, 0 rejected" in (err)
    assert "1 events" not in err
    assert "1 lines" not in err


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda extra: {**extra, "lines": 10**100}, "'lines'"),
        (lambda extra: {**extra, "rejected": 2**63}, "'rejected'"),
        (lambda extra: {**extra, "reasons": {"SchemaError": 10**100}}, "'reasons'"),
    ],
)
def test_a_stream_checkpoint_count_no_stream_writes_is_refused(
    model: rs.RiskModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[dict[str, Any]], dict[str, Any]],
    field: str,
) -> None:
    """Was: the counts ``riskscore stream`` keeps in a checkpoint (lines processed, lines
    rejected and their reasons) had no upper bound: ``lines`` of 10**100 skipped every
    line of every later input. They follow the rule of the scorer's counters."""
    path = tmp_path / "state.sqlite"
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(_event(1, T0)) + "\n"))
    assert main(["stream", "--time-source", "events", "--checkpoint", str(path)]) == 0
    _edit(path, "extra", change)
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(_event(1, T0 + 1)) + "\n"))
    assert main(["stream", "--time-source", "events", "--checkpoint", str(path)]) != 0
    err = capsys.readouterr().err
    assert str(path) in err
    assert field in err
    assert "must be an int from 0 to" in err


# ------------------------------------ 4. a Synapse refusal names the event (known item d)


def test_a_synapse_refusal_names_the_matrix_event_not_the_scorers_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: the Synapse module's warning read "event $late refused: column 'timestamp',
    event 2: ...", the 2 being the scorer's running count of events applied, which no
    operator can look up. A Matrix event has no number of its own: the warning names it by
    its id alone (``update_one_all(row, row=None)``: a refusal that names no number)."""
    module, room, now = _remote_dm(tmp_path)
    for seconds, event_id in ((T0, "$a"), (T0 + 7200, "$b"), (T0, "$late")):
        now[0] = seconds  # local events: this server's clock, kept as sent
        _run(module.on_new_event(_at(room.message("@kid:x"), seconds, event_id), room.state))
    with caplog.at_level(logging.WARNING):
        module._process(10)
    (line,) = [r.getMessage() for r in caplog.records if "$late" in r.getMessage()]
    assert line.startswith("riskscore: event $late refused: column 'timestamp': ")
    assert "beyond reorder_tolerance_s" in line
    assert "event 2" not in line
    assert module.n_rejected == 1


# ---------------------------------- 5. update_many names a refused event by its position


def test_update_many_names_a_refused_event_by_its_position(model: rs.RiskModel) -> None:
    """Was: ``update_many`` named a refused event by the scorer's count of events applied,
    which leaves out events set aside as broadcasts (and counts every event before a
    restore): the fourth event below, refused, was "event 1". It is named by its position
    in ``events``, as the service names one by its index in a request."""
    scorer = rs.OnlineScorer(model, time_source="events")
    broadcast = {**_event(9, T0, "c", "d"), "room_size": 50}
    with pytest.raises(rs.SchemaError) as info:
        scorer.update_many([_event(1, T0), broadcast, broadcast, _event(1, T0 - 1000)])
    assert info.value.row == 3
    assert str(info.value).startswith("column 'timestamp', event 3: ")


# --------------------------- 6. a bad time_source given to restore is not the file's fault


def test_restore_refuses_a_bad_time_source_argument_without_blaming_the_file(
    model: rs.RiskModel, tmp_path: Path
) -> None:
    """Was: ``OnlineScorer.restore(path, model, time_source="Wall")`` raised
    ``CheckpointError: <path>: meta 'config' is invalid (time_source must be ...)``: a
    sound checkpoint was reported as damaged for the caller's own argument. The argument
    is refused by the constructor's rule (a ValueError naming it), before the file is
    read, and the file is not claimed."""
    path = _checkpoint(model, tmp_path / "state.sqlite")
    for bad in ("Wall", 5):
        with pytest.raises(ValueError, match="time_source must be") as info:
            rs.OnlineScorer.restore(path, model, time_source=bad)  # type: ignore[arg-type]
        assert not isinstance(info.value, rs.CheckpointError)
        assert "meta 'config'" not in str(info.value)
    rs.OnlineScorer.restore(path, model, time_source="events").release_checkpoints()


# ------------------------------------- 7. an account's contact listed twice in a checkpoint


@pytest.mark.parametrize("slot", [0, 1])
def test_an_account_id_listed_twice_in_a_checkpoint_is_refused(
    model: rs.RiskModel, tmp_path: Path, slot: int
) -> None:
    """Was: an account's contacts (or minors) read from a checkpoint went into a set, so
    ``["b", "b"]`` was merged into one contact in silence; a scorer writes each once (as
    its pairs, which were already refused twice)."""
    path = _checkpoint(model, tmp_path / "state.sqlite")
    con = sqlite3.connect(path)
    with con:
        (text,) = con.execute("SELECT state FROM accounts WHERE id = '\"a\"'").fetchone()
        state = json.loads(text)
        state[slot] = [*state[slot], state[slot][0]]
        con.execute("UPDATE accounts SET state = ? WHERE id = '\"a\"'", (json.dumps(state),))
    con.close()
    reseal(path)
    match = (
        r"account 'a' is malformed: account (contacts|minors) must list each id once, "
        r"found '[bcd]' twice"
    )
    with pytest.raises(rs.CheckpointError, match=match):
        rs.OnlineScorer.restore(path, model)


# ------------------------- 8. a name stream never keeps, read back from its checkpoint


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("ignored_fields", "see you at the park after school tomorrow"),
        ("reasons", "see you at the park after school tomorrow"),
        ("ignored_fields", "x" * 65),
        ("ignored_fields", "tab\there"),
    ],
)
def test_a_name_stream_never_keeps_is_refused_from_its_checkpoint(
    model: rs.RiskModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key: str,
    name: str,
) -> None:
    """Was: the names ``riskscore stream`` counts in its checkpoint (fields not read,
    reasons for rejected lines) were restored as given and printed in its summary: a
    checkpoint could make it print a sentence, which may be message content, or a name of
    any length. The stream keeps such a name as "(other names)" and never reports it;
    read back, it is refused, and not quoted."""
    path = tmp_path / "state.sqlite"
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(_event(1, T0)) + "\n"))
    assert main(["stream", "--time-source", "events", "--checkpoint", str(path)]) == 0
    _edit(path, "extra", lambda extra: {**extra, key: {name: 1}})
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(_event(1, T0 + 1)) + "\n"))
    assert main(["stream", "--time-source", "events", "--checkpoint", str(path)]) != 0
    err = capsys.readouterr().err
    assert str(path) in err
    assert repr(key) in err
    assert name not in err
    assert "park" not in err
