"""Hostile review hr67c: files riskscore reads back that it (or an operator) wrote, as an
attacker or a disk fault can leave them. Each test failed before the fix."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from checkpoint_helpers import reseal

import riskscore as rs
from riskscore.batch.state_spill import read_states, write_states
from riskscore.cli import main
from riskscore.exceptions import CheckpointError, SchemaError
from riskscore.features.slots import STATE_SLOTS
from riskscore.features.states import conversation_states
from riskscore.integrations._synapse_ages import AgeSource
from riskscore.integrations._synapse_mapping import EventTranslator
from riskscore.integrations._synapse_rooms import ConversationRooms
from riskscore.integrations._synapse_store import RoomStore
from riskscore.model.bundle import shipped_model_dir
from riskscore.moderation import QueueError, ReviewQueue
from riskscore.serve.batches import remembered_batches
from riskscore.synthetic import generate

T0 = 1_700_000_000.0


def _room_state(path: Path, *statements: str) -> bytes:
    """A Synapse module room state file with a direct room and a pending invite, then
    ``statements`` run on it (as a hand edit or a disk fault would leave it); its bytes."""
    store = RoomStore(path, invite_expiry_s=3600.0)
    store.mark_direct("!dm:x")
    store.add_invite("!dm:x", "@kid:x", "@adult:x", T0)
    store.set_meta("moderation_room_id", "!mod:x")
    store.close()
    con = sqlite3.connect(path)
    for statement in statements:
        con.execute(statement)
    con.commit()
    con.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        # read as true by bool(): a group room taken for a direct chat, scored as one
        (
            "UPDATE rooms SET is_direct = 'no'",
            "table 'rooms', row 1, column 'is_direct': expected 0 or 1, found 'no'",
        ),
        ("UPDATE rooms SET is_encrypted = 7", "column 'is_encrypted': expected 0 or 1, found 7"),
        # compared with a float at the join: a TypeError, the join counted as unreadable
        (
            "UPDATE invites SET created = 'yesterday'",
            "table 'invites', row 1, column 'created': expected null or epoch seconds",
        ),
        ("UPDATE invites SET created = 9e999", "column 'created': expected null or epoch"),
        # str() of an int: a contact_accept answering an account '5' nobody has
        (
            "UPDATE invites SET inviter = 5",
            "table 'invites', row 1, column 'inviter': expected a Matrix user id",
        ),
        ("UPDATE invites SET room_id = X'00'", "column 'room_id': expected a Matrix room id"),
        (
            "UPDATE meta SET value = 'general'",
            "table 'meta', row 1, column 'value': expected a Matrix room id",
        ),
        ("INSERT INTO meta VALUES ('admin', '!x:x')", "column 'key': expected one of"),
        (
            "INSERT INTO direct_claims VALUES ('kid', '!dm:x')",
            "table 'direct_claims', row 1, column 'user_id': expected a Matrix user id",
        ),
    ],
)
def test_synapse_room_state_value_never_written_is_refused_naming_it(
    tmp_path: Path, statement: str, message: str
) -> None:
    path = tmp_path / "rooms.sqlite3"
    before = _room_state(path, statement)
    with pytest.raises(ValueError, match="restore it from a backup") as info:
        RoomStore(path, invite_expiry_s=3600.0)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before  # refused unchanged


@pytest.mark.parametrize(
    "statements",
    [
        # no primary key: a room held twice, the upsert of mark_encrypted failing later
        (
            "DROP TABLE rooms",
            "CREATE TABLE rooms (room_id TEXT, is_direct INTEGER NOT NULL DEFAULT 0, "
            "is_encrypted INTEGER NOT NULL DEFAULT 0)",
        ),
        # another version's layout: 'no such column' at the first event of a room
        ("DROP TABLE rooms", "CREATE TABLE rooms (room_id TEXT PRIMARY KEY, direct INTEGER)"),
        ("ALTER TABLE invites ADD COLUMN reason TEXT",),
    ],
)
def test_synapse_room_state_of_another_layout_is_refused(
    tmp_path: Path, statements: tuple[str, ...]
) -> None:
    path = tmp_path / "rooms.sqlite3"
    before = _room_state(path, *statements)
    with pytest.raises(ValueError, match=r"has the columns \(.*\) or keys of another layout"):
        RoomStore(path)
    assert path.read_bytes() == before


def test_synapse_room_state_as_written_and_of_before_invite_times_still_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rooms.sqlite3"
    _room_state(path)
    store = RoomStore(path, invite_expiry_s=3600.0)
    assert store.status("!dm:x") == (True, False)
    assert store.pop_invite("!dm:x", "@kid:x", T0 + 60) == "@adult:x"
    store.close()
    old = tmp_path / "old.sqlite3"  # the invites table of before 'created'
    con = sqlite3.connect(old)
    con.execute(
        "CREATE TABLE invites (room_id TEXT NOT NULL, invitee TEXT NOT NULL, "
        "inviter TEXT NOT NULL, PRIMARY KEY (room_id, invitee))"
    )
    con.execute("INSERT INTO invites VALUES ('!r:x', '@kid:x', '@adult:x')")
    con.commit()
    con.close()
    old.chmod(0o600)  # as riskscore makes its files (one open to others is refused)
    store = RoomStore(old, invite_expiry_s=3600.0)
    assert store.n_pending_invites() == 1
    store.close()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        # shown to moderators as the room the conversation is in
        (["mx-1", "general", "direct", 1_700_000_000], "room id 'general' is not a Matrix room"),
        (["mx-1", "!dm:x", "teleport", 1_700_000_000], "channel 'teleport' is not one of"),
        # the map's clock at year 30000: no entry expired again, the map grew for ever
        (["mx-1", "!dm:x", "direct", 10**12], "timestamp must be an int of epoch seconds"),
        (["mx-1", "!dm:x", "direct", -5], "timestamp must be an int of epoch seconds"),
    ],
)
def test_synapse_conversation_rooms_of_a_checkpoint_hold_rooms_channels_and_times(
    row: list[object], message: str
) -> None:
    with pytest.raises(ValueError, match="conversation room 1: ") as info:
        ConversationRooms.from_json([["mx-0", "!a:x", "group", 1_700_000_000], row], 3600.0)
    assert message in str(info.value)


def test_synapse_conversation_rooms_of_a_checkpoint_name_each_conversation_once() -> None:
    rows = [["mx-1", "!a:x", "direct", 1_700_000_000], ["mx-1", "!b:x", "group", 1_700_000_001]]
    with pytest.raises(ValueError, match="conversation room 1: conversation 'mx-1' is listed"):
        ConversationRooms.from_json(rows, 3600.0)
    rooms = ConversationRooms.from_json(rows[:1], 3600.0)
    assert rooms.get("mx-1") == ("!a:x", "direct")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        # sent back as the HTTP status of the replayed response: no status line can hold it
        ([["k1", 10**30, {}]], "entry 0: status 1000000000000000000000000000000 is not one"),
        ([["k1", 302, {}]], "entry 0: status 302 is not one a scored batch answers (200, 422)"),
        # the later entry won in silence
        ([["k1", 200, {}], ["k1", 422, {}]], "entry 1: batch id 'k1' is kept twice"),
        # a key the arrival rule refuses (a sentence: it may be message content, not shown)
        (
            [["meet me at the park after school today", 200, {}]],
            "entry 0: its batch id is text of 3 or more words, a sentence (not shown",
        ),
        ([["", 200, {}]], "entry 0: its batch id must be 1 to 200 printable characters"),
        ([["k\n1", 200, {}]], "entry 0: its batch id must be 1 to 200 printable characters"),
    ],
)
def test_serve_remembered_batches_hold_what_serve_remembers(
    entries: list[list[object]], message: str
) -> None:
    where = r"state\.sqlite: checkpoint extra 'batches', "
    with pytest.raises(CheckpointError, match=where) as info:
        remembered_batches({"batches": entries}, "state.sqlite")
    assert message in str(info.value)
    assert "park" not in str(info.value)


def _event(cid: str, t: int, recipient: str, channel: str) -> dict[str, object]:
    return {"conversation_id": cid, "timestamp": 1_714_521_600 + t, "sender_id": "a",
            "recipient_id": recipient, "channel": channel, "sender_age": 35,
            "recipient_age": 13}  # fmt: skip


def _pair_checkpoint(path: Path) -> tuple[float, float]:
    """A checkpoint in which account 'a' holds the facts of its pair with 'k0' and the
    conversation 'c1' its own (past max_account_contacts); the key of c1's first event."""
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events", max_account_contacts=1)
    scorer.update_many([_event("c0", 0, "k0", "public"), _event("c1", 10, "k1", "public")])
    scorer.checkpoint(path)
    scorer.release_checkpoints()
    with closing(sqlite3.connect(path)) as con:
        [[_, first, _]] = json.loads(
            con.execute("SELECT value FROM meta WHERE key = 'own_pairs'").fetchone()[0]
        )
    return first, first // 8


