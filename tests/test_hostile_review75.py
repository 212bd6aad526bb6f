"""Hostile review 75: a review queue and a timeline changed outside riskscore, read by
the service."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, PASSWORD, config, csrf_token, sign_in

import riskscore as rs
from riskscore.cli import main
from riskscore.cli.report import published_periods
from riskscore.io.events import parse_event_fast
from riskscore.moderation import QueueError, ReviewQueue
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore
from riskscore.serve.metrics import ServeMetrics
from riskscore.serve.service import ScoringService
from riskscore.serve.timeline import TimelineStore

NOW = 1_750_000_000
TIER_PROBLEM = "review queue item 1: column 'tier' is 'x', expected 0 for a user report"


def _tamper(db: Path, sql: str) -> None:
    """Change the items as someone with the file would: around the audit trigger, which
    the next :class:`ReviewQueue` opened on the file recreates."""
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("DROP TRIGGER items_audited")
        con.execute(sql)
    with ReviewQueue(db):
        pass


def _account(db: Path, name: str, role: str) -> None:
    store = ModeratorStore(db, hasher=CHEAP_HASHER)
    store.add(name, role, PASSWORD)
    store.close()


def _queue(db: Path) -> None:
    with ReviewQueue(db) as q:
        q.add_alert(Alert("c1", "adult-a", "kid-1", 15.0, "13-15", 0.9, Tier.URGENT), at=NOW)
        q.add_alert(Alert("c2", "adult-b", "kid-2", 11.0, "under 13", 0.5, Tier.REVIEW), at=NOW)


@pytest.fixture
def tampered(tmp_path: Path) -> Iterator[TestClient]:
    """A lead signed in to a service whose queue holds a tier of ``'x'``."""
    cfg = config(tmp_path, rs.load_model())
    _queue(cfg.db)
    _account(cfg.db, "lead-1", "lead")
    _tamper(cfg.db, "UPDATE items SET tier = 'x' WHERE item_id = 1")
    with TestClient(create_app(cfg), raise_server_exceptions=False) as client:
        assert sign_in(client, "lead-1") == 303
        yield client


@pytest.mark.parametrize("path", ["/console/queue", "/console/cases/" + encode_id("adult-a")])
def test_console_names_a_tampered_queue_on_its_own_page(
    tampered: TestClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    r = tampered.get(path)
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("text/html")
    assert "Stored data unreadable" in r.text
    assert TIER_PROBLEM in r.text.replace("&#39;", "'")
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    # one line in the server's log, no traceback
    logged = [rec for rec in caplog.records if rec.name == "riskscore.serve"]
    assert len(logged) == 1
    assert TIER_PROBLEM in logged[0].getMessage()
    assert logged[0].exc_info is None


def test_metrics_name_a_tampered_queue_in_json(tampered: TestClient) -> None:
    r = tampered.get("/metrics")
    assert r.status_code == 500
    assert TIER_PROBLEM in r.json()["detail"]


@pytest.mark.parametrize(
    ("sql", "read", "problem"),
    [
        # counted as tier 2 before: int(2.5)
        ("UPDATE items SET tier = 2.5", "open_counts", "'tier' is 2.5"),
        ("UPDATE items SET tier = 0", "open_counts", "'tier' is 0"),  # an alert's 0
        (
            "UPDATE items SET age_band = 'a' || char(10) || 'b'",
            "open_counts",
            "'age_band' is 'a\\nb'",
        ),
        ("UPDATE items SET created_at = 'soon'", "open_created_at", "'created_at' is 'soon'"),
    ],
)
def test_queue_depth_is_read_as_items_are(
    tmp_path: Path, sql: str, read: str, problem: str
) -> None:
    db = tmp_path / "queue.sqlite"
    _queue(db)
    _tamper(db, sql + " WHERE item_id = 1")
    with (
        ReviewQueue(db) as q,
        pytest.raises(QueueError, match=re.escape(f"item 1: column {problem}")),
    ):
        getattr(q, read)()


def test_queue_depth_of_an_untouched_queue(tmp_path: Path) -> None:
    db = tmp_path / "queue.sqlite"
    _queue(db)
    with ReviewQueue(db) as q:
        assert q.open_counts() == {("13-15", 2): 1, ("under 13", 1): 1}
        assert q.open_created_at() == [NOW, NOW]


EVENT = {"conversation_id": "c1", "timestamp": NOW, "sender_id": "adult-a",
         "recipient_id": "kid-1", "sender_age": 40, "recipient_age": 12,
         "channel": "direct"}  # fmt: skip


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("ts", "'x'", "'ts' is 'x', expected epoch seconds"),
        ("ts", "100000000000000", "'ts' is 100000000000000"),  # a plot of year 3170000: a 500
        ("sender_id", "'{'", "'sender_id' is '{'"),
        ("sender_id", "'true'", "'sender_id' is 'true'"),  # drawn as the sender True before
        ("channel", "99", "'channel' is 99"),
        ("channel", "1.5", "'channel' is 1.5"),
        ("event", "-1", "'event' is -1"),
        ("tz_offset_min", "99999", "'tz_offset_min' is 99999"),  # nights shaded at random
    ],
)
def test_a_tampered_timeline_row_is_named(
    tmp_path: Path, column: str, value: str, problem: str
) -> None:
    path = tmp_path / "timeline.sqlite"
    store = TimelineStore(path)
    store.add([parse_event_fast({**EVENT, "timestamp": NOW + 60 * i}) for i in range(3)])
    store.flush()
    with closing(sqlite3.connect(path)) as con, con:
        con.execute(f"UPDATE events SET {column} = {value} WHERE rowid = 2")
    with pytest.raises(QueueError, match=re.escape(f"{path}, row 2: column {problem}")):
        store.events_of("c1")
    store.close()


def test_console_names_a_tampered_timeline(tmp_path: Path) -> None:
    cfg = config(tmp_path, rs.load_model())
    _queue(cfg.db)
    _account(cfg.db, "mod-1", "moderator")
    assert cfg.timeline is not None
    timeline = TimelineStore(cfg.timeline)
    timeline.add([parse_event_fast(EVENT)])
    timeline.close()
    with closing(sqlite3.connect(cfg.timeline)) as con, con:
        con.execute("UPDATE events SET channel = 99")
    with TestClient(create_app(cfg), raise_server_exceptions=False) as client:
        assert sign_in(client, "mod-1") == 303
        r = client.get("/console/cases/" + encode_id("adult-a"))
    assert r.status_code == 500
    assert "Stored data unreadable" in r.text
    assert "row 1: column &#39;channel&#39; is 99, expected a channel code" in r.text


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE moderators SET session = 'x'", "'session' is 'x', expected an int >= 0"),
        # read as generation 0 before: a cookie of generation 0 signed in
        ("UPDATE moderators SET session = 0.5", "'session' is 0.5"),
        ("UPDATE moderators SET role = 'admin'", "'role' is 'admin', expected moderator or lead"),
    ],
)
def test_a_tampered_moderator_account_is_named(tmp_path: Path, sql: str, problem: str) -> None:
    db = tmp_path / "queue.sqlite"
    _account(db, "mod-1", "moderator")
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("PRAGMA ignore_check_constraints = ON")  # the table's CHECK on role
        con.execute(sql)
    store = ModeratorStore(db, hasher=CHEAP_HASHER)
    message = re.escape(f"moderator account 'mod-1': column {problem}")
    with pytest.raises(QueueError, match=message):
        store.get("mod-1")
    with pytest.raises(QueueError, match=message):
        store.lookup("mod-1")
    store.close()


def test_sign_in_names_a_tampered_account(tmp_path: Path) -> None:
    cfg = config(tmp_path, rs.load_model())
    _account(cfg.db, "mod-1", "moderator")
    with closing(sqlite3.connect(cfg.db)) as con, con:
        con.execute("UPDATE moderators SET session = 'x'")
    with TestClient(create_app(cfg), raise_server_exceptions=False) as client:
        page = client.get("/console/signin")
        form = {"name": "mod-1", "password": PASSWORD, "csrf_token": csrf_token(page.text)}
        r = client.post("/console/signin", data=form)
    assert r.status_code == 500
    assert "Stored data unreadable" in r.text
    assert "column &#39;session&#39; is &#39;x&#39;" in r.text


def test_remembered_batches_are_bounded_by_what_their_responses_hold(tmp_path: Path) -> None:
    """A batch of elements refused one by one (``[1,1,...]``) is answered with some 35
    times its size; its response is kept under its batch id (and written at each
    checkpoint). Ids beyond the bound on refused events and alerts kept are forgotten,
    oldest first, not only beyond ``max_batch_ids``."""
    checkpoint = tmp_path / "state.sqlite"
    with ReviewQueue(tmp_path / "queue.sqlite") as q:
        scorer = rs.OnlineScorer(rs.load_model(), rs.AlertPolicy.default())
        service = ScoringService(
            scorer,
            q,
            None,
            ServeMetrics(lambda: q, lambda: 0),
            checkpoint=checkpoint,
            max_remembered_entries=50,
        )
        body = b"[" + b",".join([b"1"] * 20) + b"]"  # 20 refused elements
        for key in ("k1", "k2", "k3"):
            assert len(service.submit(body, "application/json", key).body["refused"]) == 20
        # k1 forgotten (60 entries > 50): sent again, it is a new batch
        assert "replayed" not in service.submit(body, "application/json", "k1").body
        assert service.submit(body, "application/json", "k3").body["replayed"] is True
        service.checkpoint()
    restored = rs.OnlineScorer.restore(checkpoint, rs.load_model(), rs.AlertPolicy.default())
    kept = [entry[0] for entry in restored.checkpoint_extra["batches"]]
    assert kept == ["k3", "k1"]


def _fifo_written_to(path: Path, text: bytes) -> None:
    """A FIFO at ``path`` that a thread writes ``text`` to once a reader opens it (for at
    most half a second: a reader that refuses the FIFO never opens it)."""
    os.mkfifo(path)

    def write() -> None:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader yet (ENXIO)
                time.sleep(0.01)
                continue
            os.write(fd, text)
            os.close(fd)
            return

    threading.Thread(target=write, daemon=True).start()


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        # a RecursionError traceback from the command line before
        (lambda p: p.write_text("[" * 100_000 + "]" * 100_000), "nested too deeply"),
        # the whole value in the message before (5,000 characters)
        (
            lambda p: p.write_text(
                json.dumps({"period": {"start_epoch": "x" * 5000, "end_epoch": 1}})
            ),
            "(5000 characters) and 1 are not whole seconds",
        ),
        # waited on before: here the thread's writer came, and it was read as a report
        (
            lambda p: _fifo_written_to(p, b'{"period": {"start_epoch": 0, "end_epoch": 1}}'),
            "is not a regular file",
        ),
    ],
)
def test_a_published_report_that_is_none_is_named(
    tmp_path: Path, make: Callable[[Path], object], problem: str
) -> None:
    path = tmp_path / "report.json"
    make(path)
    with pytest.raises(ValueError, match=re.escape(problem)) as refused:
        published_periods([path])
    assert len(str(refused.value)) < 500


def test_console_tells_the_account_7_from_the_text_id_7(tmp_path: Path) -> None:
    """The online scorer keeps the accounts ``7`` and ``"7"`` apart (two ids), and so do
    the queue and ``riskscore queue``; the console showed both cases as adult 7."""
    cfg = config(tmp_path, rs.load_model())
    with ReviewQueue(cfg.db) as q:
        q.add_alert(Alert(1, 7, 8, 12.0, "under 13", 0.9, Tier.URGENT), at=NOW)
        q.add_alert(Alert("c2", "7", " 9", 12.0, "under 13", 0.8, Tier.URGENT), at=NOW)
    _account(cfg.db, "mod-1", "moderator")
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        queue = client.get("/console/queue").text
        number, text = client.get(_case(7)).text, client.get(_case("7")).text
    assert 'class="case-link">7</a>' in queue
    assert 'class="case-link">&#34;7&#34;</a>' in queue
    assert '<span id="adult-id">7</span>' in number
    assert '<span id="adult-id">&#34;7&#34;</span>' in text
    assert "<td>&#34; 9&#34;" in text  # a space a page would collapse: quoted


def _case(adult: object) -> str:
    return "/console/cases/" + encode_id(adult)


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        # a TypeError before ('>' between a float and a str)
        ("UPDATE items SET risk = 'x'", "'risk' is 'x', expected a number from 0 to 1"),
        # a JSONDecodeError before
        ("UPDATE items SET adult_id = '{'", "'adult_id' is '{', expected an id as stored"),
    ],
)
def test_an_alert_merged_into_a_tampered_item_is_refused_by_name(
    tmp_path: Path, sql: str, problem: str
) -> None:
    db = tmp_path / "queue.sqlite"
    _queue(db)
    _tamper(db, sql + " WHERE item_id = 1")
    again = Alert("c1", "adult-a", "kid-1", 15.0, "13-15", 0.95, Tier.URGENT)
    with ReviewQueue(db) as q, pytest.raises(QueueError, match=f"item 1: column {problem}"):
        q.add_alert(again, at=NOW + 60)


def test_the_api_refuses_an_alert_on_a_tampered_item_and_answers(tmp_path: Path) -> None:
    """The service queues the alerts of a batch after applying its events: a TypeError
    there was a 500 whose batch had been applied (a retry applied it twice)."""
    cid, adult, child = 129, 1_000_022, 1_000_059  # an alerted conversation of this world
    world = rs.synthetic.generate(200, prevalence=0.15, seed=8).messages.iter_events()
    events = [e for e in world if e["conversation_id"] == cid]
    cfg = config(tmp_path, rs.load_model())
    with ReviewQueue(cfg.db) as q:
        q.add_alert(Alert(cid, adult, child, 12.0, "under 13", 0.5, Tier.REVIEW), at=NOW)
    _tamper(cfg.db, "UPDATE items SET risk = 'x'")
    with TestClient(create_app(cfg), raise_server_exceptions=False) as client:
        r = client.post("/v1/events", json=events)
    assert r.status_code == 422
    body = r.json()
    assert body["accepted"] == len(events)
    assert body["alerts"]
    assert {"item 1: column 'risk' is 'x'" in e["message"] for e in body["refused"]} == {True}


@pytest.mark.parametrize(
    "args",
    [
        # "0 open cases (1 open item)" before: SQLite orders text after every number, so
        # the item was left out of every case, never shown to a moderator
        ["--top", "3"],
        # a TypeError traceback before (an int compared with text)
        ["--decide", '"adult-a"', "--items", "1", "--outcome", "dismissed", "--moderator", "m"],
    ],
)
def test_an_item_created_at_text_is_named_not_left_out(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "queue.sqlite"
    _queue(db)
    _tamper(db, "UPDATE items SET created_at = 'x' WHERE item_id = 1")
    assert main(["queue", "--db", str(db), *args]) == 2
    err = capsys.readouterr().err
    assert "item 1: column 'created_at' is 'x', expected epoch seconds" in err
    assert "Traceback" not in err


def _not_a_timeline(path: Path, kind: str) -> str:
    """Make ``path`` a file of ``kind`` that is no timeline; what the refusal says."""
    if kind == "text":
        path.write_text("hello\n")
        return "is not a riskscore timeline (file is not a database)"
    if kind == "queue":
        _queue(path)
        return (
            "is not a riskscore timeline (it has table(s) alert_signals, audit, "
            "channel_baseline, items"
        )
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("CREATE TABLE events (a, b)")
    path.chmod(0o600)  # this user's private file: refused for what it holds
    return "is not a riskscore timeline (its events table has the columns a, b)"


@pytest.mark.parametrize("kind", ["text", "queue", "events"])
def test_a_file_that_is_no_timeline_is_refused_unchanged(tmp_path: Path, kind: str) -> None:
    """A queue (or any database) given as the timeline got an ``events`` table added; a
    text file or another ``events`` table was a traceback at the service's start-up."""
    path = tmp_path / "timeline.sqlite"
    said = _not_a_timeline(path, kind)
    before = path.read_bytes()
    with pytest.raises(QueueError, match=re.escape(said)):
        TimelineStore(path)
    if kind != "events":  # refused before it is opened for writing
        assert path.read_bytes() == before


@pytest.mark.parametrize("option", ["--db", "--timeline"])
def test_serve_names_a_file_of_another_kind_before_serving(
    tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    files = {"--db": str(tmp_path / "queue.sqlite"), option: str(text)}
    args = [x for pair in files.items() for x in pair]
    assert main(["serve", *args, "--host", "127.0.0.1", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"notes.txt is not a riskscore {'queue' if option == '--db' else 'timeline'}" in err
    assert "Traceback" not in err
