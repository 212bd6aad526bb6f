"""Hostile review hr67a: account, conversation and room ids are chosen by attackers (they
are handles on a platform), and every view a moderator reads shows them by one rule
(:func:`riskscore.io.shown_ids.shown_id`), so that one account never reads as another.
Each test failed before the fix."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskscore.cli import main
from riskscore.io.shown_ids import shown_id
from riskscore.moderation import ReviewQueue
from riskscore.policy import Alert, Tier
from riskscore.regulatory import cybertipline_drafts, decided_cases, write_drafts
from riskscore.synthetic import generate_parquet

DAY = 86_400

#: Ids that read as another (``Bob``, ``admin``, ``fix``, ``x2``, ``bob``) and pass the
#: input's checks (no control, format or blank character): a fullwidth letter, a Cyrillic
#: letter among Latin ones, a ligature, a superscript digit, the micro sign (Greek mu) among
#: Latin letters.
LOOK_ALIKES = ["\uff22ob", "\u0430dmin", "\ufb01x", "x\u00b2", "\u00b5s"]


@pytest.mark.parametrize("value", LOOK_ALIKES)
def test_look_alike_ids_are_shown_escaped(value: str) -> None:
    """Was: shown as written, ``Bob`` with a fullwidth ``B`` (U+FF22) as ``Bob`` reads,
    ``admin`` with a Cyrillic ``a`` (U+0430) as ``admin``: an attacker's handle passed
    for another account in the console and in ``riskscore queue``. Now an id holding a
    compatibility variant of ASCII or mixing Latin, Greek or Cyrillic letters is shown as
    JSON, its characters beyond ASCII escaped, which ``--decide`` takes back."""
    shown = shown_id(value)
    assert shown.isascii(), shown
    assert shown.startswith('"'), shown
    assert json.loads(shown) == value


@pytest.mark.parametrize(
    "value", ["caf\u00e9", "\u041c\u043e\u0441\u043a\u0432\u0430", "\u3148\u314b", "\u6771\u4eacx"]
)
def test_ids_of_one_alphabet_are_shown_as_written(value: str) -> None:
    """Accented Latin, Cyrillic alone, Korean compatibility letters and Chinese with Latin
    read as no other id: shown as written."""
    assert shown_id(value) == value


def test_an_id_under_a_stack_of_marks_is_shown_escaped() -> None:
    """Was: ``x`` under 60 combining marks (Zalgo text) shown as given: a page draws the
    stack over the rows above and below, over another case's id and risk. Now an id with
    more than five combining marks on one character is shown escaped; Hebrew with its
    points, Thai with its tone marks, as written."""
    zalgo = "x" + "\u0306\u0307\u0308\u030a" * 15 + "7"  # one combining class: NFC
    assert shown_id(zalgo).isascii()
    assert json.loads(shown_id(zalgo)) == zalgo
    for text in ("\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd", "\u0e04\u0e49\u0e33"):
        assert shown_id(text) == text


@pytest.mark.parametrize("char", ["\ue000", "\U000f0000", "\u0378"])
def test_an_id_with_a_character_of_no_agreed_glyph_is_shown_escaped(char: str) -> None:
    """Was: ``bob`` and a private-use or unassigned character shown as given: a font may
    draw it as nothing (or as its own icon), and the id read as ``bob``. Now shown
    escaped."""
    shown = shown_id(f"bob{char}")
    assert shown.isascii(), shown
    assert json.loads(shown) == f"bob{char}"


def _hostile_events(path: Path) -> dict[object, str]:
    """A synthetic events file whose ids are look-alikes (and one with a variation
    selector, which draws nothing); the ids given, by the generator's."""
    generate_parquet(path, 300, prevalence=0.1, seed=5)
    table = pq.read_table(path)
    names = ("conversation_id", "sender_id", "recipient_id")
    given = sorted({v for n in names for v in table.column(n).to_pylist()}, key=str)
    marks = [*LOOK_ALIKES, "bob\ufe0f"]
    mapping = {v: f"{marks[i % len(marks)]}{v}" for i, v in enumerate(given)}
    for name in names:
        index = table.schema.get_field_index(name)
        column = pa.array([mapping[v] for v in table.column(name).to_pylist()], pa.string())
        table = table.set_column(index, name, column)
    pq.write_table(table, path)
    return mapping


