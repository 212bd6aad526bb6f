"""Synapse module settings that named paths no file can have, or the module's own state
directory, each refused at start-up with a ConfigError naming the setting (found by a
hostile review: a NUL byte and ``~nosuchuser`` raised a bare ValueError or RuntimeError, an
age callable whose module failed on import its own error, and an alerts file equal to a
``state_dir`` not yet created was accepted, then every alert hit a directory; and an output
equal to a file the module reads)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from riskscore.integrations._synapse_ages import make_age_source
from riskscore.integrations._synapse_config import SynapseConfigError, parse
from riskscore.model.bundle import default_model_dir
from riskscore.policy import AlertPolicy


@pytest.mark.parametrize("value", ["/tmp/x\0y", "~nosuchuser-riskscore/x"])
@pytest.mark.parametrize("setting", ["state_dir", "events_log", "jsonl"])
def test_a_path_no_file_can_have_is_a_config_error(
    tmp_path: Path, setting: str, value: str
) -> None:
    config: dict[str, object] = {
        "state_dir": str(tmp_path / "state"),
        "alerts": {"jsonl": str(tmp_path / "alerts.jsonl")},
    }
    if setting == "jsonl":
        config["alerts"] = {"jsonl": value}
    else:
        config[setting] = value
    with pytest.raises(SynapseConfigError) as refused:
        parse(config)
    assert setting in str(refused.value)


def test_an_alerts_file_that_is_the_state_directory_is_refused(tmp_path: Path) -> None:
    state = str(tmp_path / "new-state")  # not created yet: the module creates it
    with pytest.raises(SynapseConfigError, match="is also state_dir"):
        parse({"state_dir": state, "alerts": {"jsonl": state}})


def test_an_age_callable_whose_module_fails_on_import_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "failing_ages_module.py").write_text("raise RuntimeError('no database')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = parse(
        {
            "state_dir": str(tmp_path / "state"),
            "alerts": {"jsonl": str(tmp_path / "alerts.jsonl")},
            "ages": {"callable": "failing_ages_module:age_of"},
        }
    )
    with pytest.raises(SynapseConfigError, match="RuntimeError: no database") as refused:
        make_age_source(config.ages)
    assert "ages.callable" in str(refused.value)
    sys.modules.pop("failing_ages_module", None)


def _read_files(tmp_path: Path) -> tuple[Path, Path]:
    ages = tmp_path / "ages.csv"
    ages.write_text("user_id,age\n@a:example.org,34\n")
    policy = tmp_path / "policy.toml"
    policy.write_text(AlertPolicy.default().to_toml())
    return ages, policy


@pytest.mark.parametrize("reads", ["ages", "policy", "model"])
@pytest.mark.parametrize("writes", ["jsonl", "events_log"])
def test_a_file_the_module_writes_may_not_be_one_it_reads(
    tmp_path: Path, reads: str, writes: str
) -> None:
    """Was: the alerts (or the events log) appended to the ages CSV, the policy file or a
    file of the model bundle were accepted; the next start then failed on what it reads."""
    ages, policy = _read_files(tmp_path)
    model = default_model_dir()
    target = {"ages": ages, "policy": policy, "model": model / "manifest.json"}[reads]
    config: dict[str, object] = {
        "state_dir": str(tmp_path / "state"),
        "alerts": {"jsonl": str(tmp_path / "alerts.jsonl")},
        "ages": {"csv": str(ages)},
        "policy": str(policy),
        "model": str(model),
    }
    if writes == "jsonl":
        config["alerts"] = {"jsonl": str(target)}
    else:
        config["events_log"] = str(target)
    with pytest.raises(SynapseConfigError, match="which the module reads: give a file of its own"):
        parse(config)
    config["alerts"] = {"jsonl": str(tmp_path / "alerts.jsonl")}
    config.pop("events_log", None)
    parse(config)  # each file its own: accepted
