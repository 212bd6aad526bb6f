"""Hostile review 17: numbers at and beyond their edges in ``riskscore generate`` and
``riskscore evaluate`` (world sizes, adult pools, bootstrap and replay options)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.synthetic import World, generate


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return generate(300, prevalence=0.05, seed=3)


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


# ------------------------------------------------------------------ generate: world sizes


def test_a_scenario_of_a_trillion_events_is_refused_before_memory_runs_out() -> None:
    # it was drawn: the process was killed for lack of memory (exit 137), no message
    with pytest.raises(ValueError, match=r"scenario 'family'\.events.*at most 10000"):
        World.default().replace(scenarios={"family": {"events": [1e12, 0, 1e12, 1e12]}})


def test_a_teen_cohort_of_a_trillion_is_refused_naming_the_field() -> None:
    # was a MemoryError ("Unable to allocate 7.28 TiB") inside the generator
    with pytest.raises(ValueError, match=r"teen_cohort_size: .* >= 2 and <= 10000, got 10+$"):
        World.default().replace(teen_cohort_size=10**12)


def test_the_stress_worlds_and_drawn_worlds_stay_inside_the_limits() -> None:
    rs.synthetic.draw_world(5)
    assert rs.synthetic.STRESS_WORLDS


@pytest.mark.parametrize("n_adults", [10**19, 10**30])
def test_an_adult_pool_beyond_the_conversations_is_refused_not_ignored(n_adults: int) -> None:
    # the split over chunks overflowed: a RuntimeWarning and data with a pool of 2 adults
    with pytest.raises(
        ValueError, match=rf"n_adults must be at most .* 10 for 5\), got {n_adults}"
    ):
        generate(5, prevalence=0.0, seed=0, n_adults=n_adults)


def test_cli_adults_beyond_the_conversations_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["generate", "--conversations", "5", "--adults", str(10**19), "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "--adults" in err
    assert str(10**19) in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "events.parquet").exists()


# ------------------------------------------------------------------ evaluate: its numbers


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("n_bootstrap", math.nan),  # was reported, with n_bootstrap nan and intervals NaN
        ("n_bootstrap", True),  # was one replicate
        ("n_bootstrap", 2.5),  # TypeError
        ("n_bootstrap", 10**9),  # ran for hours
        ("replay_events", math.nan),  # switched the replay off in silence
        ("replay_events", 10.5),
        ("n_bins", 2.5),  # TypeError
        ("n_bins", 10**9),  # MemoryError (2 TiB)
        ("latency_p", math.inf),  # latency-weighted F1 reported as NaN
        ("confidence", math.nan),
    ],
)
def test_evaluate_refuses_numbers_out_of_their_range_naming_them(
    model: rs.RiskModel, data: rs.synthetic.SyntheticData, option: str, value: object
) -> None:
    with pytest.raises(ValueError, match=rf"^{option} must be .*got {value!r}"):
        rs.evaluate(model, data.messages, data.labels, **{option: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flag", "value"), [("--bootstrap", "100000000000"), ("--replay-events", "-1")]
)
def test_cli_evaluate_bounds_its_counts_at_parse_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    # --bootstrap 100000000000 ran until killed (no upper bound)
    args = ["evaluate", "--data", str(tmp_path), "--no-plots", "--out", str(tmp_path / "e")]
    with pytest.raises(SystemExit) as exit_:
        main([*args, flag, value])
    assert exit_.value.code == 2
    assert f"argument {flag}: '{value}' is not a whole number" in capsys.readouterr().err


def test_world_samples_without_a_grooming_conversation_are_refused_naming_the_size(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # --worlds 1 --conversations 1 ended in scikit-learn's "Sample weights must contain at
    # least one non-zero number" after a UserWarning
    code = main(["evaluate", "--worlds", "1", "--conversations", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "n_conversations=1" in err
    assert "prevalence=0.01" in err
