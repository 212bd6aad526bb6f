"""Group conversations (riskscore/io/groups.py): the one rule, end to end.

A room of three or more accounts is split into one conversation per pair of accounts, by
the same rule in batch reading, out of core, online and the Synapse module (the Spark and
online paths are also in tests/test_conformance.py). A group chat is never cut to the pair
of its first event, and a fragment is never scored as the whole conversation. All data is
synthetic.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch.out_of_core import score_parquet
from riskscore.cli import main
from riskscore.io.groups import (
    broadcast_mask,
    fan_out,
    group_contact_mask,
    is_broadcast,
    is_group_contact,
    pair_conversation_id,
)

T0 = 1_714_521_600
#: Two group chats (three and four accounts), then a direct chat; no room_size column,
#: as a platform export with one row per (message, member reached) gives it.
AGES = {"coach": 41, "kid1": 12, "kid2": 13, "kid3": 14, "mentor": 38, "x": 30, "y": 15}
ROOMS = {"club": ("coach", "kid1", "kid2"), "game": ("mentor", "kid1", "kid2", "kid3")}


def _group_csv(path: Path) -> Path:
    rows = ["conversation_id,timestamp,sender_id,recipient_id,sender_age,recipient_age,channel"]
    t = T0
    for room, members in ROOMS.items():
        for _ in range(3):
            for sender in members:
                t += 60
                for recipient in members:
                    if recipient != sender:
                        rows.append(
                            f"{room},{t},{sender},{recipient},{AGES[sender]},"
                            f"{AGES[recipient]},group"
                        )
    rows += [f"dm,{t + 60},x,y,30,15,direct", f"dm,{t + 120},y,x,15,30,direct"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _expected_pairs() -> set[str]:
    return {
        pair_conversation_id(room, a, b)
        for room, members in ROOMS.items()
        for a, b in combinations(members, 2)
    } | {"dm"}


# ---------------------------------------------------------------- the rule


def test_pair_ids_are_symmetric_per_room_and_readable() -> None:
    assert pair_conversation_id("g", "b", "a") == pair_conversation_id("g", "a", "b") == "g|a|b"
    assert pair_conversation_id("g", 10, 9) == "g|10|9"  # text order, as batch sorts them
    assert pair_conversation_id(None, "a", "b") == "a|b"


def test_fan_out_and_the_masks_follow_one_rule() -> None:
    assert fan_out("a", ["a", "b", "c"], 3) == (("b", "c"), 3)
    assert fan_out("a", ["a", "b", "c", "d"], 3) is None
    # rooms of 3 and 4 are private circles, from 5 group contact (GROUP_MIN_ROOM_SIZE)
    sizes = np.array([0, 2, 3, 4, 5, 21, 5, 21], dtype=np.int32)
    events = np.array([0, 0, 0, 0, 0, 0, 3, 5], dtype=np.uint8)  # message x6, block, media
    assert group_contact_mask(sizes, events).tolist() == [
        is_group_contact(int(r), int(e)) for r, e in zip(sizes, events, strict=True)
    ]
    assert group_contact_mask(sizes, events).tolist() == [False] * 4 + [True, True, False, True]
    assert broadcast_mask(sizes, events, 20).tolist() == [
        is_broadcast(int(r), int(e), 20) for r, e in zip(sizes, events, strict=True)
    ]
    assert broadcast_mask(sizes, events, 20).tolist() == [False] * 5 + [True, False, True]


def test_bad_max_room_members_is_refused() -> None:
    one = {"conversation_id": [1], "timestamp": [T0], "sender_id": [1], "recipient_id": [2]}
    with pytest.raises(ValueError, match="max_room_members"):
        rs.read_messages({**one, "channel": ["direct"]}, max_room_members=1)


# ---------------------------------------------------------------- a CSV with group chats


@pytest.mark.parametrize("errors", ["raise", "quarantine"])
def test_every_pair_of_every_group_chat_is_scored_nothing_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], errors: str
) -> None:
    events = _group_csv(tmp_path / "events.csv")
    out = tmp_path / "out"
    code = main(["score", str(events), "--out", str(out), "--format", "csv", "--errors", errors])
    assert code == 0
    printed = capsys.readouterr().out
    assert "2 group conversations of more than two accounts split into 9 pair" in printed
    assert "without room_size" in printed
    assert not (out / "quarantine.jsonl").exists()
    scores = pacsv.read_csv(out / "scores.csv", convert_options=pacsv.ConvertOptions(
        column_types={"conversation_id": pa.string(), "adult_id": pa.string(),
                      "child_id": pa.string()})).to_pylist()  # fmt: skip
    assert {r["conversation_id"] for r in scores} == _expected_pairs()
    by_id = {r["conversation_id"]: r for r in scores}
    # every adult-child pair of each room: the adult as adult, the child as child
    for room, members in ROOMS.items():
        adult = members[0]
        for kid in members[1:]:
            row = by_id[pair_conversation_id(room, adult, kid)]
            assert (row["adult_id"], row["child_id"]) == (adult, kid)
    # and the rows add up: every event is in exactly one scored conversation
    msgs = rs.read_messages(events)
    n_rows = len(events.read_text(encoding="utf-8").splitlines()) - 1
    assert len(msgs) == n_rows
    assert msgs.groups.n_rooms == 2


def test_a_fragment_is_never_scored_as_the_whole_conversation(tmp_path: Path) -> None:
    """Before: quarantine kept the rows of a group's first pair and scored that fragment
    under the group's id. Now no conversation carries the room's own id."""
    msgs = rs.read_messages(_group_csv(tmp_path / "e.csv"), errors="quarantine")
    ids = set(msgs.conversations.tolist())
    assert not ids & set(ROOMS)
    assert len(msgs.quarantined) == 0
    model = rs.load_model()
    scores = model.score(msgs)
    assert set(scores.conversation_id.tolist()) == _expected_pairs()


def _room_and_town(path: Path, town_size: int) -> Path:
    """A coach's messages to a room of 3 (``room_size`` given) and one to a town square of
    ``town_size`` accounts, as JSON lines."""
    rows = [
        {"conversation_id": "g", "timestamp": T0 + i, "sender_id": "coach", "recipient_id": k,
         "sender_age": 41, "recipient_age": 12, "channel": "group", "room_size": 3}
        for i, k in enumerate(("kid1", "kid2"))
    ] + [
        {"conversation_id": "town", "timestamp": T0 + 5, "sender_id": "coach",
         "recipient_id": "kid3", "sender_age": 41, "recipient_age": 12, "channel": "public",
         "room_size": town_size},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_group_contact_with_room_size_and_broadcasts_in_the_json_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _room_and_town(tmp_path / "events.jsonl", town_size=500)
    assert main(["score", str(path), "--out", str(tmp_path / "o"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["conversations"] == 2
    assert any("1 event to rooms above max_room_members" in g for g in summary["groups"])
    assert main(["score", str(path), "--out", str(tmp_path / "o2"), "--json",
                 "--max-room-members", "500"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["conversations"] == 3


def test_accounts_takes_the_room_size_option_of_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``riskscore accounts --max-room-members`` sets broadcasts aside as ``score`` does (one
    option definition): a part scored with the same value joins the file."""
    path = _room_and_town(tmp_path / "events.jsonl", town_size=30)
    counted = {}
    for n in ("20", "30"):
        out = tmp_path / f"accounts{n}.parquet"
        argv = ["accounts", str(path), "--out", str(out), "--max-room-members", n, "--json"]
        assert main(argv) == 0
        counted[n] = json.loads(capsys.readouterr().out)["events"]
    assert counted == {"20": 2, "30": 3}  # the room of 30 is a broadcast below 30
    # scored with the value the file was built with, the part joins it
    argv = ["score", str(path), "--out", str(tmp_path / "o"), "--json"]
    accounts = ["--accounts", str(tmp_path / "accounts30.parquet")]
    assert main([*argv, *accounts, "--max-room-members", "30"]) == 0
    assert json.loads(capsys.readouterr().out)["conversations"] == 3
    # the same help and the same refusal as score's
    with pytest.raises(SystemExit) as exit_info:  # argparse's usage error, as for score
        main(["accounts", str(path), "--out", str(tmp_path / "a.parquet"),
              "--max-room-members", "1"])  # fmt: skip
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "'1' is not a room size: expected a whole number of accounts, 2 or more" in err
    helps = []
    for command in ("accounts", "score"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        helps.append(text[text.index("--max-room-members N rooms") :].split(" --", 1)[0])
    assert helps[0] == helps[1]
    assert "(default: 20 accounts)" in helps[0]


# ---------------------------------------------------------------- out of core


def test_out_of_core_splits_groups_as_in_memory(tmp_path: Path) -> None:
    # integer conversation ids, rows shuffled: the groups make every id text, as in memory
    table = pacsv.read_csv(_group_csv(tmp_path / "e.csv"))
    codes = {"club": 3, "game": 1, "dm": 2}
    rooms = pa.array([codes[c] for c in table["conversation_id"].to_pylist()])
    table = table.set_column(0, "conversation_id", rooms)
    order = np.random.default_rng(3).permutation(table.num_rows)
    path = tmp_path / "events.parquet"
    pq.write_table(table.take(pa.array(order)), path, row_group_size=7)
    result = score_parquet(path, tmp_path / "out", chunk_rows=5)
    got = pq.read_table(result.scores_path).to_pylist()
    expected = rs.load_model().score(rs.read_messages(path))
    assert result.groups.n_rooms == 2
    assert result.groups.n_pairs == 9
    risk = dict(zip(expected.conversation_id.tolist(), expected.risk.tolist(), strict=True))
    assert {r["conversation_id"]: r["risk"] for r in got} == risk
    assert "1|kid1|mentor" in risk
