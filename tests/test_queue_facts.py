"""Every alert item carries the adult's declared age and the conversation's first and latest
event time, from each way alerts enter the queue (``score --queue`` in memory and out of
core, ``stream --queue``, ``serve``, :class:`ReviewQueue`), shown by ``riskscore queue``, the
console's case page and the JSON; a queue file of schema version 2 is upgraded, its items
"not recorded"."""

from __future__ import annotations

import io
import json
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from serve_helpers import model_client, sign_in

import riskscore as rs
from riskscore.cli import main
from riskscore.moderation import QueueError, QueueItem, ReviewQueue
from riskscore.moderation.item_facts import item_facts
from riskscore.moderation.queue_db import SCHEMA_VERSION, encode_id
from riskscore.policy import Alert, Tier
from riskscore.synthetic import generate_parquet

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
DAY, HOUR = 86_400, 3_600
FACTS = ("adult_age", "first_event_at", "last_event_at")


def _alert(cid: str = "c1", **facts: Any) -> Alert:
    return Alert(cid, "adult-a", "kid-1", 12.0, "under 13", 0.9, Tier.URGENT, **facts)


def _alert_items(db: Path) -> list[QueueItem]:
    with ReviewQueue(db) as queue:
        return [i for i in queue.items() if i.kind == "alert"]


def _event_times(events: Path) -> dict[str, tuple[int, int]]:
    """First and latest event time of each conversation of an events file."""
    table = pq.read_table(events, columns=["conversation_id", "timestamp"]).to_pydict()
    out: dict[str, tuple[int, int]] = {}
    for cid, ts in zip(table["conversation_id"], table["timestamp"], strict=True):
        first, last = out.get(str(cid), (ts, ts))
        out[str(cid)] = (min(first, ts), max(last, ts))
    return out


# ------------------------------------------------------------------ the Python API


def test_an_alert_item_carries_the_adult_age_and_the_contact_times(tmp_path: Path) -> None:
    alert = _alert(adult_age=34.0, first_event_at=T0 - 3 * DAY, last_event_at=T0 - 2 * HOUR)
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        queue.add_alert(alert, at=T0)
        (item,) = queue.items()
        case = queue.case("adult-a", now=T0)
    assert (item.adult_age, item.first_event_at, item.last_event_at) == (
        34.0,
        T0 - 3 * DAY,
        T0 - 2 * HOUR,
    )
    assert item_facts(item) == (
        "adult age 34; conversation of 2.9 days (2025-12-29 00:00 UTC to 2025-12-31 22:00 "
        "UTC); last active 2 hours before the alert"
    )
    assert case is not None
    shown = case.to_dict()["items"][0]
    assert {k: shown[k] for k in FACTS} == {
        "adult_age": 34.0,
        "first_event_at": T0 - 3 * DAY,
        "last_event_at": T0 - 2 * HOUR,
    }


