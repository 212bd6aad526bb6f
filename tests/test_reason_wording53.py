"""Review 53's wording of reasons: ``riskscore queue`` shows a reason stored in riskscore's
earlier wording as the console and the exports do, and a group room's pairs read no why
that claims one-to-one or private contact."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from riskscore.cli import main
from riskscore.moderation import ReviewQueue
from riskscore.moderation.earlier_reasons import shown_reason
from riskscore.policy import Alert, Tier

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
