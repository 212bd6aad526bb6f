"""The facts a moderator judges an alert by (the adult's declared age, first contact, last
activity) in every moderator-facing output beyond the review queue: the Synapse module's
notice to the moderators' room, ``riskscore score --top`` (text and ``--json``) and the
service's ``GET /v1/conversations/{id}``, each in the queue's one wording
(:func:`~riskscore.moderation.item_facts.facts_text`). Each test failed before the fix."""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import config

import riskscore as rs
from riskscore._words import when_text
from riskscore.cli import main
from riskscore.moderation.item_facts import alert_facts, facts_text
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.synthetic import generate_parquet

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
DAY, HOUR = 86_400, 3_600
MATRIX = {"room_id": "!r:x", "channel": "direct", "event_room_id": "!r:x"}


def _alert(adult_age: float, **extra: Any) -> Alert:
    return Alert(
        7, "a", "k", 12.0, "under 13", 0.9, Tier.URGENT, adult_age=adult_age,
        first_event_at=T0 - 3 * DAY, last_event_at=T0 - 2 * HOUR, **extra,
    )  # fmt: skip


# ------------------------------------------------------------------ the Synapse notice


def test_the_synapse_notice_gives_the_facts_against_the_alerts_event() -> None:
    """Was: the notice gave the adult's age but never when the contact began or was last
    active."""
    sinks = pytest.importorskip("riskscore.integrations._synapse_sinks", exc_type=ImportError)
    body = sinks.notice_body(_alert(34.0, event_index=4, timestamp=T0), {"matrix": MATRIX})
    assert (
        "Facts: adult age 34; conversation of 2.9 days (2025-12-29 00:00 UTC to 2025-12-31 "
        "22:00 UTC); last active 2 hours before the alert. Reasons: "
    ) in body
    unknown = sinks.notice_body(_alert(math.nan, timestamp=T0), {"matrix": MATRIX})
    assert "Facts: adult age unknown; conversation of 2.9 days (2025-12-29" in unknown
    assert "age 0" not in unknown


def test_the_synapse_modules_own_alert_carries_its_event_times(tmp_path: Path) -> None:
    """An alert the module raises from Matrix events: its notice dates first contact and
    last activity by the events' server times."""
    sinks = pytest.importorskip("riskscore.integrations._synapse_sinks", exc_type=ImportError)
    helpers = pytest.importorskip("synapse_helpers", exc_type=ImportError)
    module, _ = helpers._module(tmp_path)
    dm = helpers._Room("!dm:x")
    start_ms = (T0 - 2 * DAY) * 1000 + 22 * 3_600_000  # by night: the scorer alerts
    for i, event in enumerate(
        [
            dm.member("@adult:x", "join"),
            dm.member("@kid:x", "invite", "@adult:x", is_direct=True),
            dm.member("@kid:x", "join"),
            *(dm.message("@adult:x", "m.room.encrypted") for _ in range(3)),
        ]
    ):
        event.origin_server_ts = start_ms + i * 600_000
        helpers._run(module.on_new_event(event, dm.state))
    ((alert, context),) = module._process(100)
    body = sinks.notice_body(alert, {**alert.to_dict(), "matrix": context})
    assert alert.first_event_at is not None
    assert alert.timestamp is not None
    expected = facts_text(34.0, alert.first_event_at, alert.last_event_at, alert.timestamp)
    assert f"Facts: {expected}. " in body
    assert start_ms // 1000 <= alert.first_event_at <= alert.timestamp
    assert f"({when_text(alert.first_event_at)} to " in body
    assert "adult age 34; conversation of " in body


# ------------------------------------------------------------------ riskscore score --top


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("events") / "events.parquet"
    generate_parquet(path, 300, prevalence=0.1, seed=3)
    return path


@pytest.mark.parametrize("chunk", [[], ["--chunk-rows", "1000"]], ids=["memory", "chunks"])
def test_score_top_prints_and_gives_the_facts_of_each_alert(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], chunk: list[str]
) -> None:
    """Was: ``#1 URGENT ... adult 7 (age 34) -> child 9 ...`` then the reasons: no word of
    when the contact began or was last active, in the text or the JSON."""
    before = int(time.time())
    argv = ["score", str(events), "--top", "3", *chunk]
    assert main([*argv, "--out", str(tmp_path / "j"), "--json"]) == 0
    top = json.loads(capsys.readouterr().out)["top"]
    after = int(time.time())
    assert len(top) == 3
    for alert in top:
        first, last = alert["first_event_at"], alert["last_event_at"]
        assert isinstance(first, int)
        assert isinstance(last, int)
        assert alert["facts"] in {
            facts_text(alert["adult_age"], first, last, at) for at in range(before, after + 1)
        }
    assert main([*argv, "--out", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    for alert in top:
        when = re.escape(when_text(alert["first_event_at"]))
        pattern = rf"\n     adult age \w+; conversation of [^\n]* \({when} to [^\n]*\); last active"
        assert re.search(pattern, out), out


def test_a_batch_alert_is_dated_by_the_time_given_an_online_one_by_its_event() -> None:
    batch = _alert(math.nan)
    assert alert_facts(batch, at=T0).endswith("last active 2 hours before the alert")
    online = _alert(34.0, timestamp=T0 + DAY)
    assert alert_facts(online, at=T0).endswith("last active 26 hours before the alert")


# ------------------------------------------------------------------ GET /v1/conversations/{id}


def test_get_conversation_gives_the_adult_age_and_the_contact_times(tmp_path: Path) -> None:
    """Was: ``last_timestamp`` alone: no adult age, no first contact, no words."""
    start = int(time.time()) - 3 * DAY
    aged = {"sender_age": 34.0, "recipient_age": 12.0}
    base = {"sender_id": "a", "recipient_id": "k", "channel": "direct", "event": "message"}
    posted = [
        {**base, **aged, "conversation_id": "c1", "timestamp": start},
        {**base, **aged, "conversation_id": "c1", "timestamp": start + DAY},
        {**base, "conversation_id": "c2", "timestamp": start, "sender_id": "b"},
        {**base, "conversation_id": "c2", "timestamp": start + 2 * HOUR, "sender_id": "b"},
    ]
    with TestClient(create_app(config(tmp_path, rs.load_model()))) as client:
        assert client.post("/v1/events", json=posted).json()["accepted"] == 4
        known = client.get("/v1/conversations/c1").json()
        unknown = client.get("/v1/conversations/c2").json()
    assert (known["adult_age"], known["first_event_at"], known["last_event_at"]) == (
        34.0, start, start + DAY,
    )  # fmt: skip
    assert known["facts"] == (
        f"adult age 34; conversation of 24 hours ({when_text(start)} to "
        f"{when_text(start + DAY)}); last active 2 days before now"
    )
    assert unknown["adult_age"] is None
    assert unknown["facts"].startswith("adult age unknown; conversation of 2 hours (")
    assert (unknown["first_event_at"], unknown["last_event_at"]) == (start, start + 2 * HOUR)
