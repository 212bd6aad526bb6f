"""Ninetieth hostile-input review: the researcher's commands (train, evaluate, compare,
policy, generate, monitor, accounts) fed careless and hostile input. The shipped model
bundle is never replaced by accident, and ``policy check --data`` refuses labels of other
events as ``evaluate`` and ``compare`` do."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import _one_line_error

import riskscore as rs
import riskscore.model.bundle as bundle
from riskscore.cli import main
from riskscore.evaluation.training_job import train_model
from riskscore.synthetic import generate
from riskscore.synthetic.labels import boolean_labels


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small labelled data set, as `riskscore generate` writes it."""
    out = tmp_path_factory.mktemp("data")
    generate(400, prevalence=0.15, seed=3).write(out)
    return out


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the bundle shipped in the package, with its files' bytes."""
    stand_in = tmp_path / "package" / "default"
    shutil.copytree(Path(bundle.__file__).resolve().parent / "default", stand_in)
    monkeypatch.setattr(bundle, "shipped_model_dir", lambda: stand_in.resolve())
    return stand_in


def _files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in directory.rglob("*")
        if p.is_file()
    }


def _edited(data: Path, tmp_path: Path, **columns: pa.Array) -> Path:
    """``data``'s events beside its labels with ``columns`` replaced, as a hand edit would."""
    edited = tmp_path / "edited"
    edited.mkdir()
    shutil.copy(data / "events.parquet", edited / "events.parquet")
    table = pq.read_table(data / "labels.parquet")
    for name, values in columns.items():
        table = table.set_column(table.column_names.index(name), name, values)
    pq.write_table(table, edited / "labels.parquet")
    return edited


# ------------------------------------------------ the shipped bundle is never replaced


@pytest.mark.parametrize("spelling", ["", "/", "/../default", "/sub", "link"])
def test_train_refuses_to_write_into_the_shipped_bundle(
    shipped: Path, data: Path, capsys: pytest.CaptureFixture[str], spelling: str
) -> None:
    # before, `riskscore train --out riskscore/model/default` (any spelling, or a folder in
    # it) replaced the model every default score uses, without a word
    before = _files(shipped)
    if spelling == "link":
        out = shipped.parent / "link"
        out.symlink_to(shipped)
    else:
        out = Path(str(shipped) + spelling)
    assert main(["train", "--data", str(data), "--out", str(out)]) == 2
    err = _one_line_error(capsys, "train")
    assert "the model bundle shipped in the package" in err
    assert "--replace-shipped-model" in err
    assert _files(shipped) == before


