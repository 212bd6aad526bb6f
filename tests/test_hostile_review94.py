"""Hostile review 94: alert policies. A dotted key that exhausted memory, the peer guard
on decimal ages, the guard described rounded, band names that read alike, bands no age
reaches, and ``policy tune``'s header with a line break in a path."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
from riskscore._toml import MAX_DOTTED_PARTS, loads_toml
from riskscore.cli import main
from riskscore.policy import Guards


def test_a_dotted_key_of_many_parts_is_refused_before_parsing() -> None:
    # tomllib's memory grows with the square of the parts: 20,000 took 2.5 GB.
    text = "x" + ".a" * 20_000 + " = 1\n"
    started = time.perf_counter()
    with pytest.raises(ValueError, match=f"more than {MAX_DOTTED_PARTS} parts"):
        loads_toml(text, what="policy", refuse=ValueError)
    assert time.perf_counter() - started < 5
    dotted = "x" + ".a" * (MAX_DOTTED_PARTS - 1) + " = 1\n"  # 32 parts: read
    assert loads_toml(dotted, what="policy", refuse=ValueError)


@pytest.mark.parametrize(("child", "adult"), [(14.1, 17.1), (13.1, 16.1), (13.6, 16.6)])
def test_two_minors_the_gap_apart_in_decimal_ages_are_never_urgent(
    child: float, adult: float
) -> None:
    # 17.1 - 14.1 is 3.0000000000000018 in floats: they were urgent.
    policy = rs.AlertPolicy.default()
    assert policy.tier_of(0.999, child, adult) == rs.Tier.REVIEW
    tiers = policy.tiers(np.array([0.999]), np.array([child]), np.array([adult]))
    assert tiers.tolist() == [1]
    assert policy.tier_of(0.999, child, adult + 0.01) == rs.Tier.URGENT


@pytest.mark.parametrize(
    ("gap", "said"), [(2.99, "at most 2.99 years"), (0.004, "at most 0.004 years")]
)
def test_the_guard_is_described_as_applied(gap: float, said: str) -> None:
    # 2.99 read "at most 3 years", and minors 3 years apart could be urgent.
    assert said in Guards(minor_peer_max_gap_years=gap).describe()


@pytest.mark.parametrize(
    ("band", "name"),
    [(0, "13\u201015"), (0, "13\u221215"), (0, "13\u201115"), (1, "under  13"), (1, "Under 13")],
)
def test_a_band_name_that_reads_as_another_is_refused(band: int, name: str) -> None:
    mapping = rs.AlertPolicy.default().to_mapping()
    mapping["bands"][band]["name"] = name  # beside the band "13-15", or "under 13"
    with pytest.raises(ValueError, match=r"reads as|used twice"):
        rs.AlertPolicy.from_mapping(mapping)


def test_a_band_no_declared_age_reaches_is_refused() -> None:
    mapping = copy.deepcopy(rs.AlertPolicy.default().to_mapping())
    edges = [(0.0, 156.0), (156.0, 192.0), (192.0, 216.0), (216.0, float("inf"))]  # months
    for band, (low, high) in zip(mapping["bands"], edges, strict=True):
        band["min_age"], band["max_age"] = low, high
    with pytest.raises(ValueError, match="starts at 156, and no declared age reaches it"):
        rs.AlertPolicy.from_mapping(mapping)


def test_policy_tune_writes_a_readable_file_whatever_the_events_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert main(["generate", "--conversations", "600", "--seed", "3", "--out", str(data)]) == 0
    events = tmp_path / "week\n[guards]\n#.parquet"
    events.write_bytes((data / "events.parquet").read_bytes())
    capsys.readouterr()
    argv = ["policy", "tune", str(events), "--review-per-million", "50000"]
    assert main([*argv, "--urgent-per-million", "10000"]) == 0
    tuned = tmp_path / "tuned.toml"
    tuned.write_text(capsys.readouterr().out)
    assert rs.AlertPolicy.from_toml(tuned).guards == Guards()
