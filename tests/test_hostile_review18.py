"""Hostile review 18: ``riskscore monitor``, ``riskscore compare`` and ``riskscore accounts``
given what a careless user or an attacker gives them (counts beyond their cap, inputs that
are also outputs, a FIFO, ids that are no ids, one class only)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs
import riskscore.cli.monitor as monitor_command
from riskscore.batch.shadow import read_conversation_ids
from riskscore.cli import main
from riskscore.evaluation.compare import compare_models
from riskscore.evaluation.metrics import MAX_BOOTSTRAP
from riskscore.exceptions import SchemaError
from riskscore.model import default_model_dir


def _alerts(*conversation_ids: object) -> str:
    """JSON lines of alerts (every alert field) of these conversations."""
    return "".join(
        rs.Alert(c, "a", "c", 12.0, "under 13", 0.5, rs.Tier.REVIEW).to_json() + "\n"
        for c in conversation_ids
    )


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(200, prevalence=0.05, seed=5)


@pytest.fixture(scope="module")
def events(data: rs.synthetic.SyntheticData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, _ = data.write(tmp_path_factory.mktemp("data"))
    return path


def _as_json_lines(events: Path, path: Path) -> Path:
    """The events as JSON lines at ``path`` (a name such as ``drift.json`` is read as such)."""
    import pyarrow.parquet as pq

    pq.read_table(events).to_pandas().to_json(path, orient="records", lines=True)
    return path


def _error(capsys: pytest.CaptureFixture[str], command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"riskscore {command}: error: "), err
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail, rather than hang the run, when a read blocks (a FIFO with no writer)."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError("the read blocked")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------ compare: --bootstrap


def test_compare_bootstrap_beyond_the_shared_cap_is_refused_by_argparse(
    events: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 10**11 replicates ran until killed; evaluate caps them at MAX_BOOTSTRAP
    argv = ["compare", "default", "default", "--events", str(events)]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--bootstrap", str(10**11)])
    assert exit_.value.code == 2
    assert f"argument --bootstrap: '{10**11}' is not a whole number from 40 to {MAX_BOOTSTRAP}" in (
        capsys.readouterr().err
    )


def test_compare_models_refuses_a_bootstrap_count_beyond_the_cap(
    data: rs.synthetic.SyntheticData,
) -> None:
    model = rs.load_model()
    features = rs.extract_features(data.messages)
    with pytest.raises(ValueError, match=rf"n_bootstrap must be .* 1 to {MAX_BOOTSTRAP}"):
        compare_models(model, model, features, policy=rs.AlertPolicy.default(), n_bootstrap=10**11)


# ------------------------------------------------------------------ compare: names and JSON


def test_compare_records_the_word_default_and_the_bundle_it_named(
    events: Path, tmp_path: Path
) -> None:
    # compare.json recorded the resolved path as the name the user gave
    out = tmp_path / "out"
    mine = str(default_model_dir())
    assert main(["compare", "default", mine, "--events", str(events), "--out", str(out)]) == 0
    a, b = json.loads((out / "compare.json").read_text())["models"]
    assert (a["name"], a["path"]) == ("default", mine)
    assert (b["name"], b["path"]) == (mine, mine)
    assert a["id"] == b["id"]


def _strict_json(path: Path) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_compare_of_labels_with_one_class_writes_valid_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # no positive: PR-AUC and recall are undefined; compare.json held NaN (not JSON)
    rs.synthetic.generate(120, prevalence=0.0, seed=4).write(tmp_path / "data")
    out = tmp_path / "out"
    argv = ["compare", "default", "default", "--data", str(tmp_path / "data"), "--bootstrap", "40"]
    assert main([*argv, "--out", str(out)]) == 0
    result = _strict_json(out / "compare.json")
    assert result["differences_b_minus_a"]["pr_auc"]["difference"] is None
    assert result["models"][0]["metrics"]["pr_auc"] is None
    assert "B - A n/a" in capsys.readouterr().out


# ------------------------------------------------------------------ compare: inputs as outputs


@pytest.mark.parametrize("option", ["--shadow-alerts", "--alerts"])
def test_compare_out_refuses_to_replace_an_alerts_file_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    named = out / "compare.json"
    named.write_text('{"conversation_id": 1}\n')
    other = tmp_path / "other.jsonl"
    other.write_text('{"conversation_id": 2}\n')
    files = {"--shadow-alerts": other, "--alerts": other, option: named}
    argv = ["compare", "--shadow-alerts", str(files["--shadow-alerts"])]
    assert main([*argv, "--alerts", str(files["--alerts"]), "--out", str(out)]) == 2
    assert "would replace the input" in _error(capsys, "compare")
    assert named.read_text() == '{"conversation_id": 1}\n'


@pytest.mark.parametrize(
    ("command", "written"),
    [("compare", "compare.json"), ("monitor", "drift.json")],
)
def test_out_refuses_to_replace_the_events_being_read(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, written: str
) -> None:
    # events as JSON lines named like the report in --out were read, then replaced by it
    out = tmp_path / "out"
    out.mkdir()
    lines = _as_json_lines(events, out / written)
    before = lines.read_bytes()
    argv = {
        "compare": ["compare", "default", "default", "--events", str(lines)],
        "monitor": ["monitor", str(lines)],
    }[command]
    assert main([*argv, "--out", str(out)]) == 2
    assert "would replace the input" in _error(capsys, command)
    assert lines.read_bytes() == before


# ------------------------------------------------------------------ compare: alert ids


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ('{"conversation_id": [1, 2]}', "[1, 2]"),  # was a TypeError traceback (unhashable)
        ('{"conversation_id": null}', "None"),  # was counted as an alerted conversation
        ('{"conversation_id": true}', "True"),  # was the conversation 1 (True == 1)
        ('{"conversation_id": 1.5}', "1.5"),
        ('{"conversation_id": NaN}', "nan"),
        ('{"conversation_id": ""}', "''"),
    ],
)
def test_an_alert_id_that_is_no_id_is_refused_naming_file_line_and_value(
    tmp_path: Path, line: str, shown: str
) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"conversation_id": 7}\n' + line + "\n")
    with pytest.raises(SchemaError, match=r"alerts\.jsonl, line (2|3): conversation_id ") as info:
        read_conversation_ids(path)
    assert shown in str(info.value)


def test_a_float_alert_id_would_merge_with_an_integer_one(tmp_path: Path) -> None:
    # 1.0 and 1 are one dict key: a shadow alert on "1.0" matched production's 1
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"conversation_id": 1}\n{"conversation_id": 1.0}\n')
    ids = read_conversation_ids(path)  # an integral float is the integer, as in events
    assert ids == [1, 1]
    assert [type(i) for i in ids] == [int, int]


def test_alert_ids_beyond_int64_stay_exact(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"conversation_id": 99999999999999999999999}\n{"conversation_id": 5}\n')
    assert read_conversation_ids(path) == [99999999999999999999999, 5]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_alerts(1).encode() + b'not json {"text": "secret words"}\n', "line 2: not JSON"),
        (b'\xff{"conversation_id": 1}\n', "line 1: not UTF-8"),
        (b"[1, 2]\n", "line 1: not an alert: no conversation_id"),
    ],
)
def test_an_alerts_file_that_is_not_json_lines_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, reason: str
) -> None:
    bad = tmp_path / "shadow.jsonl"
    bad.write_bytes(content)
    good = tmp_path / "alerts.jsonl"
    good.write_text(_alerts(1))
    assert main(["compare", "--shadow-alerts", str(bad), "--alerts", str(good)]) == 2
    err = _error(capsys, "compare")
    assert f"shadow.jsonl, {reason}" in err
    assert "secret" not in err


def test_alert_ids_of_two_kinds_in_the_two_files_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1 in production and "1" in the shadow log: nothing matched, every alert gained and lost
    production, shadow = tmp_path / "alerts.jsonl", tmp_path / "shadow.jsonl"
    production.write_text(_alerts(1))
    shadow.write_text(_alerts("1"))
    assert main(["compare", "--shadow-alerts", str(shadow), "--alerts", str(production)]) == 2
    err = _error(capsys, "compare")
    assert "integers in --alerts but text in --shadow-alerts" in err


def test_a_directory_of_alerts_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "alerts.jsonl"
    good.write_text(_alerts(1))
    assert main(["compare", "--shadow-alerts", str(tmp_path), "--alerts", str(good)]) == 2
    assert "is a directory" in _error(capsys, "compare")


# ------------------------------------------------------------------ FIFOs


@pytest.mark.usefixtures("alarm")
@pytest.mark.parametrize("command", ["monitor", "accounts", "compare"])
def test_a_fifo_is_refused_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # open() of a FIFO with no writer blocked the command forever
    fifo = tmp_path / "events.csv"
    os.mkfifo(fifo)
    good = tmp_path / "alerts.jsonl"  # one file given twice is refused as such
    good.write_text(_alerts(1))
    argv = {
        "monitor": ["monitor", str(fifo)],
        "accounts": ["accounts", str(fifo), "--out", str(tmp_path / "a.parquet")],
        "compare": ["compare", "--shadow-alerts", str(fifo), "--alerts", str(good)],
    }[command]
    assert main(argv) == 2
    assert "not a regular file" in _error(capsys, command)


# ------------------------------------------------------------------ monitor


def test_monitor_reads_its_events_before_loading_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a missing events file cost a model load first (seconds), then its error
    def no_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded before the events were read")

    monkeypatch.setattr(monitor_command, "load_model", no_load)
    assert main(["monitor", str(tmp_path / "missing.parquet")]) == 2
    assert "no such events file" in _error(capsys, "monitor")


def test_monitor_out_under_a_file_names_that_file(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "afile/sub exists and is not a directory": it is afile that exists
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert main(["monitor", str(events), "--out", str(blocker / "sub")]) == 2
    err = _error(capsys, "monitor")
    assert f"{blocker} exists and is not a directory" in err
    assert not any(p.name == "sub" for p in tmp_path.rglob("*"))


# ------------------------------------------------------------------ columns not read


@pytest.mark.parametrize("command", ["monitor", "compare"])
def test_a_column_under_another_name_is_noted_not_dropped_in_silence(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # recipient_tz_offset_min given as tz_offset: monitor reported major drift of the
    # night-time features (the offsets unknown) and never said the column was not read
    import pyarrow.parquet as pq

    table = pq.read_table(events)
    renamed = tmp_path / "renamed.parquet"
    names = ["tz_offset" if n == "recipient_tz_offset_min" else n for n in table.column_names]
    pq.write_table(table.rename_columns(names), renamed)
    argv = {
        "monitor": ["monitor", str(renamed)],
        "compare": ["compare", "default", "default", "--events", str(renamed)],
    }[command]
    assert main(argv) == 0
    assert "column(s) not read, not in schema v1: 'tz_offset'" in capsys.readouterr().out
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unread_columns"] == ["tz_offset"]


def test_alert_files_of_an_online_scorer_may_both_hold_integer_and_text_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an online scorer takes 6 and "x" as two conversations: its alerts hold both types
    production, shadow = tmp_path / "alerts.jsonl", tmp_path / "shadow.jsonl"
    production.write_text(_alerts(6, "x"))
    shadow.write_text(_alerts("x", "6"))
    out = tmp_path / "out"
    args = ["compare", "--shadow-alerts", str(shadow), "--alerts", str(production)]
    assert main([*args, "--out", str(out), "--json"]) == 0
    report = json.loads((out / "compare.json").read_text())
    # 6, "x" and "6": three conversations; "x" matched, 6 lost and "6" gained
    assert report["n_conversations"] == 3
    assert (report["alerts_gained_by_b"], report["alerts_lost_by_b"]) == (1, 1)
