"""Hostile review hr68c of the review queue, its fast-tracking of children's reports and
the moderator's console: each test failed before its fix."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from queue_helpers import locked, wait_briefly
from serve_helpers import config, csrf_token, sign_in

import riskscore as rs
from riskscore.cli import main
from riskscore.moderation import QueueError, ReviewQueue, UserReport, iter_reports
from riskscore.moderation.cases import MAX_NOTE_CHARS
from riskscore.moderation.queue_writer import QueueWriter
from riskscore.moderation.ranking import build_case, headline, rank_cases
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def _insert(db: Path, **change: Any) -> None:
    """An item added with plain SQL, as a file edited outside riskscore: an alert of adult
    ``"b"`` (child ``"k2"``, age 15) at ``T0``, with the columns in ``change`` replaced."""
    row: dict[str, Any] = {
        "kind": "alert", "dedup_key": 'alert:"x"', "conversation_id": '"x"', "adult_id": '"b"',
        "child_id": '"k2"', "child_age": 15.0, "age_band": "13-15", "risk": 0.1, "tier": 1,
        "channel": "direct", "concerns_child": 0, "reasons": '["r"]', "created_at": T0,
        "updated_at": T0, **change,
    }  # fmt: skip
    with closing(sqlite3.connect(db)) as con, con:
        con.execute(
            f"INSERT INTO items ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )


def _queue(tmp_path: Path) -> Path:
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db, simulation=True) as q:
        q.add_alert(Alert("c1", "a", "k", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
    return db


@pytest.mark.parametrize(
    "change",
    [
        # an alert flagged as a child's report: ranked above every child's alert, and read
        # "user report from a child (age 15)"
        {"concerns_child": 1},
        # an adult's report, or one of no declared age, flagged as a child's
        {"kind": "user_report", "tier": 0, "child_age": 30.0, "concerns_child": 1},
        {"kind": "user_report", "tier": 0, "child_age": None, "concerns_child": 1},
        # a child's report with its flag cleared: ranked with the adults' reports
        {"kind": "user_report", "tier": 0, "child_age": 12.0, "concerns_child": 0},
    ],
)
def test_a_fast_track_flag_against_the_reporters_age_is_refused_by_name(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    """Was: read as stored: the flag that puts a child's report above everything was
    trusted whatever the item's kind and reporter's age said, so a hand-edited alert jumped
    the queue as a "user report from a child", and a child's report lost its place."""
    db = _queue(tmp_path)
    _insert(db, **change)
    with ReviewQueue(db, simulation=True) as q, pytest.raises(QueueError) as caught:
        q.cases(now=T0 + 60)
    text = str(caught.value)
    assert "review queue item 2: column 'concerns_child'" in text
    assert "only for a user report whose reporter declared an age under 18" in text


def test_the_queue_pages_signal_is_the_alert_its_reasons_name(tmp_path: Path) -> None:
    """Was: of two alerts of one adult with the same tier and risk, the case's reasons named
    the first read (conversation c15) and listed its model reasons, while the console's
    queue page (:func:`headline`) took the strongest signal of the first listed (c11, the
    younger child's): "urgent alert ... in conversation c15 ...: the case's model reasons
    are this alert's" above a reason of c11."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        alerts = (("c15", "k15", 15.0, "13-15"), ("c11", "k11", 11.0, "under 13"))
        for cid, child, age, band in alerts:
            reasons = (f"reason of {cid}, first", f"reason of {cid}, second")
            q.add_alert(Alert(cid, "adult", child, age, band, 0.9, Tier.URGENT, reasons), at=T0)
        case = q.case("adult", now=T0 + 60)
    assert case is not None
    assert [i.conversation_id for i in case.items] == ["c11", "c15"]  # the younger first
    named = [r for r in case.reasons if "the case's model reasons are this alert's" in r]
    assert named == [
        "urgent alert, risk 0.900 (band under 13) in conversation c11 (child age 11): "
        "the case's model reasons are this alert's"
    ]
    assert case.reasons[-2:] == ("reason of c11, first", "reason of c11, second")
    shown = headline(case)
    assert shown[0] == named[0]
    assert shown[-1] == "reason of c11, first"


def test_items_of_one_priority_are_listed_by_item_id(tmp_path: Path) -> None:
    """Was: items of equal priority were listed, and the strongest alert among equals
    picked, in the order the database returned them (which SQLite does not promise without
    an ``ORDER BY``); now by item id, whatever the order read."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        for cid in ("z", "y", "x"):
            q.add_alert(Alert(cid, "adult", f"k{cid}", 12.0, "under 13", 0.5, Tier.REVIEW), at=T0)
        items = q.items()
        weights = q.weights
    for read in (items, items[::-1], [items[1], items[2], items[0]]):
        case = build_case(read, T0, weights)
        assert [i.item_id for i in case.items] == [1, 2, 3]
        assert "in conversation z (child age 12)" in case.reasons[0]
        assert rank_cases(read, T0, weights)[0].token == "v1:1.1-2.1-3.1"


