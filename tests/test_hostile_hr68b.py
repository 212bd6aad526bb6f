"""Hostile review hr68b: batch and online agree on hostile but legal streams (a differential
fuzzer), and one event given as several rows (one per member of a room) gives one room size.

The fuzzer draws streams with group rooms (``room_size`` given or not, up to a broadcast), a
third account joining a direct chat, unknown ages on one side or both, ages that change
mid-conversation, UTC offsets that change or are missing, events late within the reorder
tolerance (and beyond it), equal timestamps, every event type, integer ids beyond int64 and
text ids that look like integers (``"007"``, ``"07"`` and ``"7"``, three accounts). It feeds
them to :class:`riskscore.OnlineScorer` one event at a time and checks the final state
against :func:`riskscore.extract_features`, :meth:`RiskModel.score` and
:meth:`AlertPolicy.alerts` of the events the scorer applied. All data is synthetic.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conformance_refusals import refused_alike
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from online_helpers import MODEL, POLICY, adult_child_messages, columns

import riskscore as rs
from riskscore.batch import write_alerts
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.shadow import read_alert_ids
from riskscore.cli import main
from riskscore.io.ids import DecimalIds
from riskscore.io.room_reach import EVENT_KEY
from riskscore.policy.alerts import given_alerts

T0: Final = 1_714_521_600  # 2024-05-01T00:00:00Z
TOLERANCE: Final = 300
CHANNELS: Final = ("public", "group", "direct", "ephemeral", "encrypted", "external")
KINDS: Final = (
    "message",
    "message",
    "media",
    "contact_request",
    "contact_accept",
    "block",
    "report",
)
AGES: Final = (9.0, 12.0, 15.5, 17.99, 18.0, 35.0)
#: Account ids of a stream: text that reads as integers (three accounts, never one), or
#: integers around the int64 and uint64 limits.
TEXT_ACCOUNTS: Final = ("7", "007", "07", "0", "u1", "7 ")
INT_ACCOUNTS: Final = (7, 0, 2**63 - 1, 2**63, 2**64 - 1, 2**64 + 3, 2**70)
TEXT_ROOMS: Final = ("7", "007", "c")
INT_ROOMS: Final = (7, 2**63, 2**70 + 1)
Event = dict[str, Any]


@st.composite
def hostile_streams(draw: st.DrawFn) -> list[Event]:
    """Event streams in arrival order (see the module docstring)."""
    pool = draw(st.sampled_from((TEXT_ACCOUNTS, INT_ACCOUNTS)))
    accounts = draw(st.lists(st.sampled_from(pool), min_size=3, max_size=5, unique=True))
    rooms = draw(st.sampled_from((TEXT_ROOMS, INT_ROOMS)))
    n_conv = draw(st.integers(1, 3))
    conv_ids = draw(st.lists(st.sampled_from(rooms), min_size=n_conv, max_size=n_conv, unique=True))
    members = []
    for _ in conv_ids:
        first, second, third, *_ = draw(st.permutations(accounts))
        # a direct chat that a third account joins after a few events, or never
        members.append(
            (first, second, third, draw(st.integers(1, 8)) if draw(st.booleans()) else None)
        )
    declared = {a: draw(st.sampled_from((None, *AGES))) for a in accounts}
    offset = {a: draw(st.sampled_from((None, 0, -300, 330, 840))) for a in accounts}

    def age(account: object) -> float | None:
        choice = draw(st.integers(0, 7))
        if choice == 0:
            return None  # unknown on this event
        if choice == 1:
            declared[account] = draw(st.sampled_from(AGES))  # the age changes from here on
        return declared[account]

    def tz(account: object) -> int | None:
        choice = draw(st.integers(0, 5))
        if choice == 0:
            return None  # missing on this event
        if choice == 1:
            offset[account] = draw(st.sampled_from((None, -720, 60, 345, 0)))  # moves
        return offset[account]

    events: list[Event] = []
    t = T0
    n_sent = dict.fromkeys(range(n_conv), 0)
    for _ in range(draw(st.integers(2, 22))):
        c = draw(st.integers(0, n_conv - 1))
        a, b, third, joins_at = members[c]
        in_room = [a, b] if joins_at is None or n_sent[c] < joins_at else [a, b, third]
        n_sent[c] += 1
        sender = draw(st.sampled_from(in_room))
        others = [m for m in in_room if m != sender]
        recipients = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
        t += draw(st.sampled_from((0, 0, 1, 60, 3_600, 30_000)))  # ties, seconds, nights
        late = draw(st.sampled_from((0, 0, 0, 1, TOLERANCE, TOLERANCE + 1)))
        room_size = draw(st.sampled_from((None, len(in_room), 5, 25)))
        shared = {
            "conversation_id": conv_ids[c],
            "timestamp": t - late,
            "sender_id": sender,
            "sender_age": age(sender),
            "channel": draw(st.sampled_from(CHANNELS)),
            "event": draw(st.sampled_from(KINDS)),
            "room_size": room_size,
        }
        for r in recipients:  # one row per member the event reached, one room size
            events.append(
                {
                    **shared,
                    "recipient_id": r,
                    "recipient_age": age(r),
                    "recipient_tz_offset_min": tz(r),
                }
            )
    return events


def _key(conversation: object) -> str:
    """A conversation's id as text: batch holds group rooms' ids, and integer ids of a
    column with one beyond int64, as text; online keeps the id as given."""
    return str(conversation)


def _as_online(ids: Any, decimal: bool = False) -> list[Any]:
    """Batch ids as the online scorer holds them: integers where a column of integers was
    held as decimal text (ids beyond int64: ``decimal``), else as they are."""
    if decimal or isinstance(ids, DecimalIds):
        return [int(i) for i in ids.tolist()]
    return list(ids.tolist())


def _replay(events: list[Event]) -> tuple[rs.OnlineScorer, list[Event], list[tuple[str, int]]]:
    """Feed ``events`` to a scorer one at a time; return it, the events it applied (late
    ones at the time they were applied, as docs/online.md defines the parity oracle) and
    its alerts (conversation and tier; an alert raised while a group room had two accounts
    carries the room's id, docs/online.md: here that of the pair that continued it)."""
    scorer = rs.OnlineScorer(MODEL, POLICY, idle_expiry_s=math.inf, reorder_tolerance_s=TOLERANCE)
    applied: list[Event] = []
    alerts: list[tuple[str, int]] = []
    latest: dict[object, int] = {}
    sizes: dict[tuple[Any, ...], int] = {}
    for row, event in enumerate(events):
        n_clamped, n_broadcast = scorer.n_clamped, scorer.n_broadcast
        opened = scorer.last_room_opened
        n_too_late = scorer.n_too_late
        try:
            raised = scorer.update_one_all(event, row=row)
        except rs.SchemaError as exc:
            # a late event beyond the tolerance, or a room that grew within a second
            # (two events of one key, docs/schema.md group rule 5: one room size)
            refused = exc.column
        else:
            refused = None
        if refused is not None:
            assert refused == "room_size" or scorer.n_too_late == n_too_late + 1
            continue
        assert raised is not None
        alerts += [(_key(a.conversation_id), int(a.tier)) for a in raised]
        if scorer.last_room_opened != opened:
            room, pair = map(_key, scorer.last_room_opened)
            alerts = [(pair if key == room else key, tier) for key, tier in alerts]
            latest[pair] = latest.pop(room)
        if scorer.n_broadcast > n_broadcast:
            continue  # set aside, as batch reading sets it aside
        cid = scorer.conversation_id_of(scorer.last_event)
        ts = event["timestamp"]
        if scorer.n_clamped > n_clamped:
            assert latest[_key(cid)] - TOLERANCE <= ts < latest[_key(cid)]
            ts = latest[_key(cid)]
        latest[_key(cid)] = max(ts, latest.get(_key(cid), ts))
        applied.append({**event, "timestamp": ts})
        if event["room_size"] is not None:
            # a late row is checked by its own second (docs/schema.md, group rule 5); moved
            # to its conversation's latest one, it may meet the rows of another event of
            # another room size there, which batch reading of the moved rows refuses
            key = tuple(applied[-1][name] for name in EVENT_KEY)
            assume(sizes.setdefault(key, event["room_size"]) == event["room_size"])
    return scorer, applied, alerts


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(events=hostile_streams())
def test_online_final_state_equals_batch_on_hostile_streams(events: list[Event]) -> None:
    scorer, applied, alerts = _replay(events)
    if not applied:
        assert scorer.conversation_ids == ()
        return
    table = rs.read_messages(columns(applied))
    features = rs.extract_features(table)
    scores = MODEL.score(table, reasons_above=POLICY.reasons_above)
    batch_ids = [_key(c) for c in features.conversation_id.tolist()]
    online_ids = {_key(c): c for c in scorer.conversation_ids}
    assert sorted(online_ids) == sorted(batch_ids), "the same conversations, no merge, no drop"
    adults = _as_online(scores.adult_id, table.decimal_ids)
    children = _as_online(scores.child_id, table.decimal_ids)
    for row, key in enumerate(batch_ids):
        c = online_ids[key]
        np.testing.assert_array_equal(scorer.features_of(c), features.values[row])
        assert scorer.score_of(c) == scores.risk[row]
        live = scorer.conversation_of(c)
        assert (live.adult_id, live.child_id) == (adults[row], children[row])
        assert (live.first_timestamp, live.last_timestamp) == scores.event_times(row)
    highest: dict[str, int] = {}
    for key, tier in alerts:  # one alert per tier reached, never again below it
        assert tier > highest.get(key, 0)
        highest[key] = tier
    for key, c in online_ids.items():
        assert scorer.alerted_tier_of(c) == highest.get(key, 0)
    for alert in POLICY.alerts(scores):  # batch's final tier: online reached it at least
        key = _key(alert.conversation_id)
        assert highest.get(key, 0) >= int(alert.tier)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(events=hostile_streams(), chunk_rows=st.integers(1, 4))
def test_out_of_core_scores_and_alerts_equal_in_memory_on_hostile_streams(
    events: list[Event], chunk_rows: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The events the online scorer applied, written to Parquet and scored chunk by chunk
    (``riskscore score --chunk-rows``): the in-memory scores (rows compared by id, the
    documented order of group rooms aside) and the same alerts."""
    _, applied, _ = _replay(events)
    assume(applied)
    path = tmp_path_factory.mktemp("ooc") / "events.parquet"
    try:
        rs.write_messages(rs.read_messages(columns(applied)), path)
    except rs.SchemaError:  # integers no Arrow integer type holds together
        assume(False)
    expected = MODEL.score(rs.read_messages(path))
    result = score_parquet(
        path, path.parent / "out", model=MODEL, policy=POLICY, chunk_rows=chunk_rows
    )
    got = pq.read_table(result.scores_path)
    risk = dict(
        zip(map(_key, got["conversation_id"].to_pylist()), got["risk"].to_pylist(), strict=True)
    )
    assert risk == dict(
        zip(map(_key, expected.conversation_id.tolist()), expected.risk.tolist(), strict=True)
    )
    # the result's alerts carry the ids as given (hr70c), the policy's as the table holds them
    in_memory = given_alerts(POLICY.alerts(expected), result.decimal_id_columns)
    assert [a.to_dict() for a in result.alerts] == [a.to_dict() for a in in_memory]


# ---------------------------------------------------------------- one room size per event


def _message(recipients: list[str], room_size: int, *, t: int = T0) -> list[Event]:
    """The rows of one message of an adult in room ``g``: one per recipient, each giving
    ``room_size``."""
    return [
        {
            "conversation_id": "g",
            "timestamp": t,
            "sender_id": "adult",
            "recipient_id": kid,
            "channel": "group",
            "event": "message",
            "sender_age": 35.0,
            "recipient_age": 12.0,
            "room_size": room_size,
        }
        for kid in recipients
    ]


KIDS: Final = [f"kid{i}" for i in range(30)]


@pytest.mark.parametrize(
    ("events", "row", "size"),
    [
        # a broadcast to 30 (set aside) whose last two rows claim a room of three
        (_message(KIDS[:28], 100) + _message(KIDS[28:], 3), 28, 3),
        # a room of three, then rows of the same message claiming a broadcast
        (_message(KIDS[:2], 3) + _message(KIDS[2:], 100), 2, 100),
        # group contact (5) and private contact (3) of one message
        (_message(KIDS[:2], 5) + _message(KIDS[2:3], 3), 2, 3),
    ],
    ids=["broadcast-then-private", "private-then-broadcast", "group-then-private"],
)
def test_rows_of_one_event_with_two_room_sizes_are_refused_batch_and_online(
    events: list[Event], row: int, size: int
) -> None:
    """Was: each row of one message was read by its own room_size: a message to 30
    accounts whose rows mostly claimed a room of 100 was set aside as a broadcast, and
    its two rows claiming a room of 3 were scored as private contact between the adult
    and two children (conversations g|adult|kid28 and g|adult|kid29), batch and online."""
    with pytest.raises(rs.SchemaError, match="not the room_size of the first row") as err:
        rs.read_messages(columns(events))
    assert (err.value.column, err.value.row, err.value.value) == ("room_size", row, size)
    reference = refused_alike(events[: row + 1], "two room sizes in one event")
    assert (reference.column, reference.row) == ("room_size", row)
    scorer = rs.OnlineScorer(MODEL, time_source="events")
    scorer.update_many(events[:row])
    n_events, n_broadcast = scorer.n_events, scorer.n_broadcast
    with pytest.raises(rs.SchemaError, match="not the room_size of the first row") as online:
        scorer.update_one_all(events[row], row=row)
    assert (online.value.column, online.value.row, online.value.value) == ("room_size", row, size)
    assert (scorer.n_events, scorer.n_broadcast) == (n_events, n_broadcast)
    kept = rs.read_messages(columns(events), errors="quarantine")
    assert list(kept.quarantined.row) == list(range(row, len(events)))


def test_one_room_size_per_event_and_another_for_the_next_event_is_kept() -> None:
    """Guard: a room that grows between two messages (another second, or another sender)
    and rows without room_size beside an event's rows are no contradiction."""
    events = _message(KIDS[:2], 3) + _message(KIDS[:3], 4, t=T0 + 1)
    events += [{**e, "sender_id": "kid9", "sender_age": 12.0} for e in _message(KIDS[:2], 5)]
    events += [{**e, "room_size": None} for e in _message(KIDS[3:5], 5)]
    assert len(rs.read_messages(columns(events))) == len(events)
    scorer = rs.OnlineScorer(MODEL, time_source="events")
    scorer.update_many(sorted(events, key=lambda e: e["timestamp"]))
    assert scorer.n_events == len(events)


# ---------------------------------------------------------------- online alerts written


def _online_alerts(conversation: int, adult: int, child: int) -> list[rs.Alert]:
    """The alerts an online scorer raises on ten messages between ``adult`` (35) and
    ``child`` (12), with a policy that alerts on any risk."""
    band, unknown = (rs.AgeBand(name, 0.0, math.inf, review=1e-9, urgent=1e-6) for name in "ab")
    scorer = rs.OnlineScorer(MODEL, rs.AlertPolicy(bands=(band,), unknown=unknown))
    events = adult_child_messages(conversation, adult, child, T0)
    return scorer.update_many(events)


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_online_alerts_with_ids_beyond_int64_are_written_as_those_integers(
    tmp_path: Path, suffix: str
) -> None:
    """Was: ``riskscore.batch.write_alerts`` of alerts an online scorer raised on a uint64
    platform's ids (2**63 and above) failed with pyarrow's ``OverflowError: Python int too
    large to convert to C long``. Now the ids are uint64 where one is beyond int64 (the
    two account columns one type), as ``write_messages`` writes them, and read back as the
    same integers; JSON lines stay the bytes of ``Alert.to_json``."""
    alerts = _online_alerts(2**63, 2**64 - 1, 7) + _online_alerts(5, 6, 2**63 + 1)
    assert {type(a.conversation_id) for a in alerts} == {int}
    path = write_alerts(alerts, tmp_path / f"alerts.{suffix}")
    assert read_alert_ids(path) == [a.conversation_id for a in alerts]
    if suffix == "jsonl":
        assert path.read_text(encoding="utf-8") == "".join(a.to_json() + "\n" for a in alerts)
    else:
        table = pq.read_table(path)
        assert table.schema.field("adult_id").type == pa.uint64()
        assert table.column("child_id").to_pylist() == [a.child_id for a in alerts]


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_online_alerts_with_ids_no_arrow_integer_holds_are_written_as_marked_text(
    tmp_path: Path, suffix: str
) -> None:
    """Was: the same ``OverflowError`` traceback for an id beyond 2**64 - 1, or a negative
    id beside one beyond int64; then (hr68b) a SchemaError naming the column, the alert and
    the id. Since hr72a such a column is text marked as integers
    (:func:`riskscore.io.given_ids.mark_integer_text`): JSON lines writes the integers, and
    reading either file gives the ids back as given."""
    alerts = _online_alerts(-3, 1, 2) + _online_alerts(2**64, 3, 4)
    path = write_alerts(alerts, tmp_path / f"alerts.{suffix}")
    assert read_alert_ids(path) == [a.conversation_id for a in alerts]
    if suffix == "jsonl":
        assert path.read_text(encoding="utf-8") == "".join(a.to_json() + "\n" for a in alerts)


def test_comparing_batch_and_online_alerts_of_ids_beyond_int64_says_why_they_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore compare --alerts`` of ``riskscore score``'s alerts and
    ``--shadow-alerts`` of ``riskscore stream``'s, both of the same events, was refused
    with "give both files from the same events", which they were: batch scoring writes
    every integer id as decimal text once one of its events' ids is beyond int64
    (docs/schema.md), an online scorer keeps integers. The error now says so."""
    alerts = _online_alerts(2**64 + 5, 8, 9)
    online = tmp_path / "online.jsonl"  # as riskscore stream writes them
    online.write_text("".join(a.to_json() + "\n" for a in alerts), encoding="utf-8")
    as_batch = [  # the same alerts as batch scoring writes them: ids as decimal text
        {**a.to_dict(), "conversation_id": str(a.conversation_id)} for a in alerts
    ]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps(a) + "\n" for a in as_batch), encoding="utf-8")
    argv = ["compare", "--alerts", str(batch), "--shadow-alerts", str(online)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "text in --alerts but integers in --shadow-alerts" in err
    assert "writes every integer id as decimal text" in err
