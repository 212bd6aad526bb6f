"""Hostile review 33: small defects earlier reviews noticed and left alone (the serve
extra checked whole, the last day ``--end`` takes, a loop of links named, a CSV cell
that is not UTF-8, long values cut in messages, the media type under an
Idempotency-Key, the library's cap on synthetic conversations).

Each test failed on the code before its fix."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import uvicorn
from fastapi.testclient import TestClient
from serve_helpers import T0, config
from serve_helpers import adult_child_event as _event

import riskscore as rs
from riskscore.cli import main
from riskscore.cli._time import parse_end, parse_epoch
from riskscore.moderation import ReviewQueue
from riskscore.serve import create_app
from riskscore.vignettes import VignetteFileError, read_vignette

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


# ----------------------------------------------------- 1. serve: the whole extra, first


@pytest.mark.parametrize("hidden", ["fastapi", "python_multipart"])
def test_serve_without_a_library_of_the_extra_stops_before_any_side_effect(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    hidden: str,
) -> None:
    """Was: with uvicorn installed but FastAPI missing, ``riskscore serve`` printed its
    session-key notice, restored the checkpoint (leaving its ``.lock`` file) and loaded
    the model before its one-line "install the serve extra" error; without
    python-multipart it served, and every console sign-in failed (status 500)."""
    for name in [n for n in sys.modules if n == hidden or n.startswith(f"{hidden}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, hidden, None)
    for name in [n for n in sys.modules if n.startswith("riskscore.serve.")]:
        if name.rsplit(".", 1)[1] in {"app", "api", "console"}:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.delenv("RISKSCORE_SESSION_KEY", raising=False)

    def no_server(*args: object, **kwargs: object) -> None:  # never serve from a test
        raise AssertionError("serve started a server without its extra")

    monkeypatch.setattr(uvicorn, "Server", no_server)
    db, state = tmp_path / "q.sqlite", tmp_path / "state.sqlite"
    code = main(["serve", "--db", str(db), "--checkpoint", str(state), "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "pip install 'riskscore-metadata[serve]'" in err
    assert hidden in err
    assert "RISKSCORE_SESSION_KEY" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ------------------------------------------------------------ 2. the last day of --end


def test_end_of_a_period_names_the_last_day_it_takes() -> None:
    """Was: ``--end 2200-01-01`` was refused as out of range with "times are from
    1970-01-01 (0) to 2200-01-01": the very value refused, because a day given as the
    end is included (its end is 2200-01-02)."""
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        parse_end("2200-01-01")
    assert "2199-12-31" in str(caught.value)
    assert parse_end("2199-12-31") == 7_258_118_400
    with pytest.raises(argparse.ArgumentTypeError) as start:  # a start's message is as was
        parse_epoch("2200-01-02")
    assert "2199-12-31" not in str(start.value)


# ------------------------------------------------------ 3. a loop of links as the queue


def test_a_queue_path_that_is_a_loop_of_links_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore queue --db l1``, l1 and l2 links to each other, said "no review
    queue at l1", as if nothing were there."""
    (tmp_path / "l1").symlink_to(tmp_path / "l2")
    (tmp_path / "l2").symlink_to(tmp_path / "l1")
    loop = tmp_path / "l1"
    assert main(["queue", "--db", str(loop)]) == 2
    err = capsys.readouterr().err
    assert "symbolic links" in err, err
    assert "l1" in err
    assert "no review queue" not in err
    with pytest.raises(OSError, match="symbolic links"):
        ReviewQueue(loop, create=False)
    events = tmp_path / "events.csv"
    events.write_text("conversation_id\n", encoding="utf-8")
    out = str(tmp_path / "m")
    assert main(["train", "--from-queue", str(loop), "--events", str(events), "--out", out]) == 2
    err = capsys.readouterr().err
    assert "symbolic links" in err, err
    assert "no review queue" not in err


# ------------------------------------------------- 4. a CSV cell of ids that is not UTF-8


