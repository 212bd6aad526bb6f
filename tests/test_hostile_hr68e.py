"""Hostile review hr68e: model bundles and alert policies as hostile files.

A bundle edited by hand (its sha256 recorded again, as a careless editor does) whose
reference conversation is not the features' "no signal" values, or whose leaf thresholds
are not finite; policy mappings built with YAML aliases (a "billion laughs" block in the
Synapse module's configuration). All data is synthetic.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from bundle_helpers import read_json, refused, write_params

import riskscore as rs
from riskscore.cli import main
from riskscore.cli import train as train_cli
from riskscore.integrations._synapse_config import SynapseConfigError, parse
from riskscore.model import load_model, save_model
from riskscore.policy import AlertPolicy, PolicyFileError
from riskscore.policy.guards import Guards
from riskscore.policy.volume import BAND_ODDS, Traffic, policy_for_volume


@pytest.fixture
def bundle(small_saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small_saved, tmp_path / "bundle"))


def _edit_trees(bundle: Path, key: str, index: int, value: object) -> None:
    params = read_json(bundle / "params.json")
    params["trees"][key][index] = value
    write_params(bundle, json.dumps(params))


@pytest.mark.parametrize("value", [1e6, -1.0, 0.25])
def test_a_reference_other_than_no_signal_is_refused(bundle: Path, value: float) -> None:
    """Was: loaded; reasons were then measured against another conversation (references
    raised to 1e6 gave the shipped model's alerts the ages as reasons, or none at all,
    for the same risks)."""
    names = read_json(bundle / "params.json")["trees"]["feature_names"]
    i = names.index("adult_message_share")
    _edit_trees(bundle, "reference", i, value)
    expected = (
        f"params.json: tree parameter 'reference'[{i}] (adult_message_share) is {value:g}, "
        "but the value of adult_message_share that means no signal is 0.5"
    )
    refused(bundle, re.escape(expected))


def test_an_age_reference_must_stay_unknown(bundle: Path) -> None:
    names = read_json(bundle / "params.json")["trees"]["feature_names"]
    _edit_trees(bundle, "reference", names.index("child_age"), 12.0)
    refused(bundle, r"\(child_age\) is 12, but .* no signal is nan")


def test_the_shipped_and_a_saved_bundle_load() -> None:
    model = load_model()
    model.check_reference()
    assert all(
        math.isnan(v) or v == rs.FEATURES[rs.FEATURE_NAMES.index(n)].reference
        for n, v in zip(model.feature_names, model.trees.reference, strict=True)
    )


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_leaf_threshold_that_is_not_finite_is_refused(
    bundle: Path, tmp_path: Path, value: str
) -> None:
    """Was: a leaf's threshold is never read, so NaN there loaded and scored, and then
    save_model (and train --from-queue, which saves what it loaded) failed with
    ValueError: Out of range float values are not JSON compliant."""
    params = read_json(bundle / "params.json")
    leaf = params["trees"]["feature"].index(-1)
    params["trees"]["threshold"][leaf] = float(value)
    write_params(bundle, json.dumps(params))
    refused(bundle, rf"tree parameter 'threshold'\[{leaf}\] must be a finite number")


def test_a_saved_bundle_saves_again(small_saved: Path, tmp_path: Path) -> None:
    again = save_model(load_model(small_saved), tmp_path / "again")
    assert load_model(again).parameters_sha256() == load_model(small_saved).parameters_sha256()


# ---------------------------------------------------------------- a "billion laughs"


def _laughs() -> list[object]:
    """What a YAML block of aliases builds (``a: &a [lol, ...]``, ``b: &b [*a, *a, ...]``):
    ten lists of nine, one inside the other, that ``repr`` writes as 9**10 strings."""
    laughs: list[object] = ["lol"] * 9
    for _ in range(9):
        laughs = [laughs] * 9
    return laughs


_BAND = {"name": "all", "min_age": 0.0, "max_age": math.inf, "review": 0.3, "urgent": 0.7}
_UNKNOWN = {"review": 0.3, "urgent": 0.7}


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"format_version": _laughs()}, "format_version"),
        ({"name": _laughs()}, "name"),
        ({"bands": [{**_BAND, "name": _laughs()}]}, r"bands\[0\]\.name"),
        ({"bands": [{**_BAND, "review": _laughs()}]}, r"bands\[0\]\.review"),
        ({"unknown": _laughs()}, "unknown"),
        ({"guards": {"adult_pairs_alert": _laughs()}}, r"guards\.adult_pairs_alert"),
    ],
)
def test_a_policy_block_of_aliases_is_refused_at_once(doc: dict[str, object], key: str) -> None:
    """Was: the message wrote the value with repr, for as long as 3.4 billion strings take
    (a Synapse homeserver's start-up hung on its ``policy:`` block)."""
    full = {"format_version": 2, "bands": [_BAND], "unknown": _UNKNOWN, **doc}
    with pytest.raises(PolicyFileError, match=rf"key '{key}': .*<list of more than 10,000 values>"):
        AlertPolicy.from_mapping(full)


@pytest.mark.parametrize(
    "raw",
    [
        {"policy": {"format_version": 2, "bands": [{**_BAND, "urgent": _laughs()}]}},
        {"alerts": {"moderation_room": {"moderators": [_laughs()]}}},
        {"conversation_scope": _laughs()},
        {"alerts": _laughs()},
    ],
)
def test_a_synapse_block_of_aliases_is_refused_at_once(
    tmp_path: Path, raw: dict[str, object]
) -> None:
    config = {"state_dir": str(tmp_path / "s"), "alerts": {"jsonl": str(tmp_path / "a")}, **raw}
    with pytest.raises(SynapseConfigError, match=r"<(list|dict) of more than 10,000 values>"):
        parse(config)


def test_yaml_aliases_are_what_the_tests_build() -> None:
    yaml = pytest.importorskip("yaml")
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 10)]
    laughs = yaml.safe_load("\n".join(lines))["a9"]
    with pytest.raises(PolicyFileError, match="<list of more than 10,000 values>"):
        AlertPolicy.from_mapping({"format_version": laughs})


