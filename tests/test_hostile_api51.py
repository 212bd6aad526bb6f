"""Hostile review api51: the public Python API fed what a platform's own code hands it
(odd file names, failing event sources, numpy values in a checkpoint's extra data)."""

from __future__ import annotations

import math
import re
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import riskscore as rs

EVENT = {
    "conversation_id": 1,
    "timestamp": 1_700_000_000,
    "sender_id": "a",
    "recipient_id": "b",
    "channel": "direct",
    "sender_age": 35,
    "recipient_age": 12,
}


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.mark.parametrize("name", [":memory:", "file:state.sqlite", "file:s.sqlite?mode=memory"])
def test_a_checkpoint_named_as_sqlite_reads_a_special_name_is_that_file(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: rs.RiskModel
) -> None:
    """Was: ``checkpoint(":memory:")`` returned as saved and wrote nothing (SQLite read the
    name as a database in memory: an empty file and a refused restore), and
    ``checkpoint("file:state.sqlite")`` wrote the state to ``state.sqlite`` (SQLite read a
    URI), readable by everyone, while restore read the empty private ``file:state.sqlite``.
    Now the file of that name holds the checkpoint, mode 0600, and no other file is made
    (its lock file aside)."""
    monkeypatch.chdir(tmp_path)
    scorer = rs.OnlineScorer(model)
    scorer.update_one(EVENT)
    scorer.checkpoint(name)
    scorer.release_checkpoints()
    assert (tmp_path / name).stat().st_size > 0
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [name, f"{name}.lock"]
    restored = rs.OnlineScorer.restore(name, model)
    assert restored.score_of(1) == scorer.score_of(1)


def _events_then(events: list[dict[str, Any]], error: BaseException) -> Iterator[dict[str, Any]]:
    yield from events
    raise error