def _edited(path: Path, *, own: object = None, met: object = None) -> None:
    with closing(sqlite3.connect(path)) as con, con:
        if own is not None:
            con.execute("UPDATE meta SET value = ? WHERE key = 'own_pairs'", (json.dumps(own),))
        if met is not None:
            (state,) = con.execute("SELECT state FROM accounts WHERE id = ?", ('"a"',)).fetchone()
            account = json.loads(state)
            account[5] = met
            con.execute("UPDATE accounts SET state = ? WHERE id = ?", (json.dumps(account), '"a"'))
    reseal(path)


#: Pair facts no scorer keeps, with what each did once restored: the features read the
#: channel of the pair's first event from its key, and the hours from it to private.
_BAD_PAIRS = [
    # pair_met_channel 0.5, a channel between public and group
    (lambda first, ts: [first + 0.5, None], "pair first must be 8 x the epoch seconds"),
    # pair_met_channel 7, which no channel is
    (lambda first, ts: [ts * 8 + 7, None], "pair first must be 8 x the epoch seconds"),
    # NaN: compared false with every later event, and no checkpoint could be written again
    (lambda first, ts: [None, None], "pair first must be 8 x the epoch seconds"),
    # private a day before the pair met: pair_hours_to_private -24
    (lambda first, ts: [first, ts - 86_400], "pair private must be null or the epoch"),
    (lambda first, ts: [first, ts + 0.5], "pair private must be null or the epoch"),
]