# ---------------------------------------------------------------- band names that read alike


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("unkn\u043ewn", r'"unkn\\u043ewn"'),  # a Cyrillic o: reads as the unknown band
        ("under 1\u0417", r'"under 1\\u0417"'),  # a Cyrillic Ze for the 3
        ("\uff55\uff4e\uff44\uff45\uff52 13", r'"\\uff55\\uff4e\\uff44\\uff45\\uff52 13"'),
        ("under \u0661\u0663", r'"under \\u0661\\u0663"'),  # Arabic-Indic digits
    ],
)
def test_a_band_name_that_reads_as_another_is_refused(name: str, shown: str) -> None:
    """Was: accepted, so a policy could hold two bands whose names read alike ('under 13'
    and a full-width 'under 13'; 'unknown' and the unknown band), which alerts, the
    transparency report's counts by band and the regulatory exports tell apart by name
    only: the duplicate-name check compared the characters."""
    doc = AlertPolicy.default().to_mapping()
    doc["bands"][1]["name"] = name
    with pytest.raises(
        PolicyFileError, match=rf"key 'bands\[1\]\.name': age band name {shown} reads as other text"
    ):
        AlertPolicy.from_mapping(doc)
    with pytest.raises(ValueError, match="reads as other text"):
        rs.AgeBand(name, 0.0, math.inf, review=0.5, urgent=0.9)


@pytest.mark.parametrize(
    "name", ["до 13 лет", "13歳未満", "moins de 13 ans", "κάτω των 13", "13\u201315"]
)
def test_a_band_name_in_one_alphabet_is_kept(name: str) -> None:
    doc = AlertPolicy.default().to_mapping()
    doc["bands"][1]["name"] = name
    assert AlertPolicy.from_mapping(doc).bands[1].name == name


# ---------------------------------------------------------------- policy tune --from


def _traffic() -> Traffic:
    """60,000 seeded adult-minor conversations (and a few of unknown age)."""
    rng = np.random.default_rng(68)
    n = 60_000
    child = rng.uniform(8.0, 17.9, n)
    child[rng.random(n) < 0.1] = np.nan
    return Traffic(rng.beta(0.5, 8.0, n), child, rng.uniform(25.0, 50.0, n))


def test_tune_keeps_a_template_of_other_band_names() -> None:
    """Was: ``riskscore policy tune --from mine.toml`` (documented: "the policy whose bands
    and guards to keep") failed for any template whose bands are not named as the built-in
    ones, with "band_odds lacks the band(s) [...]", a parameter the command has no option
    for. The template's own review thresholds now give the bands' odds ratios."""
    doc = AlertPolicy.default().to_mapping()
    names = ["до 13", "13\u201315 лет", "16-17 лет", "18+ лет"]
    for band, name in zip(doc["bands"], names, strict=True):
        band["name"] = name
    template = AlertPolicy.from_mapping(doc)
    traffic = _traffic()
    tuned = policy_for_volume(
        traffic, review_per_million=2_000, urgent_per_million=500, template=template
    )
    assert [b.name for b in tuned.all_bands] == [b.name for b in template.all_bands]
    assert tuned.guards == template.guards
    # the template's ratios: the same thresholds as the built-in bands' odds give
    builtin = policy_for_volume(traffic, review_per_million=2_000, urgent_per_million=500)
    for mine, default in zip(tuned.all_bands, builtin.all_bands, strict=True):
        assert mine.review == pytest.approx(default.review, rel=0.02)
        assert mine.urgent == pytest.approx(default.urgent, rel=0.02)


