"""Integer ids beyond int64 (held as decimal text, riskscore/io/ids.py) survive writing:
``read_messages(write_messages(t))`` is ``t`` again, integers still, so a part written by
riskscore joins the account features of its history; and online an account's integer id
stays that integer whatever the size of the id it meets. All data is synthetic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.io.events import parse_event
from riskscore.io.validate import validate_one

BIG = 2**64 - 7
T0 = 1_700_000_000
ID_COLUMNS = ("conversation_id", "sender_id", "recipient_id")


def _events(**ids: list[Any]) -> dict[str, Any]:
    """Four events of two conversations (6 and 7; 6 to 8, twice), with the columns of
    ``ids`` replaced."""
    events: dict[str, Any] = {
        "conversation_id": [1, 1, 2, 2],
        "timestamp": [T0, T0 + 60, T0 + 120, T0 + 180],
        "sender_id": [6, 7, 6, 6],
        "recipient_id": [7, 6, 8, 8],
        "sender_age": [35.0, 12.0, 35.0, 35.0],
        "recipient_age": [12.0, 35.0, 13.0, 13.0],
        "channel": ["direct"] * 4,
    }
    events.update(ids)
    return events


def _read(source: Any, **kwargs: Any) -> rs.MessageTable:
    return rs.read_messages(source, max_future_s=float("inf"), **kwargs)


def _big_in(column: str) -> rs.MessageTable:
    """A table whose ``column`` (or every id column, for "all") holds an id beyond int64:
    an account's id (8, or 6 in the sender column), a conversation's, or those of
    conversation 1 and account 7 (two people, whatever the columns)."""
    names = ID_COLUMNS if column == "all" else (column,)
    rows = {"conversation_id": (0, 1), "sender_id": (2, 3), "recipient_id": (2, 3)}
    if column == "all":
        rows.update(sender_id=(1,), recipient_id=(0,))
    changes = {}
    for name in names:
        ids = _events()[name]
        for row in rows[name]:
            ids[row] = BIG
        changes[name] = pa.array(ids, pa.uint64())
    return _read(pa.table(_events(**changes)))


def _assert_same(back: rs.MessageTable, table: rs.MessageTable) -> None:
    assert back.decimal_ids == table.decimal_ids
    for name in (*ID_COLUMNS, "accounts", "conversations"):
        got, want = getattr(back, name), getattr(table, name)
        assert got.dtype == want.dtype, name
        assert got.tolist() == want.tolist(), name
    assert type(back.conversation_id) is type(table.conversation_id)  # decimal text or not
    np.testing.assert_array_equal(back.timestamp, table.timestamp)
    np.testing.assert_array_equal(back.sender_code, table.sender_code)


@pytest.mark.parametrize("column", [*ID_COLUMNS, "all"])
@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_a_table_with_ids_beyond_int64_reads_back_as_written(
    tmp_path: Path, column: str, suffix: str
) -> None:
    """Was: the decimal text was written as text, read back as text ids (decimal_ids
    False): integers 6 and 2**64 - 7 had become text "6" and "18446744073709551609"."""
    table = _big_in(column)
    assert table.decimal_ids == (column != "conversation_id")
    path = rs.write_messages(table, tmp_path / f"events{suffix}")
    _assert_same(_read(path), table)
    if suffix == ".parquet":
        schema = pq.read_schema(path)
        for name in ID_COLUMNS:
            beyond = column in (name, "all") or (name != "conversation_id" and table.decimal_ids)
            assert schema.field(name).type == (pa.uint64() if beyond else pa.int64()), name
    else:
        assert f'"{column if column != "all" else "sender_id"}":{BIG},' in path.read_text()


@pytest.mark.parametrize("column", [*ID_COLUMNS, "all"])
def test_arrow_and_pandas_give_the_integers_back(column: str) -> None:
    table = _big_in(column)
    _assert_same(_read(table.to_arrow()), table)
    _assert_same(_read(table.to_pandas()), table)


def test_csv_holds_every_id_as_text(tmp_path: Path) -> None:
    """CSV ids are text by rule (docs/schema.md), as for ids within int64: the same
    digits come back, as text ids."""
    table = _big_in("all")
    back = _read(rs.write_messages(table, tmp_path / "events.csv"))
    assert not back.decimal_ids
    for name in ID_COLUMNS:
        assert getattr(back, name).tolist() == getattr(table, name).tolist()
    small = _read(_events())
    assert _read(rs.write_messages(small, tmp_path / "small.csv")).accounts.dtype == object


@pytest.mark.parametrize("column", ID_COLUMNS)
@pytest.mark.parametrize(("other", "why"), [(-5, "negative"), (2**64, "beyond uint64")])
@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_integers_no_arrow_type_holds_together_are_refused(
    tmp_path: Path, column: str, other: int, why: str, suffix: str
) -> None:
    ids = _events()[column]
    ids[0], ids[2] = BIG if why == "negative" else 9, other
    if column == "conversation_id":
        ids[3] = other
    table = _read(_events(**{column: np.asarray(ids, dtype=object)}))
    with pytest.raises(rs.SchemaError) as e:
        rs.write_messages(table, tmp_path / f"events{suffix}")
    assert e.value.column == column
    assert e.value.row == 2
    assert e.value.value == other
    assert f"column {column!r}, row 2: {other}" in str(e.value)
    assert not (tmp_path / f"events{suffix}").exists()


def test_a_decimal_table_whose_ids_fit_in_int64_is_written_as_int64(tmp_path: Path) -> None:
    """The id beyond int64 was on a quarantined row: the kept ids are decimal text that
    fits in int64, written as int64 and read back as integers (decimal_ids is how a table
    holds them, not a kind of its own: an account features file of either joins both)."""
    ids = pa.array([BIG, 7, 6, 6], pa.uint64())
    events = _events(sender_id=ids, timestamp=[-1, T0 + 60, T0 + 120, T0 + 180])
    table = _read(pa.table(events), errors="quarantine")
    assert table.decimal_ids
    assert len(table.quarantined) == 1
    back = _read(rs.write_messages(table, tmp_path / "events.parquet"))
    assert back.accounts.dtype == np.int64
    assert back.accounts.tolist() == [int(v) for v in table.accounts.tolist()]
    assert back.sender_id.tolist() == [int(v) for v in table.sender_id.tolist()]


def test_a_group_room_beyond_int64_writes_its_pair_ids_as_text(tmp_path: Path) -> None:
    events = _events(
        conversation_id=pa.array([BIG] * 4, pa.uint64()),
        recipient_id=[7, 8, 8, 7],
        room_size=[3] * 4,
    )
    table = _read(pa.table(events))
    assert table.groups.n_rooms == 1
    back = _read(rs.write_messages(table, tmp_path / "events.parquet"))
    assert back.conversation_id.tolist() == table.conversation_id.tolist()


# --------------------------------- a part written by riskscore joins its history's accounts


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """big.parquet: uint64 account ids, one of them 2**64 - 7 (as in
    tests/test_account_ids_beyond_int64.py); acc.parquet: its account features file."""
    out = tmp_path_factory.mktemp("ids64rt")
    table = rs.synthetic.generate(200, prevalence=0.05, seed=3).messages.to_arrow()
    chosen = table["sender_id"][table.num_rows - 1]
    for name in ("sender_id", "recipient_id"):
        ids = pc.cast(pc.subtract(table[name], 999_995), pa.uint64())
        big = pc.if_else(pc.equal(table[name], chosen), pa.scalar(BIG, pa.uint64()), ids)
        table = table.set_column(table.column_names.index(name), name, big)
    pq.write_table(table, out / "big.parquet")
    assert main(["accounts", str(out / "big.parquet"), "--out", str(out / "acc.parquet")]) == 0
    return out


@pytest.mark.parametrize("with_big", [False, True])
def test_a_part_written_by_write_messages_joins_the_account_file(
    history: Path, tmp_path: Path, with_big: bool
) -> None:
    """Was: the part was written with text ids and refused ("integers in the account
    features but text in the events")."""
    big = _read(history / "big.parquet")
    assert big.decimal_ids
    holds = np.isin(big.conversations, big.conversation_id[big.sender_id == str(BIG)])
    codes = np.flatnonzero(holds == with_big)
    part = _read(rs.write_messages(big.take_conversations(codes), tmp_path / "part.parquet"))
    assert part.decimal_ids == with_big
    accounts = rs.read_account_features(history / "acc.parquet")
    full = rs.extract_features(big)
    rows = dict(zip(full.conversation_id.tolist(), full.values, strict=True))
    joined = rs.extract_features(part, account_features=accounts)
    assert len(joined) == len(codes)
    want = np.array([rows[c] for c in joined.conversation_id.tolist()])
    np.testing.assert_array_equal(joined.values, want)


# ------------------------------------------- online: an integer id stays that integer


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _event(cid: object, t: int, sender: object, recipient: object) -> dict[str, Any]:
    return {"conversation_id": cid, "timestamp": T0 + t, "sender_id": sender,
            "recipient_id": recipient, "channel": "direct"}  # fmt: skip


@pytest.mark.parametrize("other", ["sender_id", "recipient_id"])
def test_one_event_keeps_its_integer_id_beside_one_beyond_int64(other: str) -> None:
    """validate_one, the online path's validator, held 6 as "6" beside 2**64 - 7 (the
    rule of a table's column), and parse_event turned it back: both now keep 6, and
    2**64 - 7 as that integer."""
    mine = "recipient_id" if other == "sender_id" else "sender_id"
    event = {**_event(1, 0, 0, 0), other: BIG, mine: 6}
    for validated in (validate_one(event), parse_event(event)._asdict()):
        assert validated[mine] == 6
        assert type(validated[mine]) is int
        assert validated[other] == BIG
        assert type(validated[other]) is int


@pytest.mark.parametrize("big", [BIG, 2**64, 2**70, -(2**63) - 1, np.uint64(BIG)])
def test_an_integer_id_beyond_int64_is_not_the_text_id_of_its_digits(
    model: rs.RiskModel, tmp_path: Path, big: object
) -> None:
    """Was: online, the integer 2**64 was held as its decimal text, so the account (or
    conversation) 2**64 and the text id "18446744073709551616" of another platform's
    export were merged into one; they stay two, in a checkpoint too."""
    text = str(int(big))  # type: ignore[call-overload]
    scorer = rs.OnlineScorer(model, time_source="events")
    scorer.update_many([_event(big, 0, big, 6), _event(text, 60, text, "6")])
    assert scorer.n_accounts == 4  # big, 6, its text and "6"
    assert scorer.n_conversations == 2
    ids = scorer.conversation_ids
    assert ids == (int(big), text)  # type: ignore[call-overload]
    path = tmp_path / "ids.sqlite"
    scorer.checkpoint(path)
    restored = rs.OnlineScorer.restore(path, model)
    assert restored.conversation_ids == ids
    assert [restored.score_of(c) for c in ids] == [scorer.score_of(c) for c in ids]
    assert restored.n_accounts == 4


def test_an_account_is_one_account_whatever_the_ids_it_meets(model: rs.RiskModel) -> None:
    scorer = rs.OnlineScorer(model, time_source="events")
    scorer.update_many(
        [_event(1, 0, BIG, 6), _event(2, 60, 6, 7), _event(3, 120, 8, 6), _event(1, 180, 6, BIG)]
    )
    assert scorer.n_accounts == 4  # BIG, 6, 7, 8


def test_the_events_of_a_decimal_table_are_its_integers(model: rs.RiskModel) -> None:
    """Was: iter_events gave a decimal table's ids as text, so a scorer fed them held
    account 6 as "6", another account than the 6 of live events."""
    table = _big_in("all")
    given = _events()
    events = list(table.iter_events())
    assert {e["sender_id"] for e in events} == {int(v) for v in table.sender_id.tolist()}
    for e in events:
        for name in ID_COLUMNS:
            assert type(e[name]) is int
    assert {e["sender_id"] for e in events} >= {6, BIG}
    scorer = rs.OnlineScorer(model, time_source="events")
    scorer.update_many(events)
    n = scorer.n_accounts
    scorer.update_one({**_event(9, 600, 6, 8), "sender_age": given["sender_age"][0]})
    assert scorer.n_accounts == n