def test_an_unknown_adult_age_is_unknown_never_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as queue:
        queue.add_alert(_alert(first_event_at=T0 - DAY, last_event_at=T0 - 60), at=T0)
    (item,) = _alert_items(db)
    assert math.isnan(item.adult_age)
    assert (facts := item_facts(item)) is not None
    assert facts.startswith("adult age unknown; conversation of 24 hours (")
    assert main(["queue", "--db", str(db), "--now", str(T0), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["top"][0]["items"][0]
    assert shown["adult_age"] is None
    assert main(["queue", "--db", str(db), "--now", str(T0)]) == 0
    out = capsys.readouterr().out
    assert "adult age unknown; conversation of 24 hours (" in out
    assert "age 0" not in out


def test_a_later_alert_moves_the_last_event_and_keeps_the_first(tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as queue:
        queue.add_alert(
            _alert(adult_age=34.0, first_event_at=T0 - DAY, last_event_at=T0 - HOUR), at=T0
        )
        later = Alert(
            "c1", "adult-a", "kid-1", 12.0, "under 13", 0.95, Tier.URGENT,
            first_event_at=T0 - DAY, last_event_at=T0 + 5 * HOUR, event_index=9,
        )  # fmt: skip
        queue.add_alert(later, at=T0 + 6 * HOUR)  # its adult age unknown: the known one stays
        # an alert scored on less of the conversation never moves the latest event back
        queue.add_alert(
            _alert(first_event_at=T0 - HOUR, last_event_at=T0, event_index=3), at=T0 + 7 * HOUR
        )
    (item,) = _alert_items(db)
    assert item.n_signals == 3
    assert (item.adult_age, item.first_event_at, item.last_event_at) == (
        34.0,
        T0 - DAY,
        T0 + 5 * HOUR,
    )
    assert (facts := item_facts(item)) is not None
    assert facts.endswith("to 2026-01-01 05:00 UTC); last active 2 hours before the latest alert")


def test_contact_times_out_of_order_are_refused_by_name(tmp_path: Path) -> None:
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        with pytest.raises(
            QueueError, match=f"first_event_at {T0 + 200} is after last_event_at {T0 + 100}"
        ):
            queue.add_alert(_alert(first_event_at=T0 + 200, last_event_at=T0 + 100), at=T0)
        with pytest.raises(QueueError, match=r"last_event_at must be epoch seconds.*-5"):
            queue.add_alert(_alert(last_event_at=-5), at=T0)
        with pytest.raises(ValueError, match=r"adult age 300\.0 is not an age"):
            queue.add_alert(_alert(adult_age=300.0), at=T0)
        assert len(queue) == 0


def test_contact_times_changed_outside_riskscore_are_refused_by_name(tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as queue:
        queue.add_alert(_alert(first_event_at=T0 - DAY, last_event_at=T0), at=T0)
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER items_audited")  # a hand edit of the file
    con.execute("UPDATE items SET last_event_at = ?", (T0 - 2 * DAY,))
    con.commit()
    con.close()
    with ReviewQueue(db) as queue, pytest.raises(QueueError) as err:
        queue.items()
    assert f"column 'last_event_at' is {T0 - 2 * DAY}" in str(err.value)
    assert f"at or after first_event_at {T0 - DAY}" in str(err.value)


# ------------------------------------------------------------ an older queue file


def _as_schema_2(db: Path) -> None:
    """Make ``db`` a queue file as riskscore wrote it at schema version 2."""
    con = sqlite3.connect(db)
    for column in FACTS:
        con.execute(f"ALTER TABLE items DROP COLUMN {column}")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()


def test_a_schema_2_queue_is_upgraded_and_its_items_read_not_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "old.sqlite"
    with ReviewQueue(db) as queue:
        queue.add_alert(_alert("c1"), at=T0)
        queue.add_alert(_alert("c2"), at=T0)
    _as_schema_2(db)
    assert main(["queue", "--db", str(db), "--now", str(T0)]) == 0
    out = capsys.readouterr().out
    not_recorded = "conversation start not recorded; last active not recorded"
    assert f"adult age not recorded; {not_recorded}" in out
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    con.close()
    with ReviewQueue(db) as queue:  # a later alert on an old open item records its facts
        facts = {"adult_age": 40.0, "first_event_at": T0 - DAY, "last_event_at": T0}
        queue.add_alert(_alert("c2", event_index=5, **facts), at=T0 + 60)
        items = {i.conversation_id: i for i in queue.items()}
    assert math.isnan(items["c1"].adult_age)
    assert items["c1"].first_event_at is None
    assert (items["c2"].adult_age, items["c2"].first_event_at, items["c2"].last_event_at) == (
        40.0,
        T0 - DAY,
        T0,
    )


# ---------------------------------------------------------- score --queue, stream --queue


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, _ = generate_parquet(tmp_path_factory.mktemp("ev") / "events.parquet", 3000, seed=11)
    return path


def test_score_queue_records_each_conversations_first_and_last_event(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    times = _event_times(events)
    facts = {}
    for name, extra in (("memory", []), ("chunked", ["--chunk-rows", "20000"])):
        db, out = tmp_path / f"{name}.sqlite", tmp_path / name
        assert main(["score", str(events), "--out", str(out), "--queue", str(db), *extra]) == 0
        alerts = {
            str(a["conversation_id"]): a for a in pq.read_table(out / "alerts.parquet").to_pylist()
        }
        items = _alert_items(db)
        assert items
        for item in items:
            cid = str(item.conversation_id)
            assert (item.first_event_at, item.last_event_at) == times[cid]
            a = alerts[cid]
            assert (a["first_event_at"], a["last_event_at"]) == times[cid]
            assert item.adult_age == a["adult_age"] or (
                math.isnan(item.adult_age) and a["adult_age"] is None
            )
        facts[name] = sorted(
            (str(i.conversation_id), i.adult_age, i.first_event_at, i.last_event_at) for i in items
        )
    assert facts["memory"] == facts["chunked"]  # in memory and out of core alike
    capsys.readouterr()
    assert main(["queue", "--db", str(tmp_path / "memory.sqlite"), "--top", "100"]) == 0
    shown = capsys.readouterr().out
    assert "conversation of " in shown
    assert "last active " in shown
    assert " UTC)" in shown


def test_the_alerts_file_carries_the_contact_times(events: Path, tmp_path: Path) -> None:
    assert main(["score", str(events), "--out", str(tmp_path), "--format", "jsonl"]) == 0
    times = _event_times(events)
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert alerts
    for a in alerts:
        assert (a["first_event_at"], a["last_event_at"]) == times[str(a["conversation_id"])]


def test_stream_queue_records_the_facts_of_the_alerts_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = rs.synthetic.generate(700, prevalence=0.1, seed=8).messages
    applied = list(messages.iter_events())
    text = "".join(json.dumps(e) + "\n" for e in applied)
    db = tmp_path / "q.sqlite"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["stream", "--queue", str(db)]) == 0
    streamed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert streamed
    times: dict[Any, list[int]] = {}
    for e in applied:
        times.setdefault(e["conversation_id"], []).append(e["timestamp"])
    for item in _alert_items(db):
        mine = [a for a in streamed if a["conversation_id"] == item.conversation_id]
        assert item.first_event_at == times[item.conversation_id][0]
        assert item.first_event_at == min(a["first_event_at"] for a in mine)
        assert item.last_event_at == max(a["last_event_at"] for a in mine)
        # the conversation's own latest event (an alert raised by an event of another of
        # the adult's conversations is dated by that event)
        assert item.last_event_at in times[item.conversation_id]
        assert item.last_event_at <= max(a["timestamp"] for a in mine)
        assert item.adult_age == mine[-1]["adult_age"] or math.isnan(item.adult_age)


# ------------------------------------------------------------------------- serve


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with model_client(tmp_path) as c:
        yield c


def test_serve_api_json_and_the_case_page_show_the_facts(client: TestClient) -> None:
    events = list(rs.synthetic.generate(200, prevalence=0.15, seed=8).messages.iter_events())
    r = client.post("/v1/events", json=events)
    assert r.status_code == 200, r.text
    alerts = r.json()["alerts"]
    assert alerts
    for a in alerts:
        assert type(a["first_event_at"]) is int
        assert type(a["last_event_at"]) is int
        assert a["first_event_at"] <= a["last_event_at"] <= a["timestamp"]
    db = client.app.state.config.db  # type: ignore[attr-defined]
    items = _alert_items(db)
    assert {i.conversation_id for i in items} == {a["conversation_id"] for a in alerts}
    assert sign_in(client, "mod-1") == 303
    item = items[0]
    page = client.get("/console/cases/" + encode_id(item.adult_id))
    assert page.status_code == 200
    assert "Adult age and contact" in page.text
    facts = item_facts(item)
    assert facts is not None
    assert facts in page.text
