"""A conversation between two known minors whose ages are further apart than the policy's
minor-peer guard allows can alert (the vignette g30: an account declaring 17 and an
11-year-old). What a moderator reads of it never calls the 17-year-old "adult": the facts,
``riskscore score --top``, ``riskscore queue``, the console's queue and case pages, the
case page's timelines, the Synapse notice and ``GET /v1/conversations/{id}`` name it
"older account" (:func:`~riskscore.moderation.item_facts.older_role`); an adult, or an
account of unknown age, still reads "adult". Each test failed before the fix."""

from __future__ import annotations

import contextlib
import io
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from serve_helpers import add_account, model_client, sign_in

from riskscore.cli import main
from riskscore.model.scores import WHY_PREFIX, Reason
from riskscore.moderation import ReviewQueue
from riskscore.moderation.earlier_reasons import EARLIER_MARK, exported_reason
from riskscore.moderation.item_facts import facts_text
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve.plot import timeline_svg
from riskscore.serve.timeline import TimelineEvent
from riskscore.vignettes import load_vignettes

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
DAY, HOUR = 86_400, 3_600
OLDER, CHILD, CONVERSATION = 1_007_271, 1_001_930, 5_001
#: What the older account's facts begin with, and a header's words, when it declared 17.
MINOR_FACTS = "older account age 17 (a minor); conversation of "


def _minors_events() -> dict[str, list[Any]]:
    """The events of the vignette g30 (17 and 11, six years apart), with numeric ids."""
    (vignette,) = [v for v in load_vignettes() if v.id.startswith("g30-")]
    events = {k: list(v.tolist()) for k, v in vignette.events().items()}
    ids = {s: OLDER if s.endswith("/older") else CHILD for s in set(events["sender_id"])}
    events["sender_id"] = [ids[s] for s in events["sender_id"]]
    events["recipient_id"] = [ids[r] for r in events["recipient_id"]]
    events["conversation_id"] = [CONVERSATION] * len(events["timestamp"])
    return events


@pytest.fixture(scope="module")
def minors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("minors") / "events.parquet"
    pq.write_table(pa.table(_minors_events()), path)
    return path


# ------------------------------------------------------------------ the one wording


def test_the_facts_call_a_known_minor_the_older_account() -> None:
    """Was: ``adult age 17; in contact for ...``."""
    facts = facts_text(17.0, T0 - 3 * DAY, T0 - 2 * HOUR, T0)
    assert facts.startswith(MINOR_FACTS)
    assert "adult" not in facts
    assert facts_text(34.0, T0 - 3 * DAY, T0, T0).startswith("adult age 34; ")
    assert facts_text(18.0, T0 - 3 * DAY, T0, T0).startswith("adult age 18; ")
    assert facts_text(math.nan, T0 - 3 * DAY, T0, T0).startswith("adult age unknown; ")
    assert facts_text(None, None, None, T0).startswith("adult age not recorded; ")
    assert facts_text(17.9, None, T0, T0).startswith("older account age 17.9 (a minor); ")


#: The whys that called the older participant "the adult" or "an adult", as stored before.
EARLIER_WHYS = {
    "adult_age": "an adult in private contact with a child is the precondition of grooming",
    "age_gap": "a large gap between an adult and a child in one-to-one contact is a core risk "
    "factor",
    "adult_message_share": "trust building is driven by the adult: attention, flattery, "
    "persistence",
    "adult_minor_fanout": "victim selection: an adult approaching children, the more in "
    "parallel the stronger",
    "adult_minor_contact_share": "an adult whose contacts are mostly children",
}


