"""A decision's note is a short factual summary, never message text: one rule
(:func:`riskscore.moderation.notes.check_note`) for the library, the console and
``riskscore queue --decide ... --note`` (review of the service and the queue, item 3).

Was: a note of up to 2,000 characters was stored as written, a message quoted in it
among them ("he wrote to her: send me a photo ..."), and exported with the audit log.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import add_account, config, csrf_token, sign_in

import riskscore as rs
from riskscore.cli import main
from riskscore.moderation import QueueError, ReviewQueue
from riskscore.moderation.cases import MAX_NOTE_CHARS
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app

QUOTING = [
    'he wrote "see you tonight"',
    "she said 'come over'",
    "le message \u00abviens ce soir\u00bb",
    "\u201ehallo\u201c stand da",
    "\u300c\u4eca\u591c\u4f1a\u3044\u305f\u3044\u300d",
    "adult\u2019s request \u2018meet me\u2019 seen",
    "he wrote to her: send me a photo of you tonight",
    "Asked: where do you live",
    "the adult sent him\uff1acome alone",
]
FACTUAL = [
    "account restricted",
    "the adult's account and the child's profile were restricted",
    "moderators' call: ban; 40 messages in 2 days to a 12-year-old",
    "adult asked for photos, escalated to law enforcement",
    "a\r\nb\nc\td",
]


def _queue(path: Path) -> ReviewQueue:
    queue = ReviewQueue(path)
    queue.add_alert(Alert("c1", "adult-a", "kid-1", 12.0, "under 13", 0.9, Tier.URGENT))
    return queue


@pytest.mark.parametrize("note", QUOTING)
def test_a_note_quoting_speech_is_refused(tmp_path: Path, note: str) -> None:
    with _queue(tmp_path / "q.sqlite") as q:
        with pytest.raises(QueueError, match="never quote messages") as refused:
            q.decide("adult-a", "dismissed", moderator="m", item_ids=[1], note=note)
        assert [e.action for e in q.audit_log()] == ["enqueue"]  # nothing decided
    assert str(refused.value).startswith("note holds text ")
    assert note not in str(refused.value)  # what is refused is named, never quoted


@pytest.mark.parametrize("note", FACTUAL)
def test_a_factual_note_is_kept(tmp_path: Path, note: str) -> None:
    with _queue(tmp_path / "q.sqlite") as q:
        assert q.decide("adult-a", "dismissed", moderator="m", item_ids=[1], note=note) == 1
        assert q.audit_log()[-1].detail["note"] == note.replace("\r\n", "\n")


def test_a_note_is_a_short_summary(tmp_path: Path) -> None:
    assert MAX_NOTE_CHARS == 280
    with _queue(tmp_path / "q.sqlite") as q:
        with pytest.raises(QueueError, match="note has 281 characters, at most 280: a note is"):
            q.decide("adult-a", "dismissed", moderator="m", item_ids=[1], note="x" * 281)
        assert q.decide("adult-a", "dismissed", moderator="m", item_ids=[1], note="x" * 280) == 1


def test_the_command_line_refuses_a_quoting_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "q.sqlite"
    _queue(db).close()
    decide = ["queue", "--db", str(db), "--decide", "adult-a", "--items", "1"]
    decide += ["--outcome", "dismissed", "--moderator", "m"]
    assert main([*decide, "--note", "he wrote to her: send me a photo"]) != 0
    assert "note holds text after 'wrote' and a colon" in capsys.readouterr().err
    with ReviewQueue(db) as q:
        assert [i.status for i in q.items()] == ["open"]
    assert main([*decide, "--note", "account restricted"]) == 0


def test_the_console_refuses_a_quoting_note_and_says_the_rule(tmp_path: Path) -> None:
    cfg = config(tmp_path, rs.load_model())
    _queue(cfg.db).close()
    add_account(cfg.db)
    case = "/console/cases/" + encode_id("adult-a")
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        page = client.get(case).text
        assert f'maxlength="{MAX_NOTE_CHARS}"' in page
        assert "Never quote messages" in page
        token = re.search(r'name="token" value="([^"]+)"', page)
        assert token is not None
        form = {"outcome": "dismissed", "token": token.group(1), "csrf_token": csrf_token(page)}
        note = "he wrote to her: send me a photo"
        r = client.post(case + "/decide", data={**form, "note": note})
        assert r.status_code == 409
        assert "note holds text after &#39;wrote&#39; and a colon" in r.text
        assert note not in r.text
