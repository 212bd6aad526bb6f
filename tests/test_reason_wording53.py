"""Review 53's wording of reasons: ``riskscore queue`` shows a reason stored in riskscore's
earlier wording as the console and the exports do, and a group room's pairs read no why
that claims one-to-one or private contact."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.model.scores import WHY_PREFIX
from riskscore.moderation import ReviewQueue
from riskscore.moderation.earlier_reasons import EARLIER_MARK, exported_reason, shown_reason
from riskscore.policy import Alert, Tier
from riskscore.vignettes import load_vignettes

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC

# ------------------------------------------ 1. the command line reads the earlier wording

#: ``str(Reason.of("child_night_share", 0.62, 1.4))`` as riskscore stored it before review
#: 38 reworded reasons, and a platform's own text beside it.
EARLIER = (
    "contact at night in the child's local time: 62 % (+1.40); risk assessment: contact "
    "when the child is less likely to be supervised"
)
OWN = "a note the platform's own queue stored"
MARKED = (
    "share of contact at night in the child's local time: 62 % (+1.40), as recorded in "
    "riskscore's earlier wording. Why it can matter: risk assessment: contact when the "
    "child is less likely to be supervised"
)


def _queue_with_earlier_reasons(db: Path) -> None:
    """A queue whose open alert holds a reason in the earlier wording and the platform's own
    text, as an earlier riskscore and the platform wrote them."""
    with ReviewQueue(db) as queue:
        queue.add_alert(Alert("c1", "adult-a", "kid-1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("DROP TRIGGER items_audited")  # an earlier riskscore wrote the row
        con.execute("UPDATE items SET reasons = ?", (json.dumps([EARLIER, OWN]),))
    with ReviewQueue(db):  # recreates the trigger, as a riskscore of today opens it
        pass


def test_the_queue_command_shows_the_earlier_wording_as_the_console_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore queue`` printed ``- contact at night in the child's local time: 62 %
    (+1.40); risk assessment: ...`` as stored, unmarked, where the console's case page and
    the exports quote it in the current wording, marked. Now it prints what the console
    shows (:func:`~riskscore.moderation.earlier_reasons.shown_reason`); a platform's own
    text still as stored."""
    db = tmp_path / "q.sqlite"
    _queue_with_earlier_reasons(db)
    assert main(["queue", "--db", str(db), "--now", str(T0 + 60)]) == 0
    out = capsys.readouterr().out
    assert f"     - {MARKED}\n" in out, out
    assert f"     - {OWN}\n" in out
    assert EARLIER not in out
    assert shown_reason(EARLIER) == MARKED  # the console's rule, the one the command uses


def test_the_queue_json_keeps_the_stored_texts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Guard (passed before): ``--json`` is the queue's record, the texts as stored."""
    db = tmp_path / "q.sqlite"
    _queue_with_earlier_reasons(db)
    assert main(["queue", "--db", str(db), "--now", str(T0 + 60), "--json"]) == 0
    [case] = json.loads(capsys.readouterr().out)["top"]
    assert EARLIER in case["reasons"]
    assert OWN in case["reasons"]


# ------------------------------- 2. a group room's pairs read whys true of group contact

#: The benign and grooming vignettes whose events hold a group room (docs/schema.md, "Group
#: conversations"): a coach and a youth leader posting to their rooms, an adult in a gaming
#: room. Each pair of a room is scored as its own conversation, ``room|account|account``.
ROOM_VIGNETTES = ("b31", "b34", "g32")
#: What the whys said that a pair of a group room contradicts: its contact is in the room,
#: seen by every member, and "made first contact" means it posted to the room first.
ONE_TO_ONE = ("one-to-one", "private contact", "reaches out to the child")


def _room_pair_reasons() -> list[rs.Reason]:
    """Every reason of every room pair of :data:`ROOM_VIGNETTES`, however low its risk
    (``reasons_above=0``: what a moderator reads under a policy with lower thresholds)."""
    model = rs.load_model()
    reasons = []
    for vignette in load_vignettes():
        if vignette.id.split("-", 1)[0] in ROOM_VIGNETTES:
            scores = model.score(vignette.events(), reasons_above=0.0)
            for i, cid in enumerate(scores.conversation_id.tolist()):
                if "|" in str(cid):  # a room's pair: room|account|account
                    reasons.extend(scores.reasons(i))
    return reasons


def test_a_group_room_pair_reads_no_why_of_one_to_one_contact() -> None:
    """Was: a room pair's reasons read "Why it can matter: a large age gap in one-to-one
    contact with a child is a core risk factor" (``age_gap``), "an older person in private
    contact with a child is the precondition of grooming" (``adult_age``) and "the older
    party reaches out to the child" (``adult_initiated``, 1 when the older account posted to
    the room first). Now the whys hold for one-to-one and group contact alike."""
    reasons = _room_pair_reasons()
    assert {"adult_age", "age_gap", "adult_initiated"} <= {r.feature for r in reasons}
    wrong = {str(r) for r in reasons if any(words in r.why for words in ONE_TO_ONE)}
    assert not wrong, sorted(wrong)


#: The whys a queue may hold from before review 53, which a room pair contradicted.
ROOM_EARLIER_WHYS = {
    "adult_age": "an older person in private contact with a child is the precondition of grooming",
    "age_gap": "a large age gap in one-to-one contact with a child is a core risk factor",
    "adult_initiated": "victim selection: the older party reaches out to the child",
}


@pytest.mark.parametrize("feature", sorted(ROOM_EARLIER_WHYS))
def test_a_reason_stored_with_a_one_to_one_why_is_still_read(feature: str) -> None:
    """A queue keeps what it stored: a reason in the current grammar with the why as it was
    is quoted in the current why, marked (exports, console, ``riskscore queue``)."""
    reason = rs.Reason.of(feature, 22.0 if "age" in feature else 1.0, 1.0)
    stored = str(reason).replace(reason.why, ROOM_EARLIER_WHYS[feature])
    assert stored != str(reason)
    head = f"{reason.description}: {reason.value_text} ({reason.strength}, +1.00)"
    assert exported_reason(stored) == f"{head}, {EARLIER_MARK}. {WHY_PREFIX}{reason.why}"
    assert shown_reason(stored) == exported_reason(stored)


def test_adult_initiated_stored_before_review_38_is_still_read() -> None:
    """Guard (passed before the why changed): the grammar before review 38
    (``description: value (+push); why``) with the description and why it had then (the
    description "made first contact" until follow-up 54b), never dropped."""
    reason = rs.Reason.of("adult_initiated", 1.0, 0.5)
    then = "the older participant made first contact"
    stored = f"{then}: yes (+0.50); {ROOM_EARLIER_WHYS['adult_initiated']}"
    expected = f"{reason.description}: yes (+0.50), {EARLIER_MARK}. {WHY_PREFIX}{reason.why}"
    assert exported_reason(stored) == expected
