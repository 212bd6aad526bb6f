"""Hostile review 62: understated room sizes, ids, float ids, event numbers, narrow
floats and decimal fields (each test whose docstring begins "Was:" failed before its
fix). All data is synthetic."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conformance_refusals import refused_alike

import riskscore as rs
from riskscore.cli import main
from riskscore.io.jsonl import loads_event
from riskscore.io.room_reach import MAX_EVENTS_HELD, RoomReach

EV0 = 1_714_521_600


def _columns(events: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {k: [e[k] for e in events] for k in events[0]}


def _scorer() -> rs.OnlineScorer:
    return rs.OnlineScorer(rs.load_model(), time_source="events")


# ---------------------------------------------------------------- understated room_size


def _fan_out(n_members: int, room_size: int) -> list[dict[str, Any]]:
    """One message of an adult fanned out to ``n_members`` children, each row claiming a
    room of ``room_size`` accounts."""
    return [
        {
            "conversation_id": "room",
            "timestamp": EV0,
            "sender_id": "adult",
            "recipient_id": f"kid{k}",
            "channel": "group",
            "sender_age": 35.0,
            "recipient_age": 13.0,
            "room_size": room_size,
        }
        for k in range(n_members)
    ]


def test_a_room_size_below_the_recipients_of_its_event_is_refused_batch_and_online() -> None:
    """Was: a message fanned out to 100 accounts whose rows each claimed a room of 3 was
    read as group contact between 100 pairs (n_broadcast 0), batch and online: an
    understated room_size let a broadcast escape max_room_members."""
    events = _fan_out(100, 3)
    with pytest.raises(rs.SchemaError, match="fewer accounts than this event reached") as err:
        rs.read_messages(_columns(events))
    assert (err.value.column, err.value.row, err.value.value) == ("room_size", 2, 3)
    msgs = rs.read_messages(_columns(events), errors="quarantine")
    assert (len(msgs), list(msgs.quarantined.row)) == (2, list(range(2, 100)))
    scorer = _scorer()
    scorer.update_many(events[:2])
    for row, event in enumerate(events[2:], start=2):
        with pytest.raises(rs.SchemaError, match="fewer accounts") as online:
            scorer.update_one(event, row=row)
        assert (online.value.column, online.value.row, online.value.value) == ("room_size", row, 3)
    assert (scorer.n_events, scorer.n_broadcast) == (2, 0)


def test_rows_of_a_room_that_hold_its_recipients_are_kept() -> None:
    """Guard: repeated rows to one recipient, the next message of the sender and a room
    size that counts the sender are no contradiction."""
    events = _fan_out(2, 3) + _fan_out(2, 3)  # the same two rows again: duplicates
    events += [{**e, "timestamp": EV0 + 60} for e in _fan_out(2, 3)]
    events += [{**e, "timestamp": EV0 + 120} for e in _fan_out(19, 20)]
    assert len(rs.read_messages(_columns(events))) == len(events)
    scorer = _scorer()
    scorer.update_many(events)
    assert scorer.n_events == len(events)


def test_an_understated_room_is_refused_alike_by_every_local_backend() -> None:
    """Was: every backend read the fan-out as group contact; now in memory, online and out
    of core (one chunk per event, or one in all) refuse the same row, the same way."""
    reference = refused_alike(_fan_out(3, 3), "understated room")  # one row too many
    assert (reference.column, reference.row) == ("room_size", 2)


# ---------------------------------------------------------------- ids that are sentences

SENTENCES = ["see you tonight at 9", "meet\u00a0me\u2003later", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("text", SENTENCES)
@pytest.mark.parametrize("column", ["conversation_id", "sender_id"])
def test_an_id_of_three_or_more_words_is_refused_unquoted_batch_and_online(
    text: str, column: str
) -> None:
    """Was: an id column took free text ("see you tonight at 9"), kept in the review queue
    and shown to moderators, though three words are a sentence elsewhere (never quoted in
    an error, since it may be message content)."""
    event = {"conversation_id": "c1", "timestamp": EV0, "sender_id": "a", "recipient_id": "b",
             "channel": "direct", column: text}  # fmt: skip
    with pytest.raises(rs.SchemaError, match="three or more words") as batch:
        rs.read_messages(_columns([event]))
    assert (batch.value.column, batch.value.row) == (column, 0)
    assert text not in str(batch.value)
    with pytest.raises(rs.SchemaError, match="three or more words") as online:
        _scorer().update_one(event)
    assert online.value.column == column
    assert text not in str(online.value)


def test_ids_of_one_or_two_words_and_pair_ids_of_them_are_kept() -> None:
    """Guard: UUIDs, emails, Matrix ids, numeric text, two-word names, and a group room of
    two-word ids whose pair ids (``my room|ann lee|bo``) hold more words in all."""
    ids = ["3f2b1c9e-8d4a-4f6b-9c1d-2e7a5b8c0d11", "kid@example.org", "@a:example.org",
           "00042", "ann lee"]  # fmt: skip
    events = [
        {"conversation_id": "my room", "timestamp": EV0 + i, "sender_id": "bo",
         "recipient_id": kid, "channel": "group"}
        for i, kid in enumerate(ids)
    ]  # fmt: skip
    msgs = rs.read_messages(_columns(events))
    assert "my room|ann lee|bo" in msgs.conversation_id.tolist()
    again = rs.read_messages(msgs.to_pandas())  # the pair ids read back
    assert sorted(again.conversation_id.tolist()) == sorted(msgs.conversation_id.tolist())
    scorer = _scorer()
    scorer.update_many(events)
    assert scorer.n_events == len(events)


# ---------------------------------------------------------------- JSON numbers as ids


def _jsonl_events(ids: list[str]) -> list[str]:
    return [
        f'{{"conversation_id": {cid}, "timestamp": {EV0 + i}, "sender_id": "a", '
        f'"recipient_id": "b", "channel": "direct"}}'
        for i, cid in enumerate(ids)
    ]


@pytest.mark.parametrize("written", ["9007199254740993.0", "1.0000000000000000001"])
def test_a_json_number_whose_float_is_another_integer_is_no_id_of_it(
    tmp_path: Path, written: str
) -> None:
    """Was: JSON lines ``9007199254740993.0`` and ``9007199254740992`` (or
    ``1.0000000000000000001`` and ``1``) were one conversation: the parser's float of the
    first is the integer of the second. The number is read as written, and refused."""
    other = "9007199254740992" if written.startswith("9") else "1"
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(_jsonl_events([written, other])) + "\n", encoding="utf-8")
    msgs = rs.read_messages(path, errors="quarantine")
    assert msgs.n_conversations == 1
    record = msgs.quarantined.to_records()[0]
    assert (record["row"], record["column"], record["value"]) == (0, "conversation_id", written)
    event = loads_event(_jsonl_events([written])[0])  # riskscore stream's parser
    with pytest.raises(rs.SchemaError) as online:
        _scorer().update_one(event)
    assert online.value.column == "conversation_id"


def test_integral_json_numbers_are_the_integer_ids_they_write() -> None:
    """Guard (documented: integral floats are integer ids up to 2**53): ``1.0``, ``1e3``."""
    assert [loads_event(e)["conversation_id"] for e in _jsonl_events(["1.0", "1e3"])] == [1, 1000]


# ---------------------------------------------------------------- event numbers


@pytest.mark.parametrize("row", [-1, -(2**70), np.int64(-3)], ids=repr)
def test_a_negative_event_number_is_refused_before_the_event_is_applied(row: Any) -> None:
    """Was: ``update_one(event, row=-3)`` applied the event, and a refusal named
    "event -3": no caller numbers its events below 0 (lines from 1, indexes from 0)."""
    scorer = _scorer()
    event = _fan_out(1, 2)[0]
    with pytest.raises(ValueError, match="row must be at least 0"):
        scorer.update_one(event, row=row)
    assert scorer.n_events == 0
    assert scorer.update_one(event, row=0) is None
    assert scorer.n_events == 1


# ---------------------------------------------------------------- narrow floats


@pytest.mark.parametrize("size", [np.float16(2049), np.float16(3000), np.float32(2**24 + 1)])
def test_a_narrow_float_room_size_that_may_be_rounded_is_refused_alike(size: Any) -> None:
    """Was: a float16 room_size of 2049 was read as 2048 (and 2**24 + 1 in a float32 as
    2**24): rounded before any check, everywhere. Refused from 2**11 (float16) or 2**24
    (float32) on, by the rule of float ids' widths (``exact_float_bits``)."""
    event = {**_fan_out(1, 3)[0], "room_size": size}
    reference = refused_alike([event], "narrow float room_size")
    assert (reference.column, reference.row) == ("room_size", 0)
    assert "where floats of its width round whole numbers" in str(reference)


