"""Alert policy: age bands, tiers, guards, ordering, validation, one rule for one and many."""

from __future__ import annotations

import ast
import copy
import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.cli import main
from riskscore.model.scores import ScoreTable
from riskscore.policy import AgeBand, AlertPolicy, Guards, PolicyFileError, Tier

NAN = math.nan
ROOT = Path(__file__).resolve().parents[1]


def _scores(
    risk: list[float], ages: list[float], adult_ages: list[float] | None = None
) -> ScoreTable:
    n = len(risk)
    return ScoreTable(
        conversation_id=np.arange(n),
        risk=np.asarray(risk, dtype=float),
        adult_id=np.arange(100, 100 + n),
        child_id=np.arange(200, 200 + n),
        child_age=np.asarray(ages, dtype=float),
        adult_age=np.asarray([40.0] * n if adult_ages is None else adult_ages, dtype=float),
        feature_names=("a", "b"),
        reason_feature=np.tile([[1, -1]], (n, 1)),
        reason_value=np.tile([[3.0, np.nan]], (n, 1)),
        reason_contribution=np.tile([[0.5, np.nan]], (n, 1)),
    )


def test_younger_children_get_stricter_thresholds() -> None:
    policy = AlertPolicy.default()
    review, urgent = policy.thresholds(np.array([8.0, 14.0, 17.0, 30.0]))
    assert np.all(np.diff(review) > 0)
    assert np.all(np.diff(urgent) > 0)


def test_band_boundaries_and_unknown_age() -> None:
    policy = AlertPolicy.default()
    idx = policy.band_index(np.array([0.0, 12.99, 13.0, 15.99, 16.0, 18.0, 90.0, np.nan]))
    assert idx.tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    assert policy.band_of(float("nan")).name == "unknown"
    assert [policy.band_of(a).name for a in (12.99, 13.0, 17.5, 18.0)] == [
        "under 13",
        "13-15",
        "16-17",
        "18+",
    ]


def test_alerts_carry_ids_band_tier_and_reasons_urgent_first() -> None:
    policy = AlertPolicy.default()
    alerts = policy.alerts(_scores([0.05, 0.6, 0.98, 0.9], [10, 10, 17, 12]))
    assert [a.conversation_id for a in alerts] == [2, 3, 1]
    assert [a.tier for a in alerts] == [Tier.URGENT, Tier.URGENT, Tier.REVIEW]
    first = alerts[0]
    assert (first.adult_id, first.child_id, first.age_band) == (102, 202, "16-17")
    assert first.reasons[0].feature == "b"
    assert first.adult_age == 40.0
    record = first.to_dict()
    assert (record["child_age"], record["adult_age"]) == (17.0, 40.0)
    json.dumps(record)  # JSON-ready


def test_unknown_ages_serialise_as_null() -> None:
    alert = AlertPolicy.default().alerts(_scores([0.99], [math.nan], [math.nan]))[0]
    assert alert.age_band == "unknown"
    assert alert.to_dict()["child_age"] is None
    assert alert.to_dict()["adult_age"] is None


# ------------------------------------------------------------------ guards

#: (child_age, adult_age, tier at risk 0.99 under the default policy, band)
GUARD_CASES = [
    (25.0, 40.0, 0, "18+"),  # two known adults: never an alert
    (18.0, 18.0, 0, "18+"),
    (15.0, 14.0, 1, "13-15"),  # two known minors 1 year apart: review, never urgent
    (14.0, 15.0, 1, "13-15"),
    (12.0, 15.0, 1, "under 13"),  # gap exactly 3: still peers
    (12.0, 15.5, 2, "under 13"),  # gap 3.5: urgent allowed
    (12.0, 17.0, 2, "under 13"),  # gap 5
    (17.0, 19.0, 2, "16-17"),  # a minor and an adult: no guard
    (12.0, NAN, 2, "minor, other age unknown"),  # adult's age unknown: its band, no guard
    (NAN, 30.0, 2, "unknown"),  # child's age unknown: the unknown band, no guard
    (NAN, NAN, 2, "unknown"),
]


@pytest.mark.parametrize(("child", "adult", "tier", "band"), GUARD_CASES)
def test_guards_one_and_many(child: float, adult: float, tier: int, band: str) -> None:
    policy = AlertPolicy.default()
    assert int(policy.tier_of(0.99, child, adult) or 0) == tier
    assert policy.decide_one(0.99, child, adult) == (tier, policy.band_of(child, adult))
    assert policy.band_of(child, adult).name == band
    many, idx = policy.decide_many([0.99], [child], [adult])
    assert many.tolist() == [tier]
    assert policy.all_bands[int(idx[0])].name == band
    alerts = policy.alerts(_scores([0.99], [child], [adult]))
    assert [int(a.tier) for a in alerts] == ([tier] if tier else [])


