"""AlertPolicy from and to TOML, its errors, and ``riskscore policy check``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
from riskscore._policy_check import check_policy
from riskscore._policy_toml import PolicyFileError, loads
from riskscore.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT / "policies" / "default.toml"

GOOD = """
format_version = 1
[[bands]]
name = "young"
min_age = 0
max_age = 14
review = 0.2
urgent = 0.5
[[bands]]
name = "older"
min_age = 14
max_age = inf
review = 0.3
urgent = 0.7
[unknown]
review = 0.25
urgent = 0.6
"""


def test_shipped_file_is_the_default_policy() -> None:
    assert rs.AlertPolicy.from_toml(DEFAULT_FILE) == rs.AlertPolicy.default()


def test_round_trip(tmp_path: Path) -> None:
    policy = loads(GOOD)
    assert [b.name for b in policy.bands] == ["young", "older"]
    assert policy.bands[1].max_age == math.inf
    path = tmp_path / "p.toml"
    path.write_text(policy.to_toml(name="mine"))
    assert rs.AlertPolicy.from_toml(path) == policy


def _edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (_edit("review = 0.2", "review = 0.2\nrevew = 0.1"), "bands[0].revew", "unknown key"),
        (_edit("review = 0.2\n", ""), "bands[0].review", "missing"),
        (_edit("urgent = 0.5", 'urgent = "high"'), "bands[0].urgent", "expected a number"),
        (_edit("urgent = 0.7", "urgent = 1.5"), "bands[1].urgent", r"\(0, 1\]"),
        (_edit("urgent = 0.5", "urgent = 0.1"), "bands[0]", "review < urgent"),
        (_edit("format_version = 1", "format_version = 2"), "format_version", "expected 1"),
        (_edit("format_version = 1", "format_version = 1\nthreshold = 3"), "threshold", "unknown"),
        (_edit("[unknown]\nreview = 0.25\nurgent = 0.6", ""), "unknown", "missing"),
        # younger children must get thresholds at least as strict as older ones
        (_edit("review = 0.2", "review = 0.4"), "bands", "younger children"),
        (_edit("min_age = 14", "min_age = 15"), "bands", "must meet"),
    ],
)
def test_invalid_file_names_the_key(text: str, key: str, message: str) -> None:
    with pytest.raises(PolicyFileError, match=message) as info:
        loads(text, source="p.toml")
    assert info.value.key == key
    assert f"key {key!r}" in str(info.value)
    assert str(info.value).startswith("p.toml: ")


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="not valid TOML"):
        loads("bands = [")
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        rs.AlertPolicy.from_toml(tmp_path / "nope.toml")


def test_check_counts_agree_with_policy() -> None:
    data = rs.synthetic.generate(1500, prevalence=0.05, seed=3)
    scores = rs.load_model().score(data.messages)
    policy = rs.AlertPolicy.default()
    check = check_policy(policy, scores, data.labels.conversation_id, data.labels.is_grooming)
    assert sum(b.alerts for b in check.bands) == len(policy.alerts(scores))
    assert sum(b.n_grooming for b in check.bands) == int(data.labels.is_grooming.sum())
    # a lower threshold never raises fewer alerts
    for band in {r.band for r in check.sweep}:
        alerts = [r.alerts for r in check.sweep if r.band == band]
        assert alerts == sorted(alerts, reverse=True)
    with pytest.raises(ValueError, match="has no label"):
        check_policy(policy, scores, np.array([-1]), np.array([True]))


def test_cli_policy_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["policy", "check", str(DEFAULT_FILE), "--conversations", "1500", "--seed", "2"]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is True
    assert {b["band"] for b in result["bands"]} == {"under 13", "13-15", "16-17", "18+", "unknown"}
    assert main(args) == 0
    assert "threshold versus workload" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(_edit("urgent = 0.5", 'urgent = "high"'))
    assert main(["policy", "check", str(bad)]) == 2
    assert "bands[0].urgent" in capsys.readouterr().err
