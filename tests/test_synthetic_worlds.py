"""Synthetic worlds: the default world equals its TOML, drawn and stress worlds generate
valid data, ``World.replace`` validates, same seed and world give the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic_helpers import (
    assert_valid,
)

import riskscore as rs
from riskscore.synthetic import (
    BENIGN_MIX,
    GROOMING_MIX,
    SCENARIOS,
    STRESS_WORLDS,
    Platform,
    World,
    draw_world,
    generate,
    generate_parquet,
)

# ---------------------------------------------------------------- worlds

WORLD_TOML = Path(rs.synthetic.world.__file__).with_name("default_world.toml")
STRESS_TOML = Path(rs.synthetic.world.__file__).with_name("stress_worlds.toml")


def _as_tuple(value: Any) -> Any:
    return tuple(float(v) for v in value) if isinstance(value, list) else value


def test_default_world_equals_its_toml() -> None:
    world = World.default()
    assert World.from_toml(WORLD_TOML) == world
    raw = tomllib.loads(WORLD_TOML.read_text(encoding="utf-8"))
    # every field is data in the TOML, nothing hidden in code (secure_channel_mix is
    # optional: each grooming variant's own mix when absent)
    assert set(raw) | {"secure_channel_mix"} == {f.name for f in dataclasses.fields(World)}
    assert world.secure_channel_mix is None
    for key, value in raw.items():
        got = getattr(world, key)
        if key in ("benign_mix", "grooming_mix", "tz_mix"):
            total = sum(value.values())
            expected = {(int(k) if key == "tz_mix" else k): v / total for k, v in value.items()}
            assert got == pytest.approx(expected), key
            assert sum(got.values()) == pytest.approx(1.0), key
        elif key == "platform":
            assert got == Platform(
                **{k: _as_tuple(v) if k != "channels" else tuple(v) for k, v in value.items()}
            )
        elif key == "scenarios":
            assert [s["name"] for s in value] == [s.name for s in world.scenarios]
            for entry in value:
                profile = world.scenario(entry["name"])
                for field, field_value in entry.items():
                    assert getattr(profile, field) == _as_tuple(field_value), (entry["name"], field)
        else:
            assert got == _as_tuple(value), key
    assert dict(BENIGN_MIX) == dict(world.benign_mix)
    assert dict(GROOMING_MIX) == dict(world.grooming_mix)
    assert tuple(s.name for s in world.scenarios) == SCENARIOS


def test_world_round_trips_through_a_json_ready_dict() -> None:
    for world in (World.default(), draw_world(5), STRESS_WORLDS["coach_200_pupils"]):
        fields = json.loads(json.dumps(world.to_dict()))
        assert World.from_mapping(fields) == world


def test_generate_uses_the_default_world_when_none_is_given(tmp_path: Path) -> None:
    a = generate(200, prevalence=0.1, seed=3).write(tmp_path / "a")
    b = generate(200, prevalence=0.1, seed=3, world=World.default()).write(tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_draw_world_is_deterministic_and_differs_per_seed() -> None:
    assert draw_world(7) == draw_world(7)
    assert draw_world(7).name == "drawn-7"
    assert draw_world(7, name="seven").name == "seven"
    drawn = [json.dumps(draw_world(seed).to_dict(), sort_keys=True) for seed in range(8)]
    assert len(set(drawn)) == 8
    default = json.dumps(World.default().to_dict(), sort_keys=True)
    assert default not in drawn
    # drawing never changes the base world
    assert World.default() == World.from_toml(WORLD_TOML)


def test_draw_world_from_another_base() -> None:
    base = STRESS_WORLDS["night_owl_teens"]
    assert draw_world(2, base=base) == draw_world(2, base=base)
    assert draw_world(2, base=base) != draw_world(2)
    assert "night_owl_teens" in draw_world(2, base=base).description


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, None])
def test_draw_world_refuses_a_bad_seed(seed: Any) -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        draw_world(seed)


@settings(max_examples=25, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), data_seed=st.integers(0, 1000))
def test_every_drawn_world_generates_valid_data(seed: int, data_seed: int) -> None:
    world = draw_world(seed)
    data = generate(120, prevalence=0.25, seed=data_seed, world=world, days=10)
    assert_valid(data, world, 120, 0.25)


@pytest.mark.parametrize("name", sorted(STRESS_WORLDS))
def test_every_stress_world_generates_valid_data(name: str) -> None:
    world = STRESS_WORLDS[name]
    assert world.name == name
    assert world.description
    data = generate(200, prevalence=0.2, seed=1, world=world)
    assert_valid(data, world, 200, 0.2)


def test_stress_worlds_are_the_toml_entries_and_read_only() -> None:
    raw = tomllib.loads(STRESS_TOML.read_text(encoding="utf-8"))
    assert set(STRESS_WORLDS) == set(raw)
    for name, changes in raw.items():
        assert STRESS_WORLDS[name] == World.default().replace(name=name, **changes)
        assert STRESS_WORLDS[name] != World.default()
    with pytest.raises(TypeError):
        STRESS_WORLDS["mine"] = World.default()  # type: ignore[index]


def test_same_seed_and_world_give_byte_identical_output(tmp_path: Path) -> None:
    first = generate(300, prevalence=0.1, seed=4, world=draw_world(3)).write(tmp_path / "a")
    again = generate(300, prevalence=0.1, seed=4, world=draw_world(3)).write(tmp_path / "b")
    other = generate(300, prevalence=0.1, seed=4, world=draw_world(9)).write(tmp_path / "c")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert first[0].read_bytes() != other[0].read_bytes()
    kwargs: dict[str, Any] = {
        "prevalence": 0.1,
        "seed": 4,
        "world": STRESS_WORLDS["night_owl_teens"],
    }
    x = generate_parquet(tmp_path / "x" / "events.parquet", 300, chunk_conversations=120, **kwargs)
    y = generate_parquet(tmp_path / "y" / "events.parquet", 300, chunk_conversations=120, **kwargs)
    assert [p.read_bytes() for p in x] == [p.read_bytes() for p in y]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"max_fanout": 0}, r"^max_fanout: must be an integer >= 1 and <= \d+, got 0$"),
        ({"max_fanout": 2.5}, "max_fanout: must be an integer"),
        ({"reciprocity": 1.5}, r"reciprocity: must be a number in \[0, 1\], got 1.5"),
        ({"adult_unknown_age_rate": -0.1}, "adult_unknown_age_rate: must be a number in"),
        ({"move_platform_rate": "high"}, "move_platform_rate: must be a number in"),
        ({"adult_reuse": 0.5}, "adult_reuse: must be a number >= 1, got 0.5"),
        ({"fanout_geometric_p": 0}, r"fanout_geometric_p: must be in \(0, 1\]"),
        ({"teen_cohort_size": 1}, "teen_cohort_size: must be an integer >= 2"),
        ({"teen_age_spread": 6}, r"teen_age_spread: must be in \(0, 5\] years"),
        ({"special_adult_conversations": -1}, "special_adult_conversations: must be a number >= 0"),
        ({"name": ""}, "name: must be one line of printable text"),
        ({"tz_mix": {}}, "tz_mix: must be a non-empty mapping"),
        ({"tz_mix": {"abc": 1.0}}, "tz_mix: offsets must be integer minutes"),
        ({"tz_mix": {60: -1.0}}, r"tz_mix\[60\]: must be a number >= 0"),
        ({"benign_mix": {"family": float("nan")}}, r"benign_mix\['family'\]: must be a number"),
        (
            {"grooming_mix": {"grooming_slow": 0.0}},
            "grooming_mix: must be weights >= 0 with a positive",
        ),
        ({"pupil_age_weights": [-1.0] * 16}, "pupil_age_weights: must be weights >= 0"),
        ({"sibling_age_weights": [1.0] * 3}, "sibling_age_weights: must be a list of 16"),
        ({"secure_channel_mix": {"external": 1.0}}, "secure_channel_mix: unknown key"),
        ({"colour": "red"}, r"unknown world field\(s\) 'colour'; expected some of"),
        ({"scenarios": {"family": {"p_block": 2.0}}}, r"scenario 'family'.p_block: must be a"),
        ({"scenarios": {"family": {"events": [0, 1, 1, 2]}}}, "scenario 'family'.events: needs"),
        ({"scenarios": {"family": {"media": [0.1, 0.2]}}}, "scenario 'family'.media: must be a"),
        ({"scenarios": {"family": {"night_phase1": [0, 1]}}}, "scenario 'family'.night_phase1"),
        ({"scenarios": {"family": {"max_unanswered": -1}}}, "scenario 'family'.max_unanswered"),
        ({"scenarios": {"family": {"is_grooming": True}}}, "scenario 'family'.is_grooming"),
        ({"scenarios": {"family": {"colour": 1}}}, r"'family'.*unknown field\(s\) 'colour'"),
        ({"scenarios": {"pets": {"p_block": 0.1}}}, "unknown scenario 'pets'"),
        ({"platform": {"channels": ["public", "group"]}}, "platform.channels: must include"),
        ({"platform": {"channels": ["public", "direct", "fax"]}}, r"platform.channels: unknown"),
        ({"platform": {"media_events": "no"}}, "platform.media_events: must be true or false"),
        ({"platform": {"colour": 1}}, r"platform: unknown field\(s\) 'colour'; expected some of"),
        ({"platform": "everything"}, "platform: must be a table"),
    ],
)
def test_world_replace_validates_and_names_the_field(changes: dict[str, Any], match: str) -> None:
    world = World.default()
    with pytest.raises(ValueError, match=match):
        world.replace(**changes)
    assert world == World.from_toml(WORLD_TOML)  # unchanged


def test_world_replace_changes_only_what_it_names() -> None:
    world = World.default()
    changed = world.replace(max_fanout=3, scenarios={"family": {"p_block": 0.05}})
    assert changed.max_fanout == 3
    assert changed.scenario("family").p_block == 0.05
    assert changed.scenario("family").replace(p_block=world.scenario("family").p_block) == (
        world.scenario("family")
    )
    assert changed.replace(max_fanout=world.max_fanout, scenarios=[world.scenario("family")]) == (
        world
    )
    with pytest.raises(KeyError, match="no scenario 'pets'"):
        world.scenario("pets")


def test_platform_channel_map_records_the_nearest_more_public_surface() -> None:
    assert Platform(channels=("public", "direct")).channel_map == (0, 0, 2, 2, 2, 2)
    unordered = Platform(channels=("encrypted", "direct", "public", "direct"))
    assert unordered.channels == ("public", "direct", "encrypted")
    assert unordered.channel_map == (0, 0, 2, 2, 4, 4)
    assert Platform().channel_map == (0, 1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    "mapping",
    [
        {1: 2, "colour": 3},  # keys of mixed types: sorted by their repr, named, not a TypeError
        {("a", 1): 0, None: 1},
    ],
)
def test_unknown_keys_of_any_type_are_named(mapping: dict[Any, Any]) -> None:
    with pytest.raises(ValueError, match=r"unknown world field\(s\) .*; expected some of"):
        World.from_mapping(mapping)
    with pytest.raises(ValueError, match=r"platform: unknown field\(s\)"):
        World.default().replace(platform=mapping)
