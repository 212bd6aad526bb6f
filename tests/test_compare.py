"""``riskscore compare``: two bundles on the same conversations, paired."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
from riskscore.cli import compare as compare_cli
from riskscore.cli import main
from riskscore.evaluation.compare import bundle_id, compare_models
from riskscore.model import align_labels, default_model_dir


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(2_000, prevalence=0.05, seed=21)


def test_a_model_against_itself_gains_and_loses_nothing(data: rs.synthetic.SyntheticData) -> None:
    model = rs.load_model()
    features = rs.extract_features(data.messages)
    y = np.asarray(align_labels(features, data.labels), dtype=bool)
    result = compare_models(
        model, model, features, policy=rs.AlertPolicy.default(), is_grooming=y, n_bootstrap=40
    )
    assert result.gained == ()
    assert result.lost == ()
    assert result.alerts[0] == result.alerts[1]
    for difference in result.differences.values():
        assert difference["difference"] == 0.0
        assert difference["ci95_low"] == difference["ci95_high"] == 0.0


def test_gained_and_lost_account_for_the_change_in_alerts(
    data: rs.synthetic.SyntheticData,
) -> None:
    shipped = rs.load_model()
    other = rs.train(data.messages, data.labels, seed=2)
    features = rs.extract_features(data.messages)
    result = compare_models(
        shipped,
        other,
        features,
        policy=rs.AlertPolicy.default(),
        decided_positive=set(features.conversation_id[:5].tolist()),
        n_bootstrap=40,
    )
    assert result.alerts[1] - result.alerts[0] == len(result.gained) - len(result.lost)
    assert not set(result.gained) & set(result.lost)
    assert result.differences == {}  # no ground truth given
    assert result.decisions is not None
    assert result.decisions["positive"] == 5


def test_compare_command_identifies_each_bundle_by_its_manifest(
    data: rs.synthetic.SyntheticData, tmp_path: Path
) -> None:
    data.write(tmp_path / "data")
    shipped = str(default_model_dir())
    out = tmp_path / "out"
    argv = ["compare", shipped, shipped, "--data", str(tmp_path / "data"), "--bootstrap", "40"]
    assert main([*argv, "--out", str(out)]) == 0
    result = json.loads((out / "compare.json").read_text())
    assert [m["id"] for m in result["models"]] == [bundle_id(shipped)] * 2
    assert result["differences_b_minus_a"]["pr_auc"]["difference"] == 0.0
    assert main(["compare", shipped, str(tmp_path / "nope"), "--data", str(tmp_path / "data")]) == 2


def test_compare_takes_the_word_default_for_the_shipped_bundle_from_any_folder(
    data: rs.synthetic.SyntheticData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The --help example `riskscore compare default ...` works outside a source checkout
    (`riskscore/model/default` is a path only there)."""
    data.write(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    argv = ["compare", "default", "default", "--data", "data", "--bootstrap", "40"]
    assert main([*argv, "--out", "out"]) == 0
    result = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert [m["id"] for m in result["models"]] == [bundle_id(default_model_dir())] * 2


def test_compare_output_says_which_hash_identifies_a_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Was: ``A default (54aae64d421b)`` from two bundles and ``A production (5d86aea4dcf6)``
    from a shadow run, the same shipped model under two hashes with nothing to tell them
    apart: the first is its manifest's sha256, the second its parameters'."""
    result = {
        "models": [
            {"name": "default", "id": "54aae64d421b" + "0" * 52, "n_alerts": 189},
            {"name": "shadow", "parameters_sha256": "5d86aea4dcf6" + "0" * 52, "n_alerts": 1},
        ],
        "n_conversations": 2,
        "alerts_gained_by_b": 0,
        "alerts_lost_by_b": 0,
        "label": None,
        "differences_b_minus_a": {},
        "decisions": None,
        "unread_columns": [],
    }
    compare_cli.render(result)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "A default (manifest sha256 54aae64d421b): 189 conversations alerted"
    assert out[1] == "B shadow (parameters sha256 5d86aea4dcf6): 1 conversation alerted"


def test_compare_counts_conversations_alerted_not_alert_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``B shadow: 8 alerts`` for a shadow log that `riskscore stream` had reported
    as 11 shadow alerts (an online scorer alerts a conversation at review, then at
    urgent): compare counts conversations, and now says so."""
    review, urgent = rs.Tier.REVIEW, rs.Tier.URGENT
    lines = {
        "alerts.jsonl": [(7, review)],
        "shadow.jsonl": [(7, review), (7, urgent), (8, review)],
    }
    for name, alerts in lines.items():
        (tmp_path / name).write_text(
            "".join(
                rs.Alert(c, "a", "k", 12.0, "under 13", 0.9, tier).to_json() + "\n"
                for c, tier in alerts
            )
        )
    shadow, production = tmp_path / "shadow.jsonl", tmp_path / "alerts.jsonl"
    assert main(["compare", "--shadow-alerts", str(shadow), "--alerts", str(production)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["A production: 1 conversation alerted", "B shadow: 2 conversations alerted"]


def test_compare_json_keeps_the_type_of_each_example_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was (found by a hostile review): ``"gained_examples": ["7"]`` and ``"lost_examples":
    ["7"]`` for the conversation "7" gained and the conversation 7 lost, two ids the file
    wrote as one, as if one conversation were both gained and lost."""
    for name, ids in {"alerts.jsonl": [7, "x1"], "shadow.jsonl": ["7", "x1"]}.items():
        (tmp_path / name).write_text(
            "".join(
                rs.Alert(c, "a", "k", 12.0, "under 13", 0.9, rs.Tier.REVIEW).to_json() + "\n"
                for c in ids
            )
        )
    argv = ["compare", "--alerts", str(tmp_path / "alerts.jsonl")]
    argv += ["--shadow-alerts", str(tmp_path / "shadow.jsonl"), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    comparison = result.get("comparison", result)
    assert comparison["gained_examples"] == ["7"]
    assert comparison["lost_examples"] == [7]