def test_adult_pairs_alert_when_the_guard_is_switched_off() -> None:
    policy = AlertPolicy(guards=Guards(adult_pairs_alert=True))
    assert policy.tier_of(0.99, 25.0, 40.0) is Tier.URGENT
    assert policy.tier_of(0.95, 25.0, 40.0) is Tier.REVIEW  # the 18+ band's thresholds
    assert policy.tier_of(0.99, 15.0, 14.0) is Tier.REVIEW  # the other guard still holds


def test_peer_gap_is_configurable() -> None:
    same_age_only = AlertPolicy(guards=Guards(minor_peer_max_gap_years=0.0))
    assert same_age_only.tier_of(0.99, 15.0, 15.0) is Tier.REVIEW
    assert same_age_only.tier_of(0.99, 14.0, 15.0) is Tier.URGENT
    wide = AlertPolicy(guards=Guards(minor_peer_max_gap_years=6.0))
    assert wide.tier_of(0.99, 12.0, 17.0) is Tier.REVIEW


def test_guards_lower_the_tier_below_review_never() -> None:
    # A guard caps; it never raises: below the band's review threshold, no alert.
    assert AlertPolicy.default().tier_of(0.2, 15.0, 14.0) is None


@pytest.mark.parametrize("gap", [-1.0, math.inf, math.nan, True, "3"])
def test_invalid_guards_are_refused(gap: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="minor_peer_max_gap_years"):
        Guards(minor_peer_max_gap_years=gap)
    with pytest.raises(TypeError, match="adult_pairs_alert"):
        Guards(adult_pairs_alert=1)  # type: ignore[arg-type]


def _oracle(policy: AlertPolicy, risk: float, child: float, adult: float) -> int:
    """The rule as docs/policy.md states it, written plainly and independently."""
    if math.isnan(child):
        band = policy.unknown
    elif math.isnan(adult) and policy.unknown_adult is not None:
        band = policy.unknown_adult
    else:
        band = next((b for b in policy.bands if b.min_age <= child < b.max_age), policy.bands[-1])
    tier = 2 if risk >= band.urgent else 1 if risk >= band.review else 0
    known = not math.isnan(child) and not math.isnan(adult)
    if known and child >= 18 and adult >= 18 and not policy.guards.adult_pairs_alert:
        return 0
    peers = known and child < 18 and adult < 18
    if peers and abs(adult - child) <= policy.guards.minor_peer_max_gap_years:
        return min(tier, 1)
    return tier


AGES = st.one_of(
    st.just(NAN),
    st.sampled_from([0.0, 11.0, 12.0, 12.99, 13.0, 14.0, 15.0, 16.0, 17.0, 17.99, 18.0, 19.0]),
    st.floats(0.0, 99.0),
)
RISKS = st.one_of(
    st.floats(0.0, 1.0),
    st.sampled_from([0.15, 0.25, 0.35, 0.5, 0.6, 0.7, 0.9, 1.0]),  # exactly at thresholds
)


@st.composite
def policies(draw: st.DrawFn) -> AlertPolicy:
    """Random valid policies: 1-4 bands, ordered thresholds, random guards."""
    n = draw(st.integers(1, 4))
    edges = sorted(
        draw(st.lists(st.floats(1.0, 30.0), min_size=n - 1, max_size=n - 1, unique=True))
    )
    bounds = [0.0, *edges, math.inf]
    reviews = sorted(draw(st.lists(st.floats(0.01, 0.5), min_size=n, max_size=n)))
    urgents = sorted(draw(st.lists(st.floats(0.51, 1.0), min_size=n, max_size=n)))
    bands = tuple(
        AgeBand(f"b{i}", bounds[i], bounds[i + 1], reviews[i], urgents[i]) for i in range(n)
    )
    unknown = AgeBand(
        "unknown", 0.0, math.inf, draw(st.floats(0.01, 0.5)), draw(st.floats(0.51, 1.0))
    )
    guards = Guards(draw(st.booleans()), draw(st.floats(0.0, 18.0)))
    unknown_adult = draw(
        st.one_of(
            st.none(),
            st.builds(
                AgeBand,
                st.just("minor, other age unknown"),
                st.just(0.0),
                st.just(math.inf),
                st.floats(0.01, 0.5),
                st.floats(0.51, 1.0),
            ),
        )
    )
    return AlertPolicy(bands=bands, unknown=unknown, guards=guards, unknown_adult=unknown_adult)


