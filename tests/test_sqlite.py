"""The one SQLite helper (riskscore/io/sqlite.py): WAL, busy timeout, new files 0600, for
the review queue, online checkpoints and the Synapse module's state."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
from pathlib import Path

import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.integrations._synapse_mapping import RoomStore
from riskscore.io import sqlite
from riskscore.io.private import UnsafeFileError

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _sidecars(path: Path) -> list[Path]:
    return [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


@posix_only
def test_new_file_is_private_in_wal_mode_with_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    old = os.umask(0o022)  # a permissive umask must not widen the mode
    try:
        con = sqlite.connect(path, timeout_s=2.5)
    finally:
        os.umask(old)
    try:
        con.execute("CREATE TABLE t (x)")
        con.execute("INSERT INTO t VALUES (1)")
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert _mode(path) == 0o600
        assert _sidecars(path), "WAL mode keeps a -wal and -shm file while open"
        for side in _sidecars(path):
            assert _mode(side) == 0o600, side
    finally:
        con.close()


@posix_only
def test_an_existing_file_others_may_read_is_refused_unchanged(tmp_path: Path) -> None:
    """Was: used as it was (its mode kept): a file another user pre-created, or one open to
    others, held account ids and ages. Now refused, naming its mode and how to fix it."""
    path = tmp_path / "shared.sqlite"
    sqlite3.connect(path).close()
    path.chmod(0o640)
    with pytest.raises(UnsafeFileError, match=r"mode 0640.*chmod 600"):
        sqlite.connect(path)
    assert _mode(path) == 0o640
    path.chmod(0o600)
    sqlite.connect(path).close()


def test_missing_file_is_not_created_when_asked_not_to(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite"
    with pytest.raises(FileNotFoundError, match="no SQLite database"):
        sqlite.connect(path, create=False)
    with pytest.raises(FileNotFoundError):
        sqlite.connect(path, read_only=True)
    assert not path.exists()


def test_read_only_connection_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite"
    con = sqlite.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.close()
    ro = sqlite.connect(path, read_only=True)
    try:
        assert ro.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.execute("INSERT INTO t VALUES (1)")
    finally:
        ro.close()


@posix_only
def test_new_review_queue_file_is_private_with_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite"
    with rs.ReviewQueue(path, timeout_s=7.0) as queue:
        con = queue._con
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 7000
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        for file in [path, *_sidecars(path)]:
            assert _mode(file) == 0o600, file


@posix_only
def test_new_checkpoint_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    scorer = rs.OnlineScorer(rs.load_model())
    scorer.update_one(
        {
            "conversation_id": 1,
            "timestamp": 1_700_000_000,
            "sender_id": "a",
            "recipient_id": "b",
            "channel": "direct",
        }
    )
    scorer.checkpoint(path)
    for file in [path, *_sidecars(path)]:
        assert _mode(file) == 0o600, file
    assert rs.OnlineScorer.restore(path, rs.load_model()).score_of(1) == scorer.score_of(1)


@posix_only
def test_new_synapse_room_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "rooms.sqlite"
    store = RoomStore(path)
    try:
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
        assert _mode(path) == 0o600
    finally:
        store.close()


def test_lock_errors_are_retried_then_raised() -> None:
    calls = []

    def locked() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")

    sqlite.retry(locked)
    assert len(calls) == 3
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        sqlite.retry(lambda: (_ for _ in ()).throw(sqlite3.OperationalError("no such table")))


@pytest.mark.parametrize(
    "open_it",
    [
        sqlite.connect,
        lambda p: sqlite.connect(p, create=False),
        lambda p: sqlite.connect(p, read_only=True),
        sqlite.open_snapshot,
    ],
)
def test_a_directory_is_refused_by_name(tmp_path: Path, open_it: object) -> None:
    """A directory given where a database file goes (``--checkpoint DIR``, ``--queue DIR``)
    was "no checkpoint at DIR" or SQLite's "unable to open database file"."""
    with pytest.raises(IsADirectoryError, match=r"is a directory: a SQLite database is one file"):
        open_it(tmp_path)  # type: ignore[operator]


def test_stream_and_score_name_a_directory_given_for_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = '{"conversation_id": 1, "timestamp": 1700000000, "sender_id": 1, "recipient_id": 2}'
    monkeypatch.setattr("sys.stdin", io.StringIO(event + "\n"))
    assert main(["stream", "--checkpoint", str(tmp_path)]) == 2
    data = tmp_path / "events.jsonl"
    data.write_text(event + "\n")
    assert main(["score", str(data), "--out", str(tmp_path / "o"), "--queue", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("is a directory: a SQLite database is one file") == 2
    assert "Traceback" not in err
