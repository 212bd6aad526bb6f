"""Hostile review 36: ``riskscore serve`` and the Synapse module against hostile input
(refusal messages naming the request's own event, a loop of symbolic links as a SQLite
file, a message from a member who has just left a two-person room, ...).

Each test failed on the code before its fix. All data is synthetic; no message text."""

from __future__ import annotations

import contextlib
import http.client
import json
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import CHEAP_HASHER, ThreadServer, config, logged_server
from synapse_helpers import _module, _Room, _run
from test_hostile_review33 import _event as event_at

import riskscore as rs
from riskscore.cli import main
from riskscore.cli import serve as serve_command
from riskscore.cli.entrypoint import build_parser
from riskscore.integrations._synapse_ages import AgeSource, make_age_source
from riskscore.integrations._synapse_config import SynapseConfigError
from riskscore.integrations._synapse_config import parse as parse_synapse_config
from riskscore.integrations._synapse_mapping import EventTranslator, RoomStore
from riskscore.io import sqlite
from riskscore.io.private import UnsafeFileError
from riskscore.moderation import QueueError, ReviewQueue
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _event(t: int = 0, **changes: Any) -> dict[str, Any]:
    """Review 33's event of conversation 1 at ``t`` seconds past 2026-01-01, changed."""
    return {**event_at(1, t), **changes}


# ------------------------------------- 1. a refusal names the request's own event index