def test_a_float16_room_size_below_2048_is_read() -> None:
    event = {**_fan_out(1, 3)[0], "room_size": np.float16(7)}
    assert rs.read_messages(_columns([event])).room_size.tolist() == [7]


# ---------------------------------------------------------------- decimal event fields

DECIMALS = {
    "sender_age": Decimal("30.123456789012345678"),  # Arrow's float of it is not Python's
    "recipient_age": Decimal("12.5"),
    "timestamp": Decimal("1714521600.9999999999"),  # second 1714521600, as batch floors it
    "room_size": Decimal("2"),
    "recipient_tz_offset_min": Decimal("-300"),
}


@pytest.mark.parametrize("field", DECIMALS)
def test_a_decimal_number_takes_the_fast_path_as_batch_reads_it(
    field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: an online event with one ``Decimal`` number (a database cursor's) went through
    the whole one-row validator, about 1.3 ms against 4 us (measured). It is read as a
    column of decimals is (``decimal_cells``), then by the fast path: the same values."""
    event = {**_fan_out(1, 2)[0], field: DECIMALS[field]}
    msgs = rs.read_messages(_columns([event]))
    batch = next(iter(msgs.iter_events()))
    monkeypatch.setattr("riskscore.io.events.validate_one", _no_slow_path)
    scorer = _scorer()
    scorer.update_one(event)
    online = dict(zip(BATCH_FIELDS, scorer.last_event, strict=True))
    assert online[field] == batch[field]


def _no_slow_path(*args: object, **kwargs: object) -> None:
    raise AssertionError("the one-row validator ran")


BATCH_FIELDS = rs.io.schema.SCHEMA_COLUMNS  # the order of an online event's tuple


@pytest.mark.parametrize(
    ("field", "value"), [("sender_age", Decimal("130.5")), ("room_size", Decimal("2.5"))]
)
def test_a_refused_decimal_is_named_as_given(field: str, value: Decimal) -> None:
    with pytest.raises(rs.SchemaError) as online:
        _scorer().update_one({**_fan_out(1, 2)[0], field: value})
    assert (online.value.column, online.value.value) == (field, value)


# ---------------------------------------------------------------- command line words


def test_one_quarantined_row_is_one_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Was: "every row was quarantined (1 rows: ...)"."""
    path = tmp_path / "events.jsonl"
    path.write_text(_jsonl_events(["true"])[0] + "\n", encoding="utf-8")
    assert main(["score", str(path), "--out", str(tmp_path / "out"), "--errors", "quarantine"]) == 2
    assert "every row was quarantined (1 row: 1 conversation_id: is a boolean" in (
        capsys.readouterr().err
    )


def test_a_policy_format_version_written_as_a_float_is_refused(tmp_path: Path) -> None:
    """Was: ``format_version = 2.0`` (a TOML float) was read as version 2."""
    text = rs.AlertPolicy.default().to_toml().replace("format_version = 3", "format_version = 3.0")
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(rs.policy.PolicyFileError, match=r"format_version.*found 3\.0"):
        rs.AlertPolicy.from_toml(path)


def test_the_online_room_check_holds_a_bounded_number_of_events() -> None:
    """Was (in this review's first rule): events all dated in one second were all held
    for the check, without bound; the oldest beyond ``MAX_EVENTS_HELD`` is forgotten."""
    reach = RoomReach()
    for i in range(MAX_EVENTS_HELD + 10):
        assert not reach.refuses(("g", EV0, f"a{i}", 2, 0), "kid", 2)
        reach.record(("g", EV0, f"a{i}", 2, 0), "kid", 2)  # each row taken
    assert len(reach.events) == MAX_EVENTS_HELD


@pytest.mark.parametrize(
    ("variant", "column"),
    [("Sender_ID", "sender_id"), ("recipient-age", "recipient_age"), ("CHANNEL", "channel")],
)
def test_a_second_spelling_of_a_given_column_is_refused_batch_and_online(
    variant: str, column: str
) -> None:
    """Was: a table with both ``sender_id`` and ``Sender_ID`` read ``sender_id`` and listed
    the other as unread: which of the two holds the column cannot be told."""
    event = {"conversation_id": "c1", "timestamp": EV0, "sender_id": "a", "recipient_id": "b",
             "channel": "direct", "recipient_age": 12.0}  # fmt: skip
    event[variant] = event[column]
    with pytest.raises(rs.SchemaError, match="both name") as batch:
        rs.read_messages(_columns([event]))
    assert batch.value.column == variant
    with pytest.raises(rs.SchemaError, match="both name") as online:
        _scorer().update_one(event)
    assert (online.value.column, online.value.row) == (variant, 0)
