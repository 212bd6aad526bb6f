"""``riskscore policy check --online``: the check's table counted as the online scorer
raises alerts (:func:`riskscore.evaluation.policy_check.check_policy` with ``online``)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.evaluation.online_states import online_peaks
from riskscore.evaluation.policy_check import PolicyCheck, check_policy
from riskscore.policy.volume import policy_for_volume

#: `riskscore policy check policies/default.toml --conversations 400 --seed 3` as printed
#: before `--online` existed: the check without it prints the same, byte for byte.
BEFORE = Path(__file__).parent / "data" / "policy_check_400_seed3.txt"


@pytest.fixture(scope="module")
def sample() -> rs.synthetic.SyntheticData:
    """A synthetic sample whose ages become known halfway through each conversation: the
    online scorer scores most conversations in two bands (unknown, then the child's)."""
    data = rs.synthetic.generate(1_500, prevalence=0.1, seed=5)
    m = data.messages
    ends = np.r_[m.segment_starts[1:], len(m.timestamp)]
    unknown = np.zeros(len(m.timestamp), dtype=bool)
    for start, end in zip(m.segment_starts.tolist(), ends.tolist(), strict=True):
        unknown[start : start + (end - start) // 2] = True
    messages = dataclasses.replace(
        m,
        sender_age=np.where(unknown, np.nan, m.sender_age),
        recipient_age=np.where(unknown, np.nan, m.recipient_age),
    )
    return dataclasses.replace(data, messages=messages)


@pytest.fixture(scope="module")
def lax_policy(sample: rs.synthetic.SyntheticData) -> rs.AlertPolicy:
    """A policy alerting about 5 % of conversations online: many alerts, some of them
    escalated and some whose ages became known after the conversation first alerted."""
    model = rs.load_model()
    traffic, _ = online_peaks(model, sample.messages)
    return policy_for_volume(traffic, review_per_million=50_000, urgent_per_million=10_000)


def _online_check(policy: rs.AlertPolicy, data: rs.synthetic.SyntheticData) -> PolicyCheck:
    model = rs.load_model()
    scores = model.score(data.messages)
    labels = data.labels
    return check_policy(
        policy,
        scores,
        labels.conversation_id,
        labels.is_grooming,
        online=online_peaks(model, data.messages),
    )


def test_online_alerts_per_band_are_those_an_online_scorer_raises(
    sample: rs.synthetic.SyntheticData, lax_policy: rs.AlertPolicy
) -> None:
    """The check's alerts, urgent alerts and true alerts per band equal those of an
    OnlineScorer replaying the same events: each conversation once, at the highest tier
    it reached, in the band of the alert that raised that tier."""
    scorer = rs.OnlineScorer(
        rs.load_model(), lax_policy, idle_expiry_s=math.inf, max_future_s=math.inf
    )
    last: dict[object, rs.Alert] = {}
    for event in sample.messages.iter_events():
        for alert in scorer.update_one_all(event):
            if alert.conversation_id not in last or alert.tier > last[alert.conversation_id].tier:
                last[alert.conversation_id] = alert
    truth = dict(
        zip(sample.labels.conversation_id.tolist(), sample.labels.is_grooming.tolist(), strict=True)
    )
    alerts = Counter(a.age_band for a in last.values())
    urgent = Counter(a.age_band for a in last.values() if a.tier == rs.Tier.URGENT)
    true = Counter(a.age_band for cid, a in last.items() if truth[cid])
    traffic, _ = online_peaks(rs.load_model(), sample.messages)
    tier, band = lax_policy.decide_many(traffic.risk, traffic.child_age, traffic.adult_age)
    top = Counter(int(c) for c in traffic.conversation[tier > 0])
    assert len(set(band[tier > 0])) > 1  # bands change online
    assert max(top.values()) > 1
    check = _online_check(lax_policy, sample)
    assert check.online
    assert sum(alerts.values()) > 50
    for band in check.bands:
        assert band.alerts == alerts[band.band], band.band
        assert band.urgent_alerts == urgent[band.band], band.band
        assert band.true_alerts == true[band.band], band.band
    assert sum(b.n_conversations for b in check.bands) == len(truth)
    assert sum(b.n_grooming for b in check.bands) == sum(truth.values())


def test_online_precision_and_recall_follow_the_labels(
    sample: rs.synthetic.SyntheticData, lax_policy: rs.AlertPolicy
) -> None:
    """Precision is true alerts over alerts, recall true alerts over the band's grooming;
    online alerts at least as many conversations as final states, and the sweep at the
    band's own review threshold alerts at least the band's review alerts."""
    online = _online_check(lax_policy, sample)
    scores = rs.load_model().score(sample.messages)
    final = check_policy(
        lax_policy, scores, sample.labels.conversation_id, sample.labels.is_grooming
    )
    assert not final.online
    assert sum(b.alerts for b in online.bands) >= sum(b.alerts for b in final.bands)
    for band in online.bands:
        if band.alerts:
            assert band.precision == pytest.approx(band.true_alerts / band.alerts)
        else:
            assert math.isnan(band.precision)
        if band.n_grooming:
            assert band.recall == pytest.approx(band.true_alerts / band.n_grooming)
    # the sweep, counted again row by row: a conversation is in each band it was scored
    # in, hit when one of its rows there reaches the threshold and no guard caps it
    traffic, ids = online_peaks(rs.load_model(), sample.messages)
    _, band_of = lax_policy.decide_many(traffic.risk, traffic.child_age, traffic.adult_age)
    cap = lax_policy.tiers(np.ones(len(traffic.risk)), traffic.child_age, traffic.adult_age)
    truth = dict(
        zip(sample.labels.conversation_id.tolist(), sample.labels.is_grooming.tolist(), strict=True)
    )
    names = [band.name for band in lax_policy.all_bands]
    for r in online.sweep:
        members: dict[int, bool] = {}
        for i, code in enumerate(traffic.conversation.tolist()):
            if names[band_of[i]] == r.band:
                hit = bool(traffic.risk[i] >= r.threshold and cap[i] > 0)
                members[code] = members.get(code, False) or hit
        hits = [code for code, hit in members.items() if hit]
        true = sum(truth[ids[code]] for code in hits)
        grooming = sum(truth[ids[code]] for code in members)
        assert r.alerts == len(hits), (r.band, r.threshold)
        assert r.precision == pytest.approx(true / len(hits)) if hits else math.isnan(r.precision)
        assert r.recall == pytest.approx(true / grooming) if grooming else math.isnan(r.recall)


def test_online_rows_must_be_the_conversations_scored(
    sample: rs.synthetic.SyntheticData,
) -> None:
    model = rs.load_model()
    scores = model.score(sample.messages)
    traffic, ids = online_peaks(model, sample.messages)
    with pytest.raises(rs.SchemaError, match="online: the conversations replayed"):
        check_policy(
            rs.AlertPolicy.default(),
            scores,
            sample.labels.conversation_id,
            sample.labels.is_grooming,
            online=(traffic, [*ids[:-1], 10**9]),
        )


def test_policy_check_without_online_prints_what_it_printed_before(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["policy", "check", "policies/default.toml", "--conversations", "400", "--seed", "3"]
    assert main(argv) == 0
    assert capsys.readouterr().out == BEFORE.read_text(encoding="utf-8")


def test_policy_check_online_says_so_in_text_and_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["policy", "check", "policies/default.toml", "--conversations", "300", "--seed", "3"]
    assert main([*argv, "--online"]) == 0
    out = capsys.readouterr().out
    assert "counted online: each conversation at the highest tier it reached" in out
    for flag, online in (([], False), (["--online"], True)):
        assert main([*argv, *flag, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["online"] is online


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["policy", "default", "--online"], "--online is an option of policy tune and policy"),
        (
            ["policy", "check", "policies/default.toml", "--online", "--chunk-rows", "9"],
            "--chunk-rows is an option of policy tune",
        ),
        (
            ["policy", "check", "policies/default.toml", "--online", "--max-room-members", "9"],
            "--max-room-members is an option of policy tune",
        ),
    ],
)
def test_policy_check_online_refusals_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_policy_check_online_says_which_idle_expiry_it_replayed_with(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two replays at two --idle-expiry-s give two tables: each says which it used, in the
    text and in the JSON (null for inf, never forgotten); without --online there is none."""
    argv = ["policy", "check", "policies/default.toml", "--conversations", "60", "--online"]
    assert main(argv) == 0
    assert "(a conversation idle 2,592,000 s is forgotten: --idle-expiry-s)" in (
        capsys.readouterr().out
    )
    for given, shown, key in (("3600", "3,600 s is", 3600.0), ("inf", "inf: no idle", None)):
        assert main([*argv, "--idle-expiry-s", given]) == 0
        assert shown in capsys.readouterr().out
        assert main([*argv, "--idle-expiry-s", given, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["idle_expiry_s"] == key
    assert main([*argv[:-1], "--json"]) == 0
    assert "idle_expiry_s" not in json.loads(capsys.readouterr().out)