@pytest.mark.parametrize("feature", sorted(EARLIER_WHYS))
def test_no_reason_calls_the_older_participant_an_adult(feature: str) -> None:
    """Was: ``the older participant's declared age: 17 years (+0.40). Why it can matter: an
    adult in private contact with a child is the precondition of grooming`` (and "driven by
    the adult", "a large gap between an adult and a child", ...) under a two-minors alert.
    A reason a queue stored in that wording still reads, in the current why, marked."""
    reason = Reason.of(feature, 17.0 if "age" in feature else 0.5, 1.0)
    assert "adult" not in str(reason), str(reason)
    stored = str(reason).replace(reason.why, EARLIER_WHYS[feature])
    assert stored != str(reason)
    head = f"{reason.description}: {reason.value_text} ({reason.strength}, +1.00)"
    expected = f"{head}, {EARLIER_MARK}. {WHY_PREFIX}{reason.why}"
    assert exported_reason(stored) == expected


# ------------------------------------------------------------------ the command line


def test_score_top_names_the_older_minor_in_its_header_and_facts(
    minors: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``adult 1007271 -> child 1001930 (age 11, band under 13)`` then ``adult age
    17; ...``."""
    assert main(["score", str(minors), "--top", "1", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    header = f"  older account {OLDER} -> child {CHILD} (age 11, band under 13)"
    assert header in out, out
    assert f"\n     {MINOR_FACTS}" in out, out
    assert not re.search(r"\badult\b", out.split("\n#1 ", 1)[1]), out


def test_queue_names_the_older_minor_in_its_case_and_facts(
    minors: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``#1 priority 7.37  adult 1007271: 1 child, ...`` and ``adult age 17; ...``."""
    db = tmp_path / "q.sqlite"
    argv = ["score", str(minors), "--out", str(tmp_path / "out"), "--queue", str(db)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["queue", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"\n#1 priority [\d.]+  older account {OLDER}: 1 child, ", out), out
    assert f"\n       {MINOR_FACTS}" in out, out
    assert not re.search(r"\badult\b", out), out


def test_a_case_reads_adult_when_its_latest_known_age_is_adult(tmp_path: Path) -> None:
    """An account that declared 17, then 18 at a later event: an adult now."""
    db = tmp_path / "q.sqlite"
    times = {"first_event_at": T0 - DAY, "last_event_at": T0 - HOUR}
    with ReviewQueue(db) as queue:
        for cid, age in (("c1", 17.0), ("c2", math.nan)):
            queue.add_alert(Alert(cid, "a", "k", 12.0, "under 13", 0.9, Tier.URGENT,
                                  adult_age=age, **times))  # fmt: skip
    out = _queue_text(db)
    assert "  older account a: 1 child, 2 conversations" in out, out
    later = {"first_event_at": T0 - DAY, "last_event_at": T0}
    with ReviewQueue(db) as queue:
        queue.add_alert(Alert("c3", "a", "k", 12.0, "under 13", 0.9, Tier.URGENT,
                              adult_age=18.0, **later))  # fmt: skip
    assert "  adult a: 1 child, 3 conversations" in _queue_text(db)


def _queue_text(db: Path) -> str:
    """What ``riskscore queue --db db`` prints."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["queue", "--db", str(db)]) == 0
    return buffer.getvalue()


# ------------------------------------------------------------------ the Synapse notice


def test_the_synapse_notice_names_the_older_minor() -> None:
    """Was: ``Adult 7, child k (age 11), ...``, ``raised by the adult's event`` and
    ``Facts: adult age 17; ...``."""
    sinks = pytest.importorskip("riskscore.integrations._synapse_sinks", exc_type=ImportError)
    alert = Alert(5, 7, "k", 11.0, "under 13", 0.9, Tier.URGENT, adult_age=17.0, timestamp=T0,
                  first_event_at=T0 - 3 * DAY, last_event_at=T0 - 2 * HOUR)  # fmt: skip
    matrix = {"room_id": "!r:x", "channel": "direct", "event_room_id": "!other:x"}
    body = sinks.notice_body(alert, {"matrix": matrix})
    assert "(child age band under 13). Older account 7, child k (age 11), " in body, body
    assert "raised by the older account's event in room !other:x" in body, body
    assert f"Facts: {MINOR_FACTS}" in body, body
    assert "adult" not in body.lower(), body
    adult = sinks.notice_body(
        Alert(5, 7, "k", 11.0, "under 13", 0.9, Tier.URGENT, adult_age=34.0, timestamp=T0),
        {"matrix": matrix},
    )
    assert ". Adult 7, child k" in adult
    assert "raised by the adult's event" in adult


# ------------------------------------------------------------------ the service and console


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with model_client(tmp_path) as c:
        yield c


def _posted(client: TestClient) -> None:
    events = _minors_events()
    rows = [dict(zip(events, values, strict=True)) for values in zip(*events.values(), strict=True)]
    r = client.post("/v1/events", json=rows)
    assert r.status_code == 200, r.text
    assert [a["adult_age"] for a in r.json()["alerts"]][-1:] == [17.0]


def test_the_service_and_the_console_name_the_older_minor(client: TestClient) -> None:
    """Was: GET /v1/conversations/{id}'s ``facts`` began ``adult age 17``; the console's
    queue listed the case under "Adult account" alone, and its case page read "Case: adult
    account", "Adult age and contact", ``adult age 17`` and "adult to child" in the
    timeline's key, legend and summary."""
    _posted(client)
    got = client.get(f"/v1/conversations/{CONVERSATION}")
    assert got.status_code == 200, got.text
    assert got.json()["facts"].startswith(MINOR_FACTS)
    assert got.json()["adult_age"] == 17.0  # the machine-readable names are unchanged
    assert sign_in(client, "mod-1") == 303
    queue = client.get("/console/").text
    assert f'class="case-link">{OLDER}</a> (older account, a minor)</td>' in queue, queue
    page = client.get("/console/cases/" + encode_id(OLDER)).text
    assert f'Case: older account <span id="adult-id">{OLDER}</span>' in page
    assert "Older account age and contact" in page
    assert MINOR_FACTS in page
    assert "older account to child; orange, pointing down: child to older account" in page
    assert "from the older account;" in page
    assert "message, older account to child" in page
    assert not re.search(r"\badult\b", _visible(page), re.IGNORECASE), _visible(page)


def test_the_audit_page_names_no_case_account_an_adult(client: TestClient) -> None:
    """Was: "Case (adult account)" over the cases a lead's audit page lists, the older
    minor's among them."""
    _posted(client)
    add_account(client.app.state.config.db, "lead-1", "lead")  # type: ignore[attr-defined]
    assert sign_in(client, "lead-1") == 303
    assert client.get("/console/cases/" + encode_id(OLDER)).status_code == 200
    audit = client.get("/console/audit").text
    assert audit.count("Case (adult or older account)") == 2, audit
    assert "adult account" not in audit


def _visible(html: str) -> str:
    """The words a page shows: no tags, no attributes, no SVG ids."""
    return re.sub(r"<[^>]*>", " ", html)


def test_the_timeline_names_the_role_it_is_given() -> None:
    events = [TimelineEvent(T0 + i * 600, "a" if i % 2 == 0 else "k", 0, 0, 0) for i in range(3)]
    assert "2 from the adult;" in timeline_svg(events, "a", "c").summary
    minor = timeline_svg(events, "a", "c", role="older account")
    assert "2 from the older account;" in minor.summary
    assert "message, older account to child" in minor.svg
    assert "adult" not in minor.svg


@pytest.mark.parametrize("feature", ["adult_age", "age_gap"])
def test_a_reason_stored_before_review_38_with_the_adult_why_is_still_read(feature: str) -> None:
    """The grammar before review 38 (``description: value (+push); why``) with the why as
    it was then: exported in the current why, marked, never dropped."""
    reason = Reason.of(feature, 6.0, 1.0)
    stored = f"{reason.description}: 6 years (+1.00); {EARLIER_WHYS[feature]}"
    quoted = exported_reason(stored)
    assert quoted is not None
    assert quoted.endswith(f"{EARLIER_MARK}. {WHY_PREFIX}{reason.why}")