def test_a_csv_id_cell_not_utf8_says_so_and_parquet_bytes_keep_their_message(
    tmp_path: Path,
) -> None:
    """Was: an id cell of a CSV file that is not valid UTF-8 was refused as "is bytes,
    not an id: decode it to text", which a CSV file's user cannot act on."""
    header = b"conversation_id,sender_id,recipient_id,timestamp,channel\n"
    rows = [b"c1,a,b,%d,direct" % T0, b"c1,\xe9,b,%d,direct" % (T0 + 60)]
    path = tmp_path / "events.csv"
    path.write_bytes(header + b"\n".join(rows) + b"\n")
    with pytest.raises(rs.SchemaError, match=r"column 'sender_id', row 1") as caught:
        rs.read_messages(path, max_future_s=float("inf"))
    assert "not UTF-8 text" in str(caught.value)
    assert "decode it" not in str(caught.value)
    held = rs.read_messages(path, errors="quarantine", max_future_s=float("inf")).quarantined
    assert held.column == ("sender_id",)
    assert "not UTF-8 text" in held.reason[0]
    arrow = pa.table(
        {
            "conversation_id": ["c1", "c1"],
            "sender_id": pa.array([b"a", b"b"]),
            "recipient_id": ["b", "a"],
            "timestamp": [T0, T0 + 60],
            "channel": ["direct", "direct"],
        }
    )
    with pytest.raises(rs.SchemaError, match="is bytes, not an id: decode it to text"):
        rs.read_messages(arrow, max_future_s=float("inf"))


# ------------------------------------------------------------- 5. long values cut short


def test_a_model_dir_too_long_for_a_file_name_is_cut_in_the_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: a 5,000-character ``RISKSCORE_MODEL_DIR`` ended the command with "File name
    too long:" and the whole path, 5,000 characters on one line."""
    events = tmp_path / "events.parquet"
    rs.synthetic.generate_parquet(events, 5, seed=1)
    monkeypatch.setenv("RISKSCORE_MODEL_DIR", str(tmp_path / ("a" * 5000)))
    assert main(["score", str(events), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "too long" in err.lower(), err[:300]
    assert len(err) < 300, err[:300]


def test_a_vignette_number_of_400_digits_is_cut_in_the_error(tmp_path: Path) -> None:
    """Was: a vignette's age or day of 400 digits was quoted whole in the error."""
    source = ROOT / "riskscore" / "vignettes" / "data" / "b01-parent-child-10-daytime-months.toml"
    text = source.read_text(encoding="utf-8")
    for before, key in [("age = 41", "age"), ("day = 0", "day"), ("events = 260", "events")]:
        path = tmp_path / f"b90-{key}.toml"
        path.write_text(text.replace(before, before.split("=")[0] + "= " + "9" * 400))
        with pytest.raises(VignetteFileError) as caught:
            read_vignette(path)
        assert len(str(caught.value)) < 200, str(caught.value)
        assert "400 characters" in str(caught.value) or "..." in str(caught.value)


# ------------------------------------------------- 6. Idempotency-Key: the media type too


def test_a_batch_id_binds_the_media_type_as_well_as_the_body(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the key bound the body's digest only: a batch refused (422) for being sent
    as JSON lines was replayed, refused again, after the client fixed only its
    Content-Type, and its events were never scored."""
    body = json.dumps([_event(1, 0), _event(1, 60)]).encode()  # one line: an array
    key = {"idempotency-key": "batch-1"}
    lines = {**key, "content-type": "application/x-ndjson"}
    as_json = {**key, "content-type": "application/json; charset=utf-8"}
    with TestClient(create_app(config(tmp_path, model))) as client:
        first = client.post("/v1/events", content=body, headers=lines)
        assert first.status_code == 422, first.text
        assert first.json()["accepted"] == 0
        fixed = client.post("/v1/events", content=body, headers=as_json)
        assert "replayed" not in fixed.json(), fixed.text
        assert fixed.status_code == 422
        assert "Content-Type" in fixed.json()["refused"][0]["message"]
        again = client.post("/v1/events", content=body, headers=lines)  # a retry replays
        assert again.json()["replayed"] is True
        other = {**as_json, "idempotency-key": "batch-2"}
        assert client.post("/v1/events", content=body, headers=other).status_code == 200


# -------------------------------------------- 7. the library's cap on synthetic samples


@pytest.mark.parametrize("n", [10**12, 10_000_001])
def test_generate_names_n_conversations_beyond_the_cap(tmp_path: Path, n: int) -> None:
    """Was: ``generate(10**12)`` raised MemoryError ("Unable to allocate 74.5 GiB")
    where the command line refuses more than 10 million conversations by name."""
    with pytest.raises(ValueError, match=r"n_conversations must be an integer from 1 to 10000000"):
        rs.synthetic.generate(n, seed=0)
    with pytest.raises(ValueError, match=r"n_conversations must be an integer from 1 to 10000000"):
        rs.synthetic.generate_parquet(tmp_path / "x.parquet", n, seed=0)
    assert not (tmp_path / "x.parquet").exists()
