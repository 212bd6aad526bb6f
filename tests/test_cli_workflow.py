"""A platform's command-line workflow (issue 16 item 4): ``score --queue`` into the review
queue, ``accounts`` for the per-account features of a full history and ``score --accounts``
for a part of it."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _groups import with_group_rooms

import riskscore as rs
from riskscore.cli import main
from riskscore.cli.score import FROM_INPUT_NOTE


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A platform's full history: events.parquet and its accounts.parquet."""
    out = tmp_path_factory.mktemp("history")
    data = rs.synthetic.generate(1_500, prevalence=0.05, seed=7)
    rs.write_messages(data.messages, out / "events.parquet")
    argv = ["accounts", str(out / "events.parquet"), "--out", str(out / "accounts.parquet")]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def group_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full history with group rooms: pairs that met in a room before their own
    conversation (the pair facts of those conversations come from the room)."""
    out = tmp_path_factory.mktemp("group_history")
    data = rs.synthetic.generate(600, prevalence=0.05, seed=11)
    pq.write_table(with_group_rooms(data.messages, 3), out / "events.parquet")
    argv = ["accounts", str(out / "events.parquet"), "--out", str(out / "accounts.parquet")]
    assert main([*argv, "--max-room-members", "5"]) == 0
    return out


def _full_scores(history: Path) -> dict[object, float]:
    table = rs.load_model().score(rs.read_messages(history / "events.parquet"))
    return dict(zip(table.conversation_id.tolist(), table.risk.tolist(), strict=True))


@pytest.fixture(scope="module")
def full_scores(history: Path) -> dict[object, float]:
    return _full_scores(history)


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert isinstance(result, dict)
    return result


def _one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"riskscore {argv[0]}: error: ")
    return err


# ---------------------------------------------------------------- score --queue


def test_score_into_a_queue_then_show_it_and_rerun_adds_nothing(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "queue.sqlite"
    argv = ["score", str(history / "events.parquet"), "--out", str(tmp_path / "r"), "--top", "0"]
    first = _json([*argv, "--queue", str(db)], capsys)
    queued = first["queue"]
    assert isinstance(queued, dict)
    n_alerts = first["alerts"]
    assert isinstance(n_alerts, int)
    assert n_alerts > 0
    events = pq.read_table(history / "events.parquet", columns=["event"]).column("event")
    n_reports = events.to_pylist().count("report")  # each a user report (stream, serve alike)
    assert n_reports > 0
    assert queued == {
        "path": str(db),
        "alerts": n_alerts,
        "user_reports": n_reports,
        "new_items": n_alerts + n_reports,
        "open_items": n_alerts + n_reports,
        "refused": 0,
    }
    with rs.ReviewQueue(db) as queue:
        items = queue.items()
        audit = len(queue.audit_log())
    alerts = pq.read_table(tmp_path / "r" / "alerts.parquet").to_pylist()
    alerted = {i.conversation_id for i in items if i.kind == "alert"}
    assert alerted == {a["conversation_id"] for a in alerts}
    assert sum(i.kind == "user_report" for i in items) == n_reports
    # the same scoring again: nothing new, nothing changed
    again = _json([*argv, "--queue", str(db)], capsys)
    assert again["queue"] == {**queued, "new_items": 0}
    with rs.ReviewQueue(db) as queue:
        assert queue.items() == items
        assert len(queue.audit_log()) == audit
    # and the moderators' view of it
    assert main(["queue", "--db", str(db), "--top", "5"]) == 0
    shown = capsys.readouterr().out
    assert shown.count("\n#") == 5
    assert f"({n_alerts + n_reports} open items)" in shown.splitlines()[0]
    top = _json(["queue", "--db", str(db), "--top", "5"], capsys)["top"]
    assert isinstance(top, list)
    # the open item the queue's priority formula puts first (all were queued at once, so
    # waiting time ties; risk, tier and the child's youth decide) is in the top cases
    weights = rs.PriorityWeights()
    best = max(items, key=lambda i: i.priority(weights, i.created_at))
    assert any(best.conversation_id in case["conversations"] for case in top)


def test_score_prints_what_it_queued(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "q.sqlite"
    events = str(history / "events.parquet")
    assert main(["score", events, "--out", str(tmp_path / "r"), "--queue", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"review queue {db}: " in out
    assert f"see `riskscore queue --db {db}`" in out


def test_a_queue_that_is_not_a_queue_stops_score_before_any_work(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_db = tmp_path / "events.csv"
    not_db.write_text("conversation_id,timestamp\n" * 100)
    out = tmp_path / "never"
    argv = ["score", str(history / "events.parquet"), "--out", str(out), "--queue", str(not_db)]
    err = _one_line_error(argv, capsys)
    assert f"{not_db} is not a riskscore queue" in err
    assert not out.exists()


def test_score_streaming_into_a_queue_with_accounts(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The out-of-core path (--chunk-rows) queues the same alerts and joins --accounts too."""
    events = str(history / "events.parquet")
    accounts = str(history / "accounts.parquet")
    common = ["--accounts", accounts, "--top", "0"]
    memory = _json(
        ["score", events, "--out", str(tmp_path / "a"), "--queue", str(tmp_path / "a.db"), *common],
        capsys,
    )
    chunked = _json(
        [
            "score",
            events,
            "--out",
            str(tmp_path / "b"),
            "--queue",
            str(tmp_path / "b.db"),
            "--chunk-rows",
            "5000",
            *common,
        ],
        capsys,
    )
    assert memory["queue"] == {**chunked["queue"], "path": str(tmp_path / "a.db")}  # type: ignore[dict-item]
    a = pq.read_table(tmp_path / "a" / "scores.parquet")
    b = pq.read_table(tmp_path / "b" / "scores.parquet")
    assert a.column("risk").to_pylist() == b.column("risk").to_pylist()