@pytest.mark.parametrize(("facts", "message"), _BAD_PAIRS)
def test_checkpoint_pair_facts_of_a_conversation_are_refused_naming_them(
    tmp_path: Path, facts: Any, message: str
) -> None:
    path = tmp_path / "state.sqlite"
    first, ts = _pair_checkpoint(path)
    _edited(path, own=[["c1", *facts(first, ts)]])
    with pytest.raises(rs.CheckpointError, match="meta 'own_pairs' is malformed") as info:
        rs.OnlineScorer.restore(path, rs.load_model())
    assert message in str(info.value)


@pytest.mark.parametrize(("facts", "message"), _BAD_PAIRS)
def test_checkpoint_pair_facts_of_an_account_are_refused_naming_them(
    tmp_path: Path, facts: Any, message: str
) -> None:
    path = tmp_path / "state.sqlite"
    first, ts = _pair_checkpoint(path)
    _edited(path, met=[["k0", *facts(first - 80, ts - 10)]])  # c0 met ten seconds earlier
    with pytest.raises(rs.CheckpointError, match="account 'a'") as info:
        rs.OnlineScorer.restore(path, rs.load_model())
    assert message in str(info.value)


def test_checkpoint_pair_facts_as_kept_are_restored(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first, ts = _pair_checkpoint(path)
    _edited(path, own=[["c1", first, ts + 3_600]])  # private an hour after the pair met
    restored = rs.OnlineScorer.restore(path, rs.load_model())
    hours = restored.features_of("c1")[list(rs.FEATURE_NAMES).index("pair_hours_to_private")]
    assert hours == 1.0
    restored.release_checkpoints()


@pytest.mark.parametrize(
    ("slot", "value"),
    [
        ("max_channel", 2.5),  # read as the feature max_channel: no channel is 2.5
        ("comm", 1.5),  # one and a half events sent
        ("run_side", 0.5),
        ("t_last", 1_714_521_600.5),
        ("channels_used", 1.25),
    ],
)
def test_checkpoint_conversation_state_count_time_or_code_is_whole(
    tmp_path: Path, slot: str, value: float
) -> None:
    path = tmp_path / "state.sqlite"
    _pair_checkpoint(path)
    with closing(sqlite3.connect(path)) as con, con:
        (text,) = con.execute("SELECT state FROM conversations WHERE id = ?", ('"c0"',)).fetchone()
        state = json.loads(text)
        state[2][0][STATE_SLOTS.index(slot)] = value
        con.execute("UPDATE conversations SET state = ? WHERE id = ?", (json.dumps(state), '"c0"'))
    reseal(path)
    with pytest.raises(rs.CheckpointError, match="conversation 'c0'") as info:
        rs.OnlineScorer.restore(path, rs.load_model())
    assert f"state slot {slot!r} must be a whole number" in str(info.value)
    assert repr(value) in str(info.value)


def test_checkpoint_account_tallies_are_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    _pair_checkpoint(path)
    with closing(sqlite3.connect(path)) as con, con:
        (text,) = con.execute("SELECT state FROM accounts WHERE id = ?", ('"a"',)).fetchone()
        account = json.loads(text)
        account[3][0] = 1.5  # distinct contacts: one and a half accounts
        con.execute("UPDATE accounts SET state = ? WHERE id = ?", (json.dumps(account), '"a"'))
    reseal(path)
    with pytest.raises(rs.CheckpointError, match=r"account tallies must be .*whole \(counts\)"):
        rs.OnlineScorer.restore(path, rs.load_model())


@pytest.mark.parametrize("damage", ["cut", "other columns", "states cut short"])
def test_spilled_states_damaged_on_disk_are_refused_naming_the_file(
    tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "states_0000.arrow"
    states = conversation_states(generate(30, seed=1).messages)
    write_states(path, states)
    if damage == "cut":  # a pyarrow error of its own words, the file unnamed
        path.write_bytes(path.read_bytes()[:-100])
    else:
        table = pa.ipc.open_file(pa.BufferReader(path.read_bytes())).read_all()
        if damage == "other columns":
            table = table.drop_columns(["initiator_id"])
        else:  # each conversation's state one slot short: read as other rows, or refused
            short = states.states[:, :-1]
            table = table.set_column(
                4, "state", pa.FixedSizeListArray.from_arrays(pa.array(short.reshape(-1)), 43)
            )
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
    with pytest.raises(OSError, match="cannot read back the temporary conversation states") as info:
        read_states(path)
    assert str(path) in str(info.value)
    assert "run the job again" in str(info.value)


@pytest.fixture(scope="module")
def shadow_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shadow run (`riskscore score --shadow-model`) of 60 synthetic conversations."""
    root = tmp_path_factory.mktemp("shadow")
    events, _ = generate(60, prevalence=0.2, seed=4).write(root / "data")
    shadow = str(shipped_model_dir())
    assert main(["score", str(events), "--out", str(root / "run"), "--shadow-model", shadow]) == 0
    return root / "run"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (5, "found 5"),  # a TypeError in compare's summary line: 'int' is not subscriptable
        ({"a": 1}, "found {'a': 1}"),
        # its first 12 characters printed as they are: a terminal clears its screen
        ("\x1b[2J\x1b[31mfake", "found '\\x1b[2J\\x1b[31mfake'"),
    ],
)
def test_compare_refuses_a_shadow_summary_digest_that_is_not_one(
    shadow_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    value: object,
    shown: str,
) -> None:
    run = tmp_path / "run"
    shutil.copytree(shadow_run, run)
    summary = run / "shadow" / "shadow.json"
    data = json.loads(summary.read_text())
    data["shadow"]["parameters_sha256"] = value
    summary.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["compare", "--shadow-run", str(run)]) == 2
    err = capsys.readouterr().err
    assert "shadow 'parameters_sha256' must be a SHA-256 (64 lowercase hexadecimal" in err
    assert shown in err
    assert "\x1b" not in err


def test_synapse_direct_claims_keep_room_ids_and_open_an_earlier_file(tmp_path: Path) -> None:
    # a user writes m.direct: text that is no room id named no room, and was kept; kept
    # now, the room state file would be refused at the next start
    path = tmp_path / "rooms.sqlite3"
    translator = EventTranslator(RoomStore(path), AgeSource(lambda _u: None))
    translator.mark_direct_rooms({"@kid:x": ["general", "!dm:x"]}, user_id="@adult:x")
    translator.store.close()
    with closing(sqlite3.connect(path)) as con:
        assert con.execute("SELECT room_id FROM direct_claims").fetchall() == [("!dm:x",)]
        con.execute("INSERT INTO direct_claims VALUES ('@adult:x', 'general')")  # as before
        con.commit()
    store = RoomStore(path)
    assert store.direct_claimants("!dm:x") == {"@adult:x"}
    store.close()


@pytest.mark.parametrize("value", ["yes", "2", "true"])
def test_queue_whose_simulated_entry_is_neither_is_refused_unchanged(
    tmp_path: Path, value: str
) -> None:
    # read as real decisions ('1' alone is simulated): a queue made in simulation, whose
    # report may use the documented test key, passed for one of real decisions
    path = tmp_path / "queue.sqlite"
    with ReviewQueue(path, simulation=True):
        pass
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'simulated'", (value,))
    before = path.read_bytes()
    with pytest.raises(QueueError, match=f"meta 'simulated' is '{value}', not '0'"):
        ReviewQueue(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(("part", "whole"), [("minors", "contacts"), ("private_minors", "minors")])
def test_account_file_part_above_its_whole_is_refused(
    tmp_path: Path, part: str, whole: str
) -> None:
    # read as found: adult_minor_contact_share 5.0 (five minors of one account contacted)
    path = tmp_path / "accounts.parquet"
    rs.write_account_features(rs.extract_account_features(generate(60, seed=2).messages), path)
    table = pq.read_table(path)
    column = table.column(part).to_numpy().copy()
    column[3] = table.column(whole).to_numpy()[3] + 4
    table = table.set_column(table.schema.get_field_index(part), part, pa.array(column))
    pq.write_table(table, path)  # the key-value metadata kept
    with pytest.raises(SchemaError, match=f"column '{part}', row 3: ") as info:
        rs.read_account_features(path)
    assert f"is more than that row's {whole}" in str(info.value)


def test_checkpoint_account_tally_part_above_its_whole_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    _pair_checkpoint(path)
    with closing(sqlite3.connect(path)) as con, con:
        (text,) = con.execute("SELECT state FROM accounts WHERE id = ?", ('"a"',)).fetchone()
        account = json.loads(text)
        account[3][1] = 5.0  # five minors of one account contacted: a share of 5
        con.execute("UPDATE accounts SET state = ? WHERE id = ?", (json.dumps(account), '"a"'))
    reseal(path)
    with pytest.raises(rs.CheckpointError, match="account 'a' is malformed: account tally") as info:
        rs.OnlineScorer.restore(path, rs.load_model())
    assert "'minors' (5.0) is more than its 'contacts' (1.0)" in str(info.value)
