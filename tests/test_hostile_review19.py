"""Hostile review 19: gaps earlier reviews left open. ``compare --shadow-alerts`` given a
file that holds no alerts; an ``--out`` that cannot be written named by an internal staging
folder; evaluation's replay feeding the online scorer ids as text (each test failed before
its fix)."""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from test_hostile_review18 import _error  # one line, no traceback

import riskscore as rs
import riskscore.evaluation.replay as replay_module
from riskscore.cli import main
from riskscore.evaluation.replay import replay
from riskscore.exceptions import SchemaError
from riskscore.io.staging import STAGING_PREFIX, staged_file, staged_outputs
from riskscore.online import OnlineScorer
from riskscore.policy import ALERT_FIELDS


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Events, and the scores and alerts `riskscore score` wrote of them (Parquet and JSON
    lines)."""
    root = tmp_path_factory.mktemp("run")
    data = rs.synthetic.generate(200, prevalence=0.05, seed=5)
    events, _ = data.write(root / "data")
    files = {"events": events}
    for fmt in ("parquet", "jsonl"):
        out = root / fmt
        assert main(["score", str(events), "--out", str(out), "--format", fmt, "--json"]) == 0
        files[f"alerts.{fmt}"], files[f"scores.{fmt}"] = (
            out / f"alerts.{fmt}",
            out / f"scores.{fmt}",
        )
    events_jsonl = root / "events.jsonl"
    pq.read_table(events).to_pandas().to_json(events_jsonl, orient="records", lines=True)
    files["events.jsonl"] = events_jsonl
    return files


# ------------------------------------------------------------------ 1. compare: not alerts


@pytest.mark.parametrize("given", ["events", "events.jsonl", "scores.parquet", "scores.jsonl"])
@pytest.mark.parametrize("option", ["--shadow-alerts", "--alerts"])
def test_compare_refuses_a_file_that_holds_no_alerts(
    run: dict[str, Path], capsys: pytest.CaptureFixture[str], given: str, option: str
) -> None:
    # every conversation of an events or scores file counted as alerted
    files = {"--shadow-alerts": run["alerts.parquet"], "--alerts": run["alerts.parquet"]}
    files[option] = run[given]
    argv = ["compare", "--shadow-alerts", str(files["--shadow-alerts"])]
    assert main([*argv, "--alerts", str(files["--alerts"])]) == 2
    err = _error(capsys, "compare")
    assert f"{run[given]}" in err
    assert "not an alert" in err
    assert "event_index" in err  # a field every alert has and neither file does


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_compare_reads_the_alerts_files_score_writes(
    run: dict[str, Path], capsys: pytest.CaptureFixture[str], fmt: str, tmp_path: Path
) -> None:
    alerts = run[f"alerts.{fmt}"]
    shadow = tmp_path / alerts.name  # a copy: one file given twice is refused
    shadow.write_bytes(alerts.read_bytes())
    assert main(["compare", "--shadow-alerts", str(shadow), "--alerts", str(alerts), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    n = pq.read_table(run["alerts.parquet"]).num_rows
    assert n > 0
    assert result["alerts"] == {"a": n, "b": n}
    assert (result["alerts_gained_by_b"], result["alerts_lost_by_b"]) == (0, 0)


def test_an_alert_line_without_the_alert_fields_is_named(tmp_path: Path) -> None:
    from riskscore.batch.shadow import read_alert_ids

    alert = rs.Alert(7, "a", "c", 12.0, "under 13", 0.8, rs.Tier.URGENT).to_dict()
    path = tmp_path / "alerts.jsonl"
    lines = [alert, {k: v for k, v in alert.items() if k not in ("risk", "tier")}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    with pytest.raises(SchemaError, match=r"alerts\.jsonl, line 2: not an alert: no risk, tier"):
        read_alert_ids(path)
    path.write_text(json.dumps({**alert, "line": 4}) + "\n")  # extra fields are fine
    assert read_alert_ids(path) == [7]
    assert set(ALERT_FIELDS) <= set(alert)


# ------------------------------------------------------------------ 2. --out not writable

_UNWRITABLE = Path("/proc")  # a folder even root cannot create files in


@pytest.mark.skipif(not _UNWRITABLE.is_dir(), reason="needs /proc")
@pytest.mark.parametrize("command", ["accounts", "score", "compare"])
def test_an_out_that_cannot_be_written_is_named_as_given(
    run: dict[str, Path], capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # the error named /proc/.riskscore-job-27x74anx, a folder the user never gave
    out = {"accounts": _UNWRITABLE / "x.parquet", "score": _UNWRITABLE, "compare": _UNWRITABLE}
    alerts, shadow = str(run["alerts.parquet"]), str(run["alerts.jsonl"])
    argv = {
        "accounts": ["accounts", str(run["events"])],
        "score": ["score", str(run["events"])],
        "compare": ["compare", "--shadow-alerts", shadow, "--alerts", alerts],
    }[command]
    assert main([*argv, "--out", str(out[command])]) == 2
    err = _error(capsys, command)
    assert STAGING_PREFIX not in err
    if command == "accounts":  # one file, written where it is named
        assert err.endswith(f": {out[command]}"), err
    else:  # a folder, checked before any work (hr68e): the path given, where nothing is made
        assert err.endswith(f": {out[command]} cannot be written: no file can be made in "
                            "/proc (No such file or directory)"), err  # fmt: skip


def test_a_write_failing_in_the_staging_folder_names_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "scores.parquet"
    with pytest.raises(OSError, match="No space left") as info, staged_file(target) as staged:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(staged))
    assert info.value.filename == str(target)
    assert not (tmp_path / "out").exists()

    def no_folder(*, prefix: str, dir: Path) -> str:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), f"{dir}/{prefix}1x")

    monkeypatch.setattr(tempfile, "mkdtemp", no_folder)
    with pytest.raises(PermissionError) as refused, staged_outputs(tmp_path) as stage:
        stage("a.txt").write_text("x")
    assert refused.value.filename == str(tmp_path)  # the folder the job writes into
    other = OSError(errno.EIO, os.strerror(errno.EIO), "/elsewhere")  # not ours: as raised
    with pytest.raises(OSError, match="/elsewhere") as kept, staged_outputs(tmp_path):
        raise other
    assert kept.value is other


# ------------------------------------------------------------------ 3. replay keeps ids


@pytest.mark.parametrize("names", [("sender_id", "recipient_id"), ("conversation_id",)])
def test_replay_feeds_the_online_scorer_the_events_of_iter_events(
    monkeypatch: pytest.MonkeyPatch, names: tuple[str, ...]
) -> None:
    data = rs.synthetic.generate(120, prevalence=0.1, seed=3)
    cols = data.messages.columns()
    first = cols[names[0]][0]  # one id beyond int64: the table holds that column as text
    for name in names:
        values = cols[name].astype(object)
        values[cols[name] == first] = 2**70
        cols[name] = values
    msgs = rs.read_messages(cols)
    fed: list[dict[str, Any]] = []

    class Recording(OnlineScorer):
        def update_one_all(self, event: Any) -> list[rs.Alert]:
            fed.append(dict(event))
            return super().update_one_all(event)

    monkeypatch.setattr(replay_module, "OnlineScorer", Recording)
    features = rs.extract_features(msgs)
    model, policy = rs.load_model(), rs.AlertPolicy.default()
    y = np.zeros(len(features), dtype=bool)
    result = replay(model, policy, msgs, features, y, budget=10**9, seed=0)
    expected = list(msgs.iter_events())
    assert fed == expected
    for name in names:
        assert {type(e[name]) for e in fed} == {int}  # 6 was fed as "6"
    # and the first alerts are those of feeding iter_events
    scorer = OnlineScorer(model, policy, idle_expiry_s=math.inf)
    alerted: dict[Any, int] = {}
    for event in expected:
        for alert in scorer.update_one_all(event):
            alerted.setdefault(alert.conversation_id, alert.event_index)
    index = {int(c): i for i, c in enumerate(features.conversation_id.tolist())}
    expected_first = np.full(len(features), -1)
    for conversation, k in alerted.items():
        expected_first[index[conversation]] = k
    assert (expected_first >= 0).any()
    assert np.array_equal(result.first_alert_index, expected_first[result.position])