# ---------------------------------------------------------------- accounts, score --accounts


def test_accounts_writes_the_history_with_its_time_range(
    history: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = history / "events.parquet"
    msgs = rs.read_messages(events)
    result = _json(["accounts", str(events), "--out", str(tmp_path / "a.parquet")], capsys)
    assert result["events"] == len(msgs)
    assert result["accounts"] == len(msgs.accounts)
    assert result["pairs"] == len(rs.extract_account_features(msgs).pairs) > 0
    assert result["history_start"] == int(msgs.timestamp.min())
    assert result["history_end"] == int(msgs.timestamp.max())
    assert main(["accounts", str(events), "--out", str(tmp_path / "a.parquet")]) == 0
    out = capsys.readouterr().out
    accounts, pairs = len(msgs.accounts), result["pairs"]  # counts grouped: 1,440 pairs
    assert out.startswith(f"counted {accounts:,} accounts ({pairs:,} pairs) over")
    assert f" over {len(msgs):,} events " in out
    assert "from 2026-01-01T" in out


@pytest.mark.parametrize("name", ["history", "group_history"])
def test_a_part_scored_with_the_history_scores_as_in_the_full_file(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    """Each conversation of a part scores as in the full file with --accounts, and has its
    features, the pair facts of group rooms outside the part included; alone, the
    per-account features of its adult are understated and a note says so."""
    history: Path = request.getfixturevalue(name)
    groups = ["--max-room-members", "5"] if name == "group_history" else []
    full_scores = _full_scores(history)
    msgs = rs.read_messages(history / "events.parquet")
    features = rs.extract_features(msgs)
    fanout = features.column("adult_minor_fanout")
    busiest = features.adult_id[int(np.argmax(fanout))]
    codes = np.flatnonzero(features.adult_id == busiest)[:1]  # one of its conversations
    codes = np.concatenate([codes, np.arange(0, msgs.n_conversations, 7)])
    part = tmp_path / "part.parquet"
    rs.write_messages(msgs.take_conversations(np.unique(codes)), part)

    argv = ["score", str(part), "--format", "csv", "--top", "0", *groups]
    assert (
        main(
            [
                *argv,
                "--out",
                str(tmp_path / "joined"),
                "--accounts",
                str(history / "accounts.parquet"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert FROM_INPUT_NOTE not in out
    assert f"per-account features from {history / 'accounts.parquet'}" in out
    assert main([*argv, "--out", str(tmp_path / "alone")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == FROM_INPUT_NOTE

    def risks(folder: str) -> dict[str, float]:
        with (tmp_path / folder / "scores.csv").open() as fh:
            return {r["conversation_id"]: float(r["risk"]) for r in csv.DictReader(fh)}

    joined, alone = risks("joined"), risks("alone")
    assert joined == {str(c): full_scores[c] for c in msgs.conversations[np.unique(codes)].tolist()}
    assert any(alone[c] != joined[c] for c in joined)
    # every feature, the pair facts included, as in the full file
    part_msgs = rs.read_messages(part)
    with_file = rs.extract_features(
        part_msgs, account_features=rs.read_account_features(history / "accounts.parquet")
    )
    full = dict(zip(features.conversation_id.tolist(), features.values, strict=True))
    want = np.array([full[c] for c in with_file.conversation_id.tolist()])
    np.testing.assert_array_equal(with_file.values, want)
    if name == "group_history":
        assert msgs.groups.n_rooms > 0
        met = with_file.column("pair_met_channel")
        on_own = rs.extract_features(part_msgs).column("pair_met_channel")
        assert np.isfinite(met).all()
        assert (met != on_own).any()  # pairs that met in a room outside the part


def _bad_accounts(history: Path, tmp_path: Path, change: Callable[[pa.Table], pa.Table]) -> Path:
    table = pq.read_table(history / "accounts.parquet")
    path = tmp_path / "bad.parquet"
    pq.write_table(change(table), path)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["flagged"]), "missing column 'flagged'"),
        (
            lambda t: t.set_column(
                1, "contacts", pa.array([str(v) for v in t.column(1).to_pylist()])
            ),
            "column 'contacts' must hold whole numbers >= 0, got string",
        ),
        (lambda t: t.replace_schema_metadata({}), "is not a riskscore account features file"),
    ],
)
def test_bad_accounts_files_are_one_line_and_exit_2(
    history: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[pa.Table], pa.Table],
    message: str,
) -> None:
    bad = _bad_accounts(history, tmp_path, change)
    out = tmp_path / "never"
    argv = ["score", str(history / "events.parquet"), "--out", str(out), "--accounts", str(bad)]
    assert message in _one_line_error(argv, capsys)
    assert not out.exists()


def test_accounts_of_an_older_or_another_history_are_refused(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    msgs = rs.read_messages(history / "events.parquet")
    cut = int(np.median(msgs.timestamp))
    columns = msgs.columns()
    early = {k: v[msgs.timestamp <= cut] for k, v in columns.items()}
    old = rs.write_account_features(rs.extract_account_features(early), tmp_path / "old.parquet")
    argv = ["score", str(history / "events.parquet"), "--out", str(tmp_path / "r")]
    err = _one_line_error([*argv, "--accounts", str(old)], capsys)
    assert "the events run from" in err
    assert "but the account features count events from" in err
    # out of core too, before any output is written
    chunked = ["score", str(history / "events.parquet"), "--out", str(tmp_path / "c")]
    err = _one_line_error([*chunked, "--chunk-rows", "5000", "--accounts", str(old)], capsys)
    assert "but the account features count events from" in err
    assert not (tmp_path / "c" / "scores.parquet").exists()
    # another platform's history over the same month
    other = rs.synthetic.generate(400, prevalence=0.05, seed=1).messages
    within = other.timestamp >= int(msgs.timestamp.min())
    within &= other.timestamp <= int(msgs.timestamp.max())
    part = tmp_path / "other.parquet"
    rs.write_messages(rs.read_messages({k: v[within] for k, v in other.columns().items()}), part)
    err = _one_line_error(
        [
            "score",
            str(part),
            "--out",
            str(tmp_path / "o"),
            "--accounts",
            str(history / "accounts.parquet"),
        ],
        capsys,
    )
    assert "accounts have more activity in the events than in the account features" in err
    # a file that is not there
    err = _one_line_error([*argv, "--accounts", str(tmp_path / "missing.parquet")], capsys)
    assert f"no such file or directory: {tmp_path / 'missing.parquet'}" in err


def test_a_file_to_create_in_a_missing_folder_names_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # It read "no such file or directory: .../month-queue.sqlite", the file the command
    # was about to create, as if it had to exist.
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", "riskscore-synthetic-demo-key-NOT-A-SECRET-v1")
    db = tmp_path / "demo-output" / "month-queue.sqlite"
    argv = ["report", "--synthetic-month", "--conversations", "200", "--db", str(db)]
    err = _one_line_error([*argv, "--out", str(tmp_path / "r"), "--no-charts"], capsys)
    assert f"no such directory: {db.parent} (for {db}); create it first" in err


def test_accounts_refuses_bad_output_and_quarantines_bad_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.csv"
    rs.write_messages(rs.synthetic.generate(50, seed=2).messages, events)
    lines = events.read_text().splitlines()
    header = lines[0].replace('"', "").split(",")
    bad = lines[1].split(",")
    bad[header.index("sender_age")] = "400"
    events.write_text("\n".join([lines[0], ",".join(bad), *lines[2:]]) + "\n")
    err = _one_line_error(["accounts", str(events), "--out", str(tmp_path / "a.csv")], capsys)
    assert "use a .parquet suffix" in err
    err = _one_line_error(["accounts", str(events), "--out", str(tmp_path / "a.parquet")], capsys)
    assert "column 'sender_age'" in err
    out = tmp_path / "a.parquet"
    assert main(["accounts", str(events), "--out", str(out), "--errors", "quarantine"]) == 0
    printed = capsys.readouterr().out
    assert f"quarantined: {tmp_path / 'a.quarantine.jsonl'} (1 row)" in printed
    assert rs.read_account_features(out).n_events == len(lines) - 2


@pytest.mark.parametrize("where", ["same path", "other spelling", "hard link", "in events dir"])
def test_accounts_refuses_an_output_that_is_its_input(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    events = tmp_path / "events.parquet"
    events.write_bytes((history / "events.parquet").read_bytes())
    before = events.read_bytes()
    source, out = events, events
    if where == "other spelling":
        out = tmp_path / "." / ".." / tmp_path.name / "events.parquet"
    elif where == "hard link":
        out = tmp_path / "link.parquet"
        out.hardlink_to(events)
    elif where == "in events dir":
        source, out = tmp_path, tmp_path / "accounts.parquet"
    err = _one_line_error(["accounts", str(source), "--out", str(out)], capsys)
    assert "would replace or join the events being read" in err
    assert "--out " in err
    assert ".accounts.parquet" in err
    assert events.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["events.parquet", *(["link.parquet"] if where == "hard link" else [])]
    )


def test_accounts_refuses_to_replace_a_file_that_is_not_account_features(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "ev50.parquet"
    other.write_bytes((history / "events.parquet").read_bytes())
    before = other.read_bytes()
    argv = ["accounts", str(history / "events.parquet"), "--out", str(other)]
    err = _one_line_error(argv, capsys)
    assert f"{other} exists and is not a riskscore account features file" in err
    assert other.read_bytes() == before
    out = tmp_path / "accounts.parquet"
    out.write_bytes((history / "accounts.parquet").read_bytes())
    assert main(["accounts", str(history / "events.parquet"), "--out", str(out)]) == 0
