"""A reason's "why it can matter" holds at every value the reason can show: a count
reason is shown from its first unit past the no-signal reference (1 account, 2 channels),
and a channel reason at `ephemeral` or `encrypted`, the platform's own channels. Found by
an independent evaluation (blind67): "minors the older account contacted on private
channels: 1 account (+1.57). Why it can matter: isolating several children at once"."""

from __future__ import annotations

import math
import re

import pytest

from riskscore.features import FEATURES
from riskscore.model.scores import Reason, is_reason_text
from riskscore.moderation.earlier_reasons import EARLIER_MARK, exported_reason

_COUNTS = [
    s.name for s in FEATURES if s.direction > 0 and s.unit in {"minors", "requests", "channels"}
]


@pytest.mark.parametrize("feature", _COUNTS)
def test_a_count_reason_claims_no_plural_its_first_value_contradicts(feature: str) -> None:
    spec = next(s for s in FEATURES if s.name == feature)
    first = (0.0 if math.isnan(spec.reference) else spec.reference) + 1.0
    text = str(Reason.of(feature, first, 1.0))
    why = text.split("Why it can matter: ", 1)[1]
    assert not re.search(r"\b(several|many|multiple|broad|more than one)\b", why), text


@pytest.mark.parametrize("level", [3.0, 4.0])
def test_a_private_channel_of_the_platform_is_not_called_off_the_platform(level: float) -> None:
    text = str(Reason.of("max_channel", level, 1.0))
    assert "off the platform" not in text.split("Why it can matter: ", 1)[1], text


@pytest.mark.parametrize(
    "stored",
    [
        # as a queue stored it before the whys were re-worded (review 38 grammar) ...
        "minors the older account contacted on private channels: 1 account (+1.57). Why it "
        "can matter: isolating several children at once on surfaces others cannot see",
        # ... as stored until stop 47 ("more than one" beside 1 account) ...
        "minors the older account contacted on private channels: 1 account (+1.57). Why it "
        "can matter: isolating children on surfaces others cannot see, more than one at once "
        "in parallel",
        # ... and before review 38
        "minors the older account contacted on private channels: 1 accounts (+1.57); "
        "isolating several children at once on surfaces others cannot see",
    ],
)
def test_a_reason_stored_with_an_earlier_why_is_exported_in_the_current_one(stored: str) -> None:
    """A queue keeps the texts it stored: exports and the console still quote them, in the
    current why, marked as recorded in the earlier wording (never dropped as unknown text)."""
    assert not is_reason_text(stored)
    quoted = exported_reason(stored)
    assert quoted is not None
    assert EARLIER_MARK in quoted
    assert quoted.endswith(str(Reason.of("adult_private_minor_fanout", 1, 1)).split(". ", 1)[1])