@settings(max_examples=300, deadline=None)
@given(
    policy=st.one_of(st.just(AlertPolicy.default()), policies()),
    rows=st.lists(st.tuples(RISKS, AGES, AGES), min_size=1, max_size=30),
)
def test_scalar_and_vectorised_tiers_agree_and_follow_the_documented_rule(
    policy: AlertPolicy, rows: list[tuple[float, float, float]]
) -> None:
    risk, child, adult = (np.array(col, dtype=np.float64) for col in zip(*rows, strict=True))
    many, idx = policy.decide_many(risk, child, adult)
    assert many.dtype == np.int64
    assert np.array_equal(many, policy.tiers(risk, child, adult))
    assert np.array_equal(idx, policy.band_index(child, adult))
    for i, (r, c, a) in enumerate(rows):
        tier, band = policy.decide_one(r, c, a)
        assert (tier, band) == (int(many[i]), policy.all_bands[int(idx[i])])
        assert int(policy.tier_of(r, c, a) or 0) == tier
        assert band == policy.band_of(c, a)
        assert tier == _oracle(policy, r, c, a)


def test_tiers_refuse_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="one shape"):
        AlertPolicy.default().tiers([0.5, 0.5], [12.0, 13.0], [30.0])


@pytest.mark.parametrize(
    ("risk", "error", "message"),
    [
        (NAN, ValueError, "risk at position 0 is nan: expected a calibrated probability"),
        (1.5, ValueError, "risk at position 0 is 1.5"),
        (-0.1, ValueError, "risk at position 0 is -0.1"),
        ("0.99", TypeError, "risk must be"),
        (True, TypeError, "risk must be"),
        (None, TypeError, "risk must be"),
    ],
)
def test_a_risk_that_is_no_probability_is_refused(risk: Any, error: type, message: str) -> None:
    """Was: ``tier_of("0.99", ...)`` and ``tier_of(True, ...)`` alerted (read as 0.99 and
    1.0), ``tier_of(1.5, ...)`` too, ``tier_of(None, ...)`` raised float()'s TypeError, and
    ``tiers`` gave a NaN risk no alert without a word: each a caller's mistake upstream."""
    policy = AlertPolicy.default()
    with pytest.raises(error, match=message):
        policy.tier_of(risk, 12.0, 35.0)
    with pytest.raises(
        error, match=message.replace(" at position 0", "") if error is TypeError else message
    ):
        policy.tiers(np.array([risk]), [12.0], [35.0])


def test_ages_that_are_no_numbers_are_refused_and_none_is_unknown() -> None:
    policy = AlertPolicy.default()
    with pytest.raises(TypeError, match="child_age must be"):
        policy.tiers([0.9], ["12"], [35.0])
    with pytest.raises(ValueError, match="adult_age at position 1 is -1"):
        policy.tiers([0.9, 0.9], [12.0, 12.0], [35.0, -1.0])
    assert policy.tier_of(0.99, None, None) == policy.tier_of(0.99, NAN, NAN)


@pytest.mark.parametrize("name", ["risk", "child_age", "adult_age"])
def test_an_integer_beyond_any_float_is_refused_by_value(name: str) -> None:
    """Was: ``tier_of(10**400, ...)`` raised float()'s ``OverflowError`` (no name, no
    value); now the ``ValueError`` of any value out of range."""
    values = {"risk": 0.9, "child_age": 12.0, "adult_age": 35.0, name: 10**400}
    with pytest.raises(ValueError, match=rf"^{name} at position 0 is 1000\d*\.\.\.: expected"):
        AlertPolicy.default().tier_of(values["risk"], values["child_age"], values["adult_age"])


# ------------------------------------------------------------------ batch and online agree


def _pair_events(
    cid: int, child_age: float | None, adult_age: float | None
) -> list[dict[str, Any]]:
    t0 = 1_700_000_000 + 1000 * cid
    events = []
    for k in range(12):
        adult_sends = k % 3 != 2
        event: dict[str, Any] = {
            "conversation_id": cid,
            "timestamp": t0 + 600 * k,
            "sender_id": f"adult{cid}" if adult_sends else f"child{cid}",
            "recipient_id": f"child{cid}" if adult_sends else f"adult{cid}",
            "channel": "direct" if k < 6 else "encrypted",
        }
        own, other = (adult_age, child_age) if adult_sends else (child_age, adult_age)
        if own is not None:
            event["sender_age"] = own
        if other is not None:
            event["recipient_age"] = other
        events.append(event)
    return events


