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
from serve_helpers import model_client

from riskscore.cli import main
from riskscore.model.scores import NO_REASONS, ROLES_ASSUMED, is_reason_text
from riskscore.online.risk import OnlineModel
from riskscore.policy import Alert, Tier
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
