"""Hostile review 66f: what the service's ``GET /v1/conversations/{id}``, the Synapse
module's notice and ``riskscore score --top`` state about the two accounts' roles and ages.
A role the role rule chose (the declared ages do not tell which account is older: none,
one, or two equal) is said to be assumed, as the reasons say it
(:data:`~riskscore.model.scores.ROLES_ASSUMED`); an unknown age reads unknown (null in
JSON); a reason reads the same in every view. Each test failed before the fix."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from serve_helpers import add_account, config, model_client, sign_in

import riskscore as rs
from riskscore.cli import main, queue
from riskscore.model.scores import NO_REASONS, ROLES_ASSUMED, is_reason_text
from riskscore.moderation import ReviewQueue
from riskscore.moderation.queue_db import encode_id
from riskscore.online.risk import OnlineModel
from riskscore.policy import ALERT_FIELDS, Alert, Tier
from riskscore.serve import create_app
from riskscore.synthetic import generate_parquet

DAY, HOUR = 86_400, 3_600
ROOT = Path(__file__).resolve().parents[1]
MATRIX = {"room_id": "!r:x", "channel": "direct", "event_room_id": "!r:x"}


# ------------------------------------------------------------------ GET /v1/conversations/{id}


def _events(cid: str, start: int, **ages: float) -> list[dict[str, object]]:
    base = {"conversation_id": cid, "sender_id": f"{cid}-a", "recipient_id": f"{cid}-k"}
    base |= {"channel": "direct", "event": "message", **ages}
    return [{**base, "timestamp": start}, {**base, "timestamp": start + HOUR}]


def _answers(client: TestClient) -> dict[str, dict[str, object]]:
    start = int(time.time()) - DAY
    posted = [
        *_events("aged", start, sender_age=34.0, recipient_age=12.0),
        *_events("none", start),
        *_events("one", start, sender_age=34.0),
    ]
    assert client.post("/v1/events", json=posted).json()["accepted"] == 6
    return {cid: client.get(f"/v1/conversations/{cid}").json() for cid in ("aged", "none", "one")}


def test_get_conversation_gives_the_childs_age_null_when_unknown(tmp_path: Path) -> None:
    """Was: ``adult_age`` alone: an API client had the alert record's ``child_age`` in
    ``POST /v1/events`` but not here, and only the age band to go by."""
    with model_client(tmp_path) as client:
        got = _answers(client)
    assert (got["aged"]["child_age"], got["aged"]["adult_age"]) == (12.0, 34.0)
    assert (got["none"]["child_age"], got["none"]["adult_age"]) == (None, None)
    assert (got["one"]["child_age"], got["one"]["adult_age"]) == (None, 34.0)


def test_get_conversation_gives_the_no_reason_text_as_every_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: ``"reasons": []`` where the review queue, its console, ``riskscore score``
    and the Synapse notice show :data:`NO_REASONS`."""
    monkeypatch.setattr(OnlineModel, "reasons", lambda self, row: ())
    with model_client(tmp_path) as client:
        got = _answers(client)
    assert got["aged"]["reasons"] == [NO_REASONS]


def test_get_conversation_reasons_read_as_reason_texts(tmp_path: Path) -> None:
    with model_client(tmp_path) as client:
        got = _answers(client)
    for answer in got.values():
        reasons = answer["reasons"]
        assert isinstance(reasons, list)
        assert reasons
        assert all(is_reason_text(r) for r in reasons), reasons


def test_every_field_of_get_conversation_is_named_in_serve_md(tmp_path: Path) -> None:
    """Was: the route's row in docs/serve.md named neither ``age_band`` nor
    ``alerted_tier`` (nor ``child_age``, which the answer lacked)."""
    with model_client(tmp_path) as client:
        answer = _answers(client)["aged"]
    (row,) = [
        line
        for line in (ROOT / "docs" / "serve.md").read_text().splitlines()
        if line.startswith("| `GET /v1/conversations/")
    ]
    named = set(re.findall(r"`(\w+)`", row))
    assert set(answer) <= named, sorted(set(answer) - named)


def test_the_documented_alert_of_post_events_has_every_field_of_the_record() -> None:
    """Was: docs/serve.md's example of a ``POST /v1/events`` answer gave an alert without
    ``child_age``, ``adult_age`` and ``age_band``, which every alert record has."""
    text = (ROOT / "docs" / "serve.md").read_text()
    example = text.split('```json\n{"accepted": ', 1)[1].split("```", 1)[0]
    alert = example.split('"alerts": [', 1)[1].split("}]", 1)[0]
    assert re.findall(r'"(\w+)":', alert) == [*ALERT_FIELDS, "index"]


# ------------------------------------------------------------------ the Synapse notice


