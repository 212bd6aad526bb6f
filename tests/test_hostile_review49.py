"""Hostile review 49: the label an evaluation scores against, the sample size of each world
of a robustness report, prevalences too small to compute with, and bad inputs of the
evaluation commands.

Each test whose docstring begins "Was:" failed on the code before its fix."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.evaluation.robustness import RobustnessReport, WorldResult, evaluate_samples
from riskscore.exceptions import SchemaError
from riskscore.policy.volume import check_per_million
from riskscore.synthetic import Labels

TINY = [1e-320, 5e-324, 1e-300, 0.0, 1.0, 1 - 1e-17, math.nan, math.inf]


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A labelled sample whose observed labels are noisy (events.parquet, labels.parquet)."""
    out = tmp_path_factory.mktemp("noisy")
    assert main(["generate", "--conversations", "1500", "--prevalence", "0.05", "--seed", "3",
                 "--label-noise", "0.05", "--out", str(out)]) == 0  # fmt: skip
    return out


def _not_json(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def _labels(directory: Path) -> Labels:
    return Labels.from_arrow(pq.read_table(directory / "labels.parquet"))


def test_evaluate_scores_against_the_truth_when_the_labels_carry_it(noisy: Path) -> None:
    """Was: rs.evaluate scored against the observed label ``is_grooming`` even when the
    labels carried the truth, which docs/synthetic.md says to evaluate against; the
    report did not say which label it used."""
    data = rs.synthetic.SyntheticData.read(noisy)
    labels = data.labels
    assert int(labels.is_grooming.sum()) != int(labels.is_grooming_true.sum())
    model = rs.load_model()
    kwargs = {"n_bootstrap": 0, "replay_events": 0}
    report = rs.evaluate(model, data.messages, labels, **kwargs)
    assert report.label == "is_grooming_true"
    assert report.n_grooming == int(labels.is_grooming_true.sum())
    assert report.n_label_differs == int(np.sum(labels.is_grooming != labels.is_grooming_true))
    observed = rs.evaluate(model, data.messages, labels, label="is_grooming", **kwargs)
    assert observed.label == "is_grooming"
    assert observed.n_grooming == int(labels.is_grooming.sum())
    assert "`is_grooming_true`" in report.to_markdown()
    assert report.to_dict()["label"] == "is_grooming_true"


def test_evaluate_refuses_an_unknown_label_and_a_truth_the_labels_lack(noisy: Path) -> None:
    """The label to score against is one of the two columns, and must be present."""
    data = rs.synthetic.SyntheticData.read(noisy)
    model = rs.load_model()
    with pytest.raises(ValueError, match="label must be one of"):
        rs.evaluate(model, data.messages, data.labels, label="truth")

    class Observed:  # labels of another source: no truth column
        conversation_id = data.labels.conversation_id
        is_grooming = data.labels.is_grooming_true
        onset_index = data.labels.onset_index
        adult_id = data.labels.adult_id

    report = rs.evaluate(model, data.messages, Observed(), n_bootstrap=0, replay_events=0)
    assert report.label == "is_grooming"
    assert report.n_label_differs == 0
    with pytest.raises(SchemaError, match="is_grooming_true"):
        rs.evaluate(model, data.messages, Observed(), label="is_grooming_true")


def test_the_evaluate_command_says_which_label_it_scored_against(
    noisy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore evaluate` printed the observed labels' prevalence (0.0967 here, for
    a true 0.05) and no word of which label it used; without bootstrap it printed
    "[nan, nan]" intervals, and NaN (not JSON) with --json."""
    argv = ["evaluate", "--data", str(noisy), "--no-plots", "--bootstrap", "0",
            "--replay-events", "0"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "against is_grooming_true" in out
    assert "[nan, nan]" not in out  # no interval without bootstrap: none shown
    truth = _labels(noisy).is_grooming_true
    assert f"(prevalence {truth.mean():.4f})" in out
    assert "observed labels (is_grooming) differ from the truth" in out
    assert main([*argv, "--out", str(tmp_path / "b"), "--label", "is_grooming", "--json"]) == 0
    result = json.loads(capsys.readouterr().out, parse_constant=_not_json)
    assert result["label"] == "is_grooming"
    assert result["pr_auc_ci"] == [None, None]
    assert result["prevalence"] == pytest.approx(_labels(noisy).is_grooming.mean())


def test_the_robustness_table_shows_each_worlds_sample_size() -> None:
    """Was: the per-world table of `riskscore evaluate --worlds` (robustness.md) had no
    sample size, so a PR-AUC measured on 3 grooming conversations looked as firm as one
    measured on 300."""
    results = tuple(
        WorldResult(world=name, n_conversations=n, n_grooming=g, pr_auc=0.5, pr_auc_rare=0.1)
        for name, n, g in (("big", 20_000, 200), ("small", 300, 3))
    )
    text = RobustnessReport(results, prevalence=0.01, rare_prevalence=1e-4).to_markdown()
    header = next(line for line in text.splitlines() if line.startswith("| world |"))
    assert "| conversations | grooming |" in header
    assert "| big | 20,000 | 200 |" in text
    assert "| small | 300 | 3 |" in text


@pytest.mark.parametrize("value", TINY)
def test_a_prevalence_too_small_to_compute_with_is_refused_by_calibration(value: float) -> None:
    """Was: ``RiskModel.at_prevalence(1e-320)`` (a denormal) returned a model whose risks
    were all the same 9.9e-305 (the offset past the formula's clamp), with no error. (0, 1,
    NaN and inf were refused before too, with another message.)"""
    with pytest.raises(ValueError, match=r"prevalence must be a number from 1e-12 to"):
        rs.load_model().at_prevalence(value)


@pytest.mark.parametrize("value", [1e-320, 1e-310, 0.0, 1.0])
def test_a_rare_prevalence_too_small_to_compute_with_is_refused(value: float) -> None:
    """Was: ``rare_prevalence=1e-310`` ended in scikit-learn ("Input sample_weight contains
    infinity"), after every world was generated; 1e-300 gave a number."""
    with pytest.raises(ValueError, match=r"rare_prevalence must be a number from 1e-12 to"):
        evaluate_samples(lambda f: np.zeros(len(f)), [], rare_prevalence=value)


def test_an_alert_volume_too_small_to_compute_with_is_refused(
    noisy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore policy tune --review-per-million 1e-320 --urgent-per-million 1e-320`
    ended in a traceback (OverflowError: cannot convert float infinity to integer)."""
    with pytest.raises(ValueError, match="from 1e-06 and below"):
        check_per_million("urgent_per_million", 1e-320)
    argv = ["policy", "tune", str(noisy / "events.parquet"), "--review-per-million", "1e-320",
            "--urgent-per-million", "1e-320"]  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--review-per-million" in err
    assert "Traceback" not in err


def test_a_null_label_is_named_by_its_row(tmp_path: Path) -> None:
    """Was: a null in a labels column said "labels column 'is_grooming' holds nulls" and
    not which row."""
    table = pa.table(
        {
            "conversation_id": [1, 2, 3],
            "is_grooming": pa.array([True, None, False], type=pa.bool_()),
            "onset_index": [0, -1, -1],
            "adult_id": [10, 11, 12],
            "scenario": ["a", "b", "c"],
        }
    )
    with pytest.raises(SchemaError, match=r"labels column 'is_grooming' row 1 is null"):
        Labels.from_arrow(table)


def test_the_worlds_command_names_the_worst_worlds_sample_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore evaluate --worlds` printed the worst world's PR-AUC without the
    number of grooming conversations it was measured on; it also took --label, which it
    cannot honour, now refused."""
    argv = ["evaluate", "--worlds", "1", "--conversations", "400", "--out", str(tmp_path)]
    assert main([*argv, "--label", "is_grooming"]) == 2
    err = capsys.readouterr().err
    assert "--label is for --data" in err
    assert "Traceback" not in err
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "grooming of 400 conversations)" in out
    table = (tmp_path / "robustness.md").read_text(encoding="utf-8")
    assert "| drawn-1000 | 400 | 4 |" in table


def test_policy_check_and_compare_score_against_the_truth_too(
    noisy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore policy check --data` counted grooming, precision and recall by the
    observed label and `riskscore compare --data` measured both models against it, while
    `riskscore evaluate` (now) scores against the truth: three commands, two answers."""
    policy = tmp_path / "policy.toml"
    policy.write_text(rs.AlertPolicy.default().to_toml(name="default"), encoding="utf-8")
    truth = _labels(noisy).is_grooming_true
    assert main(["policy", "check", str(policy), "--data", str(noisy), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["label"] == "is_grooming_true"
    assert result["n_grooming"] == int(truth.sum())
    argv = ["compare", "default", "default", "--data", str(noisy), "--bootstrap", "40"]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "is_grooming_true"
    assert main(argv) == 0
    assert "metrics against is_grooming_true" in capsys.readouterr().out


def test_train_on_data_measures_the_held_out_adults_against_the_truth(
    noisy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore train --data` learnt from the observed label (as it should) and also
    measured the held-out adults against it: the model card's metrics counted flipped
    labels as the model's errors."""
    argv = ["train", "--data", str(noisy), "--out", str(tmp_path / "m"), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["metrics_label"] == "is_grooming_true"
    model = rs.load_model(tmp_path / "m")
    assert model.metadata["training"]["metrics_label"] == "is_grooming_true"
    # the truth's prevalence (0.05), not the observed one (0.097)
    assert result["metrics"]["observed_prevalence"] < 0.08


def test_a_truth_copied_from_the_observed_label_is_not_scored_as_truth(
    noisy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: a labels.parquet without is_grooming_true read with the observed label copied
    into it, indistinguishable from a truth (which evaluations now score against): a file
    written back claimed a truth the data never had, and a benign onset under a flipped
    label was refused naming the absent is_grooming_true."""
    table = pq.read_table(noisy / "labels.parquet").drop(["is_grooming_true"])
    labels = Labels.from_arrow(table)
    assert not labels.truth_given
    assert "is_grooming_true" not in labels.to_arrow().column_names
    assert _labels(noisy).truth_given
    assert "is_grooming_true" in _labels(noisy).to_arrow().column_names
    data = rs.synthetic.SyntheticData.read(noisy)
    model = rs.load_model()
    with pytest.raises(SchemaError, match="labels lack is_grooming_true"):
        rs.evaluate(model, data.messages, labels, label="is_grooming_true")
    with pytest.raises(SchemaError, match=r"\(is_grooming=True;"):
        rs.evaluate(model, data.messages, labels)  # noisy: a flipped benign has onset -1


@pytest.mark.parametrize("mib", ["1e308", "1e-320"])
def test_serve_refuses_a_body_size_of_no_whole_bytes_by_its_option(
    mib: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `riskscore serve --max-body-mb 1e308` ended in a traceback (OverflowError:
    cannot convert float infinity to integer); 1e-320 was refused as max_body_bytes 0,
    an option the command does not have."""
    pytest.importorskip("starlette")
    assert main(["serve", "--db", str(tmp_path / "q.sqlite"), "--max-body-mb", mib]) == 2
    err = capsys.readouterr().err
    assert "--max-body-mb must give a whole number of bytes >= 1" in err
    assert "Traceback" not in err