def test_tune_of_the_built_in_bands_is_unchanged() -> None:
    traffic = _traffic()
    targets = {"review_per_million": 2_000, "urgent_per_million": 500}
    assert policy_for_volume(traffic, **targets) == policy_for_volume(
        traffic, **targets, band_odds=BAND_ODDS
    )


# ---------------------------------------------------------------- keys that read as known ones


def test_an_unknown_key_that_reads_as_a_known_one_is_shown_by_code_point(tmp_path: Path) -> None:
    """Was: "unknown key(s) 'review'; expected some of ..., review, urgent", the first
    'review' with a Cyrillic e (a quoted TOML key): it read as the known key the message
    listed beside it."""
    path = tmp_path / "policy.toml"
    text = AlertPolicy.default().to_toml().replace("review = ", '"revi\u0435w" = ', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyFileError, match=re.escape(r"unknown key(s) 'revi\u0435w'")):
        AlertPolicy.from_toml(path)


# ---------------------------------------------------------------- train --out unwritable


def _unwritable() -> Path:
    """A folder where no file can be made, even by root: ``/sys`` (sysfs) on Linux."""
    try:
        os.rmdir(tempfile.mkdtemp(dir="/sys"))
    except OSError:
        return Path("/sys")
    pytest.skip("no folder here refuses new files")


def test_train_refuses_an_unwritable_out_before_training(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore train --out /sys/m`` (or a folder of another user) trained, for
    minutes with the default 192 worlds, then failed when it saved."""

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained before checking --out")

    monkeypatch.setattr(train_cli, "train_model", never)
    out = _unwritable() / "riskscore-hr68e"
    assert main(["train", "--worlds", "1", "--conversations", "300", "--out", str(out)]) == 2
    assert f"permission denied: {out}" in capsys.readouterr().err


# ---------------------------------------------------------------- age bands built in code


@pytest.mark.parametrize(
    ("field", "value"), [("urgent", True), ("review", "0.5"), ("min_age", None), ("max_age", "13")]
)
def test_an_age_band_of_a_value_that_is_no_number_is_refused(field: str, value: object) -> None:
    """Was: urgent=True passed as 1 and AlertPolicy.to_toml wrote ``urgent = true``, which
    from_toml refuses (a policy riskscore wrote and cannot read); text or None gave
    "'<' not supported between instances of 'float' and 'str'", naming no field."""
    given: dict[str, object] = {"min_age": 0.0, "max_age": math.inf, "review": 0.5, "urgent": 0.9}
    given[field] = value
    with pytest.raises(TypeError, match=rf"age band 'all': {field} must be a number, found"):
        rs.AgeBand("all", **given)  # type: ignore[arg-type]


def test_an_age_band_of_integers_and_numpy_numbers_writes_a_policy_it_reads(
    tmp_path: Path,
) -> None:
    band = rs.AgeBand("all", 0, np.float32(math.inf), review=np.float32(0.5), urgent=1)
    policy = AlertPolicy(bands=(band,), unknown=rs.AgeBand("unknown", 0, math.inf, 0.5, 1))
    path = tmp_path / "p.toml"
    path.write_text(policy.to_toml(), encoding="utf-8")
    assert AlertPolicy.from_toml(path) == policy
    assert all(type(getattr(band, k)) is float for k in ("min_age", "max_age", "review", "urgent"))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"minor_peer_max_gap_years": np.float32(2.0)}, Guards(False, 2.0)),
        ({"minor_peer_max_gap_years": np.int64(2)}, Guards(False, 2.0)),
        ({"adult_pairs_alert": np.bool_(True)}, Guards(True, 3.0)),
    ],
)
def test_guards_built_with_numpy_values_hold_them(
    kwargs: dict[str, object], expected: Guards
) -> None:
    """Was: "minor_peer_max_gap_years must be a finite number >= 0 (years), got
    np.float32(2.0)" (and np.True_ "must be true or false"), though a policy mapping
    holding the same values is read (AlertPolicy.from_mapping)."""
    guards = Guards(**kwargs)  # type: ignore[arg-type]
    assert guards == expected
    assert type(guards.minor_peer_max_gap_years) is float
    assert type(guards.adult_pairs_alert) is bool


def test_guards_refuse_what_is_no_number_by_its_shown_value() -> None:
    with pytest.raises(ValueError, match=r"years\), got 10{36}\.\.\.$"):  # not 401 digits
        Guards(minor_peer_max_gap_years=10**400)
    with pytest.raises(TypeError, match="must be true or false, got 1"):
        Guards(adult_pairs_alert=1)  # type: ignore[arg-type]