def test_score_top_shows_ids_by_the_consoles_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore score --top`` printed ids as given: ``conversation bob7  adult
    Bob9 -> child admin3`` for a conversation id with a variation selector (drawing
    nothing), a fullwidth ``B`` (U+FF22) and a Cyrillic ``a`` (U+0430), where ``riskscore
    queue`` and the console show them escaped. Now each header shows its ids as
    :func:`shown_id` does."""
    path = tmp_path / "events.parquet"
    mapping = _hostile_events(path)
    assert main(["score", str(path), "--top", "50", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    headers = [line for line in out.splitlines() if line.startswith("#")]
    assert headers, out
    for given in mapping.values():
        assert given not in out, given
    shown = {shown_id(v) for v in mapping.values()}
    for header in headers:
        found = re.search(
            r"  conversation (.+)  (?:adult|older account) (.+) -> child (.+) \(age", header
        )
        assert found is not None, header
        assert set(found.groups()) <= shown, header


def test_the_synapse_notice_shows_ids_by_the_consoles_rule() -> None:
    """Was: the moderators' room notice wrote ``Adult Bob, child admin`` for a fullwidth
    ``B`` (U+FF22) and a Cyrillic ``a`` (U+0430), and room ids as given. Now by :func:`shown_id`."""
    sinks = pytest.importorskip("riskscore.integrations._synapse_sinks", exc_type=ImportError)
    alert = Alert(
        "c", "\uff22ob", "\u0430dmin", 12.0, "under 13", 0.9, Tier.URGENT, adult_age=34.0,
        timestamp=1_767_225_600, first_event_at=1_767_225_600 - DAY,
        last_event_at=1_767_225_600,
    )  # fmt: skip
    room = "!\u0430b:x"
    matrix = {"room_id": room, "channel": "direct", "event_room_id": "!c:x"}
    body = sinks.notice_body(alert, {"matrix": matrix})
    assert 'Adult "\\uff22ob", child "\\u0430dmin" (age 12), ' in body, body
    assert 'room "!\\u0430b:x" (direct), raised' in body, body


class _Api:
    """The one call of Synapse's module API that posting a notice makes."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def create_and_send_event_into_room(self, event: dict[str, Any]) -> None:
        self.sent.append(event)


def test_the_synapse_notice_mentions_no_one() -> None:
    """Was: a notice without ``m.mentions``, so that Matrix's legacy mention rules matched
    its body: an adult whose id is ``@room:evil.example`` notified everyone in the
    moderators' room, and an id holding a moderator's name pinged that moderator. Now the
    notice says it mentions no one (``"m.mentions": {}``), which turns those rules off."""
    sinks = pytest.importorskip("riskscore.integrations._synapse_sinks", exc_type=ImportError)
    alert = Alert(
        "c", "@room:evil.example", "@k:x", 12.0, "under 13", 0.9, Tier.URGENT,
        adult_age=34.0, timestamp=1_767_225_600, first_event_at=1_767_225_600 - DAY,
        last_event_at=1_767_225_600,
    )  # fmt: skip
    module = object.__new__(sinks.AlertSinks)
    module._api = api = _Api()  # type: ignore[assignment]
    module._settings = SimpleNamespace(moderation_room=object())  # type: ignore[assignment]
    module._moderation_room, module._notice_user = "!mod:x", "@riskscore:x"
    matrix = {"room_id": "!r:x", "channel": "direct", "event_room_id": "!r:x"}
    asyncio.run(module._post_to_moderation_room(alert, {"matrix": matrix}))
    (event,) = api.sent
    assert "@room:evil.example" in event["content"]["body"]
    assert event["content"]["m.mentions"] == {}


def test_an_ncmec_draft_writes_a_look_alike_identifier_escaped(tmp_path: Path) -> None:
    """Was: the draft's ``espIdentifier`` of an adult ``admin`` with a Cyrillic ``a``
    (U+0430) written as given, so that the person who completes the draft (screen name,
    profile) read ``admin`` and could look up, and report, another account. Now the file
    writes such a string escaped (``\\u0430dmin``), the same value to a JSON reader; other
    text (``café``, the status's dash) as written."""
    adult, child = "\u0430dmin", "caf\u00e9"
    t = 1_767_225_600
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        queue.add_alert(Alert(1, adult, child, 12.0, "under 13", 0.9, Tier.URGENT), at=t)
        token = queue.case(adult, now=t + 100).token
        queue.decide(adult, "escalated", moderator="m", at=t + 100, token=token)
        drafts = cybertipline_drafts(decided_cases(queue.items()), platform="demo")
    (path,) = write_drafts(drafts, tmp_path / "drafts").values()
    text = path.read_text(encoding="utf-8")
    assert '"espIdentifier": "\\u0430dmin"' in text, text
    assert adult not in text
    assert f'"espIdentifier": "{child}"' in text
    assert "DRAFT \u2014 not submitted" in text
    assert json.loads(text) == drafts[0]
