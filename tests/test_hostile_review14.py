"""Hostile review 14: the serve API's batch ids, the queue's ``--decide`` ids, report keys
and crafted checkpoints."""

from __future__ import annotations

import argparse
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, config
from serve_helpers import adult_child_event as _event

import riskscore as rs
import riskscore.online.checkpoint as checkpoint_file
from riskscore.cli import main
from riskscore.cli.entrypoint import error_message
from riskscore.features.slots import STATE_SLOTS
from riskscore.moderation import ReviewQueue
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY, transparency_report
from riskscore.policy import Alert, Tier
from riskscore.regulatory import export_all
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore

#: A key of the kind a platform keeps secret (not one printed in riskscore's documentation).
SECRET = "0f3c9a7e-platform-secret-b81d44e2-6a15c0de"


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


# ---------------------------------------------------------------------- serve: batch ids


def test_a_batch_id_reused_with_another_body_is_refused_not_replayed(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    # The retry of a batch is the same body. A client whose counter restarted (batch-1
    # again, new events) was answered with the first batch's response, "replayed", and
    # its events were never scored.
    first = json.dumps([_event(1, 0), _event(1, 60)]).encode()
    other = json.dumps([_event(2, 0), _event(2, 60)]).encode()
    headers = {"content-type": "application/json", "idempotency-key": "batch-1"}
    with TestClient(create_app(config(tmp_path, model))) as client:
        assert client.post("/v1/events", content=first, headers=headers).status_code == 200
        r = client.post("/v1/events", content=other, headers=headers)
        assert r.status_code == 422, r.text
        [refusal] = r.json()["refused"]
        assert "Idempotency-Key 'batch-1'" in refusal["message"]
        assert "another body" in refusal["message"]
        assert client.get("/healthz").json()["events"] == 2  # nothing of it applied
        again = client.post("/v1/events", content=first, headers=headers)
        assert again.status_code == 200
        assert again.json()["replayed"] is True
    # ... and after a restart, from the checkpoint.
    with TestClient(create_app(config(tmp_path, model))) as client:
        assert client.post("/v1/events", content=other, headers=headers).status_code == 422
        again = client.post("/v1/events", content=first, headers=headers)
        assert again.status_code == 200
        assert again.json()["replayed"] is True


def test_batch_ids_of_a_checkpoint_written_before_their_bodies_were_kept_replay(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    scorer = rs.OnlineScorer(model)
    scorer.checkpoint(tmp_path / "state.sqlite", extra={"batches": [["old", 200, {"x": 1}]]})
    headers = {"content-type": "application/json", "idempotency-key": "old"}
    with TestClient(create_app(config(tmp_path, model))) as client:
        r = client.post("/v1/events", content=b"[]", headers=headers)
        assert r.status_code == 200
        assert r.json() == {"x": 1, "replayed": True}


# ---------------------------------------------------------------------- queue --decide ids


def _queue(path: Path) -> dict[object, str]:
    """Open cases of adults 7, " 7", "-0", 0 and "7"; the token of each."""
    with ReviewQueue(path) as queue:
        for n, adult in enumerate([7, " 7", "-0", 0, "7"]):
            alert = Alert(100 + n, adult, f"c{n}", 11.0, "under 13", 0.5, Tier.REVIEW)
            queue.add_alert(alert, at=1_767_225_600)
        return {c.adult_id: c.token for c in queue.cases()}


@pytest.mark.parametrize(
    ("given", "adult"),
    [(" 7", " 7"), ("-0", "-0"), ("7", 7), ('"7"', "7"), ("0", 0), ('"-0"', "-0")],
)
def test_decide_reads_an_id_as_a_number_only_when_written_as_one(
    tmp_path: Path, given: str, adult: object, capsys: pytest.CaptureFixture[str]
) -> None:
    # The queue shows adult ' 7' and adult '-0' (text); --decide ' 7' was read as JSON,
    # the number 7: another adult's case, and the token was refused as not of it.
    path = tmp_path / "queue.sqlite"
    tokens = _queue(path)
    argv = ["queue", "--db", str(path), "--top", "0", "--decide", given]
    argv += ["--token", tokens[adult], "--outcome", "dismissed", "--moderator", "m"]
    assert main(argv) == 0, capsys.readouterr().err
    with ReviewQueue(path, create=False) as queue:
        assert [i.adult_id for i in queue.items() if i.status == "dismissed"] == [adult]


def test_decide_with_an_id_of_too_many_digits_is_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "queue.sqlite"
    _queue(path)
    argv = ["queue", "--db", str(path), "--top", "0", "--decide", "9" * 5000]
    argv += ["--items", "1", "--outcome", "dismissed", "--moderator", "m"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "adult_id '999" in err  # an id no case has, cut short: never looked up
    assert "(5000 characters) is longer than 256 characters" in err
    assert "4300" not in err


# ---------------------------------------------------------------------- documented keys


def _decided_queue(path: Path, *, simulation: bool) -> ReviewQueue:
    queue = ReviewQueue(path, simulation=simulation)
    alert = Alert(1, "adult", "child", 12.0, "under 13", 0.9, Tier.URGENT)
    queue.add_alert(alert, at=1_767_225_600)
    at = 1_767_225_700 if simulation else None
    token = queue.case("adult", now=None if at is None else at).token  # type: ignore[union-attr]
    queue.decide("adult", "escalated", moderator="m", token=token, at=at)
    return queue


README_KEY = "readme-demo-key-NOT-A-SECRET-0123456789"


@pytest.mark.parametrize("key", [SYNTHETIC_DEMO_KEY, README_KEY, README_KEY.encode()])
def test_a_documented_key_is_refused_for_a_queue_of_real_decisions(
    tmp_path: Path, key: str | bytes
) -> None:
    # Anyone can compute the pseudonyms under a key printed in the docs: a report or a
    # DSA statement of a real queue would name its accounts to whoever enumerates ids.
    with _decided_queue(tmp_path / "q.sqlite", simulation=False) as queue:
        with pytest.raises(ValueError, match=r"printed in riskscore's documentation"):
            transparency_report(queue, (0, 4_000_000_000), key=key)
        with pytest.raises(ValueError, match=r"printed in riskscore's documentation"):
            export_all(queue, tmp_path / "out", key=key)
        assert not (tmp_path / "out").exists()
        transparency_report(queue, (0, 4_000_000_000), key=SECRET)  # a platform's own key
    with _decided_queue(tmp_path / "sim.sqlite", simulation=True) as queue:
        transparency_report(queue, (0, 4_000_000_000), key=key)  # a simulated queue: the demo
        export_all(queue, tmp_path / "sim-out", key=key)


def test_report_and_export_refuse_a_documented_key_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _decided_queue(tmp_path / "q.sqlite", simulation=False).close()
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", README_KEY)
    db = ["--db", str(tmp_path / "q.sqlite")]
    assert main(["report", *db, "--out", str(tmp_path / "r"), "--no-charts"]) == 2
    assert main(["export", *db, "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert all("RISKSCORE_REPORT_KEY" in line for line in err), err
    assert not (tmp_path / "r" / "report.json").exists()


@pytest.mark.parametrize("period", [(0, 10**20), (0, 2**40), (-(10**12), 100)])
def test_a_period_beyond_the_calendar_is_refused_naming_it(
    tmp_path: Path, period: tuple[int, int]
) -> None:
    # It raised OverflowError ("timestamp out of range for platform time_t") or
    # "year 36812 is out of range" while writing the report's period.
    with (
        _decided_queue(tmp_path / "q.sqlite", simulation=False) as queue,
        pytest.raises(ValueError, match="is outside the times a queue holds"),
    ):
        transparency_report(queue, period, key=SECRET)


def test_the_console_report_refuses_a_documented_key_on_its_page(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    cfg = config(tmp_path, model, trusted_header="X-Remote-User", report_key=README_KEY.encode())
    _decided_queue(cfg.db, simulation=False).close()
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", None)
    store.close()
    with TestClient(create_app(cfg)) as client:
        params = {"from": "2026-01-01", "to": "2026-01-31"}
        r = client.get("/console/report", params=params, headers={"X-Remote-User": "mod-1"})
        assert r.status_code == 200
        assert "NOT-A-SECRET" in r.text
        assert 'id="report"' not in r.text


# ---------------------------------------------------------------------- crafted checkpoints


def _checkpointed(model: rs.RiskModel, path: Path) -> tuple[dict[str, Any], Any, Any]:
    scorer = rs.OnlineScorer(model)
    scorer.update_many([_event(1, 0), _event(1, 60, "b", "a"), _event(2, 30, "a", "c")])
    scorer.checkpoint(path)
    with checkpoint_file.read(path) as snap:
        meta = {k: v for k, v in snap.meta.items() if k != "checksums"}
        return meta, list(snap.conversations()), list(snap.accounts())


@pytest.mark.parametrize("slot", ["decayed_short", "decayed_long"])
@pytest.mark.parametrize("value", [0.0, -0.0, 0.5])
def test_a_decayed_count_below_one_in_a_checkpoint_is_refused(
    tmp_path: Path, model: rs.RiskModel, slot: str, value: float
) -> None:
    # A decayed count is 1 at a conversation's first event and decays toward 1 after:
    # 0 passed the check (>= 0), and the first re-scoring divided by it
    # (ZeroDivisionError while scoring an event of another conversation).
    path = tmp_path / "state.sqlite"
    meta, rows, held = _checkpointed(model, path)
    i = STATE_SLOTS.index(slot)
    changed = [(c, a, b, [[*s[0][:i], value, *s[0][i + 1 :]], *s[1:]]) for c, a, b, s in rows]
    path.unlink()
    checkpoint_file.write(path, meta, changed, held)
    with pytest.raises(rs.CheckpointError, match=rf"{path}.*{slot}"):
        rs.OnlineScorer.restore(path, model)


@pytest.mark.parametrize("version", [[], {}, 4.0, True, "4"])
def test_a_schema_version_that_is_not_an_int_is_refused(
    tmp_path: Path, model: rs.RiskModel, version: object
) -> None:
    path = tmp_path / "state.sqlite"
    meta, rows, held = _checkpointed(model, path)
    path.unlink()
    checkpoint_file.write(path, {**meta, "schema_version": version}, rows, held)
    with pytest.raises(rs.CheckpointError, match="schema version"):
        rs.OnlineScorer.restore(path, model)


# ---------------------------------------------------------------------- console sign-on


def test_a_trusted_header_sent_twice_is_refused(tmp_path: Path, model: rs.RiskModel) -> None:
    # A proxy that adds its header after the client's (instead of replacing it) passed
    # the client's first: a moderator sending "X-Remote-User: lead-1" was the lead.
    cfg = config(tmp_path, model, trusted_header="X-Remote-User")
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", None)
    store.add("lead-1", "lead", None)
    store.close()
    with TestClient(create_app(cfg)) as client:
        twice = [("X-Remote-User", "lead-1"), ("X-Remote-User", "mod-1")]
        r = client.get("/console/audit", headers=twice)
        assert r.status_code == 403
        assert "more than once" in r.text
        assert client.get("/console/audit", headers={"X-Remote-User": "lead-1"}).status_code == 200


@pytest.mark.parametrize("batches", ["x", [["id", 200]], [["id", 200, {}, "not a digest"]]])
def test_serve_refuses_malformed_batch_ids_of_its_checkpoint_before_serving(
    tmp_path: Path, model: rs.RiskModel, batches: object, capsys: pytest.CaptureFixture[str]
) -> None:
    # They were checked when the application started: uvicorn printed a 30-line traceback
    # ("Application startup failed") and exited with status 3, the file unnamed.
    checkpoint = tmp_path / "state.sqlite"
    rs.OnlineScorer(model).checkpoint(checkpoint, extra={"batches": batches})
    argv = ["serve", "--db", str(tmp_path / "q.sqlite"), "--checkpoint", str(checkpoint)]
    assert main([*argv, "--host", "127.0.0.1", "--port", "0"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert str(checkpoint) in line
    assert "'batches'" in line


@pytest.mark.parametrize(
    "extra", [{"lines": -5}, {"rejected": "x"}, {"reasons": []}, {"ignored_fields": {"a": -1}}]
)
def test_stream_names_the_checkpoint_whose_counts_are_malformed(
    tmp_path: Path,
    model: rs.RiskModel,
    extra: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkpoint = tmp_path / "state.sqlite"
    rs.OnlineScorer(model).checkpoint(checkpoint, extra=extra)
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(_event(1, 0)) + "\n"))
    assert main(["stream", "--checkpoint", str(checkpoint)]) == 2
    [line] = [e for e in capsys.readouterr().err.splitlines() if "error:" in e]
    assert str(checkpoint) in line
    assert repr(next(iter(extra))) in line


@pytest.mark.parametrize(
    "reason", ["attempt to write a readonly database", "database is locked", "disk I/O error"]
)
def test_a_queue_that_cannot_be_written_is_not_called_another_file(reason: str) -> None:
    # A read-only (or locked) queue was "queue.sqlite is not a riskscore queue (attempt to
    # write a readonly database)": a user would look for the wrong file.
    args = argparse.Namespace(db="queue.sqlite")
    message = error_message(sqlite3.OperationalError(reason), args)
    assert message is not None
    assert "not a riskscore queue" not in message
    assert message.startswith(f"cannot use queue.sqlite: {reason}")
    args = argparse.Namespace(checkpoint="state.sqlite")
    message = error_message(sqlite3.OperationalError(reason), args)
    assert message is not None
    assert message.startswith(f"cannot use state.sqlite: {reason}")
