"""Spam sweeps in the synthetic worlds: a benign account reaching accounts of every age."""

from __future__ import annotations

import numpy as np
import pytest

import riskscore as rs
from riskscore.synthetic import STRESS_WORLDS, World, draw_world, generate


def test_the_default_world_holds_no_spam_and_drawn_worlds_up_to_twelve_percent() -> None:
    assert World.default().benign_mix["spam_sweep"] == 0.0
    shares = [draw_world(s).benign_mix["spam_sweep"] for s in range(50)]
    assert min(shares) > 0.0
    assert max(shares) <= 0.12 + 1e-12
    for s in range(50):
        assert sum(draw_world(s).benign_mix.values()) == pytest.approx(1.0, abs=1e-12)


def test_a_spam_account_opens_every_conversation_and_reaches_adults_and_minors() -> None:
    data = generate(3000, prevalence=0.0, seed=4, world=STRESS_WORLDS["spam_sweeps"])
    spam = np.asarray(data.labels.scenario) == "spam_sweep"
    assert spam.mean() == pytest.approx(0.3, abs=0.01)
    features = rs.extract_features(data.messages)
    age = features.column("child_age")[spam]
    known = age[~np.isnan(age)]
    # whom a sweep reaches is not chosen for being a child: adults and minors alike
    assert (known < 18).any()
    assert (known >= 18).any()
    # the spam account (the labels' adult) sent nearly every spam conversation's first
    # event (without a request, the first message is drawn as any other: about 1 in 60 is
    # the recipient's)
    adult = np.asarray(data.labels.adult_id)[spam]
    first_sender = {}
    for cid, sender in zip(data.messages.conversation_id, data.messages.sender_id, strict=True):
        first_sender.setdefault(int(cid), int(sender))
    ids = np.asarray(data.labels.conversation_id)[spam]
    opened = [first_sender[int(c)] == int(a) for c, a in zip(ids, adult, strict=True)]
    assert np.mean(opened) > 0.95
    # dozens of conversations per spam account
    _, per_account = np.unique(adult, return_counts=True)
    assert per_account.mean() > 20


@pytest.mark.parametrize("value", [0.5, -1.0, float("nan"), "40"])
def test_spam_targets_per_account_is_validated(value: object) -> None:
    with pytest.raises(ValueError, match="spam_targets_per_account"):
        World.default().replace(spam_targets_per_account=value)