@pytest.mark.parametrize("error", [OSError("the broker went away"), KeyboardInterrupt()])
def test_update_many_keeps_the_alerts_when_the_events_source_fails(
    error: BaseException, model: rs.RiskModel
) -> None:
    """Was: only a refused event (``SchemaError``) carried the alerts of the events
    applied before it; a generator of events that raised midway (a broken connection, a
    Ctrl-C) lost them: the events stayed applied and their conversations counted as
    alerted, so those alerts were never raised by any later call. Now the exception,
    re-raised as it is, carries them too (``alerts``), with a note saying so."""
    events = list(rs.synthetic.generate(200, prevalence=0.15, seed=8).messages.iter_events())
    expected = [a.to_dict() for a in rs.OnlineScorer(model).update_many(events)]
    assert expected
    half = len(events) // 2
    scorer = rs.OnlineScorer(model)
    with pytest.raises(type(error)) as info:
        scorer.update_many(_events_then(events[:half], error))
    assert info.value is error
    assert scorer.n_events == half
    assert "the events before this stay applied" in "".join(error.__notes__)
    first = [a.to_dict() for a in info.value.alerts]  # type: ignore[attr-defined]
    rest = [a.to_dict() for a in scorer.update_many(events[half:])]
    assert first + rest == expected


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        ({"offset": np.int64(17)}, TypeError, "extra['offset']: 17 (int64) is not JSON data"),
        ({"lag": [0.5, math.nan]}, ValueError, "extra['lag'][1]: nan is not a finite number"),
        ({"at": Decimal("1.5")}, TypeError, "extra['at']: 1.5 (Decimal) is not JSON"),
        ({1: "a", "1": "b"}, TypeError, "extra: key 1 (int) is not text"),
        ({"x": {("a", 1): 2}}, TypeError, "extra['x']: key ('a', 1) (tuple) is not text"),
        (["offset", 17], TypeError, "extra: expected a mapping, found list"),
    ],
)
def test_a_checkpoint_extra_json_cannot_hold_is_refused_by_its_entry(
    extra: Any, error: type[Exception], message: str, tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: an ``extra`` holding a numpy integer (an offset taken from an array), a
    ``Decimal`` or NaN failed in ``json`` ("Object of type int64 is not JSON serializable",
    "Out of range float values are not JSON compliant") without naming ``extra`` or the
    entry; a key that is not text was written as text, so ``{1: "a", "1": "b"}`` came back
    as ``{"1": "b"}`` (two entries merged) and a list raised from ``dict()``. Now each is
    refused by its entry, before the file is touched."""
    scorer = rs.OnlineScorer(model)
    scorer.update_one(EVENT)
    path = tmp_path / "state.sqlite"
    with pytest.raises(error, match=re.escape(message)):
        scorer.checkpoint(path, extra=extra)
    assert not path.exists()
    kept = {"offset": 17, "files": ["a.jsonl", None], "lag": {"p50": 0.5}, "ok": True}
    scorer.checkpoint(path, extra=kept)
    scorer.release_checkpoints()
    assert rs.OnlineScorer.restore(path, model).checkpoint_extra == kept


@pytest.fixture(scope="module")
def messages() -> rs.MessageTable:
    return rs.synthetic.generate(30, prevalence=0.2, seed=3).messages


def _conversations(table: rs.MessageTable) -> list[object]:
    return list(rs.extract_features(table).conversation_id.tolist())


def test_take_conversations_reads_a_boolean_mask_as_a_mask(messages: rs.MessageTable) -> None:
    """Was: a boolean mask (``scores.risk > 0.5``) was cast to the codes 0 and 1, so an
    all-false mask took conversation 0 and an all-true one conversation 1 alone. Now a mask
    with one value per conversation takes the conversations where it is true."""
    ids = _conversations(messages)
    mask = np.arange(messages.n_conversations) % 3 == 0
    assert _conversations(messages.take_conversations(mask)) == [ids[i] for i in range(0, 30, 3)]
    assert messages.take_conversations(np.zeros(30, dtype=bool)).n_conversations == 0
    assert _conversations(messages.take_conversations(np.ones(30, dtype=bool))) == ids
    with pytest.raises(ValueError, match=r"one value per conversation \(30\), found 2"):
        messages.take_conversations([True, False])


@pytest.mark.parametrize(
    ("codes", "error", "message"),
    [
        ([0, -1], IndexError, "code -1 (codes[1]) is out of range: the table has 30"),
        ([30], IndexError, "code 30 (codes[0]) is out of range"),
        ([2**64], IndexError, f"code {2**64} (codes[0]) is out of range"),
        (np.array([3], dtype=np.uint64) + np.uint64(2**63), IndexError, "is out of range"),
        ([0.5], TypeError, "codes[0] = 0.5 (float) is not a conversation code"),
        (["3"], TypeError, "codes[0] = '3' (str) is not a conversation code"),
        ([[1, 2]], ValueError, "expected one-dimensional codes, found shape (1, 2)"),
    ],
)
def test_take_conversations_refuses_what_is_no_code(
    codes: Any, error: type[Exception], message: str, messages: rs.MessageTable
) -> None:
    """Was: ``-1`` took the last conversation (numpy counts from the end: a -1 standing for
    "none" took one), ``0.5`` was cut to conversation 0 and ``"3"`` read as 3, all
    silently; a code past the end or beyond int64 raised numpy's IndexError or
    OverflowError. Now each is refused, naming the code and its position."""
    with pytest.raises(error, match=re.escape(message)):
        messages.take_conversations(codes)
    ids = _conversations(messages)
    assert _conversations(messages.take_conversations(range(5, 0, -1))) == ids[1:6]
    assert _conversations(messages.take_conversations(np.array([4, 4], dtype=np.uint8))) == [ids[4]]
    assert messages.take_conversations([]).n_conversations == 0


def test_labels_given_as_a_dict_of_columns_are_read_as_a_table(model: rs.RiskModel) -> None:
    """Was: labels as a dict of columns (as ``read_messages`` takes events) were refused
    with "labels lack ['conversation_id', 'is_grooming', 'onset_index', 'adult_id']",
    naming the very columns the dict held. Now they are read as the same table in Arrow
    is, with its checks."""
    data = rs.synthetic.generate(300, prevalence=0.1, seed=5)
    columns = {k: np.asarray(v) for k, v in data.labels.to_arrow().to_pydict().items()}
    kw: dict[str, Any] = {"n_bootstrap": 0, "replay_events": 0}
    expected = rs.evaluate(model, data.messages, data.labels, **kw).to_dict()
    assert rs.evaluate(model, data.messages, columns, **kw).to_dict() == expected
    with pytest.raises(rs.SchemaError, match=re.escape("lacks column(s) ['onset_index'")):
        rs.evaluate(model, data.messages, {k: columns[k] for k in columns if k[0] != "o"}, **kw)


@pytest.mark.parametrize(
    "files",
    [
        {"manifest.json": '{"name": "my web app", "icons": []}'},
        {"MODEL_CARD.md": "# Our project's model card\n"},
        {"manifest.json": "not json", "params.json": "{}"},
    ],
)
def test_save_model_replaces_no_file_a_bundle_did_not_write(
    files: dict[str, str], tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: ``save_model(model, ".")`` (or ``""``, an unset output variable) in a project
    folder replaced its ``manifest.json`` (a web app's) and ``MODEL_CARD.md`` without a
    word: only "existing bundle files" were to be replaced. Now a folder holding a file of
    a bundle's names without a riskscore manifest is refused and left as it was; a bundle
    is replaced as before."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match="but no riskscore model bundle"):
        rs.save_model(model, tmp_path)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == files
    rs.save_model(model, tmp_path / "bundle")
    rs.save_model(model, tmp_path / "bundle")
    assert rs.load_model(tmp_path / "bundle").parameters_sha256() == model.parameters_sha256()


@pytest.mark.parametrize(("reporter", "reported"), [("a", "a"), (5, np.int64(5)), (2**70, 2**70)])
def test_a_user_report_about_its_own_reporter_is_refused(
    reporter: Any, reported: Any, tmp_path: Path
) -> None:
    """Was: a ``UserReport`` whose reporter and reported account were one was queued as a
    case whose adult was its own child (``case("a")``: adult ``a``, child ``a``, a report
    "from a child"), where an event with one account as sender and recipient is refused.
    Now it is refused, naming the account, and nothing is queued; ``5`` and ``"5"`` stay
    two accounts."""
    queue = rs.ReviewQueue(tmp_path / "queue.sqlite")
    report = rs.UserReport(1, reporter, reported, 12.0, 1_700_000_000)
    with pytest.raises(ValueError, match="reporter_id and reported_id are one account"):
        queue.add_reports([rs.UserReport(2, "b", "c", 12.0, 1_700_000_000), report])
    assert queue.items() == []
    queue.add_report(rs.UserReport(1, 5, "5", 12.0, 1_700_000_000))
    assert [item.adult_id for item in queue.items()] == ["5"]
    queue.close()


def test_a_policy_mapping_computed_with_numpy_is_read_as_its_numbers() -> None:
    """Was: ``AlertPolicy.from_mapping`` took ``np.float64`` (a float) but refused the other
    numpy numbers with a message that showed a number: "expected a number, found 0.5"
    (``np.float32``), "found 1" (``np.int64``), and ``np.bool_(False)`` as "expected true or
    false, found False". Now they are read as the numbers and booleans they hold; a bool
    where a number belongs, and NaN, are still refused."""
    doc = rs.AlertPolicy.default().to_mapping()
    doc["bands"][3]["min_age"] = np.int64(18)
    doc["bands"][0]["review"] = np.float32(0.375)
    doc["guards"] = {"adult_pairs_alert": np.bool_(True), "minor_peer_max_gap_years": np.int8(2)}
    policy = rs.AlertPolicy.from_mapping(doc)
    plain = rs.AlertPolicy.default().to_mapping()
    plain["bands"][0]["review"] = 0.375
    plain["guards"] = {"adult_pairs_alert": True, "minor_peer_max_gap_years": 2.0}
    assert policy == rs.AlertPolicy.from_mapping(plain)
    refused = re.escape("bands[0].review': expected a number")
    for value in (np.bool_(True), np.float32("nan")):
        doc["bands"][0]["review"] = value
        with pytest.raises(rs.PolicyFileError, match=refused):
            rs.AlertPolicy.from_mapping(doc)


def test_account_features_given_as_a_path_are_refused_by_type(
    messages: rs.MessageTable, model: rs.RiskModel, tmp_path: Path
) -> None:
    """Was: ``model.score(part, account_features="accounts.parquet")`` (the path the CLI's
    ``--accounts`` takes) raised "AttributeError: 'str' object has no attribute 'for_ids'"
    from inside the feature code. Now a TypeError says what to pass, before any event is
    read; the AccountFeatures read from that file score as before."""
    path = rs.write_account_features(rs.extract_account_features(messages), tmp_path / "a.parquet")
    for given in (str(path), path, {"accounts": 1}):
        with pytest.raises(TypeError, match=re.escape("rs.read_account_features(path), got")):
            model.score(messages, account_features=given)  # type: ignore[arg-type]
    scored = model.score(messages, account_features=rs.read_account_features(path))
    assert scored.risk.tolist() == model.score(messages).risk.tolist()


def test_a_policy_or_model_given_as_a_path_is_refused_by_type(
    model: rs.RiskModel, tmp_path: Path
) -> None:
    """Was: ``OnlineScorer(model, policy="strict.toml")`` raised "AttributeError: 'str'
    object has no attribute 'decide_one'" (``ReviewQueue`` and ``evaluate`` failed later, on
    first use), and ``OnlineScorer("models/v3")`` "'str' object has no attribute
    'feature_names'". Now each says what to pass."""
    policy_file = "policy must be an AlertPolicy (AlertPolicy.from_toml(path) reads"
    for call in (
        lambda: rs.OnlineScorer(model, policy="strict.toml"),  # type: ignore[arg-type]
        lambda: rs.ReviewQueue(tmp_path / "q.sqlite", policy={"bands": []}),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match=re.escape(policy_file)):
            call()
    with pytest.raises(TypeError, match=re.escape("model must be a RiskModel (rs.load_model")):
        rs.OnlineScorer("models/v3")  # type: ignore[arg-type]
    assert rs.OnlineScorer(model, policy=None).policy == rs.AlertPolicy.default()