def test_train_replaces_the_shipped_bundle_only_when_asked(
    shipped: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(shipped)
    args = ["train", "--data", str(data), "--out", str(shipped), "--replace-shipped-model"]
    assert main(args) == 0
    assert _files(shipped) != before
    rs.load_model(shipped)  # a whole bundle


def test_library_refuses_the_shipped_bundle_before_any_work(
    shipped: Path, data: Path, tmp_path: Path
) -> None:
    before = _files(shipped)
    with pytest.raises(ValueError, match="the model bundle shipped in the package"):
        rs.save_model(rs.load_model(), shipped)
    with pytest.raises(ValueError, match="inside the model bundle shipped in the package"):
        # refused before the data is read: the directory given does not exist
        train_model(shipped / "mine", data_dir=tmp_path / "absent")
    assert _files(shipped) == before
    # elsewhere, as before
    assert rs.save_model(rs.load_model(), tmp_path / "elsewhere").is_dir()


# ------------------------------------------- policy check --data: labels of these events


def test_policy_check_refuses_labels_of_other_events(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before, the labels of another events file with the same conversation ids gave
    # precision and recall per band against the wrong truth, without a word
    mixed = tmp_path / "mixed"
    generate(400, prevalence=0.15, seed=4).write(mixed)
    shutil.copy(data / "labels.parquet", mixed / "labels.parquet")
    policy = tmp_path / "policy.toml"
    policy.write_text(rs.AlertPolicy.default().to_toml(name="p"), encoding="utf-8")
    assert main(["policy", "check", str(policy), "--data", str(mixed)]) == 2
    err = _one_line_error(capsys, "policy")
    assert "labels do not match the messages" in err
    assert "takes no part in it" in err
    # the labels of these events: checked, figures as `evaluate` scores them
    assert main(["policy", "check", str(policy), "--data", str(data), "--json"]) == 0
    assert '"label": "is_grooming_true"' in capsys.readouterr().out


def test_policy_check_refuses_a_benign_conversation_with_an_onset(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # labels relabelled all benign by hand, onsets left: evaluate refused them, policy
    # check measured them
    benign = pa.array([False] * 400)
    edited = _edited(data, tmp_path, is_grooming=benign, is_grooming_true=benign)
    policy = tmp_path / "policy.toml"
    policy.write_text(rs.AlertPolicy.default().to_toml(name="p"), encoding="utf-8")
    assert main(["policy", "check", str(policy), "--data", str(edited)]) == 2
    assert "a benign conversation's onset must be -1" in _one_line_error(capsys, "policy")


# ------------------------------------------------ labels that are not true or false


def test_labels_as_python_integers_are_read_as_the_message_says() -> None:
    # before, [1, 0, None] was refused at row 0, "holds 1 (int): expected true or false
    # (or 0 or 1)": the message contradicted itself and hid the missing label at row 2
    assert boolean_labels([1, 0, True, np.int8(0)]).tolist() == [True, False, True, False]
    with pytest.raises(rs.SchemaError, match=r"row 2 holds None \(NoneType\)") as refused:
        boolean_labels([1, 0, None])
    assert refused.value.row == 2
    with pytest.raises(rs.SchemaError, match=r"row 0 holds 1\.0 \(float\)"):
        boolean_labels([1.0, 0])  # a float among them, as in a float column


def test_a_float_label_column_names_its_missing_label(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before, a 0.0/1.0 column with a NaN at row 3 was refused at row 0, "holds 0.0
    # (float): expected true or false (or 0 or 1)", which reads as if 0.0 were fine
    values = np.asarray(pq.read_table(data / "labels.parquet").column("is_grooming"), float)
    values[[3, 7]] = np.nan
    edited = _edited(data, tmp_path, is_grooming=pa.array(values))
    assert (
        main(["evaluate", "--data", str(edited), "--no-plots", "--out", str(tmp_path / "r")]) == 2
    )
    err = _one_line_error(capsys, "evaluate")
    assert "'is_grooming' row 3 holds nan (float, one of 2 missing)" in err
    assert "a float column is not read as labels: give booleans or integers" in err


# ------------------------------- train, evaluate, policy: an option their data would ignore

#: Before, each ran and ignored the option without a word: a researcher believed they had
#: set it (`train --data d --worlds 5`, `evaluate --worlds 1 --bootstrap 10`,
#: `policy check FILE --data d --seed 9`, `compare --events e A B --bootstrap 40`...).
#: DATA, POLICY, EVENTS and OUT are placeholders.
IGNORED_OPTIONS = [
    ("train --data DATA --worlds 5", "--worlds is an option of training on synthetic worlds"),
    ("train --data DATA --prevalence 0.5", "--prevalence is an option of training on synthetic"),
    ("train --data DATA --conversations 9", "--conversations is an option of training on synth"),
    (
        "train --data DATA --events e.parquet",
        "--events is an option of --from-queue, not of --data",
    ),
    ("train --data DATA --from-queue q.sqlite", "--data and --from-queue are two sources of data"),
    (
        "train --test-fraction 0.5",
        "--test-fraction is an option of --data, not of training on synthetic worlds",
    ),
    ("evaluate --data DATA --conversations 5", "--conversations is an option of --worlds"),
    ("evaluate --data DATA --first-world 3", "--first-world is an option of --worlds"),
    ("evaluate --worlds 1 --bootstrap 10", "--bootstrap is an option of --data"),
    ("evaluate --worlds 1 --replay-events 0", "--replay-events is an option of --data"),
    ("policy check POLICY --data DATA --seed 9", "--seed is an option of policy check (without"),
    ("policy check POLICY --data DATA --conversations 5", "--conversations is an option of"),
    ("policy tune EVENTS --prevalence 0.5", "--prevalence is an option of policy check"),
    ("policy tune EVENTS --data DATA", "--data is an option of policy check (with --data)"),
    ("policy default --data DATA", "not of policy default"),
    (
        "compare default default --events EVENTS --bootstrap 40",
        "--bootstrap is an option of --data",
    ),
    ("compare default default --events EVENTS --seed 5", "--seed is an option of --data, not of"),
]


@pytest.mark.parametrize(("command", "message"), IGNORED_OPTIONS)
def test_an_option_the_data_would_ignore_is_refused(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, message: str
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(rs.AlertPolicy.default().to_toml(name="p"), encoding="utf-8")
    out = tmp_path / "out"
    names = {"DATA": data, "POLICY": policy, "EVENTS": data / "events.parquet"}
    argv = [str(names.get(word, word)) for word in command.split()]
    if argv[0] in ("train", "evaluate", "compare"):
        argv += ["--out", str(out)]
    assert main(argv) == 2
    assert message in _one_line_error(capsys, argv[0])
    assert not out.exists()


def test_train_on_data_is_unchanged_and_byte_identical(data: Path, tmp_path: Path) -> None:
    # the defaults, filled in after the check, are those of before; same seed, same bytes
    runs = [tmp_path / "a", tmp_path / "b"]
    for out in runs:
        argv = ["train", "--data", str(data), "--test-fraction", "0.25", "--seed", "4"]
        assert main([*argv, "--out", str(out)]) == 0
    assert _files(runs[0]) == _files(runs[1])
    training = rs.load_model(runs[0]).metadata["training"]
    assert training["test_fraction"] == 0.25


# ----------------------------------------------------------- monitor: an empty events file


@pytest.mark.parametrize("name", ["empty.parquet", "empty.csv"])
def test_monitor_names_an_empty_events_file(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    # before, "no events to featurize: the message table is empty", naming no file, while
    # `score` and `accounts` said "no events to score in empty.parquet: the file has no rows"
    events = pq.read_table(data / "events.parquet").slice(0, 0)
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text(",".join(events.column_names) + "\n", encoding="utf-8")
    else:
        pq.write_table(events, path)
    assert main(["monitor", str(path)]) == 2
    assert f"no events to score in {name}: the file has no rows" in _one_line_error(
        capsys, "monitor"
    )