def test_online_and_batch_give_the_same_guarded_tiers() -> None:
    """Thresholds below every final risk, so each pair's tier is what its guards allow."""
    cases = [
        (None, None),
        (12.0, None),
        (None, 30.0),
        (12.0, 35.0),
        (15.0, 14.0),
        (12.0, 17.0),
        (25.0, 40.0),
    ]
    events = [e for cid, ages in enumerate(cases) for e in _pair_events(cid, *ages)]
    model = rs.load_model()
    msgs = rs.read_messages(
        {
            k: [e.get(k) for e in events]
            for k in (
                "conversation_id",
                "timestamp",
                "sender_id",
                "recipient_id",
                "channel",
                "sender_age",
                "recipient_age",
            )
        }
    )
    scores = model.score(msgs)
    low = float(scores.risk.min())
    band = AgeBand("all", 0.0, math.inf, review=low / 4, urgent=low / 2)
    policy = AlertPolicy(
        bands=(band,),
        unknown=AgeBand("unknown", 0.0, math.inf, low / 4, low / 2),
        unknown_adult=AgeBand("other unknown", 0.0, math.inf, low / 4, low / 2),
    )
    batch = {a.conversation_id: int(a.tier) for a in policy.alerts(scores)}
    assert batch == {0: 2, 1: 2, 2: 2, 3: 2, 4: 1, 5: 2}  # 6: two adults, no alert

    scorer = rs.OnlineScorer(model, policy)
    online = scorer.update_many(events) + scorer.refresh()
    assert {cid: scorer.alerted_tier_of(cid) for cid in range(len(cases))} == {**batch, 6: 0}
    assert all(a.conversation_id != 6 for a in online)
    pair = next(a for a in online if a.conversation_id == 4)
    assert (pair.child_age, pair.adult_age, pair.tier) == (14.0, 15.0, Tier.REVIEW)


# ------------------------------------------------------------------ validation and layout


@pytest.mark.parametrize(
    ("bands", "match"),
    [
        ((), "at least one"),
        ((AgeBand("a", 1, 18, 0.2, 0.5),), "start at 0"),
        ((AgeBand("a", 0, 10, 0.2, 0.5), AgeBand("b", 12, 18, 0.3, 0.6)), "must meet"),
        ((AgeBand("a", 0, 10, 0.4, 0.5), AgeBand("b", 10, 18, 0.3, 0.6)), "at least as strict"),
    ],
)
def test_invalid_policies_are_refused(bands: tuple[AgeBand, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AlertPolicy(bands=bands)


@pytest.mark.parametrize(("review", "urgent"), [(0.5, 0.4), (0.0, 0.5), (0.2, 1.5)])
def test_invalid_thresholds_are_refused(review: float, urgent: float) -> None:
    with pytest.raises(ValueError, match="0 < review < urgent <= 1"):
        AgeBand("x", 0, 18, review, urgent)


def test_policy_pickles_and_copies_by_its_parameters() -> None:
    """Spark broadcasts the policy to its executors; the compiled rule is rebuilt there."""
    policy = AlertPolicy(guards=Guards(adult_pairs_alert=True, minor_peer_max_gap_years=1.0))
    for twin in (pickle.loads(pickle.dumps(policy)), copy.deepcopy(policy), copy.copy(policy)):
        assert twin == policy
        assert twin.tier_of(0.99, 15.0, 14.0) is Tier.REVIEW
        assert twin.tiers([0.99], [25.0], [40.0]).tolist() == [2]


def test_public_api_exports() -> None:
    for name in rs.__all__:
        assert hasattr(rs, name), name
    assert rs.AlertPolicy is AlertPolicy
    assert issubclass(PolicyFileError, rs.RiskscoreError)
    assert issubclass(PolicyFileError, ValueError)


def test_policy_modules_import_one_way() -> None:
    """Each module of riskscore/policy imports only modules listed before it in the
    package docstring's order: no circle, and none hidden inside a function."""
    order = ["errors", "inputs", "bands", "guards", "rule", "validate", "files", "alerts",
             "alert_policy", "scores_table", "volume"]  # fmt: skip
    package = ROOT / "riskscore" / "policy"
    assert sorted(p.stem for p in package.glob("*.py")) == sorted([*order, "__init__"])
    for position, name in enumerate(order):
        tree = ast.parse((package / f"{name}.py").read_text())
        assert ast.get_docstring(tree), f"{name}.py states its role"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "riskscore.policy"
            ):
                target = (node.module or "").removeprefix("riskscore.policy").lstrip(".")
                assert target in order[:position], f"{name}.py imports {node.module}"
            if isinstance(node, ast.FunctionDef):
                inner = [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
                assert not inner, f"{name}.py imports inside {node.name}()"


def test_policy_check_shows_thresholds_as_the_file_holds_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore policy check` printed thresholds to two decimals: the default
    0.306 as 0.31, and a tuned 0.99971 as 1.00, as if the band could never be urgent."""
    text = AlertPolicy.default().to_toml()
    text = text.replace("review = 0.902", "review = 0.99871").replace(
        "urgent = 0.982\n", "urgent = 0.99971\n"
    )
    text = text.replace("review = 0.534\n", "review = 0.306\n").replace(
        "urgent = 0.869", "urgent = 0.741"
    )
    path = tmp_path / "tuned.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["policy", "check", str(path), "--conversations", "300"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line}
    assert rows["under"][2:4] == ["0.306", "0.741"]
    assert rows["18+"][1:3] == ["0.9987", "0.9997"]
