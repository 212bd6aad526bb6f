"""What a synthetic platform records (no contact, media or safety events, no time zones,
fewer surfaces), and the generated tables of nuisances and stress worlds.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from synthetic_helpers import (
    assert_valid,
)

from riskscore._docs import generated_section
from riskscore.io.messages import MessageTable
from riskscore.io.schema import Channel, EventType
from riskscore.synthetic import (
    NUISANCES,
    SCENARIOS,
    STRESS_WORLDS,
    Platform,
    SyntheticData,
    World,
    generate,
)
from riskscore.synthetic.nuisance import nuisance_table
from riskscore.synthetic.stress import stress_table


@pytest.fixture(scope="module")
def recorded_in_full() -> SyntheticData:
    data = generate(500, prevalence=0.2, seed=8)
    events = set(np.unique(data.messages.event).tolist())
    channels = set(np.unique(data.messages.channel).tolist())
    # everything is there to be left out by a platform that does not record it
    assert events == {int(e) for e in EventType}
    assert channels == {int(c) for c in Channel}
    assert len(np.unique(data.messages.recipient_tz_offset_min)) > 1
    return data


def _generate_on(platform: dict[str, Any]) -> SyntheticData:
    return generate(500, prevalence=0.2, seed=8, world=World.default().replace(platform=platform))


def _assert_same_except(got: MessageTable, base: MessageTable, *changed: str) -> None:
    for name, values in base.columns(decoded=False).items():
        if name not in changed:
            np.testing.assert_array_equal(getattr(got, name), values, err_msg=name)


def test_a_platform_without_contact_events_records_them_as_messages(
    recorded_in_full: SyntheticData,
) -> None:
    base = recorded_in_full.messages
    got = _generate_on({"contact_events": False}).messages
    contact = (base.event == EventType.CONTACT_REQUEST) | (base.event == EventType.CONTACT_ACCEPT)
    np.testing.assert_array_equal(got.event, np.where(contact, EventType.MESSAGE, base.event))
    assert not np.isin(got.event, [EventType.CONTACT_REQUEST, EventType.CONTACT_ACCEPT]).any()
    _assert_same_except(got, base, "event")


def test_a_platform_without_media_events_records_them_as_messages(
    recorded_in_full: SyntheticData,
) -> None:
    base = recorded_in_full.messages
    got = _generate_on({"media_events": False}).messages
    np.testing.assert_array_equal(
        got.event, np.where(base.event == EventType.MEDIA, EventType.MESSAGE, base.event)
    )
    assert not np.any(got.event == EventType.MEDIA)
    _assert_same_except(got, base, "event")


def test_a_platform_without_safety_events_leaves_them_out(
    recorded_in_full: SyntheticData,
) -> None:
    base, base_labels = recorded_in_full.messages, recorded_in_full.labels
    data = _generate_on({"safety_events": False})
    got = data.messages
    kept = (base.event != EventType.BLOCK) & (base.event != EventType.REPORT)
    assert not np.isin(got.event, [EventType.BLOCK, EventType.REPORT]).any()
    for name, values in base.columns(decoded=False).items():
        np.testing.assert_array_equal(getattr(got, name), values[kept], err_msg=name)
    np.testing.assert_array_equal(data.labels.is_grooming, base_labels.is_grooming)
    np.testing.assert_array_equal(data.labels.scenario, base_labels.scenario)
    assert_valid(data, World.default(), 500, 0.2)


def test_a_platform_without_time_zones_records_utc(recorded_in_full: SyntheticData) -> None:
    base = recorded_in_full
    data = _generate_on({"time_zones": False})
    assert np.all(data.messages.recipient_tz_offset_min == 0)
    _assert_same_except(data.messages, base.messages, "recipient_tz_offset_min")
    # the ground truth is what happened, in the child's real local time
    np.testing.assert_array_equal(data.labels.onset_index, base.labels.onset_index)


@pytest.mark.parametrize(
    "channels", [("public", "direct"), ("public", "group", "direct", "encrypted")]
)
def test_a_platform_with_fewer_surfaces_records_the_nearest_more_public_one(
    recorded_in_full: SyntheticData, channels: tuple[str, ...]
) -> None:
    base = recorded_in_full.messages
    platform = Platform(channels=channels)
    got = _generate_on({"channels": list(channels)}).messages
    np.testing.assert_array_equal(got.channel, np.asarray(platform.channel_map)[base.channel])
    assert set(np.unique(got.channel).tolist()) <= {int(Channel[c.upper()]) for c in channels}
    _assert_same_except(got, base, "channel")


def test_nuisance_table_lists_every_nuisance() -> None:
    table = nuisance_table()
    lines = table.splitlines()
    assert lines[0].startswith("| nuisance | world fields |")
    rows = lines[2:]
    assert len(rows) == len(NUISANCES)
    assert len({n.name for n in NUISANCES}) == len(NUISANCES)
    for nuisance, row in zip(NUISANCES, rows, strict=True):
        assert row.startswith(f"| {nuisance.name} | `{nuisance.changes}` |"), nuisance.name
        assert nuisance.law in row
        assert nuisance.default in row


def test_every_nuisance_names_fields_that_exist() -> None:
    world_fields = {f.name for f in dataclasses.fields(World)}
    scenario_fields = {f.name for f in dataclasses.fields(type(World.default().scenarios[0]))}
    platform_fields = {f.name for f in dataclasses.fields(Platform)}
    for nuisance in NUISANCES:
        names = re.sub(r"\([^)]*\)", "", nuisance.changes)
        for name in (n.strip() for n in re.split("[,;]", names)):
            if name.startswith("platform."):
                assert name.removeprefix("platform.") in platform_fields, nuisance.name
            elif nuisance.scenarios:
                assert name in scenario_fields, (nuisance.name, name)
            else:
                assert name in world_fields, (nuisance.name, name)
        assert set(nuisance.scenarios) <= set(SCENARIOS), nuisance.name


def test_docs_tables_of_nuisances_and_stress_worlds_are_generated() -> None:
    doc = Path(__file__).parents[1] / "docs" / "synthetic.md"
    assert generated_section(doc, "nuisance parameters") == nuisance_table()
    assert generated_section(doc, "stress worlds") == stress_table()


def test_stress_table_lists_every_stress_world() -> None:
    rows = stress_table().splitlines()[2:]
    assert rows == [f"| `{name}` | {w.description} |" for name, w in STRESS_WORLDS.items()]
