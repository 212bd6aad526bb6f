"""Hostile review 96: synthetic world files. A campaign size that crashed the process, a
scenario's ``is_grooming`` of another type, a scenario table naming another scenario,
spam sweeps with no one to reach, and fields of the wrong type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskscore.synthetic import STRESS_WORLDS, World, generate


def _world(tmp_path: Path, text: str) -> World:
    path = tmp_path / "world.toml"
    path.write_text(text)
    return World.from_toml(path)


def test_a_huge_campaign_size_is_refused() -> None:
    # max_fanout = 10**18 with p = 1e-18 passed, and the campaigns' running total
    # overflowed: np.repeat wrote past its buffer (a segmentation fault).
    with pytest.raises(ValueError, match=r"max_fanout: must be an integer >= 1 and <= 10000"):
        World.default().replace(max_fanout=10**18, fanout_geometric_p=1e-18)


def test_campaigns_of_the_largest_size_and_a_tiny_p_generate() -> None:
    world = World.default().replace(max_fanout=10_000, fanout_geometric_p=1e-300)
    data = generate(300, prevalence=0.1, seed=1, world=world)
    groomers = data.labels.adult_id[data.labels.is_grooming]
    assert len(np.unique(groomers)) == 1  # one campaign of every grooming conversation


@pytest.mark.parametrize(("scenario", "value"), [("grooming_fast", "1"), ("family", "0.0")])
def test_is_grooming_must_be_a_boolean(tmp_path: Path, scenario: str, value: str) -> None:
    # 1 passed as True, then generate failed with "generator bug" (or a ufunc TypeError).
    with pytest.raises(ValueError, match=f"'{scenario}'.is_grooming: must be true or false"):
        _world(tmp_path, f"[scenarios.{scenario}]\nis_grooming = {value}\n")


def test_a_scenario_table_may_not_name_another_scenario(tmp_path: Path) -> None:
    # [scenarios.family] name = "teen_peers" changed teen_peers, silently.
    text = '[scenarios.family]\nname = "teen_peers"\np_block = 0.5\n'
    with pytest.raises(ValueError, match=r"scenarios\.family: names scenario 'teen_peers'"):
        _world(tmp_path, text)


def test_spam_sweeps_with_no_one_to_reach_say_so() -> None:
    with pytest.raises(ValueError, match=r"spam sweep conversation.* have no account to reach"):
        generate(1, prevalence=0.0, seed=0, world=STRESS_WORLDS["spam_sweeps"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[scenarios]\nfamily = 5\n", "scenarios.family: must be a table"),
        ("[scenarios]\nfamily = [1, 2]\n", "scenarios.family: must be a table"),
        ('[[scenarios]]\nname = ["family"]\n', r"each entry needs a 'name' \(text\)"),
        ("[platform]\nchannels = 5\n", "platform.channels: must be a list of names"),
        ('[platform]\nchannels = [["public"], "direct"]\n', "platform.channels: must be a list"),
        ("[platform]\nchannels = {public = 1, direct = 2}\n", "platform.channels: must be a list"),
        ("description = {a = 1}\n", "description: must be text"),
        ("[scenarios.family]\nstory = {a = 1}\n", "'family'.story: must be text"),
    ],
)
def test_world_fields_of_the_wrong_type_are_refused_by_name(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _world(tmp_path, text)