def test_a_refused_event_is_named_by_its_index_in_the_request(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the message of an event the scorer refused said "event N" with the scorer's
    running count of events applied (``event 3`` for the request's second event), while
    the response's ``index`` was the event's position in the request."""
    with TestClient(create_app(config(tmp_path, model))) as client:
        first = client.post("/v1/events", json=[_event(t=0), _event(t=10), _event(t=20)])
        assert first.json()["accepted"] == 3, first.text
        batch = [
            _event(t=30),
            _event(t=40, timestamp="not a time"),  # the validator's message
            _event(t=-100_000),  # the scorer's own: too late for its conversation
            _event(t=50, room_size=1),
        ]
        body = client.post("/v1/events", json=batch).json()
        assert [r["index"] for r in body["refused"]] == [1, 2, 3], body
        for refused in body["refused"]:
            assert f"event {refused['index']}" in refused["message"], refused
            assert "event 4" not in refused["message"], refused  # the scorer's count
        lines = "\n".join(json.dumps(e) for e in ({}, _event(t=60, channel="telegraph")))
        ndjson = {"content-type": "application/x-ndjson"}
        body = client.post("/v1/events", content="\n" + lines, headers=ndjson).json()
        assert [r["index"] for r in body["refused"]] == [1, 2], body
        assert [r["message"].split(" ")[:2] for r in body["refused"]] == [
            ["event", "1"],
            ["column", "'channel',"],
        ]
        assert "event 2:" in body["refused"][1]["message"], body


# ---------------------------------------------- 2. a loop of symbolic links as a database


def _loop(tmp_path: Path) -> Path:
    (tmp_path / "l1").symlink_to(tmp_path / "l2")
    (tmp_path / "l2").symlink_to(tmp_path / "l1")
    return tmp_path / "l1"


def test_serve_db_that_is_a_loop_of_links_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore serve --db l1 --add-moderator NAME``, l1 and l2 links to each
    other, said "cannot use l1: unable to open database file" (SQLite's words); every
    SQLite file riskscore creates (queue, checkpoint, timeline, the Synapse module's
    state) was opened without the check that names a loop."""
    loop = _loop(tmp_path)
    for argv in (
        ["serve", "--db", str(loop), "--add-moderator", "mod-1", "--no-password"],
        ["serve", "--db", str(loop), "--port", "0"],
    ):
        # refused while the options are read (stop 48): argparse's exit 2, one error line
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "symbolic links" in err.strip().splitlines()[-1], err
        assert str(loop) in err
        assert "unable to open" not in err
    with pytest.raises(OSError, match="symbolic links"):
        ReviewQueue(loop)
    with pytest.raises(OSError, match="symbolic links"):
        sqlite.connect(loop)


# --------------------------------- 3. a message from a member who has just left the room


def _two_person_room_the_sender_left() -> _Room:
    room = _Room("!dm:x")
    room.member("@kid:x", "join")
    room.member("@adult:x", "leave")  # the state Synapse passes: after the leave
    return room


def test_a_message_of_a_member_who_has_just_left_is_scored_at_the_rooms_size(
    tmp_path: Path,
) -> None:
    """Was: a message whose room view no longer listed its sender (the sender left the
    two-person room at that moment, or the module first saw the room after the leave)
    went out with ``room_size`` 1, the members left, and the scorer refused it; a
    three-person room's was sent as a ``direct`` message. The sender was a member of the
    room when it sent the message, and counts in its size and its channel."""
    translator = EventTranslator(RoomStore(tmp_path / "r.sqlite3"), AgeSource(lambda _u: None))
    room = _two_person_room_the_sender_left()
    (row,) = translator.translate(room.message("@adult:x"), room.state)
    assert (row["recipient_id"], row["room_size"]) == ("@kid:x", 2)
    group = _Room("!g:x")
    for user in ("@kid:x", "@other:x"):
        group.member(user, "join")
    group.member("@adult:x", "leave")
    rows = translator.translate(group.message("@adult:x"), group.state)
    assert {(r["room_size"], r["channel"]) for r in rows} == {(3, "group")}  # not "direct"
    (tmp_path / "m").mkdir()
    module, _ = _module(tmp_path / "m")
    _run(module.on_new_event(room.message("@adult:x"), room.state))
    module._process(10)
    assert (module.n_scored, module.n_rejected) == (1, 0)
    assert rs.io.groups.fan_out("@a:x", ["@b:x"], 2) == (("@b:x",), 2)
    assert rs.io.groups.fan_out("@a:x", ["@b:x", "@c:x"], 2) is None  # three with a
    module._before_shutdown()


# ---------------------------- 4. a refused query's content stays out of the access log


def test_a_query_field_refused_as_content_is_not_written_to_the_access_log(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: a request whose query names a content-like field (``?text=...``) was refused
    (422), and uvicorn's access log line, written from the request's scope, held the
    query: the text riskscore refuses to take was kept in the server's log."""
    with logged_server(config(tmp_path, model)) as (server, records):
        secret = "synthetic%20words%20standing%20in%20for%20a%20message"
        for path in (f"/healthz?text={secret}", f"/console/queue?page=1&Body={secret}"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(server.url + path, timeout=60)
            refused.value.close()  # its connection
            assert refused.value.code == 422
        with urllib.request.urlopen(server.url + "/healthz?probe=1", timeout=60) as probe:
            probe.read()
    assert len(records) == 3, records
    assert not [r for r in records if "synthetic" in r], records
    assert "/healthz?probe=1" in records[-1]  # a query of no content is logged as it was


# ---------------------------------- 5. a name in the single sign-on header is UTF-8


def test_a_single_sign_on_name_is_read_as_utf8_never_as_another_account(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the ``--trusted-header`` value was read as Latin-1 (HTTP's reading of header
    bytes): the proxy's UTF-8 ``josé`` signed in as the account ``josÃ©``, another
    person's name, and the account ``josé`` could never sign in."""
    cfg = config(tmp_path, model, trusted_header="X-Remote-User")
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("josé", "lead", None)
    store.add("josÃ©", "moderator", None)  # the Latin-1 reading of the UTF-8 bytes
    store.close()
    server = ThreadServer(cfg)  # a real server: the test client re-encodes header bytes

    def shown_as(name: bytes) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            connection.putrequest("GET", "/console/audit")
            connection.putheader("X-Remote-User", name)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    try:
        status, page = shown_as("josé".encode())
        assert status == 200, page  # the lead's page: josé, not josÃ©
        assert shown_as("josÃ©".encode())[0] == 403  # a moderator's name, as set
        status, page = shown_as(b"jos\xe9")  # not UTF-8: no account is guessed
        assert status == 403
        assert "UTF-8" in page
    finally:
        server.stop()


# ----------------------------------------- 6. an API token a client can send as set


@pytest.mark.parametrize(
    "token", ["pässwort-of-synthetic-tests", " token-with-a-space-before", "token\twith-tab"]
)
def test_an_api_token_no_client_can_send_as_set_is_refused_at_start(
    tmp_path: Path, model: rs.RiskModel, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    """Was: an API token with characters beyond ASCII, or with white space (which HTTP
    strips from a header's ends) was taken: a client sending it as set (in UTF-8) was
    refused 401 on every request, and only its Latin-1 bytes were let in."""
    with pytest.raises(ValueError, match="api_token") as caught:
        config(tmp_path, model, api_token=token)
    assert token.strip() not in str(caught.value)  # a secret is never shown
    monkeypatch.setenv("RISKSCORE_SESSION_KEY", "a session key of synthetic tests 0123456789")
    monkeypatch.setenv("RISKSCORE_API_TOKEN", token)
    checkpoint = tmp_path / "c.sqlite"
    args = build_parser().parse_args(
        ["serve", "--db", str(tmp_path / "q.sqlite"), "--checkpoint", str(checkpoint)]
    )
    with pytest.raises(ValueError, match="RISKSCORE_API_TOKEN"):
        serve_command._config(args)
    assert not checkpoint.exists()  # refused before any file is made
    config(tmp_path, model, api_token="Abc-123._~+/=")  # RFC 6750's characters are taken


# ------------------------------------ 7. an age table named like an SQL keyword


def test_an_age_table_named_like_an_sql_keyword_is_read(tmp_path: Path) -> None:
    """Was: ``ages: {sqlite: FILE, table: order}`` (a table SQLite holds under that name)
    was refused as "FILE is not an SQLite database: near "order": syntax error": the name
    went into the SQL unquoted."""
    db = tmp_path / "ages.sqlite3"
    with contextlib.closing(sqlite3.connect(db)) as con, con:
        con.execute('CREATE TABLE "order" (user_id TEXT, age REAL)')
        con.execute("INSERT INTO \"order\" VALUES ('@kid:x', 12.5)")
    raw = {"state_dir": str(tmp_path / "s"), "alerts": {"jsonl": str(tmp_path / "a")}}
    settings = parse_synapse_config({**raw, "ages": {"sqlite": str(db), "table": "order"}})
    assert make_age_source(settings.ages).get("@kid:x").age == 12.5


# ----------------------------------------- 8. a user listed twice in the ages file


def test_a_user_listed_twice_in_the_ages_csv_is_refused_naming_both_lines(
    tmp_path: Path,
) -> None:
    """Was: a CSV age source listing one user twice (two declared ages) kept the last row
    and dropped the other without a word: the module scored the user with one age of two,
    chosen by the order of the file."""
    ages = tmp_path / "ages.csv"
    ages.write_text("user_id,age\n@kid:x,12\n@adult:x,34\n@kid:x,31\n", encoding="utf-8")
    raw = {"state_dir": str(tmp_path / "s"), "alerts": {"jsonl": str(tmp_path / "a")}}
    settings = parse_synapse_config({**raw, "ages": {"csv": str(ages)}})
    with pytest.raises(SynapseConfigError, match="@kid:x") as caught:
        make_age_source(settings.ages)
    assert "lines 2 and 4" in caught.value.msg
    assert caught.value.path == ("ages", "csv")


# ------------------------------- 9. a new database through a link to a missing file


def test_a_database_through_a_link_to_a_missing_file_is_refused(tmp_path: Path) -> None:
    """Was: ``--db queue.sqlite``, a symbolic link to a file not made yet, created the
    queue readable by everyone (mode 0644 under the usual umask): the file made with mode
    0600 was looked for at the link, which exists, so SQLite made the target itself. Then
    the target was made 0600. Now a link is refused (another user may have planted it),
    and nothing is created at its target."""
    for name, open_store in (
        ("queue", lambda path: ReviewQueue(path).close()),
        ("state", lambda path: sqlite.connect(path).close()),
    ):
        link, target = tmp_path / f"{name}.sqlite", tmp_path / f"{name}-target.sqlite"
        link.symlink_to(target)
        with pytest.raises(UnsafeFileError, match="is a symbolic link"):
            open_store(link)
        assert not target.exists(), name


# ------------------------- 10. two accounts whose names are the same text, shown alike


def test_an_account_named_as_another_in_another_unicode_form_is_refused(tmp_path: Path) -> None:
    """Was: ``josé`` (one character é) and ``jose\\u0301`` (e and a combining accent) were
    two accounts: the same name on every page and in the audit and access logs, each
    decision attributed to a name that two people held."""
    store = ModeratorStore(tmp_path / "queue.sqlite", hasher=CHEAP_HASHER)
    try:
        store.add("josé", "lead", None)
        with pytest.raises(QueueError, match="josé") as caught:
            store.add("jose\u0301", "moderator", None)
        assert "Unicode" in str(caught.value)
        assert store.names() == ["josé"]
        store.add("josé", "lead", None)  # the same account changed: as ever
        store.add("José", "moderator", None)  # another name (case shows on every page)
    finally:
        store.close()