def _alert(child_age: float, adult_age: float) -> Alert:
    return Alert(
        7, "a", "k", child_age, "unknown", 0.9, Tier.URGENT, adult_age=adult_age,
        timestamp=1_767_225_600, first_event_at=1_767_225_600 - DAY,
        last_event_at=1_767_225_600,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("child_age", "adult_age", "child"),
    [
        (math.nan, math.nan, f"child k (age unknown; {ROLES_ASSUMED}), "),
        (math.nan, 34.0, f"child k (age unknown; {ROLES_ASSUMED}), "),
        (14.0, 14.0, f"child k (age 14; {ROLES_ASSUMED}), "),
        (12.0, 34.0, "child k (age 12), "),
    ],
    ids=["no-age", "one-age", "equal-ages", "ages-tell"],
)
def test_the_synapse_notice_says_when_the_roles_are_assumed(
    child_age: float, adult_age: float, child: str
) -> None:
    """Was: ``Adult a, child k (age unknown), ...``: an account of no declared age called
    the child as a fact, where the reasons of the same notice say the roles are assumed."""
    sinks = pytest.importorskip("riskscore.integrations._synapse_sinks", exc_type=ImportError)
    body = sinks.notice_body(_alert(child_age, adult_age), {"matrix": MATRIX})
    assert f" a, {child}room !r:x" in body, body


# ------------------------------------------------------------------ riskscore score --top


def test_score_top_headers_say_when_the_roles_are_assumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``adult 1000083 -> child 1000042 (age unknown, band unknown)`` for two
    accounts of which neither declared an age."""
    path = tmp_path / "events.parquet"
    generate_parquet(path, 300, prevalence=0.1, seed=3)
    table = pq.read_table(path)
    for name in ("sender_age", "recipient_age"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pa.nulls(len(table), pa.float64()))
    pq.write_table(table, path)
    assert main(["score", str(path), "--top", "2", "--out", str(tmp_path / "out")]) == 0
    headers = [line for line in capsys.readouterr().out.splitlines() if line.startswith("#")]
    assert len(headers) == 2
    for header in headers:
        assert header.endswith(f"(age unknown, band unknown; {ROLES_ASSUMED})"), header


# ------------------------------------------------------------------ riskscore queue, the console


def _queued(db: Path) -> None:
    """Alerts of one adult ``a``: k1 and ``a`` with no declared age, k2 of 12 with ``a`` of
    34, and k3 queued with nothing recorded (as a queue before riskscore kept the adult's
    age holds it: its facts read "not recorded", and say nothing of the roles)."""
    t0 = 1_767_225_600
    times = {"first_event_at": t0 - DAY, "last_event_at": t0}
    with ReviewQueue(db) as q:
        for cid, child, age, adult, when in (
            ("c1", "k1", math.nan, math.nan, times),
            ("c2", "k2", 12.0, 34.0, times),
            ("c3", "k3", math.nan, math.nan, {}),
        ):
            alert = Alert(cid, "a", child, age, "x", 0.9, Tier.URGENT, adult_age=adult, **when)
            q.add_alert(alert, at=t0 + 60)


def test_queue_item_lines_say_when_the_roles_are_assumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``item 1: urgent alert, child k1 (age unknown, band x)``."""
    _queued(tmp_path / "q.sqlite")
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        case = q.case("a", now=1_767_225_600 + 120)
    assert case is not None
    queue.render({"decided": None, "open_cases": 1, "open_items": 3, "top": [case.to_dict()]})
    out = capsys.readouterr().out
    assert f"urgent alert, child k1 (age unknown, band x; {ROLES_ASSUMED}), " in out, out
    assert "urgent alert, child k2 (age 12, band x), " in out, out
    assert "urgent alert, child k3 (age unknown, band x), " in out, out


def test_the_case_page_says_when_the_roles_are_assumed(tmp_path: Path) -> None:
    """Was: the child age cell of k1 read ``unknown`` alone, beside "Child account"."""
    cfg = config(tmp_path, rs.load_model())
    add_account(cfg.db)
    _queued(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        page = client.get("/console/cases/" + encode_id("a")).text
    cells = re.findall(r"<td>(unknown[^<]*|12[^<]*)</td>", page)
    assert sorted(cells) == sorted(["12", "unknown", f"unknown; {ROLES_ASSUMED}"]), cells


def test_a_cases_reasons_say_when_its_strongest_alerts_roles_are_assumed(tmp_path: Path) -> None:
    """Was: ``urgent alert, risk 0.900 (band x) in conversation c1 (child age unknown): the
    case's model reasons are this alert's``, whose reasons say the roles are assumed."""
    t0 = 1_767_225_600
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        for cid, child, age, adult, risk in (("c1", "k1", math.nan, math.nan, 0.9),
                                             ("c2", "k2", 12.0, 34.0, 0.8)):  # fmt: skip
            alert = Alert(cid, "a", child, age, "x", risk, Tier.URGENT, adult_age=adult,
                          first_event_at=t0 - DAY, last_event_at=t0)  # fmt: skip
            q.add_alert(alert, at=t0 + 60)
        case = q.case("a", now=t0 + 120)
    assert case is not None
    assert (
        f"urgent alert, risk 0.900 (band x) in conversation c1 (child age unknown; "
        f"{ROLES_ASSUMED}): the case's model reasons are this alert's"
    ) in case.reasons, case.reasons