def test_a_note_at_its_limit_typed_with_line_breaks_is_kept(tmp_path: Path) -> None:
    """Was: the length was measured before a browser's CRLF line breaks became LF, so a
    note the console's form let through (its ``maxlength`` counts a line break as one
    character) was refused as too long: "note must be text of at most 2000 characters"."""
    line = "x" * 19 + "\r\n"  # 20 characters as kept, 21 as sent
    note = line * (MAX_NOTE_CHARS // 20)
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        q.add_alert(Alert("c1", "a", "k", 12.0, "under 13", 0.9, Tier.URGENT))
        case = q.case("a")
        assert case is not None
        assert q.decide("a", "dismissed", moderator="mod-1", token=case.token, note=note) == 1
        kept = q.audit_log()[-1].detail["note"]
        with pytest.raises(QueueError, match=f"note has {MAX_NOTE_CHARS + 1} characters"):
            q.decide("a", "dismissed", moderator="mod-1", item_ids=[1], note=kept + "y")
    assert kept == note.replace("\r\n", "\n")
    assert len(kept) == MAX_NOTE_CHARS


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    wait_briefly(monkeypatch)


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return list(rs.synthetic.generate(120, prevalence=0.25, seed=8).messages.iter_events())


def _queued(db: Path) -> list[tuple[str, Any, int]]:
    with ReviewQueue(db) as q:
        return sorted((i.kind, i.conversation_id, i.n_signals) for i in q.items())


@pytest.mark.usefixtures("short_wait")
def test_alerts_raised_while_the_queue_is_locked_are_queued_after(
    tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    """Was: ``POST /v1/events`` answered a bare 500 after applying every event to the
    scorer, and queued none of its alerts and reports; the scorer counted them as raised,
    so the batch sent again raised none (its events were refused as already seen): every
    alert of the batch was lost. Now the response says the queue was busy, the alerts and
    reports are held in order and queued before the next batch's, and no checkpoint is
    written while any is held."""
    model = rs.load_model()
    with TestClient(create_app(config(tmp_path / "free", model))) as client:
        assert client.post("/v1/events", json=events).status_code == 200
    expected = _queued(tmp_path / "free" / "queue.sqlite")
    assert any(kind == "alert" for kind, _, _ in expected)
    assert any(kind == "user_report" for kind, _, _ in expected)
    cfg = config(tmp_path / "busy", model)
    with TestClient(create_app(cfg)) as client:
        with locked(cfg.db):
            r = client.post("/v1/events", json=events)
            state = client.app.state.serve  # type: ignore[attr-defined]
            state.scoring.submit(state.service.checkpoint).result()
        assert r.status_code == 200
        busy = r.json()["queue_busy"]
        assert "the review queue was locked by another process" in busy
        assert "the events were applied: do not send them again" in busy
        assert r.json()["alerts"]  # the alerts raised, as without a lock
        assert _queued(cfg.db) == []
        assert cfg.checkpoint is not None
        assert not cfg.checkpoint.exists()  # it would count the held alerts as raised
        after = client.post("/v1/events", json=[])
        assert "queue_busy" not in after.json()
        assert _queued(cfg.db) == expected


@pytest.mark.usefixtures("short_wait")
def test_a_decision_when_the_queue_is_locked_says_it_was_not_recorded(tmp_path: Path) -> None:
    """Was: a bare "Internal Server Error" (500) when another process held the queue file
    longer than its busy timeout, leaving the moderator to guess whether the decision was
    recorded. Now a 503 page says the queue was busy and nothing was recorded."""
    cfg = config(tmp_path, rs.load_model())
    with ReviewQueue(cfg.db) as q:
        q.add_alert(Alert("c1", "adult-a", "kid-1", 12.0, "under 13", 0.9, Tier.URGENT))
    store = ModeratorStore(cfg.db, hasher=cfg.password_hasher)
    store.add("mod-1", "moderator", "a long test passphrase")
    store.close()
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        page = client.get('/console/cases/"adult-a"').text
        token = re.search(r'name="token" value="([^"]+)"', page)
        assert token is not None
        decision = {"outcome": "actioned", "token": token.group(1), "csrf_token": csrf_token(page)}
        url = '/console/cases/"adult-a"/decide'
        with locked(cfg.db):
            r = client.post(url, data=decision, follow_redirects=False)
        assert r.status_code == 503
        assert "Review queue busy" in r.text
        assert "nothing of this request was recorded: try again" in r.text
        with ReviewQueue(cfg.db) as q:
            assert len(q.items(status="open")) == 1
        assert client.post(url, data=decision, follow_redirects=False).status_code == 303


def _as_schema_1(db: Path) -> None:
    """Make ``db`` a queue file as riskscore wrote it at schema version 1: no
    ``items.audit_id``, no facts columns, no ``simulated`` entry (nor its triggers)."""
    with closing(sqlite3.connect(db)) as con, con:
        for name in ("items_audited", "items_no_delete", "audit_no_delete", "audit_no_update"):
            con.execute(f"DROP TRIGGER {name}")
        for column in ("audit_id", "adult_age", "first_event_at", "last_event_at"):
            con.execute(f"ALTER TABLE items DROP COLUMN {column}")
        con.execute("DELETE FROM meta WHERE key = 'simulated'")
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")


def test_a_schema_1_queue_is_never_made_simulated_by_opening_it_in_simulation(
    tmp_path: Path,
) -> None:
    """Was: a queue of schema version 1 (made before riskscore recorded the simulation mode)
    took the mode of whoever opened it first after the upgrade: opened once with
    ``simulation=True``, its decisions were marked simulated for good and caller-given
    decision times were accepted on it."""
    db = tmp_path / "v1.sqlite"
    with ReviewQueue(db) as q:
        q.add_alert(Alert("c1", "a", "k", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
    _as_schema_1(db)
    with pytest.raises(QueueError, match="holds real decisions"):
        ReviewQueue(db, simulation=True)
    with ReviewQueue(db) as q:
        assert not q.simulated
        assert [i.conversation_id for i in q.items()] == ["c1"]
    with ReviewQueue(tmp_path / "new.sqlite", simulation=True) as q:  # a new one is made so
        assert q.simulated


def _exchange() -> list[dict[str, Any]]:
    """A child (``k``, 12) and an adult (``a``, 34) who declare their ages on their messages
    of conversation ``c1``; then ``k`` reports ``a`` on a ``report`` event that declares no
    age (a platform's reports table without its ages). And in ``c2`` an account of no
    declared age (``u``) reports ``b``: its age is unknown there too."""
    t = T0 - 30 * 86_400  # a month before the queue's clock reads in these tests
    rows: list[dict[str, Any]] = []
    turns = (("a", "k", (34.0, 12.0)), ("k", "a", (12.0, 34.0)))
    for n in range(6):
        sender, recipient, ages = turns[n % 2]
        rows.append({"conversation_id": "c1", "timestamp": t + 60 * n, "sender_id": sender,
                     "recipient_id": recipient, "sender_age": ages[0], "recipient_age": ages[1],
                     "channel": "direct", "event": "message"})  # fmt: skip
    rows.append({"conversation_id": "c1", "timestamp": t + 600, "sender_id": "k",
                 "recipient_id": "a", "channel": "direct", "event": "report"})  # fmt: skip
    rows.append({"conversation_id": "c2", "timestamp": t + 700, "sender_id": "b",
                 "recipient_id": "u", "sender_age": 40.0, "channel": "direct"})  # fmt: skip
    rows.append({"conversation_id": "c2", "timestamp": t + 800, "sender_id": "u",
                 "recipient_id": "b", "channel": "direct", "event": "report"})  # fmt: skip
    return rows


def _reports_queued(db: Path) -> list[tuple[Any, ...]]:
    with ReviewQueue(db) as q:
        reports = [i for i in q.items() if i.kind == "user_report"]
        ranked = [c.adult_id for c in q.cases()]
        top = q.cases()[0].priority
    assert top >= q.weights.child_report  # the child's report ranks as one
    return [
        (i.conversation_id, i.child_id, i.adult_id, str(i.child_age), str(i.adult_age),
         i.concerns_child)
        for i in sorted(reports, key=lambda i: str(i.conversation_id))
    ] + [tuple(ranked)]  # fmt: skip


def test_a_childs_report_without_an_age_on_its_event_jumps_the_queue_on_every_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: a ``report`` event's own ``sender_age`` alone said whether its reporter is a
    child: a 12-year-old who declared the age on every message of the conversation, whose
    report came without it, was queued as a report of unknown age ("reporter's age unknown:
    counted as a possible child"), ranked with the adults' (20 points under a child's
    report), in ``score --queue`` (in memory and out of core), ``stream --queue`` and
    ``serve``. The age is now the one the account declared in the conversation, as the
    conversation's features read a participant's age, on every path alike."""
    rows = _exchange()
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(r) + "\n" for r in rows))
    expected = [
        ("c1", "k", "a", "12.0", "34.0", True),
        ("c2", "u", "b", "nan", "40.0", False),
        ("a", "b"),  # the child's report first
    ]
    parquet = rs.write_messages(rs.read_messages(events), tmp_path / "events.parquet")
    for name, source, extra in (
        ("memory", events, []),
        ("chunked", parquet, ["--chunk-rows", "2"]),
    ):
        db = tmp_path / f"{name}.sqlite"
        argv = ["score", str(source), "--out", str(tmp_path / name), "--queue", str(db)]
        assert main([*argv, *extra]) == 0
        assert _reports_queued(db) == expected, name
    db = tmp_path / "stream.sqlite"
    monkeypatch.setattr("sys.stdin", io.StringIO(events.read_text()))
    assert main(["stream", "--queue", str(db), "--max-future-s", "inf"]) == 0
    assert _reports_queued(db) == expected
    capsys.readouterr()
    cfg = config(tmp_path / "serve", rs.load_model())
    with TestClient(create_app(cfg)) as client:
        assert client.post("/v1/events", json=rows).status_code == 200
    assert _reports_queued(cfg.db) == expected
    db = tmp_path / "library.sqlite"
    with ReviewQueue(db) as q:  # the library's own path: rs.iter_reports of a table
        q.add_reports(iter_reports(rs.read_messages(events)))
    assert _reports_queued(db) == expected


def test_the_queue_command_counts_the_items_of_the_cases_it_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``1 open case (3 open items)`` where the one case shown held one item: the items
    were counted whatever their time, the cases at ``--now`` (a replay, or items dated
    ahead of the clock), so the two numbers spoke of different queues."""
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db, simulation=True) as q:
        q.add_alert(Alert("c1", "a", "k", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.add_alert(Alert("c2", "b", "k2", 12.0, "under 13", 0.9, Tier.URGENT), at=T0 + 5000)
        q.add_alert(Alert("c3", "a", "k3", 12.0, "under 13", 0.9, Tier.URGENT), at=T0 + 5000)
    assert main(["queue", "--db", str(db), "--now", str(T0 + 10), "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 open case (1 open item)\n")
    assert "1 child, 1 conversation, 1 item" in out
    assert main(["queue", "--db", str(db), "--now", str(T0 + 5000), "--top", "0"]) == 0
    assert capsys.readouterr().out.startswith("2 open cases (3 open items)\n")


def test_a_flood_of_childrens_reports_is_counted_by_age_not_listed(tmp_path: Path) -> None:
    """Was: one ``age N`` per reporting child in the case's first reason, the one the
    console's queue page shows: 500 reports from 500 children made a reason of 4,035
    characters (``age 10, age 11, age 12, ...``)."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        reports = [
            UserReport(f"c{i}", f"kid{i}", "adult", 10.0 + i % 7, T0 + i) for i in range(500)
        ]
        q.add_reports(reports)
        few = [
            UserReport("d1", "kid-x", "other", 15.0, T0),
            UserReport("d2", "kid-y", "other", 9.0, T0),
        ]
        q.add_reports(few)
        case, other = q.case("adult", now=T0 + 1000), q.case("other", now=T0 + 1000)
    assert case is not None
    assert other is not None
    assert case.reasons[0] == (
        "500 user reports from 500 children (72 of age 10, 72 of age 11, 72 of age 12, "
        "71 of age 13, 71 of age 14, 71 of age 15, 71 of age 16)"
    )
    assert headline(case)[0] == case.reasons[0]
    # a few are listed as they reported, as before
    assert other.reasons[0] == "2 user reports from 2 children (age 15, age 9)"


def test_a_batch_the_queue_cannot_take_for_another_reason_is_not_held(tmp_path: Path) -> None:
    """Only a lock holds a batch's alerts for later: one the queue refuses for another
    reason fails alone, as before, and never again with every later batch."""
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as q:
        writer = QueueWriter(q)
        bad = UserReport("c1", "k", "k", 12.0, int(time.time()))  # an account reports itself
        with pytest.raises(ValueError, match="reporter_id and reported_id are one account"):
            writer.add(int(time.time()), [], [bad])
        assert writer.held == (0, 0)
        good = UserReport("c2", "k", "a", 12.0, int(time.time()))
        assert writer.add(int(time.time()), [], [good]) == []
        assert [i.conversation_id for i in q.items()] == ["c2"]


BUSY = "database is locked (another process held it for longer than the busy timeout"


@pytest.mark.usefixtures("short_wait")
def test_a_locked_queue_is_called_busy_never_not_a_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``q.sqlite is not a riskscore queue (database is locked)`` from ``score --queue``
    and ``stream --queue`` when another process held the queue file past the busy timeout
    (an operator told that file is no queue may replace it), and ``cannot use q.sqlite:
    database is locked`` from ``queue --decide``, which did not say whether the decision
    was recorded."""
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as q:
        q.add_alert(Alert("c1", "a", "k", 12.0, "under 13", 0.9, Tier.URGENT))
        case = q.case("a")
    assert case is not None
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(r) + "\n" for r in _exchange()))
    with locked(db):
        assert main(["score", str(events), "--out", str(tmp_path / "o"), "--queue", str(db)]) == 2
        err = capsys.readouterr().err
        assert f"riskscore score: error: cannot use {db}: {BUSY}" in err
        argv = ["queue", "--db", str(db), "--decide", "a", "--token", case.token]
        assert main([*argv, "--outcome", "actioned", "--moderator", "mod-1"]) == 2
        err = capsys.readouterr().err
        assert f"cannot use {db}: {BUSY}; the change being written was not made" in err
    assert "is not a riskscore queue" not in err


def test_a_queue_locked_mid_stream_is_named_not_the_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``cannot use state.sqlite: database is locked``: a lock met by ``stream --queue``
    writing an alert named the checkpoint file, which nothing else writes."""
    db, state = tmp_path / "q.sqlite", tmp_path / "state.sqlite"

    def locked(self: ReviewQueue, *args: Any, **kwargs: Any) -> list[int]:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(ReviewQueue, "add_reports", locked)
    text = "".join(json.dumps(r) + "\n" for r in _exchange())
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    argv = ["stream", "--queue", str(db), "--checkpoint", str(state), "--max-future-s", "inf"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"riskscore stream: error: cannot use {db}: {BUSY}" in err
