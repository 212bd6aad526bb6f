"""A JSON number read exactly (a ``Decimal``) is quoted as the number, never as Python's
``Decimal('1E+308')``: online, in ``riskscore stream`` and wherever a refused value is
shown (``riskscore.io.raw.show``). All data is synthetic."""

from __future__ import annotations

import io
import sys
from decimal import Decimal

import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.io.raw import show

EVENT = {"conversation_id": 1, "timestamp": 1_700_000_000, "sender_id": "a",
         "recipient_id": "b", "channel": "direct"}  # fmt: skip


def test_show_writes_a_decimal_as_its_number() -> None:
    assert show(Decimal("1E+308")) == "1E+308"
    assert show(Decimal("12.5")) == "12.5"
    assert show(12.5) == "12.5"


def test_an_online_refusal_quotes_the_number() -> None:
    """Was: "Decimal('1.25E+11') is not a plausible age"."""
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError) as caught:
        scorer.update_one({**EVENT, "sender_age": Decimal("12.5e10")})
    assert "1.25E+11 is not a plausible age" in str(caught.value)
    assert "Decimal(" not in str(caught.value)


def test_stream_quotes_a_json_number_as_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: "Decimal('1E+308') is not a plausible age" for ``"sender_age": 1e308``."""
    line = '{"conversation_id": 1, "timestamp": 1700000000, "sender_id": "a", ' \
        '"recipient_id": "b", "channel": "direct", "sender_age": 1e308}\n'  # fmt: skip
    monkeypatch.setattr(sys, "stdin", io.StringIO(line))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    main(["stream", "--time-source", "events"])
    err = capsys.readouterr().err
    assert "1E+308 is not a plausible age" in err
    assert "Decimal(" not in err
