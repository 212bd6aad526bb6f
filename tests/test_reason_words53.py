"""Moderator review 53: a reason's why says what the evidence shows, no more.

Was: ``the older participant sent a contact request: yes (...). Why it can matter: a new
contact with no mutual history: a stranger approaching a child``. A contact request shows
that the two accounts had no contact on the platform before; it does not show that the
sender is a stranger to the child (a coach adding a pupil, a relative's new account: the
benign vignettes b07 and b28). Each test failed before the fix.
"""

from __future__ import annotations

from riskscore.model.scores import Reason, is_reason_text
from riskscore.moderation.earlier_reasons import EARLIER_MARK, exported_reason

#: The why of ``adult_sent_request`` before review 53.
STRANGER = "a new contact with no mutual history: a stranger approaching a child"


def test_a_contact_request_is_not_called_a_stranger() -> None:
    text = str(Reason.of("adult_sent_request", 1.0, 2.2))
    assert "stranger" not in text
    # (then, stop 54: "no earlier history between the two" beside a request sent after days
    # in a group room together, tests/test_reason_rooms54.py)
    assert text.endswith(
        "Why it can matter: victim selection: an account not yet among the child's contacts "
        "asked to be added"
    )


def test_a_reason_stored_with_the_earlier_why_is_exported_marked() -> None:
    stored = (
        f"the older participant sent a contact request: yes (strongly raises risk, +2.20). "
        f"Why it can matter: {STRANGER}"
    )
    assert not is_reason_text(stored)
    exported = exported_reason(stored)
    assert exported is not None
    assert exported.startswith(
        f"the older participant sent a contact request: yes (strongly raises risk, +2.20), "
        f"{EARLIER_MARK}. Why it can matter: victim selection: an account not yet among"
    )


#: The why of ``adult_unaccepted_share`` before review 53.
DECLINE = "unsolicited approaches that people decline"


def test_a_request_not_accepted_is_not_said_to_be_declined() -> None:
    """Was: ``share of the older account's contact requests not accepted: 100 % (...). Why
    it can matter: unsolicited approaches that people decline``, from the online scorer 78
    minutes after the account's one request (synthetic seed 5, conversation 1737): a
    request not accepted yet may be pending, not declined."""
    text = str(Reason.of("adult_unaccepted_share", 1.0, 1.65))
    assert DECLINE not in text
    assert text.endswith(
        "Why it can matter: unsolicited approaches with no acceptance recorded (declined, not "
        "answered yet, or replied to without accepting)"
    )
    stored = text.split(". Why it can matter: ")[0] + f". Why it can matter: {DECLINE}"
    exported = exported_reason(stored)
    assert exported is not None
    assert EARLIER_MARK in exported
